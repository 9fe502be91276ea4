//! kite serve's HTTP surface beyond the job queue (`kite-service` owns `/v1/jobs` and
//! `/healthz`):
//!
//! - [`casdk`]: the Green Software Foundation Carbon Aware SDK v1.8 WebAPI, drop-in
//!   (`/emissions/...`, `/locations`), so SDK clients (the KEDA carbon-aware operator…) work
//!   unchanged against kite.
//! - [`v1`]: kite's own read API: regions, intensity with signal metadata, forecasts with
//!   intervals, plans, the ledger (checkpoint, entries, proofs), reports.
//! - [`openapi`]: the OpenAPI document at `/openapi.json`, checked against the router in tests.
//! - [`metrics`]: `/metrics` (Prometheus text format) and `/readyz`.
//! - [`limits`]: what every request goes through: read/write authorisation, body size limit,
//!   per-client rate limit, timeouts, CORS (off unless configured).
//! - [`dashboard`]: the web dashboard, every asset embedded.
//!
//! `docs/api.md` is the user's reference.

pub mod cache;
pub mod casdk;
pub mod dashboard;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod v1;

use axum::Router;
use kite_core::Signal;
use kite_engine::IntensityService;
use std::path::PathBuf;
use std::sync::Arc;

pub use kite_service::Problem;

/// What every handler of this crate shares.
pub struct AppState {
    /// Grid intensity through kite's fallback chain (live providers, the store, embedded data).
    pub intensity: Arc<IntensityService>,
    /// The signal kite is configured for (average or marginal).
    pub signal: Signal,
    /// kite's local SQLite store (history, runs, forecasts), if it can be opened.
    pub database: PathBuf,
    /// The ledger, when one is configured.
    pub ledger: Option<PathBuf>,
    /// The job service's state (queue, token, defaults).
    pub jobs: Arc<kite_service::ApiState>,
    /// Limits, authorisation and CORS settings.
    pub config: limits::ApiConfig,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// The Carbon Aware SDK endpoints' forecasts, one per zone, refreshed every 5 minutes.
    pub casdk: casdk::Cache,
    /// The dashboard's computed summaries (the grid at most once a minute).
    pub dashboard: dashboard::Cache,
}

/// The whole HTTP surface of `kite serve`: this crate's routes, the job service's routes and
/// the layers of [`limits`] around all of them.
pub fn router(state: Arc<AppState>) -> Router {
    let ours = Router::new()
        .merge(casdk::routes())
        .merge(v1::routes())
        .merge(metrics::routes())
        .merge(openapi::routes())
        .merge(dashboard::routes())
        .with_state(state.clone());
    let all = ours.merge(kite_service::router(state.jobs.clone()));
    limits::layer(all, state)
}
