//! One forecast on demand, with intervals: what `kite forecast` calls.
//!
//! There is no earlier backtest to take errors from, so the model is first run at the same hour
//! on each of the previous `calibration + horizon days` days (rolling, each forecast given only
//! its own past, exactly as in the backtest); the forecasts that had matured by the issue time
//! give the interval (and, for the ensemble, the weights: then the members run twice as many
//! days back, so the ensemble's own past forecasts can calibrate its interval). The history after
//! the issue time is dropped before anything runs.

use crate::backtest::{DEFAULT_CALIBRATION_ISSUES, RollSpec, roll};
use crate::history::{Exogenous, HourlyHistory};
use crate::intervals::{Bands, LEAD_POOL, MIN_CALIBRATION_ISSUES};
use crate::model::Model;
use crate::registry::{self, UnknownModel, model_by_name};
use crate::{DAY, WEEK};
use jiff::{SignedDuration, Timestamp};

/// What to forecast.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ForecastRequest<'a> {
    /// The zone's hourly history; anything at or after `issue_at` is ignored.
    pub history: &'a HourlyHistory,
    /// Exogenous features, if the zone has any (rows issued after `issue_at` are ignored).
    pub exogenous: Option<&'a Exogenous>,
    /// Issue time, on the hour; the first forecast hour starts here.
    pub issue_at: Timestamp,
    /// Hours to forecast.
    pub horizon: usize,
    /// Model name, or `auto` (the ensemble).
    pub model: &'a str,
}

/// A forecast with its interval and how it was made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ForecastOutput {
    /// The model that made it, e.g. `mstl`, or `climatology (fallback: mstl needs 336 h, 100 h
    /// given)`.
    pub model: String,
    /// Issue time.
    pub issue_at: Timestamp,
    /// Start of the first forecast hour (the issue time).
    pub start: Timestamp,
    /// Point forecast, one value per hour, g/kWh.
    pub point: Vec<f64>,
    /// 10 % quantile.
    pub p10: Vec<f64>,
    /// Median.
    pub p50: Vec<f64>,
    /// 90 % quantile.
    pub p90: Vec<f64>,
    /// Everything the numbers rest on: fallbacks, gaps, stale data, uncalibrated intervals.
    pub notes: Vec<String>,
    /// How the intervals were made.
    pub intervals: String,
    /// Ensemble only: each member's weight per forecast day (day 1 first).
    pub weights: Vec<MemberWeight>,
}

/// One ensemble member's weights.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberWeight {
    /// Member model.
    pub model: String,
    /// Weight per forecast day, day 1 first (0: not used).
    pub by_day: Vec<f64>,
}

/// A point forecast without intervals: the model `name` fitted once on the history before
/// `issue_at` (no calibration runs), or the first baseline that can run where it cannot.
/// Returns the label of the model that made it (with the fallback reason) and the values.
///
/// What the intensity fallback chain uses: a plan needs the expected values only, and this costs
/// one fit (about 20 ms for `learned` on two years) instead of the ~60 behind [`forecast`]'s
/// intervals and ensemble weights.
pub fn point_forecast(
    name: &str,
    history: &HourlyHistory,
    issue_at: Timestamp,
    horizon: usize,
) -> Result<(String, Vec<f64>), ServeError> {
    if horizon == 0 {
        return Err(ServeError::ZeroHorizon);
    }
    let model = model_by_name(name)?;
    let past = history.before(issue_at);
    let input = crate::model::Input {
        history_start: history.start,
        history: past,
        issue_at: history.start + SignedDuration::from_hours(past.len() as i64),
        horizon,
        exogenous: None,
    };
    let issued = crate::backtest::issue_one(model.as_ref(), &input).map_err(|reasons| {
        ServeError::NothingRan {
            issue_at: input.issue_at,
            reasons,
        }
    })?;
    let label = match issued.fallback {
        Some(why) => format!("{} (fallback: {why})", issued.model),
        None => issued.model,
    };
    Ok((label, issued.point))
}

