//! The three baselines every other model must beat: persistence, seasonal naive and hour-of-week
//! climatology. They always exist, need little history, and are what a model falls back to.
//!
//! Gaps: each baseline reads the value at the same hour of day (or of week) it would use; when
//! that hour is a gap it looks one period further back, a bounded number of times (documented per
//! model), and never interpolates. If every candidate is a gap it returns
//! [`ForecastError::Fit`] naming the hour, so the caller falls back or says so.

use crate::model::{ForecastError, Input, Model};
use crate::{DAY, WEEK};

/// Weeks averaged by [`Climatology`]: four weeks follow the season yet smooth one odd day.
pub const CLIMATOLOGY_WEEKS: usize = 4;

/// How many days back [`Persistence`] looks for a non-gap value at the same hour of day.
pub const PERSISTENCE_LOOKBACK_DAYS: usize = 7;

/// How many weeks back [`SeasonalNaive`] looks for a non-gap value at the same hour of week.
pub const SEASONAL_LOOKBACK_WEEKS: usize = 4;

/// Longest horizon of the baselines: two weeks (beyond a week they repeat themselves).
pub const BASELINE_MAX_HORIZON: usize = 2 * WEEK;

/// The value a forecast for lead `lead` (hours after the issue) reads from `period`-periodic
/// history: the most recent hour at the same phase strictly before the issue time, else up to
/// `tries - 1` periods further back, skipping gaps.
fn periodic(history: &[Option<f64>], lead: usize, period: usize, tries: usize) -> Option<f64> {
    let n = history.len();
    // Smallest k with n + lead - k·period < n.
    let k0 = lead / period + 1;
    (k0..k0 + tries).find_map(|k| {
        let back = k * period - lead; // hours before the issue time, ≥ 1
        n.checked_sub(back).and_then(|i| history[i])
    })
}

fn check(model: &dyn Model, input: &Input<'_>) -> Result<(), ForecastError> {
    if input.history.len() < model.min_history_hours() {
        return Err(ForecastError::TooLittleHistory {
            model: model.name().to_string(),
            needed_hours: model.min_history_hours(),
            had_hours: input.history.len(),
        });
    }
    if input.horizon > model.max_horizon_hours() {
        return Err(ForecastError::HorizonTooLong {
            model: model.name().to_string(),
            max_hours: model.max_horizon_hours(),
            asked_hours: input.horizon,
        });
    }
    Ok(())
}

fn all_gaps(model: &str, input: &Input<'_>, lead: usize, looked: &str) -> ForecastError {
    let hour = input.issue_at + jiff::SignedDuration::from_hours(lead as i64);
    ForecastError::Fit {
        model: model.to_string(),
        reason: format!(
            "no value for the hour of {hour} in {looked} before the issue time {}: all gaps",
            input.issue_at
        ),
    }
}

/// Tomorrow is today: each hour repeats the value at the same hour of day in the last 24 h
/// (leads beyond a day repeat that day again).
///
/// Gaps: if that hour is a gap, the same hour of day one day earlier is used, up to
/// [`PERSISTENCE_LOOKBACK_DAYS`] days back.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Persistence;

impl Model for Persistence {
    fn name(&self) -> &'static str {
        "persistence"
    }
    fn describe(&self) -> &'static str {
        "repeats the last 24 h (gaps: the same hour up to 7 days back)"
    }
    fn min_history_hours(&self) -> usize {
        DAY
    }
    fn max_horizon_hours(&self) -> usize {
        BASELINE_MAX_HORIZON
    }
    fn forecast(&self, input: &Input<'_>) -> Result<Vec<f64>, ForecastError> {
        check(self, input)?;
        (0..input.horizon)
            .map(|lead| {
                periodic(input.history, lead, DAY, PERSISTENCE_LOOKBACK_DAYS)
                    .ok_or_else(|| all_gaps(self.name(), input, lead, "the last 7 days"))
            })
            .collect()
    }
}

/// Next week is this week: each hour repeats the value one week earlier (leads beyond a week
/// repeat the last observed week again).
///
/// Gaps: if that hour is a gap, the same hour of week up to [`SEASONAL_LOOKBACK_WEEKS`] weeks
/// back, then the same hour of day in the last 7 days (as [`Persistence`]).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SeasonalNaive;

impl Model for SeasonalNaive {
    fn name(&self) -> &'static str {
        "seasonal-naive"
    }
    fn describe(&self) -> &'static str {
        "repeats the same hour one week earlier (gaps: up to 4 weeks back, then the last days)"
    }
    fn min_history_hours(&self) -> usize {
        WEEK
    }
    fn max_horizon_hours(&self) -> usize {
        BASELINE_MAX_HORIZON
    }
    fn forecast(&self, input: &Input<'_>) -> Result<Vec<f64>, ForecastError> {
        check(self, input)?;
        (0..input.horizon)
            .map(|lead| {
                periodic(input.history, lead, WEEK, SEASONAL_LOOKBACK_WEEKS)
                    .or_else(|| periodic(input.history, lead, DAY, PERSISTENCE_LOOKBACK_DAYS))
                    .ok_or_else(|| all_gaps(self.name(), input, lead, "the last 4 weeks"))
            })
            .collect()
    }
}

