//! Grid carbon-intensity forecasting, 1–4 days ahead.
//!
//! Bird's-eye view: a [`Model`] is a pure function from an [`Input`] (hourly history strictly
//! before the issue time, plus exogenous features *issued* before it) to an hourly point forecast.
//! Everything that needs past errors — prediction intervals, the ensemble's weights — is built
//! from the model's own earlier forecasts whose targets had already happened at issue time (see
//! `backtest`), so no number ever uses information from after its issue time.
//!
//! Invariants:
//! - [`Input::history`] ends at the issue time (exclusive). A model never sees a later value;
//!   the backtest builds inputs by truncation, and a test fails if any feature is later.
//! - [`Exogenous`] rows carry their own issue time; [`Exogenous::visible_at`] drops every row
//!   issued after the forecast's issue time.
//! - Gaps stay `None` in the history; each model says how it handles them (documented per model).
//!
//! Map: `baseline` (persistence, seasonal naive, climatology: always available, and what a model
//! that cannot run falls back to, labelled), `registry` (names → models), `backtest` (rolling
//! origin, per-day MAPE/MAE/RMSE and interval coverage; the rolling procedure `serve` shares),
//! `intervals` (10/50/90 % from a model's own matured errors), `ensemble` (MAPE⁻⁴ weights),
//! `metrics`, `serve` (one forecast with intervals).
//!
//! Baselines measured on the embedded CarbonCast direct series, issues 2021-07-01..12-31 at 00:00
//! UTC, 96 h (`examples/carboncast_baselines.rs`): persistence is best on day 1 (CISO 10.8 %, the
//! paper reports 10.75 %), climatology over days 1–4; hence [`backtest::FALLBACK_ORDER`].

pub mod backtest;
pub mod baseline;
pub mod ensemble;
pub mod features;
mod history;
pub mod intervals;
mod learned;
pub mod metrics;
mod model;
mod mstl;
pub mod registry;
pub mod serve;
pub mod weather;

pub use backtest::{
    BacktestConfig, BacktestError, BacktestReport, DEFAULT_CALIBRATION_ISSUES, ModelReport,
    backtest, backtest_models,
};
pub use baseline::{Climatology, Persistence, SeasonalNaive};
pub use ensemble::Ensemble;
pub use history::{Exogenous, ExogenousRow, HistoryError, HourlyHistory};
pub use learned::Learned;
pub use metrics::DayMetrics;
pub use model::{ForecastError, Input, Model};
pub use mstl::Mstl;
pub use registry::{
    ModelOptions, UnknownModel, all_models, all_models_with, model_by_name, model_by_name_with,
    model_names,
};
pub use serve::{
    ForecastOutput, ForecastRequest, MemberWeight, ServeError, forecast, point_forecast,
};
pub use weather::{IssueRule, WeatherError, load_carboncast_weather};

/// Hours per day, per week: the two seasonalities of grid intensity.
pub const DAY: usize = 24;
/// Hours per week.
pub const WEEK: usize = 168;
