//! `kite monitor`: a long-running exporter of host and per-process power and energy, and of the
//! grid intensity of the configured region, as Prometheus metrics (`/metrics`, OpenMetrics text)
//! or as JSON lines on stdout.
//!
//! Threads: the sampling loop runs on its own thread (meters and procfs are blocking reads, one
//! pass per interval, paced by a monotonic deadline so intervals do not drift); the HTTP server,
//! the intensity refresh (every [`INTENSITY_REFRESH`]) and the signal handlers run on the async
//! runtime. They share [`Shared`] behind mutexes: a scrape encodes the metrics under the same
//! lock a sample updates them under, so it never sees half an interval.
//!
//! Order matters as in `kite run`: everything that can fail on bad input (interval, region,
//! listen address, meter choice, pids) fails before the first sample.

use crate::args::{GlobalArgs, MonitorArgs, parse_interval};
use crate::cmd_intensity::load_config;
use crate::meters::{choice, meter_env};
use anyhow::{Context, Result, anyhow, bail};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kite_core::{Clock, IntensitySeries, Signal, SystemClock, ZoneKey};
use kite_engine::{
    CurrentIntensity, INTENSITY_LOOKAHEAD, INTENSITY_REFRESH, IntensityService, Monitor,
    MonitorRequest, MonitorSample, intensity_at,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Runs the monitor until `--count` intervals, a signal, or a closed stdout (`--jsonl`).
pub async fn run(global: &GlobalArgs, args: MonitorArgs) -> Result<()> {
    let cfg = load_config(global)?;
    let interval = parse_interval(&args.interval).map_err(|e| anyhow!(e))?;
    if args.count == Some(0) {
        bail!(
            "--count 0: nothing to do; give a number of intervals of at least 1, or leave it out to run until stopped"
        );
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let providers = kite_engine::build_providers(&cfg.providers)?;
    let store = kite_store::Store::open(&cfg.database)
        .map_err(|e| format!("cannot open {}: {e}", cfg.database.display()));
    let service = IntensityService::new(providers, store, cfg.fallback.clone(), clock.clone());
    let zone = match args.region.clone().or_else(|| cfg.region.clone()) {
        Some(region) => Some(service.resolve(&region)?.key.clone()),
        None => None,
    };
    let listener = match args.jsonl {
        true => None,
        false => Some(bind(args.listen)?),
    };

    let shared = Arc::new(Shared::new(zone.as_ref()));
    let mut said: HashSet<String> = HashSet::new();
    if let Some(zone) = &zone {
        refresh_intensity(&service, zone, cfg.signal, &shared, &mut said).await;
    }

    let (monitor, diagnostics) = Monitor::start(&MonitorRequest {
        meter: choice(args.meter),
        meter_env: meter_env(),
        pids: args.pids.clone(),
    })?;
    for line in diagnostics {
        eprintln!("kite monitor: {line}");
    }
    if zone.is_none() {
        eprintln!(
            "kite monitor: no region (--region, or `region` in the config file): exporting power \
             and energy without grid intensity or emissions; kite does not guess where the \
             machine is"
        );
    }
    if let Some(listener) = &listener {
        let addr = listener.local_addr().unwrap_or(args.listen);
        eprintln!(
            "kite monitor: serving Prometheus metrics on http://{addr}/metrics every {interval:?} \
             (meters: {})",
            monitor.meter_names().join(", ")
        );
        if !addr.ip().is_loopback() {
            eprintln!(
                "kite monitor: note: {addr} is reachable from other machines; the metrics name \
                 the processes you watch"
            );
        }
    }

    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Result<()>>();
    let sampler = {
        let shared = Arc::clone(&shared);
        let settings = LoopSettings {
            interval,
            count: args.count,
            jsonl: args.jsonl,
            zone: zone.clone(),
        };
        std::thread::Builder::new()
            .name("kite-monitor-sampler".into())
            .spawn(move || {
                let res = sample_loop(monitor, &shared, &settings, clock.as_ref(), &stop_rx);
                let _ = done_tx.send(res);
            })
            .context("starting the sampling thread")?
    };

    let server = async {
        match listener {
            Some(listener) => {
                let router = router(Arc::clone(&shared));
                axum::serve(listener, router)
                    .await
                    .context("serving /metrics")
            }
            None => std::future::pending().await,
        }
    };
    let refresh = async {
        let Some(zone) = &zone else {
            return std::future::pending::<()>().await;
        };
        loop {
            tokio::time::sleep(INTENSITY_REFRESH).await;
            refresh_intensity(&service, zone, cfg.signal, &shared, &mut said).await;
        }
    };
    let outcome: Result<()> = tokio::select! {
        res = done_rx => res.unwrap_or_else(|_| Err(anyhow!("the sampling thread stopped unexpectedly"))),
        res = server => res,
        res = shutdown_signal() => res.map(|name| {
            tracing::info!("{name}: stopping");
        }),
        () = refresh => Ok(()),
    };
    // Wakes the sampler if it is waiting; it finishes the sample it may be taking and returns.
    drop(stop_tx);
    if sampler.join().is_err() {
        bail!("the sampling thread panicked");
    }
    outcome
}

/// Binds the metrics address before anything else runs, with the fix in the error.
fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "another program (another `kite monitor`?) is listening there; pick a free port \
                 with --listen 127.0.0.1:PORT"
            }
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges; pick another with --listen 127.0.0.1:PORT"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "that address is not one of this machine's; use --listen 127.0.0.1:PORT"
            }
            _ => "choose another address with --listen 127.0.0.1:PORT",
        };
        anyhow!("cannot listen on {addr}: {e}; {hint}")
    })?;
    listener
        .set_nonblocking(true)
        .with_context(|| format!("setting up the listener on {addr}"))?;
    tokio::net::TcpListener::from_std(listener)
        .with_context(|| format!("setting up the listener on {addr}"))
}

