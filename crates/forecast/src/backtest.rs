//! The rolling-origin backtest, and the rolling procedure it shares with serving.
//!
//! Protocol (as CarbonCast's): one forecast per day at `issue_hour` UTC from `first_issue` to
//! `last_issue`, each for `horizon` hours, scored per forecast day (MAPE, MAE, RMSE) against the
//! history, with the coverage of the 10–90 % interval.
//!
//! No look-ahead, by construction:
//! - a model sees [`HourlyHistory::until`] the issue time (exactly the hours before it, gaps where
//!   the data ends earlier) and [`Exogenous::visible_at`] the issue time, nothing else;
//! - intervals and ensemble weights at an issue use only forecasts that had *matured* by then
//!   (issued at least `horizon` hours before, [`matured`]), scored on hours before the issue time.
//!   So that the first scored issues are calibrated too, the procedure starts
//!   `calibration_issues + horizon days` earlier (twice that with the ensemble, whose own
//!   intervals need its own matured forecasts); those warm-up issues are not scored.
//!
//! A model that cannot run at an issue (too little history, a failed fit, all gaps where it looks)
//! is replaced by the first baseline of [`FALLBACK_ORDER`] that can, and the report counts and
//! labels those issues. `tests/leak.rs` checks what every model is given.

use crate::DAY;
use crate::baseline::{Climatology, Persistence, SeasonalNaive};
use crate::ensemble::{combine, inverse_mape_weights};
use crate::history::{Exogenous, HourlyHistory};
use crate::intervals::{Bands, IntervalModel, Past, matured};
use crate::metrics::{DayMetrics, DayMetricsBuilder, days_in};
use crate::model::{ForecastError, Input, Model};
use crate::registry::{self, ModelOptions, UnknownModel, model_by_name_with};
use jiff::{SignedDuration, Timestamp};
use std::time::Instant;

/// Calibration issues used when none are configured: four weeks of daily forecasts.
pub const DEFAULT_CALIBRATION_ISSUES: usize = 28;

/// The baselines a model falls back to, best first: the first that can run is used. The order
/// is by day-1..4 MAPE over the CarbonCast regions (see the crate docs).
pub static FALLBACK_ORDER: [&dyn Model; 3] = [&Climatology, &Persistence, &SeasonalNaive];

/// What to backtest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BacktestConfig {
    /// First issue time (the first day whose `issue_hour` is at or after it).
    pub first_issue: Timestamp,
    /// Last issue time, inclusive.
    pub last_issue: Timestamp,
    /// UTC hour of day the forecasts are issued at (0..=23).
    pub issue_hour: u8,
    /// Hours forecast per issue.
    pub horizon: usize,
    /// Model names (see [`registry::model_names`]); may include `ensemble`.
    pub models: Vec<String>,
    /// Past matured forecasts the intervals and ensemble weights are estimated from (28).
    pub calibration_issues: usize,
    /// Training settings (e.g. a frozen training period) applied to every model by name.
    pub options: ModelOptions,
}

/// The scores of every model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BacktestReport {
    /// Zone, filled by the caller (empty otherwise).
    pub zone_label: String,
    /// Issues scored.
    pub issues: usize,
    /// Hours per forecast.
    pub horizon: usize,
    /// One report per model, in the configured order.
    pub models: Vec<ModelReport>,
    /// Wall time of the whole backtest, seconds.
    pub elapsed_secs: f64,
    /// First scored issue time.
    pub first_issue: Option<Timestamp>,
    /// Last scored issue time.
    pub last_issue: Option<Timestamp>,
    /// Warm-up issues run before the first scored one to calibrate intervals and weights.
    pub warmup_issues: usize,
}

/// One model's scores.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelReport {
    /// Model name.
    pub model: String,
    /// Metrics per forecast day, day 1 first.
    pub days: Vec<DayMetrics>,
    /// What the numbers rest on: fallbacks, gaps, uncalibrated issues.
    pub notes: Vec<String>,
    /// Seconds spent in the model's `forecast` calls (fallbacks and warm-up included; for the
    /// ensemble, its members' calls plus combining).
    pub fit_secs: f64,
    /// Scored issues at which it fell back to a baseline.
    pub fallback_issues: usize,
    /// How the intervals were made.
    pub intervals: String,
}

