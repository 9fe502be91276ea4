//! `/metrics` in the Prometheus text format (OpenMetrics 1.0 text, which Prometheus scrapes
//! natively), and `/readyz`.
//!
//! What is exported, and where each number comes from:
//! - `kite_http_requests_total` / `kite_http_request_duration_seconds`: every request this
//!   server answered, by method, route *template* (axum's matched path, so label cardinality
//!   is bounded by the routes; `unmatched` for 404s) and status class; counted in
//!   [`crate::limits`] around everything else, so 429s, 413s and timeouts are counted too.
//! - `kite_http_cache_total{result}`: hits and misses of the response cache ([`crate::cache`]);
//!   `kite_http_rate_limited_total`: requests answered 429.
//! - `kite_jobs{state}`: the job queue's counts, read at most every [`QUEUE_REFRESH`].
//! - `kite_provider_errors_total{provider}`: failed fetches of each live intensity provider
//!   (counted by `IntensityService`), read at scrape time.
//! - From kite's store, refreshed at most every [`STORE_REFRESH`]: `kite_runs{status}`,
//!   `kite_runs_energy_kwh` and `kite_runs_emissions_grams{scope}` (the totals `kite run`
//!   recorded for the runs that finished; measured or modelled as each run's record says),
//!   `kite_forecast_age_seconds{zone,source}` (since the newest stored provider forecast was
//!   fetched) and `kite_measured_data_age_seconds{zone,source}` (since the end of the newest
//!   stored measured value: kite's own forecast is issued there), `kite_store_up`.

use crate::{AppState, Problem};
use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kite_service::job::State as JobState;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Values read from the store (a SQLite scan) are refreshed at most this often.
pub const STORE_REFRESH: Duration = Duration::from_secs(10);

/// The queue's counts are read at most this often: a scrape load then costs one blocking
/// thread, not one per concurrent scrape (each with its own malloc arena to grow).
pub const QUEUE_REFRESH: Duration = Duration::from_secs(1);

/// Page cache of the connection `/metrics` keeps to the store, KiB.
const STORE_CACHE_KIB: u32 = 2048;

/// The content type of `/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeriesLabels {
    zone: String,
    source: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs to 30 s: a cached read is well under a millisecond, a job submission waits for its
    // plan (up to 10 s).
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0, 30.0,
    ])
}

/// Counters and histograms kite serve exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    cache: Family<ResultLabels, Counter>,
    rate_limited: Counter,
    jobs: Family<StateLabels, Gauge>,
    queue_up: Gauge,
    provider_errors: Family<ProviderLabels, Counter>,
    store_up: Gauge,
    runs: Family<RunLabels, Gauge>,
    energy_kwh: FloatGauge,
    emissions_g: Family<ScopeLabels, FloatGauge>,
    forecast_age: Family<SeriesLabels, FloatGauge>,
    measured_age: Family<SeriesLabels, FloatGauge>,
    /// When the store values were last refreshed (claimed before the refresh runs, so
    /// concurrent scrapes serve the previous values instead of scanning the store again).
    store_refreshed: Mutex<Option<Instant>>,
    /// When the queue's counts were last read (claimed the same way).
    queue_refreshed: Mutex<Option<Instant>>,
    /// One connection to the store, kept open with a small page cache: opening one per refresh
    /// made each refresh allocate a page cache the size of the runs read, in whichever malloc
    /// arena the blocking thread had, and `kite serve` grew with the runs under a scrape load
    /// (docs/benchmarks.md, soak).
    store: Mutex<Option<kite_store::Store>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let m = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            cache: Family::default(),
            rate_limited: Counter::default(),
            jobs: Family::default(),
            queue_up: Gauge::default(),
            provider_errors: Family::default(),
            store_up: Gauge::default(),
            runs: Family::default(),
            energy_kwh: FloatGauge::default(),
            emissions_g: Family::default(),
            forecast_age: Family::default(),
            measured_age: Family::default(),
            store_refreshed: Mutex::new(None),
            queue_refreshed: Mutex::new(None),
            store: Mutex::new(None),
        };
        m.register()
    }
}

