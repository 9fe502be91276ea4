//! Forecast error models: a perfect forecast (the actual trace), or Let's Wait Awhile's
//! Gaussian noise, σ = error × the mean of the zone's trace, one draw per step, zone and seed,
//! shared by every job planned with that seed (`simulate.py`, `_apply_error`).
//!
//! An intensity cannot be negative, so a draw that would make the forecast negative is clamped
//! to 0 and counted; LWA did not clamp. Seeds are kite's own (`rand_pcg`): numpy's streams are
//! not reproduced, so individual draws differ from LWA's while their distribution is the same.

use crate::scenario::ForecastModel;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64;

/// One zone's forecast for one seed, and how many draws were clamped at 0.
pub(crate) fn forecast(
    actual: &[f64],
    mean: f64,
    model: ForecastModel,
    base_seed: u64,
    seed: u32,
    zone_index: usize,
) -> (Vec<f64>, usize) {
    let ForecastModel::Gaussian { error } = model else {
        return (actual.to_vec(), 0);
    };
    let sigma = error * mean;
    let Ok(normal) = Normal::new(0.0, sigma) else {
        return (actual.to_vec(), 0);
    };
    let mut rng = Pcg64::seed_from_u64(mix(base_seed, seed, zone_index));
    let mut clamped = 0;
    let values = actual
        .iter()
        .map(|v| {
            // Draw for every step, missing ones too, so a gap does not shift later draws.
            let noisy = v + normal.sample(&mut rng);
            if noisy < 0.0 {
                clamped += 1;
                0.0
            } else {
                noisy
            }
        })
        .collect();
    (values, clamped)
}

/// A distinct stream per (scenario seed, forecast seed, zone).
fn mix(base: u64, seed: u32, zone: usize) -> u64 {
    let mut x = base ^ 0x9E37_79B9_7F4A_7C15;
    for part in [u64::from(seed), zone as u64] {
        x = (x ^ part).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 31;
    }
    x
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn noise_has_the_asked_spread_and_seeds_differ() {
        let actual = vec![200.0; 20_000];
        let model = ForecastModel::Gaussian { error: 0.05 };
        let (a, clamped) = forecast(&actual, 200.0, model, 0, 0, 0);
        assert_eq!(clamped, 0);
        let n = a.len() as f64;
        let mean = a.iter().sum::<f64>() / n;
        let sd = (a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        // σ = 10 g/kWh; the sample estimates are within a few standard errors.
        assert!((mean - 200.0).abs() < 0.3, "{mean}");
        assert!((sd - 10.0).abs() < 0.3, "{sd}");
        let (b, _) = forecast(&actual, 200.0, model, 0, 1, 0);
        let (c, _) = forecast(&actual, 200.0, model, 0, 0, 1);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            a,
            forecast(&actual, 200.0, model, 0, 0, 0).0,
            "deterministic"
        );
    }

    #[test]
    fn negative_draws_are_clamped_and_counted() {
        let actual = vec![1.0; 1000];
        let (f, clamped) = forecast(
            &actual,
            100.0,
            ForecastModel::Gaussian { error: 0.5 },
            0,
            0,
            0,
        );
        assert!(clamped > 400, "{clamped}");
        assert!(f.iter().all(|v| *v >= 0.0));
    }
}