/// Why a backtest could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    /// A model name that is not registered.
    #[error(transparent)]
    UnknownModel(#[from] UnknownModel),
    /// Nothing to backtest.
    #[error("no models to backtest: name at least one, e.g. `persistence` (known: {known})")]
    NoModels {
        /// Known model names.
        known: String,
    },
    /// A horizon of zero.
    #[error("horizon 0 h: forecast at least 1 h ahead (the default is 96 h)")]
    ZeroHorizon,
    /// An hour that is not one.
    #[error("issue hour {0} is not an hour of the day: use 0..=23 (UTC)")]
    BadIssueHour(u8),
    /// The horizon is longer than a model supports.
    #[error(
        "model `{model}` forecasts at most {max_hours} h ahead, {asked_hours} h were asked: \
         lower the horizon to {max_hours} h or leave `{model}` out"
    )]
    HorizonTooLong {
        /// Model name.
        model: String,
        /// Longest supported horizon.
        max_hours: usize,
        /// Horizon asked for.
        asked_hours: usize,
    },
    /// No issue time in the range.
    #[error(
        "no issue time between {first} and {last} at {hour:02}:00 UTC: the last issue must be \
         on or after the first"
    )]
    NoIssues {
        /// First issue asked.
        first: Timestamp,
        /// Last issue asked.
        last: Timestamp,
        /// Issue hour.
        hour: u8,
    },
    /// The history has no actual to score against.
    #[error(
        "the history ({start} to {end}) has no values between {first} and {last_target}, so no \
         forecast can be scored: pick issue times inside the history"
    )]
    NoActuals {
        /// History start.
        start: Timestamp,
        /// History end.
        end: Timestamp,
        /// First issue.
        first: Timestamp,
        /// End of the last forecast.
        last_target: Timestamp,
    },
}

/// Runs the backtest of `cfg.models` over `history`.
pub fn backtest(
    history: &HourlyHistory,
    exogenous: Option<&Exogenous>,
    cfg: &BacktestConfig,
) -> Result<BacktestReport, BacktestError> {
    let mut names: Vec<&str> = Vec::new();
    for name in &cfg.models {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let ensemble = names.contains(&"ensemble");
    let mut asked: Vec<Box<dyn Model>> = Vec::new();
    for name in names.iter().filter(|m| **m != "ensemble") {
        asked.push(model_by_name_with(name, &cfg.options)?);
    }
    check_horizon(cfg.horizon, asked.iter().map(|m| m.as_ref()))?;
    if !ensemble {
        let run: Vec<&dyn Model> = asked.iter().map(|m| m.as_ref()).collect();
        return backtest_models(history, exogenous, cfg, &run);
    }
    // The ensemble runs every registered model that reaches the horizon; those asked for by
    // name are among them (all are registered), so each runs once.
    let members: Vec<Box<dyn Model>> = registry::all_models_with(&cfg.options)
        .into_iter()
        .filter(|m| m.max_horizon_hours() >= cfg.horizon)
        .collect();
    if members.is_empty() {
        return Err(BacktestError::HorizonTooLong {
            model: "ensemble".into(),
            max_hours: registry::all_models()
                .iter()
                .map(|m| m.max_horizon_hours())
                .max()
                .unwrap_or(0),
            asked_hours: cfg.horizon,
        });
    }
    let run: Vec<&dyn Model> = members.iter().map(|m| m.as_ref()).collect();
    backtest_inner(history, exogenous, cfg, &run, true, &names)
}

/// Backtests the given models (not from the registry: a custom or test model) on the same
/// protocol; `cfg.models` is ignored and no ensemble is run.
pub fn backtest_models(
    history: &HourlyHistory,
    exogenous: Option<&Exogenous>,
    cfg: &BacktestConfig,
    models: &[&dyn Model],
) -> Result<BacktestReport, BacktestError> {
    if models.is_empty() {
        return Err(BacktestError::NoModels {
            known: registry::model_names().join(", "),
        });
    }
    check_horizon(cfg.horizon, models.iter().copied())?;
    let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
    backtest_inner(history, exogenous, cfg, models, false, &names)
}

fn check_horizon<'m>(
    horizon: usize,
    models: impl Iterator<Item = &'m dyn Model>,
) -> Result<(), BacktestError> {
    if horizon == 0 {
        return Err(BacktestError::ZeroHorizon);
    }
    for m in models {
        if horizon > m.max_horizon_hours() {
            return Err(BacktestError::HorizonTooLong {
                model: m.name().to_string(),
                max_hours: m.max_horizon_hours(),
                asked_hours: horizon,
            });
        }
    }
    Ok(())
}