/// Why no forecast could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServeError {
    /// A model name that is not registered.
    #[error(transparent)]
    UnknownModel(#[from] UnknownModel),
    /// A horizon of zero.
    #[error("horizon 0 h: forecast at least 1 h ahead (the default is 96 h)")]
    ZeroHorizon,
    /// The horizon is longer than the model supports.
    #[error(
        "model `{model}` forecasts at most {max_hours} h ahead, {asked_hours} h were asked: \
         lower the horizon to {max_hours} h or pick another model"
    )]
    HorizonTooLong {
        /// Model name.
        model: String,
        /// Longest supported horizon.
        max_hours: usize,
        /// Horizon asked for.
        asked_hours: usize,
    },
    /// The issue time is not on the hour.
    #[error("issue time {issue_at} is not on the hour: forecasts start on the hour, e.g. {floor}")]
    IssueNotOnTheHour {
        /// Issue time asked.
        issue_at: Timestamp,
        /// The hour it falls in.
        floor: Timestamp,
    },
    /// No value before the issue time.
    #[error(
        "the history ({start} to {end}) has no value before the issue time {issue_at}: give \
         history that ends before the issue time (at least {min_hours} h for `{model}`)"
    )]
    NoHistory {
        /// History start.
        start: Timestamp,
        /// History end.
        end: Timestamp,
        /// Issue time.
        issue_at: Timestamp,
        /// Model asked.
        model: String,
        /// Its minimum history.
        min_hours: usize,
    },
    /// Neither the model nor any fallback baseline could run.
    #[error("no forecast for {issue_at}: {reasons}")]
    NothingRan {
        /// Issue time.
        issue_at: Timestamp,
        /// Why each model tried failed.
        reasons: String,
    },
}