/// Waits for SIGINT or SIGTERM; returns which.
async fn shutdown_signal() -> Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        res = tokio::signal::ctrl_c() => res.context("installing the SIGINT handler").map(|()| "SIGINT"),
        _ = terminate.recv() => Ok("SIGTERM"),
    }
}

/// Fetches the intensity around now into `shared`; a failure keeps the previous segments.
/// `said` holds the lines the previous refresh printed: a note or error is printed when it
/// appears, not again while it persists (and the set stays as small as one refresh's lines).
async fn refresh_intensity(
    service: &IntensityService,
    zone: &ZoneKey,
    signal: Signal,
    shared: &Shared,
    said: &mut HashSet<String>,
) {
    let now = service.now();
    let lines: Vec<String> =
        match kite_engine::fetch_intensity(service, zone, signal, now, now + INTENSITY_LOOKAHEAD)
            .await
        {
            Ok((segments, notes)) => {
                *lock(&shared.intensity) = segments;
                notes
                    .iter()
                    .map(|note| format!("note: {}: {}", note.source, note.message))
                    .collect()
            }
            Err(e) => vec![format!(
                "could not refresh the grid intensity of {zone}: {:#}; the previous value is \
                 kept while it lasts",
                anyhow::Error::new(e)
            )],
        };
    for line in &lines {
        if !said.contains(line) {
            eprintln!("kite monitor: {line}");
        }
    }
    *said = lines.into_iter().collect();
}

/// Locks a mutex; a panic elsewhere while holding it leaves data that is still usable here
/// (metrics and cached segments), so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// State shared by the sampler, the HTTP handlers and the intensity refresh.
struct Shared {
    metrics: Mutex<Metrics>,
    /// The latest intensity segments around now (empty without a region or data).
    intensity: Mutex<Vec<IntensitySeries>>,
    /// The last sampling error, or `None` after a good sample (for `/healthz`).
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn new(zone: Option<&ZoneKey>) -> Shared {
        Shared {
            metrics: Mutex::new(Metrics::new(zone)),
            intensity: Mutex::new(Vec::new()),
            last_error: Mutex::new(None),
        }
    }
}

struct LoopSettings {
    interval: Duration,
    count: Option<u64>,
    jsonl: bool,
    zone: Option<ZoneKey>,
}