fn backtest_inner(
    history: &HourlyHistory,
    exogenous: Option<&Exogenous>,
    cfg: &BacktestConfig,
    models: &[&dyn Model],
    ensemble: bool,
    report: &[&str],
) -> Result<BacktestReport, BacktestError> {
    let clock = Instant::now();
    if report.is_empty() {
        return Err(BacktestError::NoModels {
            known: registry::model_names().join(", "),
        });
    }
    if cfg.issue_hour > 23 {
        return Err(BacktestError::BadIssueHour(cfg.issue_hour));
    }
    let scored = issue_times(cfg.first_issue, cfg.last_issue, cfg.issue_hour);
    let (Some(&first), Some(&last)) = (scored.first(), scored.last()) else {
        return Err(BacktestError::NoIssues {
            first: cfg.first_issue,
            last: cfg.last_issue,
            hour: cfg.issue_hour,
        });
    };
    let last_target = last + SignedDuration::from_hours(cfg.horizon as i64);
    if history
        .window(first, hours_between(first, last_target))
        .iter()
        .all(Option::is_none)
    {
        return Err(BacktestError::NoActuals {
            start: history.start,
            end: history.end(),
            first,
            last_target,
        });
    }
    let cal = cfg.calibration_issues.max(1);
    let rounds = if ensemble { 2 } else { 1 };
    let warm = rounds * (cal + days_in(cfg.horizon));
    let mut issues: Vec<Timestamp> = (1..=warm)
        .rev()
        .map(|k| first - SignedDuration::from_hours((k * DAY) as i64))
        .collect();
    issues.extend(&scored);
    let spec = RollSpec {
        issues,
        horizon: cfg.horizon,
        calibration_issues: cal,
        bands_from: warm,
    };
    let mut rolled = roll(history, exogenous, &spec, models, ensemble);
    if ensemble {
        // The ensemble's cost includes its members'.
        let members: f64 = rolled
            .runs
            .iter()
            .filter(|r| r.name != "ensemble")
            .map(|r| r.secs)
            .sum();
        if let Some(e) = rolled.runs.last_mut() {
            e.secs += members;
        }
    }
    let reports = report
        .iter()
        .filter_map(|name| rolled.runs.iter().find(|r| r.name == *name))
        .map(|run| score(history, &spec, run))
        .collect();
    Ok(BacktestReport {
        zone_label: String::new(),
        issues: scored.len(),
        horizon: cfg.horizon,
        models: reports,
        elapsed_secs: clock.elapsed().as_secs_f64(),
        first_issue: Some(first),
        last_issue: Some(last),
        warmup_issues: warm,
    })
}

fn hours_between(a: Timestamp, b: Timestamp) -> usize {
    usize::try_from((b.as_second() - a.as_second()).max(0) / 3600).unwrap_or(0)
}

/// Daily issue times at `hour`:00 UTC from the first at or after `first` to `last` inclusive.
pub fn issue_times(first: Timestamp, last: Timestamp, hour: u8) -> Vec<Timestamp> {
    const DAY_SECS: i64 = 86_400;
    let mut s = first.as_second().div_euclid(DAY_SECS) * DAY_SECS + i64::from(hour) * 3600;
    if s < first.as_second() {
        s += DAY_SECS;
    }
    let mut out = Vec::new();
    while s <= last.as_second() {
        if let Ok(t) = Timestamp::from_second(s) {
            out.push(t);
        }
        s += DAY_SECS;
    }
    out
}

