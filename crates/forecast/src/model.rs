//! The [`Model`] trait every forecaster implements, and what it is given.

use crate::history::Exogenous;
use jiff::Timestamp;

/// What a model may look at when it forecasts from `issue_at`.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Start of the first hour of `history` (on the hour, UTC).
    pub history_start: Timestamp,
    /// Hourly values, `history[i]` for the hour starting `history_start + i h`; it ends at the
    /// issue time (exclusive). `None` is a gap.
    pub history: &'a [Option<f64>],
    /// The issue time: `history_start + history.len() h`. The first forecast hour starts here.
    pub issue_at: Timestamp,
    /// Number of hours to forecast.
    pub horizon: usize,
    /// Exogenous features (weather forecasts), already restricted to rows issued at or before
    /// `issue_at`; `None` where the zone has none.
    pub exogenous: Option<&'a Exogenous>,
}

/// Why a model could not forecast.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// Not enough (non-gap) history.
    #[error("model `{model}` needs at least {needed_hours} h of history, {had_hours} h were given")]
    TooLittleHistory {
        /// Model name.
        model: String,
        /// Hours needed.
        needed_hours: usize,
        /// Hours available (the baselines count gaps, as `min_history_hours` does; a model
        /// that counts only values says so).
        had_hours: usize,
    },
    /// The horizon is longer than the model supports.
    #[error("model `{model}` forecasts at most {max_hours} h ahead, {asked_hours} h were asked")]
    HorizonTooLong {
        /// Model name.
        model: String,
        /// Longest supported horizon.
        max_hours: usize,
        /// Horizon asked for.
        asked_hours: usize,
    },
    /// The fit failed (numerical trouble, a degenerate series).
    #[error("model `{model}` could not be fitted: {reason}")]
    Fit {
        /// Model name.
        model: String,
        /// What went wrong.
        reason: String,
    },
}

/// A forecaster: a pure function of [`Input`]. Implementations fit on each call (the history is
/// the training set), so one instance serves every zone and issue time.
pub trait Model: Send + Sync {
    /// Short stable name, used on the command line (`--model`) and in labels.
    fn name(&self) -> &'static str;
    /// One line on what it is, for `kite forecast --help` and reports.
    fn describe(&self) -> &'static str;
    /// The least history (hours, gaps included) it needs.
    fn min_history_hours(&self) -> usize;
    /// The longest horizon it supports, in hours.
    fn max_horizon_hours(&self) -> usize {
        96
    }
    /// `input.horizon` hourly point forecasts, the first for the hour starting at
    /// `input.issue_at`. Every value is finite and non-negative.
    fn forecast(&self, input: &Input<'_>) -> Result<Vec<f64>, ForecastError>;
}
