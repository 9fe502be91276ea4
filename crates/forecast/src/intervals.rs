//! Prediction intervals from a model's own past errors.
//!
//! A model's 10/50/90 % band at an issue time comes from its earlier forecasts whose targets had
//! all happened by then (issued at least `horizon` hours before, see [`matured`]): the relative
//! error `e = actual / point − 1` of every hour with a known actual and a positive point is
//! collected by lead hour, pooled over leads within ±[`LEAD_POOL`] h (so each quantile rests on
//! hundreds of errors, not a few dozen, while errors still grow with the lead), and the empirical
//! 10/50/90 % quantiles `q` give `p = point × (1 + q)`, clamped at zero and kept in order.
//! With fewer than [`MIN_CALIBRATION_ISSUES`] past forecasts there is no band: the caller says so.

use jiff::{SignedDuration, Timestamp};

/// Leads pooled on each side of a lead hour when estimating its error quantiles.
pub const LEAD_POOL: usize = 6;

/// The fewest past forecasts an interval is estimated from.
pub const MIN_CALIBRATION_ISSUES: usize = 5;

/// One earlier forecast and what then happened: its point forecast and the actuals of the same
/// hours (`None`: gap), one value per lead hour.
pub type Past<'a> = (&'a [f64], &'a [Option<f64>]);

/// Whether a forecast issued at `past` for `horizon` hours had all its targets in the past at
/// `now`: the only forecasts whose errors may calibrate a forecast issued at `now`.
pub fn matured(past: Timestamp, horizon: usize, now: Timestamp) -> bool {
    past + SignedDuration::from_hours(horizon as i64) <= now
}

/// The `q` quantile (0..=1) of sorted values, linearly interpolated between order statistics
/// (Hyndman & Fan type 7, as numpy's default). NaN for no values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// [`quantile`] without sorting first (linear time; reorders `values`).
pub fn quantile_unsorted(values: &mut [f64], q: f64) -> f64 {
    let n = values.len();
    if n < 2 {
        return values.first().copied().unwrap_or(f64::NAN);
    }
    let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = h.floor() as usize;
    let (_, &mut at, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    // The next order statistic is the smallest value above position `lo`.
    let next = above.iter().copied().min_by(f64::total_cmp).unwrap_or(at);
    at + (h - lo as f64) * (next - at)
}

/// Relative-error quantiles by lead hour, fitted on past forecasts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IntervalModel {
    /// `[q10, q50, q90]` of the relative error, per lead hour.
    pub quantiles: Vec<[f64; 3]>,
    /// Past forecasts it was fitted on.
    pub issues: usize,
}