/// Samples every interval until `count`, a stop message (or the sender dropped), or a closed
/// stdout. Sampling errors are reported once per distinct message and the loop goes on.
fn sample_loop(
    mut monitor: Monitor,
    shared: &Shared,
    settings: &LoopSettings,
    clock: &dyn Clock,
    stop: &Receiver<()>,
) -> Result<()> {
    let mut next = Instant::now() + settings.interval;
    let mut done: u64 = 0;
    let mut last_error: Option<String> = None;
    let mut had_intensity = true;
    loop {
        match stop.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        let started = Instant::now();
        let result = monitor.sample();
        match result {
            Ok(sample) => {
                for note in &sample.notes {
                    eprintln!("kite monitor: {note}");
                }
                if last_error.take().is_some() {
                    eprintln!("kite monitor: sampling works again");
                }
                let now = clock.now();
                let intensity = settings
                    .zone
                    .as_ref()
                    .and_then(|_| intensity_at(&lock(&shared.intensity), now));
                if let Some(zone) = &settings.zone {
                    match (&intensity, had_intensity) {
                        (None, true) => eprintln!(
                            "kite monitor: no grid intensity for {zone} at {now}; emissions are \
                             not counted until there is"
                        ),
                        (Some(_), false) => {
                            eprintln!("kite monitor: grid intensity for {zone} is back")
                        }
                        _ => {}
                    }
                    had_intensity = intensity.is_some();
                }
                let grams = intensity
                    .as_ref()
                    .map(|i| sample.emissions(i.point.value).0);
                lock(&shared.metrics).record(&sample, intensity.as_ref(), grams, now);
                *lock(&shared.last_error) = None;
                let took = started.elapsed().as_secs_f64();
                lock(&shared.metrics).sample_duration.set(took);
                if settings.jsonl {
                    let line = jsonl_line(&sample, intensity.as_ref(), grams, now)?;
                    if !write_line(&line)? {
                        return Ok(());
                    }
                }
            }
            Err(e) => {
                // With its causes: the monitor's error names the path, its source says why.
                let message = format!("{:#}", anyhow::Error::new(e));
                if last_error.as_deref() != Some(message.as_str()) {
                    eprintln!(
                        "kite monitor: sampling failed (will retry every interval): {message}"
                    );
                }
                *lock(&shared.last_error) = Some(message.clone());
                last_error = Some(message);
            }
        }
        done += 1;
        if settings.count.is_some_and(|n| done >= n) {
            return Ok(());
        }
        next += settings.interval;
        let now = Instant::now();
        if next <= now {
            // Overran (a slow meter, a suspended machine): skip the missed ticks, do not burst.
            next = now + settings.interval;
        }
    }
}

/// Writes one line to stdout and flushes it; `false` when the reader has gone (broken pipe).
fn write_line(line: &str) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    let res = out
        .write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match res {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(anyhow!(e).context("writing to stdout")),
    }
}

