//! Error metrics per forecast day: MAPE, MAE, RMSE and the coverage of the 80 % interval.
//!
//! Day `d` (1-based) holds leads `(d-1)·24 .. d·24` hours after the issue time. Every metric is a
//! mean over all (issue, lead) pairs of that day with a known actual, so a day with gaps weighs
//! less, and `n` says how many pairs there were. MAPE skips actuals that are gaps *or zero* (a
//! relative error is undefined there; `n_mape` counts the rest). Coverage counts only forecasts
//! that had an interval (`n_coverage`). A metric over no pairs is NaN (`null` in JSON).

use crate::DAY;

/// The metrics of one forecast day.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DayMetrics {
    /// 1-based forecast day.
    pub day: usize,
    /// Mean absolute percentage error, percent.
    pub mape: f64,
    /// Mean absolute error, g/kWh.
    pub mae: f64,
    /// Root mean squared error, g/kWh.
    pub rmse: f64,
    /// Share of actuals inside `[p10, p90]`, percent (nominally 80).
    pub coverage_80: f64,
    /// Pairs with a known actual (MAE, RMSE).
    pub n: usize,
    /// Pairs with a known non-zero actual (MAPE).
    pub n_mape: usize,
    /// Pairs with a known actual and an interval (coverage).
    pub n_coverage: usize,
}

/// Sums for one day, filled pair by pair.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accumulator {
    ape_sum: f64,
    n_mape: usize,
    abs_sum: f64,
    sq_sum: f64,
    n: usize,
    covered: usize,
    n_coverage: usize,
}

impl Accumulator {
    /// Adds one forecast hour: its actual (`None` = gap, skipped), point forecast, and interval.
    pub fn add(&mut self, actual: Option<f64>, point: f64, band: Option<(f64, f64)>) {
        let Some(a) = actual else { return };
        let e = point - a;
        self.n += 1;
        self.abs_sum += e.abs();
        self.sq_sum += e * e;
        if a != 0.0 {
            self.n_mape += 1;
            self.ape_sum += (e / a).abs();
        }
        if let Some((lo, hi)) = band {
            self.n_coverage += 1;
            if lo <= a && a <= hi {
                self.covered += 1;
            }
        }
    }

    /// The metrics of `day`.
    pub fn finish(&self, day: usize) -> DayMetrics {
        let div = |num: f64, den: usize| if den == 0 { f64::NAN } else { num / den as f64 };
        DayMetrics {
            day,
            mape: 100.0 * div(self.ape_sum, self.n_mape),
            mae: div(self.abs_sum, self.n),
            rmse: div(self.sq_sum, self.n).sqrt(),
            coverage_80: 100.0 * div(self.covered as f64, self.n_coverage),
            n: self.n,
            n_mape: self.n_mape,
            n_coverage: self.n_coverage,
        }
    }
}

/// Number of forecast days a horizon spans (the last may be partial).
pub fn days_in(horizon: usize) -> usize {
    horizon.div_ceil(DAY)
}

/// Per-day accumulators for one model over many issues.
#[derive(Debug, Clone)]
pub struct DayMetricsBuilder {
    days: Vec<Accumulator>,
}

impl DayMetricsBuilder {
    /// Empty sums for a `horizon`-hour forecast.
    pub fn new(horizon: usize) -> DayMetricsBuilder {
        DayMetricsBuilder {
            days: vec![Accumulator::default(); days_in(horizon)],
        }
    }

    /// Adds one issued forecast: `actual[l]`, `point[l]` and, if any, `(p10[l], p90[l])`.
    pub fn add_forecast(
        &mut self,
        actual: &[Option<f64>],
        point: &[f64],
        band: Option<(&[f64], &[f64])>,
    ) {
        for (lead, (&a, &p)) in actual.iter().zip(point).enumerate() {
            let Some(acc) = self.days.get_mut(lead / DAY) else {
                break;
            };
            acc.add(a, p, band.map(|(lo, hi)| (lo[lead], hi[lead])));
        }
    }

    /// Metrics for days 1..=days.
    pub fn finish(&self) -> Vec<DayMetrics> {
        self.days
            .iter()
            .enumerate()
            .map(|(i, a)| a.finish(i + 1))
            .collect()
    }
}

/// MAPE (percent) of `point` against `actual` over the hours with a known non-zero actual, and
/// how many there were.
pub fn mape(actual: &[Option<f64>], point: &[f64]) -> (f64, usize) {
    let mut acc = Accumulator::default();
    for (&a, &p) in actual.iter().zip(point) {
        acc.add(a, p, None);
    }
    let m = acc.finish(1);
    (m.mape, m.n_mape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_hand_computed_values() {
        // Errors: +10 on 100, -20 on 200, gap skipped, +5 on 0 (no MAPE term).
        let actual = [Some(100.0), Some(200.0), None, Some(0.0)];
        let point = [110.0, 180.0, 999.0, 5.0];
        let lo = [100.0, 190.0, 0.0, 0.0];
        let hi = [120.0, 210.0, 0.0, 1.0];
        let mut b = DayMetricsBuilder::new(4);
        b.add_forecast(&actual, &point, Some((&lo, &hi)));
        let d = &b.finish()[0];
        assert_eq!(d.day, 1);
        assert_eq!((d.n, d.n_mape, d.n_coverage), (3, 2, 3));
        assert!(
            (d.mape - 10.0).abs() < 1e-12,
            "(10 % + 10 %) / 2: {}",
            d.mape
        );
        assert!((d.mae - 35.0 / 3.0).abs() < 1e-12);
        assert!((d.rmse - (525.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // 100 in [100,120], 200 in [190,210], 0 in [0,1]: all three covered.
        assert!((d.coverage_80 - 100.0).abs() < 1e-12);
    }

    #[test]
    fn leads_split_into_days_and_empty_days_are_nan() {
        let mut b = DayMetricsBuilder::new(30);
        let mut actual = vec![Some(100.0); 30];
        for a in &mut actual[24..] {
            *a = None;
        }
        let point = vec![90.0; 30];
        b.add_forecast(&actual, &point, None);
        let days = b.finish();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].n, 24);
        assert!((days[0].mape - 10.0).abs() < 1e-12);
        assert!(days[1].mape.is_nan() && days[1].n == 0);
        assert!(days[0].coverage_80.is_nan(), "no interval, no coverage");
        let (m, n) = mape(&actual, &point);
        assert!((m - 10.0).abs() < 1e-9 && n == 24, "{m} {n}");
    }
}
