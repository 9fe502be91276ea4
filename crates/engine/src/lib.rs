//! The only orchestration in kite: configuration → built providers, store and embedded data,
//! wired into services the CLI (and later the server) call.
//!
//! Architecture invariant: this crate decides *which* source answers and *why*; it never parses
//! provider payloads or files itself (kite-intensity and kite-ingest do) and never prints
//! (the CLI renders what it returns). Every fallback it takes is returned as a [`Note`].

mod age;
mod config;
mod error;
mod forecast;
mod import;
mod jobs;
mod measure;
mod monitor;
mod plan;
mod plan_report;
mod service;
mod views;

pub use age::age_secs;
pub use config::{
    CONFIG_ENV, Config, DATABASE_ENV, EM_TOKEN_ENV, Env, HttpSettings, ProcessEnv,
    ProviderSettings, RawConfig, SourceKind, WT_PASSWORD_ENV, WT_USER_ENV, default_config_path,
    default_database_path,
};
pub use error::EngineError;
pub use forecast::{
    ForecastHistory, LOOKBACK_DAYS, MAX_HORIZON_HOURS, embedded_history, forecast_series,
    stored_history,
};
pub use import::{ImportSummary, import_files};
pub use jobs::{
    DEFAULT_MIN_CHUNK, InterruptibleRules, InterruptibleSpec, JobContext, JobFileError, JobSpec,
    Regions, parse_duration, read_job_file, to_jobs,
};
pub use measure::{INTENSITY_HORIZON, PreparedRun, RunRequest, fetch_intensity, prepare_run};
pub use monitor::{
    CurrentIntensity, HostEnergy, INTENSITY_LOOKAHEAD, INTENSITY_REFRESH, Monitor, MonitorError,
    MonitorRequest, MonitorSample, ProcessEnergy, attribute, intensity_at, method_label,
};
pub use plan::{PlanSignals, ZoneSignal, signals_for};
pub use plan_report::{
    JobReport, PlanContext, PlanReport, PlannerSummary, SourceReport, Totals, UnplacedReport,
};
pub use service::{IntensityAnswer, IntensityRequest, IntensityService, Note, build_providers};
pub use views::{
    AnnualView, Coverage, HistoryView, IntensityView, NoteView, PointView, RegionView, SpanView,
    cloud_names, find_zones,
};