// ----- Prometheus -------------------------------------------------------------------------------

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    component: &'static str,
    device: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProcessLabels {
    pid: u32,
    comm: String,
    component: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpLabels {
    pid: u32,
    comm: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IntensityLabels {
    zone: String,
    signal: &'static str,
    provenance: &'static str,
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ZoneLabels {
    zone: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type FloatCounter = Counter<f64, AtomicU64>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// The exported metrics. Names follow the Prometheus conventions: base units in the name,
/// `_total` on counters, labels for dimensions.
struct Metrics {
    registry: Registry,
    energy: Family<DeviceLabels, FloatCounter>,
    power: Family<DeviceLabels, FloatGauge>,
    process_energy: Family<ProcessLabels, FloatCounter>,
    process_power: Family<ProcessLabels, FloatGauge>,
    process_up: Family<UpLabels, Gauge>,
    intensity: Family<IntensityLabels, FloatGauge>,
    intensity_age: Family<ZoneLabels, FloatGauge>,
    emissions: Family<ZoneLabels, FloatCounter>,
    sample_duration: FloatGauge,
}

impl Metrics {
    fn new(zone: Option<&ZoneKey>) -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("kite"),
            energy: Family::default(),
            power: Family::default(),
            process_energy: Family::default(),
            process_power: Family::default(),
            process_up: Family::default(),
            intensity: Family::default(),
            intensity_age: Family::default(),
            emissions: Family::default(),
            sample_duration: FloatGauge::default(),
        };
        let watts = || Unit::Other("watts".into());
        let registry = &mut m.registry;
        registry.register_with_unit(
            "energy",
            "Energy used by each host device (whole device, not only the watched processes)",
            Unit::Joules,
            m.energy.clone(),
        );
        registry.register_with_unit(
            "power",
            "Mean power of each host device over the last sampling interval",
            watts(),
            m.power.clone(),
        );
        registry.register_with_unit(
            "process_energy",
            "Energy attributed to a watched process and its descendants (CPU and GPU by CPU-time \
             share; RAM by the meter's rule)",
            Unit::Joules,
            m.process_energy.clone(),
        );
        registry.register_with_unit(
            "process_power",
            "Mean power attributed to a watched process tree over the last sampling interval",
            watts(),
            m.process_power.clone(),
        );
        registry.register(
            "process_up",
            "1 while the watched process or a descendant runs, 0 once all have exited",
            m.process_up.clone(),
        );
        registry.register_with_unit(
            "grid_intensity",
            "Grid carbon intensity in force now in the zone, gCO2e per kWh, with its signal, \
             provenance and source",
            Unit::Other("gco2_per_kwh".into()),
            m.intensity.clone(),
        );
        registry.register_with_unit(
            "grid_intensity_age",
            "Age of the grid intensity value: since its interval ended (measured) or the \
             forecast was issued; absent for estimates, which describe no moment",
            Unit::Seconds,
            m.intensity_age.clone(),
        );
        registry.register_with_unit(
            "emissions",
            "Emissions of the host's energy at the grid intensity of each interval (PUE 1)",
            Unit::Grams,
            m.emissions.clone(),
        );
        registry.register_with_unit(
            "sample_duration",
            "Time kite took to take and record the last sample (its own overhead per interval)",
            Unit::Seconds,
            m.sample_duration.clone(),
        );
        registry.register(
            "build",
            "The kite build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        if let Some(zone) = zone {
            // Present from the start, at 0, so a rate() over it works from the first scrape.
            m.emissions
                .get_or_create(&ZoneLabels {
                    zone: zone.to_string(),
                })
                .inc_by(0.0);
        }
        m
    }

    fn record(
        &mut self,
        sample: &MonitorSample,
        intensity: Option<&CurrentIntensity>,
        grams: Option<f64>,
        now: kite_core::Timestamp,
    ) {
        // Devices a failing meter did not report this interval have no current power.
        self.power.clear();
        for h in &sample.host {
            let labels = DeviceLabels {
                component: h.component.as_str(),
                device: h.device.clone(),
                method: h.method_label(),
            };
            self.energy.get_or_create(&labels).inc_by(h.joules.0);
            self.power.get_or_create(&labels).set(h.watts.0);
        }
        for p in &sample.processes {
            self.process_up
                .get_or_create(&UpLabels {
                    pid: p.pid,
                    comm: p.comm.clone(),
                })
                .set(i64::from(p.up));
            for (component, joules, watts) in &p.components {
                let labels = ProcessLabels {
                    pid: p.pid,
                    comm: p.comm.clone(),
                    component: component.as_str(),
                };
                self.process_energy.get_or_create(&labels).inc_by(joules.0);
                self.process_power.get_or_create(&labels).set(watts.0);
            }
        }
        // One series per zone: a change of source or provenance replaces it.
        self.intensity.clear();
        self.intensity_age.clear();
        if let Some(i) = intensity {
            let zone = i.zone.to_string();
            self.intensity
                .get_or_create(&IntensityLabels {
                    zone: zone.clone(),
                    signal: i.meta.signal.as_str(),
                    provenance: i.meta.provenance.label(),
                    source: i.meta.source.clone(),
                })
                .set(i.point.value.0);
            if let Some(age) = crate::render::age_secs(&i.point, &i.meta, now) {
                self.intensity_age
                    .get_or_create(&ZoneLabels { zone: zone.clone() })
                    .set(age as f64);
            }
            if let Some(g) = grams {
                self.emissions.get_or_create(&ZoneLabels { zone }).inc_by(g);
            }
        }
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(4096);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(shared)
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let encoded = lock(&shared.metrics).encode();
    match encoded {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "kite monitor: encoding the metrics failed\n",
        )
            .into_response(),
    }
}

/// `200 ok` while sampling works; `503` with the error after a failed sample.
async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    match lock(&shared.last_error).clone() {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("sampling failed: {e}\n"),
        )
            .into_response(),
    }
}