impl Metrics {
    fn register(mut self) -> Metrics {
        let r = &mut self.registry;
        r.register(
            "kite_http_requests",
            "HTTP requests answered, by method, route template and status class",
            self.requests.clone(),
        );
        r.register_with_unit(
            "kite_http_request_duration",
            "Time to answer an HTTP request, by method, route template and status class",
            Unit::Seconds,
            self.latency.clone(),
        );
        r.register(
            "kite_http_cache",
            "Response cache lookups of public data reads, by result (hit, miss)",
            self.cache.clone(),
        );
        r.register(
            "kite_http_rate_limited",
            "Requests refused with 429 by the per-client rate limit",
            self.rate_limited.clone(),
        );
        r.register(
            "kite_jobs",
            "Jobs in the queue by state (read from the queue at scrape time)",
            self.jobs.clone(),
        );
        r.register(
            "kite_queue_up",
            "1 if the job queue answered at the last scrape, else 0",
            self.queue_up.clone(),
        );
        r.register(
            "kite_provider_errors",
            "Failed fetches of each live intensity provider since kite serve started",
            self.provider_errors.clone(),
        );
        r.register(
            "kite_store_up",
            "1 if kite's store opened at the last refresh, else 0",
            self.store_up.clone(),
        );
        r.register(
            "kite_runs",
            "Measured runs in kite's store by status",
            self.runs.clone(),
        );
        r.register(
            "kite_runs_energy_kwh",
            "Energy of the finished runs in kite's store (sum of each record's total, kWh)",
            self.energy_kwh.clone(),
        );
        r.register(
            "kite_runs_emissions_grams",
            "Emissions of the finished runs in kite's store, gCO2e, by scope (operational, embodied)",
            self.emissions_g.clone(),
        );
        r.register_with_unit(
            "kite_forecast_age",
            "Time since the newest stored provider forecast of a zone and source was fetched",
            Unit::Seconds,
            self.forecast_age.clone(),
        );
        r.register_with_unit(
            "kite_measured_data_age",
            "Time since the end of the newest stored measured value of a zone and source (kite's own forecast is issued there)",
            Unit::Seconds,
            self.measured_age.clone(),
        );
        self
    }

    /// Records one answered request. `route` is the matched route template, if any.
    pub fn observe(
        &self,
        method: &Method,
        route: Option<&str>,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let labels = RequestLabels {
            method: method_label(method),
            route: route.unwrap_or("unmatched").to_owned(),
            status: status_class(status),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// A response served from the cache.
    pub fn cache_hit(&self) {
        self.cache
            .get_or_create(&ResultLabels { result: "hit" })
            .inc();
    }

    /// A cacheable read the cache did not hold.
    pub fn cache_miss(&self) {
        self.cache
            .get_or_create(&ResultLabels { result: "miss" })
            .inc();
    }

    /// A request refused by the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// The exposition: reads the queue and the providers' error counts now, the store when its
    /// values are older than [`STORE_REFRESH`].
    pub async fn render(&self, state: &Arc<AppState>) -> String {
        let s = state.clone();
        let store_due = claim(&self.store_refreshed, STORE_REFRESH);
        let queue_due = claim(&self.queue_refreshed, QUEUE_REFRESH);
        if store_due || queue_due {
            let read = tokio::task::spawn_blocking(move || {
                let counts = queue_due.then(|| s.jobs.control.queue.counts());
                let store = store_due.then(|| s.metrics.read_store(&s.database, s.intensity.now()));
                (counts, store)
            })
            .await;
            match read {
                Ok((counts, store)) => {
                    if let Some(counts) = counts {
                        self.set_jobs(counts);
                    }
                    if let Some(store) = store {
                        self.set_store(store);
                    }
                }
                Err(e) => tracing::error!("metrics: reading the queue and store failed: {e}"),
            }
        }
        for (provider, n) in state.intensity.provider_errors() {
            let c = self
                .provider_errors
                .get_or_create(&ProviderLabels { provider });
            // The service counts; the exported counter catches up with it.
            c.inc_by(n.saturating_sub(c.get()));
        }
        let mut out = String::with_capacity(4096);
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("metrics: encoding failed: {e}");
        }
        out
    }

    /// Reads the store's values through the kept connection (opened on first use, and again
    /// after an error).
    fn read_store(
        &self,
        database: &Path,
        now: kite_core::Timestamp,
    ) -> Result<StoreSnapshot, String> {
        let mut kept = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let store = match kept.take() {
            Some(store) => store,
            None => {
                // The path stays in the log, never in a response.
                let store = kite_store::Store::open(database)
                    .map_err(|e| format!("cannot open the store {}: {e}", database.display()))?;
                store
                    .limit_cache(STORE_CACHE_KIB)
                    .map_err(|e| format!("cannot set up the store {}: {e}", database.display()))?;
                store
            }
        };
        let read = StoreSnapshot::read(&store, database, now);
        // Kept only while it works: the next refresh reopens it after an error.
        if read.is_ok() {
            *kept = Some(store);
        }
        read
    }

    fn set_jobs(&self, counts: Result<Vec<(JobState, u64)>, kite_service::QueueError>) {
        match counts {
            Ok(counts) => {
                self.queue_up.set(1);
                for st in JobState::ALL {
                    let n = counts
                        .iter()
                        .filter(|(s, _)| *s == st)
                        .map(|(_, n)| *n)
                        .sum::<u64>();
                    self.jobs
                        .get_or_create(&StateLabels { state: st.as_str() })
                        .set(i64::try_from(n).unwrap_or(i64::MAX));
                }
            }
            Err(e) => {
                tracing::error!("metrics: the job queue did not answer: {e}");
                self.queue_up.set(0);
            }
        }
    }

    fn set_store(&self, snap: Result<StoreSnapshot, String>) {
        let snap = match snap {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("metrics: {e}");
                self.store_up.set(0);
                return;
            }
        };
        self.store_up.set(1);
        self.runs.clear();
        for (status, n) in snap.runs {
            self.runs.get_or_create(&RunLabels { status }).set(n);
        }
        self.energy_kwh.set(snap.energy_kwh);
        self.emissions_g
            .get_or_create(&ScopeLabels {
                scope: "operational",
            })
            .set(snap.operational_g);
        self.emissions_g
            .get_or_create(&ScopeLabels { scope: "embodied" })
            .set(snap.embodied_g);
        self.forecast_age.clear();
        for (labels, age) in snap.forecast_age {
            self.forecast_age.get_or_create(&labels).set(age);
        }
        self.measured_age.clear();
        for (labels, age) in snap.measured_age {
            self.measured_age.get_or_create(&labels).set(age);
        }
    }
}