/// Forecasts `req.horizon` hours from `req.issue_at` with `req.model`, with 10/50/90 % bands.
pub fn forecast(req: &ForecastRequest<'_>) -> Result<ForecastOutput, ServeError> {
    let name = if req.model == "auto" {
        "ensemble"
    } else {
        req.model
    };
    let model = model_by_name(name)?;
    if req.horizon == 0 {
        return Err(ServeError::ZeroHorizon);
    }
    if req.horizon > model.max_horizon_hours() {
        return Err(ServeError::HorizonTooLong {
            model: name.to_string(),
            max_hours: model.max_horizon_hours(),
            asked_hours: req.horizon,
        });
    }
    let floor = kite_core::Resolution::HOUR.floor(req.issue_at);
    if floor != req.issue_at {
        return Err(ServeError::IssueNotOnTheHour {
            issue_at: req.issue_at,
            floor,
        });
    }
    // Nothing at or after the issue time survives this line.
    let history = HourlyHistory {
        start: req.history.start,
        values: req.history.until(req.issue_at).into_owned(),
    };
    let Some(last_value) = history.values.iter().rposition(Option::is_some) else {
        return Err(ServeError::NoHistory {
            start: req.history.start,
            end: req.history.end(),
            issue_at: req.issue_at,
            model: name.to_string(),
            min_hours: model.min_history_hours(),
        });
    };

    let mut notes = Vec::new();
    let ensemble = name == "ensemble";
    let members: Vec<Box<dyn Model>> = if ensemble {
        let (fit, short): (Vec<_>, Vec<_>) = registry::all_models()
            .into_iter()
            .partition(|m| m.max_horizon_hours() >= req.horizon);
        for m in short {
            notes.push(format!(
                "{} forecasts at most {} h: left out of the ensemble",
                m.name(),
                m.max_horizon_hours()
            ));
        }
        fit
    } else {
        vec![model]
    };
    let run_models: Vec<&dyn Model> = members.iter().map(|m| m.as_ref()).collect();
    let spec = RollSpec::serving(
        req.issue_at,
        req.horizon,
        DEFAULT_CALIBRATION_ISSUES,
        if ensemble { 2 } else { 1 },
    );
    let rolled = roll(&history, req.exogenous, &spec, &run_models, ensemble);
    let Some(run) = rolled.runs.last() else {
        return Err(ServeError::NothingRan {
            issue_at: req.issue_at,
            reasons: "no model to run".into(),
        });
    };
    let last = spec.issues.len() - 1;
    let Some(out) = run.out[last].as_ref() else {
        return Err(ServeError::NothingRan {
            issue_at: req.issue_at,
            reasons: run.errors[last].clone().unwrap_or_default(),
        });
    };

    let label = match &out.fallback {
        Some(reason) => {
            notes.push(format!(
                "{reason}: forecast by the baseline `{}` instead",
                out.model
            ));
            format!("{} (fallback: {reason})", out.model)
        }
        None => out.model.clone(),
    };
    history_notes(&history, last_value, req.issue_at, &mut notes);
    let (bands, intervals) = match &run.bands[last] {
        Some((b, n)) => (
            b.clone(),
            format!(
                "empirical 10/50/90 % quantiles of {}'s relative errors by lead hour (pooled \
                 ±{LEAD_POOL} h) over its {n} forecasts issued, at the same hour, at least \
                 {} h before the issue time",
                out.model, req.horizon
            ),
        ),
        None => {
            notes.push(format!(
                "no interval: fewer than {MIN_CALIBRATION_ISSUES} earlier forecasts of `{}` had \
                 matured by the issue time (that needs about {} days of history); p10 = p50 = \
                 p90 = the point forecast",
                out.model,
                MIN_CALIBRATION_ISSUES + req.horizon.div_ceil(DAY)
            ));
            (
                Bands::degenerate(&out.point),
                "none: too few earlier forecasts to calibrate".to_string(),
            )
        }
    };
    let weights: Vec<MemberWeight> = run
        .weights
        .get(last)
        .map(|w| {
            w.iter()
                .map(|(m, by_day)| MemberWeight {
                    model: m.clone(),
                    by_day: by_day.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    if ensemble {
        let day1: Vec<String> = weights
            .iter()
            .filter(|w| w.by_day.first().is_some_and(|&x| x > 0.0))
            .map(|w| format!("{} {:.2}", w.model, w.by_day[0]))
            .collect();
        notes.push(format!(
            "ensemble weights (day 1, MAPE^-4 over the last {} matured forecasts): {}",
            DEFAULT_CALIBRATION_ISSUES,
            day1.join(", ")
        ));
        if let Some(w) = &run.weight_note {
            notes.push(w.clone());
        }
    }
    Ok(ForecastOutput {
        model: label,
        issue_at: req.issue_at,
        start: req.issue_at,
        point: out.point.clone(),
        p10: bands.p10,
        p50: bands.p50,
        p90: bands.p90,
        notes,
        intervals,
        weights,
    })
}

/// Notes on stale data and gaps in the week before the issue time.
fn history_notes(
    history: &HourlyHistory,
    last_value: usize,
    issue_at: Timestamp,
    notes: &mut Vec<String>,
) {
    let n = history.values.len();
    let stale = n - 1 - last_value;
    if stale > 0 {
        let last = history.start + SignedDuration::from_hours(last_value as i64 + 1);
        notes.push(format!(
            "the history ends at {last}, {stale} h before the issue time {issue_at}; those hours \
             are treated as gaps"
        ));
    }
    let week = &history.values[n.saturating_sub(WEEK)..];
    let gaps = week.iter().filter(|v| v.is_none()).count();
    if gaps > 0 && gaps < week.len() {
        notes.push(format!(
            "{gaps} of the last {} h before the issue time are gaps: nothing is filled in; each \
             model skips them as its description says (the baselines look one day or one week \
             further back)",
            week.len()
        ));
    }
}