fn score(history: &HourlyHistory, spec: &RollSpec, run: &ModelRun) -> ModelReport {
    let mut days = DayMetricsBuilder::new(spec.horizon);
    let mut fallbacks: Vec<(Timestamp, String)> = Vec::new();
    let mut missing: Vec<(Timestamp, String)> = Vec::new();
    let mut uncalibrated = 0;
    let mut gaps = 0;
    let mut scored_hours = 0;
    let mut cal_issues: Vec<usize> = Vec::new();
    for i in spec.bands_from..spec.issues.len() {
        let at = spec.issues[i];
        let Some(out) = &run.out[i] else {
            missing.push((at, run.errors[i].clone().unwrap_or_default()));
            continue;
        };
        if let Some(reason) = &out.fallback {
            fallbacks.push((at, format!("{} ({reason})", out.model)));
        }
        let actual = history.window(at, spec.horizon);
        gaps += actual.iter().filter(|a| a.is_none()).count();
        scored_hours += actual.len();
        let band = run.bands[i].as_ref();
        match band {
            Some((_, n)) => cal_issues.push(*n),
            None => uncalibrated += 1,
        }
        days.add_forecast(
            &actual,
            &out.point,
            band.map(|(b, _)| (&b.p10[..], &b.p90[..])),
        );
    }
    let scored = spec.issues.len() - spec.bands_from;
    let mut notes = Vec::new();
    if let Some((at, what)) = fallbacks.first() {
        notes.push(format!(
            "fell back to a baseline at {} of {scored} issues, e.g. {at}: {what}; those \
             forecasts are scored as this model's",
            fallbacks.len()
        ));
    }
    if let Some((at, why)) = missing.first() {
        notes.push(format!(
            "no forecast at {} of {scored} issues (not scored), e.g. {at}: {why}",
            missing.len()
        ));
    }
    if gaps > 0 {
        notes.push(format!(
            "{gaps} of {scored_hours} forecast hours have no actual (gaps, or past the end of the \
             data) and are not scored; `n` counts the rest"
        ));
    }
    if uncalibrated > 0 {
        notes.push(format!(
            "{uncalibrated} issues had too few matured past forecasts for an interval and are \
             left out of the coverage"
        ));
    }
    if let Some(w) = &run.weight_note {
        notes.push(w.clone());
    }
    let intervals = match (cal_issues.iter().min(), cal_issues.iter().max()) {
        (Some(lo), Some(hi)) => {
            let range = if lo == hi {
                format!("{lo}")
            } else {
                format!("{lo}–{hi}")
            };
            format!(
                "empirical 10/50/90 % quantiles of this model's relative errors by lead hour \
                 (pooled ±{} h) over its last {range} forecasts issued at least {} h before each \
                 issue time",
                crate::intervals::LEAD_POOL,
                spec.horizon
            )
        }
        _ => "none: too few matured past forecasts".to_string(),
    };
    ModelReport {
        model: run.name.clone(),
        days: days.finish(),
        notes,
        fit_secs: run.secs,
        fallback_issues: fallbacks.len(),
        intervals,
    }
}

// ---- The rolling procedure, shared with `serve` and `Ensemble::forecast`. ----

/// Which issues to run and what to compute.
#[derive(Debug, Clone)]
pub(crate) struct RollSpec {
    /// Issue times, ascending (daily).
    pub issues: Vec<Timestamp>,
    /// Hours per forecast.
    pub horizon: usize,
    /// Matured forecasts used per calibration.
    pub calibration_issues: usize,
    /// Intervals are computed for issues from this index on.
    pub bands_from: usize,
}

impl RollSpec {
    /// The issues a single forecast at `issue_at` needs: enough earlier daily issues at the same
    /// hour to calibrate its interval (`rounds` = 2 when the ensemble's own interval is needed,
    /// as its past forecasts need their members' past), with an interval for the last only.
    pub fn serving(issue_at: Timestamp, horizon: usize, cal: usize, rounds: usize) -> RollSpec {
        let warm = rounds.max(1) * (cal.max(1) + days_in(horizon));
        let issues: Vec<Timestamp> = (0..=warm)
            .rev()
            .map(|k| issue_at - SignedDuration::from_hours((k * DAY) as i64))
            .collect();
        RollSpec {
            issues,
            horizon,
            calibration_issues: cal.max(1),
            bands_from: warm,
        }
    }
}

/// One issued forecast.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    /// The model that made it (the fallback baseline's name when it fell back).
    pub model: String,
    /// Point forecast, `horizon` values.
    pub point: Vec<f64>,
    /// Why the asked model did not make it, e.g. `mstl needs 336 h, 100 h given`.
    pub fallback: Option<String>,
}