/// Whether a value refreshed at most every `every` is due; if so, marks it refreshed now
/// (before the read runs, so concurrent scrapes serve the previous values meanwhile).
fn claim(last: &Mutex<Option<Instant>>, every: Duration) -> bool {
    let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < every) {
        return false;
    }
    *last = Some(now);
    true
}

/// What `/metrics` reads from kite's store.
struct StoreSnapshot {
    runs: Vec<(&'static str, i64)>,
    energy_kwh: f64,
    operational_g: f64,
    embodied_g: f64,
    forecast_age: Vec<(SeriesLabels, f64)>,
    measured_age: Vec<(SeriesLabels, f64)>,
}

impl StoreSnapshot {
    fn read(
        store: &kite_store::Store,
        database: &Path,
        now: kite_core::Timestamp,
    ) -> Result<StoreSnapshot, String> {
        const KEYS: [&str; 3] = [
            "result.energy_kwh",
            "result.operational_g",
            "result.embodied_g",
        ];
        // Aggregated in SQL: listing every run here grew `kite serve` with the runs it had
        // measured (docs/benchmarks.md, soak).
        let totals = store
            .run_totals(&KEYS)
            .map_err(|e| format!("cannot count the runs in {}: {e}", database.display()))?;
        let mut snap = StoreSnapshot {
            runs: Vec::new(),
            // Only finished runs carry their totals (`kite run` writes them when the job ends).
            energy_kwh: totals.sum(KEYS[0]),
            operational_g: totals.sum(KEYS[1]),
            embodied_g: totals.sum(KEYS[2]),
            forecast_age: Vec::new(),
            measured_age: Vec::new(),
        };
        for status in [
            kite_store::RunStatus::Running,
            kite_store::RunStatus::Succeeded,
            kite_store::RunStatus::Failed,
            kite_store::RunStatus::Interrupted,
        ] {
            snap.runs.push((status.as_str(), totals.count(status)));
        }
        let catalog = store
            .catalog()
            .map_err(|e| format!("cannot read the catalog of {}: {e}", database.display()))?;
        for entry in catalog {
            let labels = SeriesLabels {
                zone: entry.zone.to_string(),
                source: entry.source.clone(),
            };
            let since = |t: kite_core::Timestamp| {
                (now.as_millisecond() - t.as_millisecond()) as f64 / 1000.0
            };
            match entry.provenance.as_str() {
                "forecast" => {
                    if let Some(fetched) = entry.last_fetched {
                        upsert_min(&mut snap.forecast_age, labels, since(fetched));
                    }
                }
                "measured" => upsert_min(&mut snap.measured_age, labels, since(entry.last_end)),
                _ => {}
            }
        }
        Ok(snap)
    }
}

/// The youngest age per zone and source (a zone can have several signals).
fn upsert_min(ages: &mut Vec<(SeriesLabels, f64)>, labels: SeriesLabels, age: f64) {
    match ages.iter_mut().find(|(l, _)| *l == labels) {
        Some((_, a)) => *a = a.min(age),
        None => ages.push((labels, age)),
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        // Anything else would let a client create label values at will.
        _ => "other",
    }
}

fn status_class(s: StatusCode) -> &'static str {
    match s.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// This module's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/readyz", get(readyz))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let body = state.metrics.render(&state).await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

/// 200 when the job queue answers and the store opens; else 503 naming what is not ready (the
/// reasons, which may contain paths, go to the log).
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let s = state.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let queue = s
            .jobs
            .control
            .queue
            .counts()
            .map(|_| ())
            .map_err(|e| e.to_string());
        let store = kite_store::Store::open(&s.database)
            .map(|_| ())
            .map_err(|e| e.to_string());
        (queue, store)
    })
    .await;
    let (queue, store) = match checked {
        Ok(c) => c,
        Err(e) => (Err(e.to_string()), Err("not checked".to_owned())),
    };
    let mut missing = Vec::new();
    if let Err(e) = &queue {
        tracing::warn!("readyz: the job queue does not answer: {e}");
        missing.push("the job queue does not answer");
    }
    if let Err(e) = &store {
        tracing::warn!("readyz: the store cannot be opened: {e}");
        missing.push("kite's store cannot be opened");
    }
    if missing.is_empty() {
        return axum::Json(serde_json::json!({"status": "ready", "queue": "ok", "store": "ok"}))
            .into_response();
    }
    Problem {
        fix: Some(
            "see the kite serve log for the reason; /healthz still answers while the process runs"
                .into(),
        ),
        ..Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready",
            format!("not ready: {}", missing.join("; ")),
        )
    }
    .into_response()
}
