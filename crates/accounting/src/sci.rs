//! Software Carbon Intensity (Green Software Foundation SCI specification v1.1, published as
//! ISO/IEC 21031:2024): `SCI = (E × I + M) per R`.
//!
//! - `E × I`: energy × location-based grid intensity (the spec excludes market-based
//!   instruments: offsets and certificates never reduce an SCI score).
//! - `M = TE × (TiR / EL) × (RR / ToR)`: total embodied emissions × time reserved over
//!   expected lifetime × resources reserved over total resources.
//! - `R`: the functional unit (per run, per 1k inferences, per token...).

/// SCI `M`, grams: `te_g × (time_reserved_h / expected_lifetime_h) × (resources_reserved /
/// total_resources)`. Zero when the lifetime or the total resources are not positive.
pub fn embodied_m(
    te_g: f64,
    time_reserved_h: f64,
    expected_lifetime_h: f64,
    resources_reserved: f64,
    total_resources: f64,
) -> f64 {
    if expected_lifetime_h <= 0.0 || total_resources <= 0.0 {
        return 0.0;
    }
    te_g * (time_reserved_h / expected_lifetime_h) * (resources_reserved / total_resources)
}

/// `E × I`, grams, for `e_kwh` at `i_g_per_kwh`.
pub fn operational(e_kwh: f64, i_g_per_kwh: f64) -> f64 {
    e_kwh * i_g_per_kwh
}

/// `(E·I + M) / R`, grams per unit; `None` when `r` is not positive.
pub fn sci(operational_g: f64, embodied_g: f64, r: f64) -> Option<f64> {
    (r > 0.0 && r.is_finite()).then(|| (operational_g + embodied_g) / r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SCI specification's embodied example: a server with 1000 kgCO2e embodied, a 4-year
    /// life, reserved whole for 1 hour: M = 1,000,000 g × 1 / (4 × 8760) = 28.538813 g.
    #[test]
    fn spec_embodied_example() {
        let m = embodied_m(1_000_000.0, 1.0, 4.0 * 8760.0, 1.0, 1.0);
        assert!((m - 28.538_812_785).abs() < 1e-6, "{m}");
        // Half the machine reserved halves it.
        assert!((embodied_m(1_000_000.0, 1.0, 35_040.0, 8.0, 16.0) - m / 2.0).abs() < 1e-9);
    }

    #[test]
    fn score() {
        // 2 kWh at 400 g/kWh = 800 g, plus M 28.538813 g, over R = 100 → 8.28538813 g/unit.
        let m = embodied_m(1_000_000.0, 1.0, 35_040.0, 1.0, 1.0);
        let s = sci(operational(2.0, 400.0), m, 100.0).unwrap();
        assert!((s - 8.285_388_127_85).abs() < 1e-9, "{s}");
        assert_eq!(sci(1.0, 1.0, 0.0), None);
    }
}