/// One model's forecasts over all issues.
#[derive(Debug, Clone)]
pub(crate) struct ModelRun {
    pub name: String,
    /// Per issue; `None` if neither the model nor any fallback could run.
    pub out: Vec<Option<Issued>>,
    /// Per issue, why `out` is `None`.
    pub errors: Vec<Option<String>>,
    /// Per issue from `bands_from`: the interval and how many past forecasts it rests on.
    pub bands: Vec<Option<(Bands, usize)>>,
    /// Seconds in `forecast` calls (or combining, for the ensemble).
    pub secs: f64,
    /// Ensemble only: per issue, `(member, weights by day)`.
    pub weights: Vec<Vec<(String, Vec<f64>)>>,
    /// Ensemble only: issues without usable weights.
    pub weight_note: Option<String>,
}

/// The outcome of [`roll`].
#[derive(Debug, Clone)]
pub(crate) struct Rolled {
    /// One run per model, then the ensemble's if asked.
    pub runs: Vec<ModelRun>,
}

/// Why a model failed, in a few words for a label.
pub(crate) fn short_reason(e: &ForecastError) -> String {
    match e {
        ForecastError::TooLittleHistory {
            model,
            needed_hours,
            had_hours,
        } => format!("{model} needs {needed_hours} h, {had_hours} h given"),
        ForecastError::HorizonTooLong {
            model, max_hours, ..
        } => format!("{model} forecasts at most {max_hours} h"),
        ForecastError::Fit { model, reason } => format!("{model} could not be fitted: {reason}"),
    }
}

/// Calls the model and checks its contract (length, finite); negative values are clamped to 0.
fn call(model: &dyn Model, input: &Input<'_>) -> Result<Vec<f64>, ForecastError> {
    if input.horizon > model.max_horizon_hours() {
        return Err(ForecastError::HorizonTooLong {
            model: model.name().to_string(),
            max_hours: model.max_horizon_hours(),
            asked_hours: input.horizon,
        });
    }
    let mut v = model.forecast(input)?;
    if v.len() != input.horizon || v.iter().any(|x| !x.is_finite()) {
        return Err(ForecastError::Fit {
            model: model.name().to_string(),
            reason: format!(
                "returned {} values (asked {}){}",
                v.len(),
                input.horizon,
                if v.iter().any(|x| !x.is_finite()) {
                    ", some not finite"
                } else {
                    ""
                }
            ),
        });
    }
    for x in &mut v {
        *x = x.max(0.0);
    }
    Ok(v)
}

/// The model's forecast, or the first fallback baseline's, labelled.
pub(crate) fn issue_one(model: &dyn Model, input: &Input<'_>) -> Result<Issued, String> {
    let err = match call(model, input) {
        Ok(point) => {
            return Ok(Issued {
                model: model.name().to_string(),
                point,
                fallback: None,
            });
        }
        Err(e) => e,
    };
    let reason = short_reason(&err);
    let mut tried = vec![reason.clone()];
    for fb in FALLBACK_ORDER.iter().filter(|f| f.name() != model.name()) {
        match call(*fb, input) {
            Ok(point) => {
                return Ok(Issued {
                    model: fb.name().to_string(),
                    point,
                    fallback: Some(reason),
                });
            }
            Err(e) => tried.push(short_reason(&e)),
        }
    }
    Err(tried.join("; "))
}

/// Runs every model at every issue (each given exactly the past at that issue), then, if asked,
/// the ensemble of all of them, then the intervals from `spec.bands_from` on.
pub(crate) fn roll(
    history: &HourlyHistory,
    exogenous: Option<&Exogenous>,
    spec: &RollSpec,
    models: &[&dyn Model],
    ensemble: bool,
) -> Rolled {
    let n = spec.issues.len();
    let mut runs: Vec<ModelRun> = models
        .iter()
        .map(|m| ModelRun {
            name: m.name().to_string(),
            out: Vec::with_capacity(n),
            errors: Vec::with_capacity(n),
            bands: Vec::new(),
            secs: 0.0,
            weights: Vec::new(),
            weight_note: None,
        })
        .collect();
    for &at in &spec.issues {
        let past = history.until(at);
        let visible = exogenous.map(|e| e.visible_at(at));
        let input = Input {
            history_start: history.start,
            history: &past,
            issue_at: at,
            horizon: spec.horizon,
            exogenous: visible.as_ref(),
        };
        for (m, run) in models.iter().zip(&mut runs) {
            let t = Instant::now();
            let r = if past.is_empty() {
                Err(format!("no history before {at}"))
            } else {
                issue_one(*m, &input)
            };
            run.secs += t.elapsed().as_secs_f64();
            match r {
                Ok(o) => {
                    run.out.push(Some(o));
                    run.errors.push(None);
                }
                Err(e) => {
                    run.out.push(None);
                    run.errors.push(Some(e));
                }
            }
        }
    }
    if ensemble {
        let ens = ensemble_run(history, spec, &runs);
        runs.push(ens);
    }
    for run in &mut runs {
        add_bands(history, spec, run);
    }
    Rolled { runs }
}