impl IntervalModel {
    /// Fits on `past` (each at least `horizon` long); `None` with fewer than
    /// [`MIN_CALIBRATION_ISSUES`] of them or a lead without any usable error.
    pub fn fit(past: &[Past<'_>], horizon: usize) -> Option<IntervalModel> {
        if past.len() < MIN_CALIBRATION_ISSUES {
            return None;
        }
        // Relative errors per lead, computed once.
        let mut by_lead: Vec<Vec<f64>> = vec![Vec::with_capacity(past.len()); horizon];
        for (points, actuals) in past {
            for (lead, errs) in by_lead.iter_mut().enumerate() {
                if let (Some(&point), Some(&Some(actual))) = (points.get(lead), actuals.get(lead))
                    && point > 0.0
                {
                    errs.push(actual / point - 1.0);
                }
            }
        }
        let mut pool = Vec::new();
        let quantiles = (0..horizon)
            .map(|lead| {
                pool.clear();
                let from = lead.saturating_sub(LEAD_POOL);
                let to = (lead + LEAD_POOL + 1).min(horizon);
                for errs in &by_lead[from..to] {
                    pool.extend_from_slice(errs);
                }
                if pool.is_empty() {
                    return None;
                }
                Some([0.1, 0.5, 0.9].map(|q| quantile_unsorted(&mut pool, q)))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(IntervalModel {
            quantiles,
            issues: past.len(),
        })
    }

    /// `(p10, p50, p90)` around `point`: `point × (1 + q)`, non-negative and ordered.
    pub fn apply(&self, point: &[f64]) -> Bands {
        let mut b = Bands {
            p10: Vec::with_capacity(point.len()),
            p50: Vec::with_capacity(point.len()),
            p90: Vec::with_capacity(point.len()),
        };
        for (lead, &x) in point.iter().enumerate() {
            let q = self.quantiles.get(lead).copied().unwrap_or([0.0; 3]);
            let [lo, mid, hi] = q.map(|q| (x * (1.0 + q)).max(0.0));
            b.p10.push(lo.min(mid));
            b.p50.push(mid);
            b.p90.push(hi.max(mid));
        }
        b
    }

    /// How the band was made, for the output's `intervals` field.
    pub fn describe(&self) -> String {
        format!(
            "empirical 10/50/90 % quantiles of this model's relative errors, by lead hour \
             (pooled ±{LEAD_POOL} h), over its {} forecasts issued at least a horizon before \
             the issue time",
            self.issues
        )
    }
}

/// The three quantile forecasts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Bands {
    /// 10 % quantile.
    pub p10: Vec<f64>,
    /// Median.
    pub p50: Vec<f64>,
    /// 90 % quantile.
    pub p90: Vec<f64>,
}

impl Bands {
    /// No interval: all three equal the point forecast.
    pub fn degenerate(point: &[f64]) -> Bands {
        Bands {
            p10: point.to_vec(),
            p50: point.to_vec(),
            p90: point.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(h: i64) -> Timestamp {
        "2021-01-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(h)
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert!((quantile(&v, 0.1) - 1.4).abs() < 1e-12);
        assert!((quantile(&v, 0.9) - 4.6).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
        let mut shuffled = [4.0, 1.0, 5.0, 3.0, 2.0];
        for q in [0.0, 0.1, 0.5, 0.9, 1.0] {
            assert_eq!(quantile_unsorted(&mut shuffled, q), quantile(&v, q));
        }
    }

    #[test]
    fn maturity_needs_the_whole_horizon_in_the_past() {
        assert!(matured(t(0), 96, t(96)));
        assert!(
            !matured(t(1), 96, t(96)),
            "its last hour ends after the issue time"
        );
    }

    #[test]
    fn bands_come_from_past_relative_errors() {
        // Ten past forecasts of 100 whose actuals were 90, 92, ..., 108 at every lead.
        let point = [100.0; 4];
        let actuals: Vec<Vec<Option<f64>>> = (0..10)
            .map(|i| vec![Some(90.0 + 2.0 * i as f64); 4])
            .collect();
        let refs: Vec<Past<'_>> = actuals.iter().map(|a| (&point[..], &a[..])).collect();
        let m = IntervalModel::fit(&refs, 4).unwrap();
        let b = m.apply(&[200.0; 4]);
        // Errors -0.10 .. +0.08 step 0.02: q10 = -0.082, q50 = -0.01, q90 = 0.062.
        assert!((b.p10[0] - 200.0 * 0.918).abs() < 1e-9, "{b:?}");
        assert!((b.p50[3] - 200.0 * 0.99).abs() < 1e-9);
        assert!((b.p90[2] - 200.0 * 1.062).abs() < 1e-9);
        // Share of the past actuals inside the band the model would have given them: 8 of 10.
        let inside = refs
            .iter()
            .filter(|(p, a)| {
                let b = m.apply(p);
                let a = a[0].unwrap();
                b.p10[0] <= a && a <= b.p90[0]
            })
            .count();
        assert_eq!(inside, 8);
        assert!(
            IntervalModel::fit(&refs[..4], 4).is_none(),
            "too few issues"
        );
    }

    #[test]
    fn bands_are_ordered_and_non_negative() {
        let point = [10.0; 2];
        let actuals: Vec<Vec<Option<f64>>> = (0..6)
            .map(|i| vec![Some(if i % 2 == 0 { 0.0 } else { 40.0 }); 2])
            .collect();
        let refs: Vec<Past<'_>> = actuals.iter().map(|a| (&point[..], &a[..])).collect();
        let b = IntervalModel::fit(&refs, 2).unwrap().apply(&[10.0, 0.0]);
        for l in 0..2 {
            assert!(
                0.0 <= b.p10[l] && b.p10[l] <= b.p50[l] && b.p50[l] <= b.p90[l],
                "{b:?}"
            );
        }
    }
}