/// The typical week: each hour is the mean of the same hour of week over the last
/// [`CLIMATOLOGY_WEEKS`] weeks (the four most recent observed values at that hour of week).
///
/// Gaps are skipped (the mean is over the non-gap weeks); if all four are gaps, the mean of the
/// same hour of day over the last 7 days is used.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Climatology;

impl Model for Climatology {
    fn name(&self) -> &'static str {
        "climatology"
    }
    fn describe(&self) -> &'static str {
        "hour-of-week mean of the last 4 weeks (gaps skipped)"
    }
    fn min_history_hours(&self) -> usize {
        CLIMATOLOGY_WEEKS * WEEK
    }
    fn max_horizon_hours(&self) -> usize {
        BASELINE_MAX_HORIZON
    }
    fn forecast(&self, input: &Input<'_>) -> Result<Vec<f64>, ForecastError> {
        check(self, input)?;
        let n = input.history.len();
        let mean_of = |lead: usize, period: usize, count: usize| -> Option<f64> {
            let k0 = lead / period + 1;
            let (sum, m) = (k0..k0 + count)
                .filter_map(|k| {
                    n.checked_sub(k * period - lead)
                        .and_then(|i| input.history[i])
                })
                .fold((0.0, 0usize), |(s, m), v| (s + v, m + 1));
            (m > 0).then(|| sum / m as f64)
        };
        (0..input.horizon)
            .map(|lead| {
                mean_of(lead, WEEK, CLIMATOLOGY_WEEKS)
                    .or_else(|| mean_of(lead, DAY, PERSISTENCE_LOOKBACK_DAYS))
                    .ok_or_else(|| all_gaps(self.name(), input, lead, "the last 4 weeks"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jiff::Timestamp;

    fn input(history: &[Option<f64>], horizon: usize) -> Input<'_> {
        let start: Timestamp = "2021-01-04T00:00:00Z".parse().unwrap();
        Input {
            history_start: start,
            history,
            issue_at: start + jiff::SignedDuration::from_hours(history.len() as i64),
            horizon,
            exogenous: None,
        }
    }

    /// Hour `i` has value `i`: every forecast says which hour it read.
    fn ramp(hours: usize) -> Vec<Option<f64>> {
        (0..hours).map(|i| Some(i as f64)).collect()
    }

    #[test]
    fn persistence_repeats_the_last_day() {
        let h = ramp(48);
        let f = Persistence.forecast(&input(&h, 50)).unwrap();
        assert_eq!(f[0], 24.0, "lead 0 reads 24 h earlier");
        assert_eq!(f[23], 47.0);
        assert_eq!(f[24], 24.0, "day 2 repeats the same last day");
        assert_eq!(f[49], 25.0);
    }

    #[test]
    fn persistence_steps_over_gaps_to_earlier_days() {
        let mut h = ramp(72);
        h[48] = None; // lead 0's hour yesterday
        h[24] = None; // and the day before
        let f = Persistence.forecast(&input(&h, 2)).unwrap();
        assert_eq!(f, vec![0.0, 49.0]);
        h[0] = None;
        let err = Persistence.forecast(&input(&h, 2)).unwrap_err();
        assert!(matches!(err, ForecastError::Fit { .. }), "{err}");
        assert!(err.to_string().contains("all gaps"), "{err}");
    }

    #[test]
    fn seasonal_naive_reads_one_week_back_and_repeats_beyond_a_week() {
        let h = ramp(2 * WEEK);
        let f = SeasonalNaive.forecast(&input(&h, 200)).unwrap();
        assert_eq!(f[0], WEEK as f64);
        assert_eq!(f[167], (2 * WEEK - 1) as f64);
        assert_eq!(
            f[168], WEEK as f64,
            "lead 168 repeats the last observed week"
        );
        let mut g = h.clone();
        g[WEEK] = None;
        g[0] = None;
        let f = SeasonalNaive.forecast(&input(&g, 1)).unwrap();
        assert_eq!(
            f[0],
            (2 * WEEK - 24) as f64,
            "all weeks gaps → yesterday's hour"
        );
    }

    #[test]
    fn climatology_averages_four_weeks_and_skips_gaps() {
        // Week w has value w + 1 at every hour: the mean of the last 4 of 5 weeks is 3.5.
        let mut h: Vec<Option<f64>> = (0..5 * WEEK).map(|i| Some((i / WEEK + 1) as f64)).collect();
        let f = Climatology.forecast(&input(&h, 96)).unwrap();
        assert!(f.iter().all(|&v| (v - 3.5).abs() < 1e-12), "{f:?}");
        h[4 * WEEK] = None; // week 5's first hour: mean of 2, 3, 4
        let f = Climatology.forecast(&input(&h, 2)).unwrap();
        assert!(
            (f[0] - 3.0).abs() < 1e-12 && (f[1] - 3.5).abs() < 1e-12,
            "{f:?}"
        );
    }

    #[test]
    fn too_little_history_and_too_long_horizons_are_refused_with_numbers() {
        let h = ramp(100);
        let err = Climatology.forecast(&input(&h, 24)).unwrap_err();
        assert_eq!(
            err,
            ForecastError::TooLittleHistory {
                model: "climatology".into(),
                needed_hours: 672,
                had_hours: 100
            }
        );
        let err = Persistence.forecast(&input(&h, 400)).unwrap_err();
        assert!(matches!(
            err,
            ForecastError::HorizonTooLong {
                max_hours: 336,
                asked_hours: 400,
                ..
            }
        ));
    }
}