/// The actuals of the forecast issued at `spec.issues[j]`, seen from issue `i`: only called for
/// matured forecasts, so every hour is before `spec.issues[i]`.
fn actuals(history: &HourlyHistory, spec: &RollSpec, j: usize, i: usize) -> Vec<Option<f64>> {
    debug_assert!(matured(spec.issues[j], spec.horizon, spec.issues[i]));
    history.window(spec.issues[j], spec.horizon)
}

/// Indices of the last `calibration_issues` issues before `i` whose forecasts had matured at `i`
/// and were made by `label`.
fn calibration_set(spec: &RollSpec, run: &ModelRun, i: usize, label: &str) -> Vec<usize> {
    let now = spec.issues[i];
    let mut out: Vec<usize> = (0..i)
        .rev()
        .filter(|&j| matured(spec.issues[j], spec.horizon, now))
        .filter(|&j| run.out[j].as_ref().is_some_and(|o| o.model == label))
        .take(spec.calibration_issues)
        .collect();
    out.reverse();
    out
}

fn add_bands(history: &HourlyHistory, spec: &RollSpec, run: &mut ModelRun) {
    let n = spec.issues.len();
    let mut bands = vec![None; n];
    // Actuals per issue, computed once; each is read only for matured forecasts.
    let mut cache: Vec<Option<Vec<Option<f64>>>> = vec![None; n];
    for (i, band) in bands.iter_mut().enumerate().skip(spec.bands_from) {
        let Some(out) = &run.out[i] else { continue };
        let set = calibration_set(spec, run, i, &out.model);
        for &j in &set {
            if cache[j].is_none() {
                cache[j] = Some(actuals(history, spec, j, i));
            }
        }
        let past: Vec<Past<'_>> = set
            .iter()
            .filter_map(|&j| Some((&run.out[j].as_ref()?.point[..], &cache[j].as_ref()?[..])))
            .collect();
        *band = IntervalModel::fit(&past, spec.horizon).map(|m| (m.apply(&out.point), m.issues));
    }
    run.bands = bands;
}

/// Per-day MAPE of a run over the given past issues (its own forecasts only).
fn day_mapes(
    history: &HourlyHistory,
    spec: &RollSpec,
    run: &ModelRun,
    set: &[usize],
    i: usize,
) -> Vec<Option<f64>> {
    let mut b = DayMetricsBuilder::new(spec.horizon);
    for &j in set {
        if let Some(o) = &run.out[j] {
            b.add_forecast(&actuals(history, spec, j, i), &o.point, None);
        }
    }
    b.finish()
        .iter()
        .map(|d| (d.n_mape > 0).then_some(d.mape))
        .collect()
}

