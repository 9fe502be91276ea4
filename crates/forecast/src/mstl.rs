//! The statistical model: multi-seasonal STL decomposition (daily + weekly) with an
//! exponential-smoothing trend ([`Mstl`]), via the `augurs` crates (Grafana, MIT/Apache-2.0).
//!
//! No separate seasonal ETS (Holt-Winters): augurs 0.10.3's AutoETS finds no model for any
//! seasonal or trend-free spec (`AZA`, `ANA`, `ANN`: "no model found"; `ZZZ` silently drops the
//! season), so MSTL does the seasonal part and ETS only the deseasonalised level.
//!
//! It refits on every call over a bounded recent window (the last `window_hours`), which keeps a
//! fit + 96-h forecast in milliseconds and lets the seasonal shapes follow the time of year.
//! Gaps (`None`) in that window are filled by linear interpolation before fitting
//! ([`crate::features::fill_gaps`]); the window must hold at least half its values.

use crate::features::{count_known, fill_gaps};
use crate::model::{ForecastError, Input, Model};
use crate::{DAY, WEEK};
use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::{Fit, Predict};

/// MSTL with daily (24 h) and weekly (168 h) seasons; the deseasonalised series is forecast with
/// non-seasonal ETS with a damped additive trend (parameters by maximum likelihood), and the
/// last seasonal cycles are repeated.
#[derive(Debug, Clone)]
pub struct Mstl {
    /// Hours of recent history fitted on each call; at least two weeks.
    pub window_hours: usize,
    /// Let AutoETS choose between a damped and an undamped additive trend for the
    /// deseasonalised series. A free trend extrapolated 96 h is risky on a series that
    /// mean-reverts, so the default is `false` (damped trend only).
    pub trend: bool,
}

impl Default for Mstl {
    fn default() -> Self {
        Mstl {
            window_hours: 8 * WEEK,
            trend: false,
        }
    }
}

/// The recent window, gap-filled, or the error that says why not.
fn recent_window(
    model: &'static str,
    input: &Input<'_>,
    window: usize,
    min_hours: usize,
    max_horizon: usize,
) -> Result<Vec<f64>, ForecastError> {
    if input.horizon > max_horizon {
        return Err(ForecastError::HorizonTooLong {
            model: model.to_string(),
            max_hours: max_horizon,
            asked_hours: input.horizon,
        });
    }
    let h = input.history;
    let known = count_known(h);
    if h.len() < min_hours || known < min_hours / 2 {
        return Err(ForecastError::TooLittleHistory {
            model: model.to_string(),
            needed_hours: min_hours,
            had_hours: known,
        });
    }
    let recent = &h[h.len().saturating_sub(window)..];
    if count_known(recent) * 2 < recent.len() {
        return Err(ForecastError::Fit {
            model: model.to_string(),
            reason: format!(
                "more than half of the last {} h are gaps; fill the history or shorten the window",
                recent.len()
            ),
        });
    }
    fill_gaps(recent).ok_or_else(|| ForecastError::Fit {
        model: model.to_string(),
        reason: "the fitting window has no values".to_string(),
    })
}

/// Clamp to finite, non-negative values; a non-finite value is a fit failure.
fn finish(model: &'static str, point: Vec<f64>, horizon: usize) -> Result<Vec<f64>, ForecastError> {
    if point.len() != horizon || point.iter().any(|v| !v.is_finite()) {
        return Err(ForecastError::Fit {
            model: model.to_string(),
            reason: format!(
                "the fitted model produced {} values, some not finite, for a {horizon}-h horizon",
                point.len()
            ),
        });
    }
    Ok(point.into_iter().map(|v| v.max(0.0)).collect())
}

fn fit_err(model: &'static str, e: impl std::fmt::Display) -> ForecastError {
    ForecastError::Fit {
        model: model.to_string(),
        reason: e.to_string(),
    }
}

impl Model for Mstl {
    fn name(&self) -> &'static str {
        "mstl"
    }

    fn describe(&self) -> &'static str {
        "MSTL (daily + weekly seasons) with exponential smoothing of the deseasonalised level, \
         refitted on the last 8 weeks"
    }

    fn min_history_hours(&self) -> usize {
        // MSTL needs more than two full cycles of the longest season.
        2 * WEEK + DAY
    }

    fn max_horizon_hours(&self) -> usize {
        WEEK
    }

    fn forecast(&self, input: &Input<'_>) -> Result<Vec<f64>, ForecastError> {
        let name = self.name();
        let window = self.window_hours.max(self.min_history_hours());
        let y = recent_window(
            name,
            input,
            window,
            self.min_history_hours(),
            self.max_horizon_hours(),
        )?;
        if input.horizon == 0 {
            return Ok(Vec::new());
        }
        // augurs 0.10.3 fails to fit trend-free ETS ("ANN": no model found), so the
        // conservative choice is a damped additive trend, which flattens within the horizon.
        let ets = AutoETS::new(1, "AAN")
            .and_then(|m| if self.trend { Ok(m) } else { m.damped(true) })
            .map_err(|e| fit_err(name, e))?;
        let model = MSTLModel::new(vec![DAY, WEEK], ets.into_trend_model());
        let fitted = model.fit(&y).map_err(|e| fit_err(name, e))?;
        let fc = fitted
            .predict(input.horizon, None)
            .map_err(|e| fit_err(name, e))?;
        finish(name, fc.point, input.horizon)
    }
}