// ----- JSON lines -------------------------------------------------------------------------------

/// One interval of `kite monitor --jsonl`: one object per line on stdout, flushed per line.
///
/// ```json
/// {"time": "2025-06-01T12:00:01Z", "interval_seconds": 1.0,
///  "host": [{"component": "cpu", "device": "package-0", "method": "measured",
///            "watts": 41.2, "joules": 41.2}],
///  "processes": [{"pid": 4242, "comm": "python", "up": true, "cpu_share": 0.61,
///                 "watts": {"cpu": 25.1, "ram": 0.4}, "joules": {"cpu": 25.1, "ram": 0.4}}],
///  "intensity": {"zone": "DE", "gco2_per_kwh": 312.0, "signal": "average-lifecycle",
///                "provenance": "estimated", "source": "…",
///                "provenance_detail": "estimated (typical-week profile, …)", "age_seconds": null},
///  "grams_co2e": 0.0036}
/// ```
///
/// - `time`: the end of the interval (RFC 3339, UTC); `interval_seconds`: its length
///   (monotonic clock).
/// - `host`: every device the meters read in the interval; `joules` is the device's energy in
///   this interval (not a running total), `watts` its mean power; `method` is `measured` or
///   `modelled`.
/// - `processes`: every `--pid`, in the order given; `up` is false once the process and all its
///   descendants have exited (then every value is 0); `watts` and `joules` are the tree's
///   attributed share per component.
/// - `intensity`: the value in force at `time`, or `null` without a region or data;
///   `age_seconds` as in `kite intensity --format json` (`null` for estimates).
/// - `grams_co2e`: the host's energy in this interval × `gco2_per_kwh` (PUE 1), or `null`.
#[derive(Debug, Serialize)]
struct Line {
    time: String,
    interval_seconds: f64,
    host: Vec<HostLine>,
    processes: Vec<ProcessLine>,
    intensity: Option<IntensityLine>,
    grams_co2e: Option<f64>,
}

#[derive(Debug, Serialize)]
struct HostLine {
    component: &'static str,
    device: String,
    method: &'static str,
    watts: f64,
    joules: f64,
}

#[derive(Debug, Serialize)]
struct ProcessLine {
    pid: u32,
    comm: String,
    up: bool,
    cpu_share: f64,
    watts: BTreeMap<&'static str, f64>,
    joules: BTreeMap<&'static str, f64>,
}

#[derive(Debug, Serialize)]
struct IntensityLine {
    zone: String,
    gco2_per_kwh: f64,
    signal: &'static str,
    provenance: &'static str,
    source: String,
    provenance_detail: String,
    age_seconds: Option<i64>,
}

fn jsonl_line(
    sample: &MonitorSample,
    intensity: Option<&CurrentIntensity>,
    grams: Option<f64>,
    now: kite_core::Timestamp,
) -> Result<String> {
    let line = Line {
        time: now.to_string(),
        interval_seconds: sample.seconds,
        host: sample
            .host
            .iter()
            .map(|h| HostLine {
                component: h.component.as_str(),
                device: h.device.clone(),
                method: h.method_label(),
                watts: h.watts.0,
                joules: h.joules.0,
            })
            .collect(),
        processes: sample
            .processes
            .iter()
            .map(|p| ProcessLine {
                pid: p.pid,
                comm: p.comm.clone(),
                up: p.up,
                cpu_share: p.cpu_share,
                watts: p
                    .components
                    .iter()
                    .map(|(c, _, w)| (c.as_str(), w.0))
                    .collect(),
                joules: p
                    .components
                    .iter()
                    .map(|(c, j, _)| (c.as_str(), j.0))
                    .collect(),
            })
            .collect(),
        intensity: intensity.map(|i| IntensityLine {
            zone: i.zone.to_string(),
            gco2_per_kwh: i.point.value.0,
            signal: i.meta.signal.as_str(),
            provenance: i.meta.provenance.label(),
            source: i.meta.source.clone(),
            provenance_detail: i.meta.provenance.to_string(),
            age_seconds: crate::render::age_secs(&i.point, &i.meta, now),
        }),
        grams_co2e: grams,
    };
    serde_json::to_string(&line).context("encoding a JSON line")
}