/// The ensemble's forecasts at every issue from its members' runs (see `ensemble`).
pub(crate) fn ensemble_run(
    history: &HourlyHistory,
    spec: &RollSpec,
    members: &[ModelRun],
) -> ModelRun {
    let t = Instant::now();
    let n = spec.issues.len();
    let days = days_in(spec.horizon);
    let mut run = ModelRun {
        name: "ensemble".into(),
        out: Vec::with_capacity(n),
        errors: Vec::with_capacity(n),
        bands: Vec::new(),
        secs: 0.0,
        weights: Vec::with_capacity(n),
        weight_note: None,
    };
    let mut equal_issues = 0;
    for i in 0..n {
        // Members that forecast this issue themselves, and their per-day MAPEs.
        let own: Vec<Option<&[f64]>> = members
            .iter()
            .map(|m| {
                m.out[i]
                    .as_ref()
                    .filter(|o| o.fallback.is_none())
                    .map(|o| &o.point[..])
            })
            .collect();
        let mapes: Vec<Vec<Option<f64>>> = members
            .iter()
            .zip(&own)
            .map(|(m, o)| match o {
                Some(_) => {
                    let set = calibration_set(spec, m, i, &m.name);
                    day_mapes(history, spec, m, &set, i)
                }
                None => vec![None; days],
            })
            .collect();
        let ran: Vec<Option<&[f64]>> = if own.iter().any(Option::is_some) {
            own.clone()
        } else {
            // Every member fell back: average the fallbacks.
            members
                .iter()
                .map(|m| m.out[i].as_ref().map(|o| &o.point[..]))
                .collect()
        };
        if ran.iter().all(Option::is_none) {
            run.out.push(None);
            run.errors.push(Some(format!(
                "no member could forecast at {}",
                spec.issues[i]
            )));
            run.weights.push(Vec::new());
            continue;
        }
        let mut equal = false;
        let weights: Vec<Vec<f64>> = (0..days)
            .map(|d| {
                let day: Vec<Option<f64>> = mapes.iter().map(|m| m[d]).collect();
                inverse_mape_weights(&day).unwrap_or_else(|| {
                    equal = true;
                    let k = ran.iter().filter(|r| r.is_some()).count() as f64;
                    ran.iter()
                        .map(|r| if r.is_some() { 1.0 / k } else { 0.0 })
                        .collect()
                })
            })
            .collect();
        if equal && i >= spec.bands_from {
            equal_issues += 1;
        }
        let point = combine(&ran, &weights, spec.horizon);
        run.weights.push(
            members
                .iter()
                .enumerate()
                .map(|(k, m)| (m.name.clone(), weights.iter().map(|w| w[k]).collect()))
                .collect(),
        );
        run.out.push(Some(Issued {
            model: "ensemble".into(),
            point,
            fallback: None,
        }));
        run.errors.push(None);
    }
    if equal_issues > 0 {
        run.weight_note = Some(format!(
            "{equal_issues} issues had a forecast day with no member's matured past to weight \
             by; there the members were averaged equally"
        ));
    }
    run.secs = t.elapsed().as_secs_f64();
    run
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Ten weeks with a daily cycle and day-to-day noise, so errors (and intervals) vary.
    fn history() -> HourlyHistory {
        let values = (0..70 * 24)
            .map(|i: usize| {
                let day = (i / 24) as f64;
                let hour = (i % 24) as f64;
                Some(300.0 + 40.0 * (hour / 3.8).sin() + 30.0 * (day * 1.7).sin() + (i % 7) as f64)
            })
            .collect();
        HourlyHistory {
            start: ts("2021-01-04T00:00:00Z"),
            values,
        }
    }

    #[test]
    fn issue_times_are_daily_at_the_hour_and_inclusive() {
        let t = issue_times(ts("2021-07-01T05:00:00Z"), ts("2021-07-04T06:00:00Z"), 6);
        assert_eq!(t.first(), Some(&ts("2021-07-01T06:00:00Z")));
        assert_eq!(t.last(), Some(&ts("2021-07-04T06:00:00Z")));
        assert_eq!(t.len(), 4);
        let t = issue_times(ts("2021-07-01T07:00:00Z"), ts("2021-07-03T00:00:00Z"), 6);
        assert_eq!(t, vec![ts("2021-07-02T06:00:00Z")]);
    }

    /// Intervals and ensemble weights at an issue use only matured forecasts: changing every
    /// value after some time changes nothing issued before it (and does change later issues).
    #[test]
    fn calibration_never_reads_after_the_issue_time() {
        let h = history();
        let first = ts("2021-02-10T00:00:00Z");
        let spec = RollSpec {
            issues: (0..30)
                .map(|d| first + SignedDuration::from_hours(24 * d))
                .collect(),
            horizon: 96,
            calibration_issues: 7,
            bands_from: 0,
        };
        let cut = spec.issues[20];
        let mut h2 = h.clone();
        let from = h.index_of(cut).unwrap();
        for v in h2.values[from..].iter_mut().flatten() {
            *v = *v * 1.5 + 20.0;
        }
        let models: Vec<&dyn Model> = vec![&Persistence, &Climatology, &SeasonalNaive];
        let a = roll(&h, None, &spec, &models, true);
        let b = roll(&h2, None, &spec, &models, true);
        let mut later = 0;
        for (ra, rb) in a.runs.iter().zip(&b.runs) {
            for i in 0..spec.issues.len() {
                let pa = ra.out[i].as_ref().map(|o| o.point.clone());
                let pb = rb.out[i].as_ref().map(|o| o.point.clone());
                let ba = ra.bands[i]
                    .as_ref()
                    .map(|(b, n)| (b.p10.clone(), b.p90.clone(), *n));
                let bb = rb.bands[i]
                    .as_ref()
                    .map(|(b, n)| (b.p10.clone(), b.p90.clone(), *n));
                if spec.issues[i] <= cut {
                    assert_eq!(pa, pb, "{} at {}", ra.name, spec.issues[i]);
                    assert_eq!(ba, bb, "{} bands at {}", ra.name, spec.issues[i]);
                } else if ba != bb {
                    later += 1;
                }
            }
            assert!(
                ra.bands.iter().any(Option::is_some),
                "{} has intervals",
                ra.name
            );
        }
        assert_eq!(a.runs.last().unwrap().name, "ensemble");
        assert!(later > 0, "the change is visible after it happened");
    }

    /// A model that needs more history than the early issues have.
    struct Hungry;
    impl Model for Hungry {
        fn name(&self) -> &'static str {
            "hungry"
        }
        fn describe(&self) -> &'static str {
            "needs five weeks"
        }
        fn min_history_hours(&self) -> usize {
            5 * 168
        }
        fn forecast(&self, input: &Input<'_>) -> Result<Vec<f64>, ForecastError> {
            if input.history.len() < self.min_history_hours() {
                return Err(ForecastError::TooLittleHistory {
                    model: "hungry".into(),
                    needed_hours: self.min_history_hours(),
                    had_hours: input.history.len(),
                });
            }
            Ok(vec![123.0; input.horizon])
        }
    }

    #[test]
    fn too_little_history_falls_back_to_a_baseline_and_says_so() {
        let h = history();
        let cfg = BacktestConfig {
            first_issue: ts("2021-01-20T00:00:00Z"),
            last_issue: ts("2021-03-01T00:00:00Z"),
            issue_hour: 0,
            horizon: 48,
            models: Vec::new(),
            calibration_issues: 7,
            options: Default::default(),
        };
        let r = backtest_models(&h, None, &cfg, &[&Hungry]).unwrap();
        let m = &r.models[0];
        // Issues before 2021-02-08 (five weeks after the start) have too little history.
        assert_eq!(m.fallback_issues, 19, "{:?}", m.notes);
        let note = &m.notes[0];
        assert!(
            note.contains("fell back to a baseline at 19 of 41 issues"),
            "{note}"
        );
        assert!(note.contains("hungry needs 840 h, 384 h given"), "{note}");
        // The first fallbacks have under four weeks: climatology cannot run, persistence can.
        assert!(note.contains("persistence (hungry needs"), "{note}");
        assert_eq!(m.days.len(), 2);
    }

    #[test]
    fn bad_configurations_name_the_fix() {
        let h = history();
        let mut cfg = BacktestConfig {
            first_issue: ts("2021-02-20T00:00:00Z"),
            last_issue: ts("2021-02-10T00:00:00Z"),
            issue_hour: 0,
            horizon: 96,
            models: vec!["persistence".into()],
            calibration_issues: 28,
            options: Default::default(),
        };
        let e = backtest(&h, None, &cfg).unwrap_err();
        assert!(matches!(e, BacktestError::NoIssues { .. }), "{e}");
        cfg.last_issue = ts("2021-03-01T00:00:00Z");
        cfg.horizon = 1000;
        let e = backtest(&h, None, &cfg).unwrap_err().to_string();
        assert!(
            e.contains("at most 336 h") && e.contains("lower the horizon"),
            "{e}"
        );
        cfg.horizon = 96;
        cfg.models = vec!["climatolgy".into()];
        let e = backtest(&h, None, &cfg).unwrap_err().to_string();
        assert!(e.contains("did you mean `climatology`"), "{e}");
        cfg.models = vec!["persistence".into()];
        cfg.first_issue = ts("2025-01-01T00:00:00Z");
        cfg.last_issue = ts("2025-02-01T00:00:00Z");
        let e = backtest(&h, None, &cfg).unwrap_err();
        assert!(matches!(e, BacktestError::NoActuals { .. }), "{e}");
    }
}
