//! [`Tracker`]: starts the meters, runs the sampling thread, persists intervals, and builds the
//! record at the end.
//!
//! The sampling thread owns the meters, the activity source and the store. Each tick it samples
//! activity and every meter *outside* the shared lock, then, under the lock, takes the tick's
//! timestamp, looks up the intensity of the tick, adds the tick to the current row, and closes
//! the row when it spans at least `max(interval, 1 s)`, when a phase starts or ends, when the
//! intensity changes, and before each write to the store. Closed rows are folded into the shared
//! [`Accumulator`] (which the live [`Snapshot`] reads) and queued; the queue is written to the
//! store in one transaction every `persist_every`, and at the end. A crash therefore loses at
//! most `persist_every` plus one sampling interval.
//!
//! Timestamps are `start + monotonic elapsed`, in whole milliseconds, so intervals never overlap
//! or leave holes even if the wall clock jumps, and the live record equals the one rebuilt from
//! the store.
//!
//! Failure policy: measuring never stops because of a side problem. A meter that errors is
//! skipped for that tick (and dropped if it panics), a failed write is retried at the next
//! persist (and given up after repeated failures), and each problem becomes one deduplicated
//! [`Diagnostic`] in the record.

use crate::accounting::{self, Prediction};
use crate::accumulate::{self, Accumulator, RunContext, RunEnd};
use crate::config::TrackerConfig;
use crate::error::TrackerError;
use crate::record::{Diagnostic, RunOutcome, RunRecord, RunStatus};
use crate::sources::ActivitySource;
use kite_core::{
    Clock, GramsCo2PerKwh, GramsCo2e, IntensitySeries, KilowattHours, SystemClock, Timestamp, Watts,
};
use kite_meter::{Activity, Meter, Reading};
use kite_store::{
    IntervalBatch, NewRun, RunDevice, RunFinish, RunInterval, RunPhase, RunReading, RunSignal,
    Store,
};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Rows are never shorter than this (unless cut by a phase, an intensity change or a write to
/// the store), so a 10 ms sampling interval with the default `persist_every` does not write 100
/// rows a second.
const MIN_ROW_MS: i64 = 1000;

/// After this many consecutive failed writes the tracker stops writing (and says so).
const MAX_PERSIST_FAILURES: u32 = 30;

/// Problems met while measuring, deduplicated by a key.
#[derive(Debug, Default)]
struct Diagnostics {
    entries: Vec<(String, Diagnostic)>,
}

impl Diagnostics {
    fn note(&mut self, key: &str, message: impl FnOnce() -> String) {
        if let Some((_, d)) = self.entries.iter_mut().find(|(k, _)| k == key) {
            d.count += 1;
            return;
        }
        let message = message();
        tracing::warn!("{message}");
        self.entries
            .push((key.to_string(), Diagnostic { message, count: 1 }));
    }

    fn to_vec(&self) -> Vec<Diagnostic> {
        self.entries.iter().map(|(_, d)| d.clone()).collect()
    }
}

/// State shared by the caller's thread and the sampling thread.
struct State {
    ctx: RunContext,
    acc: Accumulator,
    segments: Vec<IntensitySeries>,
    /// Signal index (in `acc.signals`) of each segment.
    segment_signal: Vec<usize>,
    /// Segments given by `set_intensity`, applied once the current row is closed.
    next_segments: Option<Vec<IntensitySeries>>,
    /// Close the current row at once (a phase started or ended, or the intensity changed).
    cut: bool,
    stop: Option<RunOutcome>,
    /// [`Tracker::sample_now`] requests, numbered; `sampled` is the latest one a tick has served
    /// (the tick's sample was taken after the request was made).
    sample_requested: u64,
    sampled: u64,
    finished: bool,
    dirty_phases: Vec<usize>,
    diagnostics: Diagnostics,
    samples: u64,
}

impl State {
    fn set_segments(&mut self, segments: Vec<IntensitySeries>) {
        self.segment_signal = segments
            .iter()
            .map(|s| self.acc.signal_index(s.zone(), s.meta()))
            .collect();
        self.segments = segments;
    }
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    started_ms: i64,
    started: Instant,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds on the run's timeline: start + monotonic elapsed.
    fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX / 2);
        self.started_ms.saturating_add(elapsed)
    }

    fn start_phase(&self, name: &str) -> usize {
        let mut st = self.lock();
        let now = self.now_ms();
        let idx = st.acc.start_phase(name, now);
        if !st.finished {
            st.dirty_phases.push(idx);
            st.cut = true;
            self.wake.notify_all();
        }
        idx
    }

    fn end_phase(&self, idx: usize) {
        let mut st = self.lock();
        if st.finished {
            return;
        }
        let now = self.now_ms();
        if st.acc.end_phase(idx, now) {
            st.dirty_phases.push(idx);
            st.cut = true;
            self.wake.notify_all();
        }
    }
}

/// A phase started with [`Tracker::start_phase`], to end with [`Tracker::end_phase`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseId(usize);

/// Ends its phase when dropped (or at [`PhaseGuard::end`]).
pub struct PhaseGuard {
    shared: Arc<Shared>,
    idx: usize,
    ended: bool,
}

impl PhaseGuard {
    /// Ends the phase now.
    pub fn end(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if !self.ended {
            self.ended = true;
            self.shared.end_phase(self.idx);
        }
    }
}

impl Drop for PhaseGuard {
    fn drop(&mut self) {
        self.finish();
    }
}

impl std::fmt::Debug for PhaseGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhaseGuard")
            .field("idx", &self.idx)
            .finish()
    }
}

/// Where a run stands now: for the live status line and `kite monitor`.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The run.
    pub run_id: String,
    /// Seconds since measuring started.
    pub elapsed_secs: f64,
    /// IT power charged to the run over the last closed interval.
    pub power: Watts,
    /// IT energy so far.
    pub energy: KilowattHours,
    /// Operational emissions so far (PUE included).
    pub emissions: GramsCo2e,
    /// Embodied emissions so far.
    pub embodied: GramsCo2e,
    /// Operational water so far, litres.
    pub water_litres: f64,
    /// Grid intensity applied to the last closed interval.
    pub intensity: Option<GramsCo2PerKwh>,
    /// Sampling ticks so far.
    pub samples: u64,
    /// The most recently started phase that is still running.
    pub phase: Option<String>,
    /// Phases completed.
    pub completed_phases: u32,
    /// Phases announced.
    pub total_phases: Option<u32>,
    /// The latest prediction of the whole run.
    pub prediction: Option<Prediction>,
    /// Problems met so far.
    pub diagnostics: Vec<Diagnostic>,
}

impl Snapshot {
    /// IT energy so far in watt-hours.
    pub fn energy_wh(&self) -> f64 {
        self.energy.0 * 1000.0
    }
}

/// Measures one run. See the module docs; [`Tracker::guard`] gives an RAII handle.
pub struct Tracker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<RunRecord, TrackerError>>>,
    run_id: String,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("run_id", &self.run_id)
            .finish()
    }
}

impl Tracker {
    /// Checks `config`, primes `sampler`, starts every meter (one that fails is left out with a
    /// diagnostic; none starting is an error), writes the run header to `store` at once, and
    /// spawns the sampling thread. `intensity` is in priority order (see `accounting.rs`).
    pub fn start(
        config: TrackerConfig,
        meters: Vec<Box<dyn Meter>>,
        mut sampler: Box<dyn ActivitySource>,
        intensity: Vec<IntensitySeries>,
        mut store: Option<Store>,
    ) -> Result<Tracker, TrackerError> {
        config.validate()?;
        let mut diagnostics = Diagnostics::default();
        let total_memory = match sampler.sample() {
            Ok(a) => (a.total_memory_bytes > 0).then_some(a.total_memory_bytes),
            Err(e) => {
                diagnostics.note("activity", || {
                    format!("process activity could not be read ({e}); CPU and memory figures are missing")
                });
                None
            }
        };
        let mut running: Vec<Box<dyn Meter>> = Vec::with_capacity(meters.len());
        let mut errors = Vec::new();
        for mut meter in meters {
            let name = meter.name();
            match meter.start() {
                Ok(()) => running.push(meter),
                Err(e) => {
                    errors.push(format!("{name}: {e}"));
                    diagnostics.note(&format!("start {name}"), || {
                        format!("meter `{name}` could not start and is left out: {e}")
                    });
                }
            }
        }
        if running.is_empty() {
            return Err(TrackerError::NoMeter {
                errors: if errors.is_empty() {
                    "no meter was given".to_string()
                } else {
                    errors.join("; ")
                },
            });
        }
        let started = Instant::now();
        let started_ms = SystemClock.now().as_millisecond();
        let ctx = RunContext::from_config(&config, started_ms, total_memory);
        if let Some(store) = store.as_mut() {
            store.create_run(&NewRun {
                id: config.run_id.clone(),
                project: config.project.clone(),
                experiment: config.experiment.clone(),
                command: config.command.clone().unwrap_or_default(),
                zone: config.zone.clone(),
                pid: config.pid,
                tracker_pid: std::process::id(),
                started_at: Timestamp::from_millisecond(started_ms)
                    .unwrap_or(Timestamp::UNIX_EPOCH),
                params: ctx.params(&config),
            })?;
        }
        let mut state = State {
            acc: Accumulator::new(config.tracking, config.pue.value, config.total_phases),
            ctx,
            segments: Vec::new(),
            segment_signal: Vec::new(),
            next_segments: None,
            cut: false,
            stop: None,
            sample_requested: 0,
            sampled: 0,
            finished: false,
            dirty_phases: Vec::new(),
            diagnostics,
            samples: 0,
        };
        state.set_segments(intensity);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            wake: Condvar::new(),
            started_ms,
            started,
        });
        let worker = Worker {
            shared: Arc::clone(&shared),
            run_id: config.run_id.clone(),
            meters: running.into_iter().map(Some).collect(),
            sampler,
            store,
            interval: config.interval,
            persist_every: config.persist_every,
            row_min_ms: MIN_ROW_MS
                .max(i64::try_from(config.interval.as_millis()).unwrap_or(MIN_ROW_MS)),
            batch: IntervalBatch::default(),
            devices_sent: 0,
            signals_sent: 0,
            row: Row::new(started_ms),
            tick_start_ms: started_ms,
            seq: 0,
            last_persist: Instant::now(),
            persist_failures: 0,
            last_cpus: 0,
            readings: Vec::new(),
        };
        let thread = std::thread::Builder::new()
            .name("kite-tracker".into())
            .spawn(move || worker.run())
            .map_err(TrackerError::Thread)?;
        Ok(Tracker {
            shared,
            thread: Some(thread),
            run_id: config.run_id,
        })
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// An RAII handle: dropping it stops the run as `interrupted`; [`TrackerGuard::finish`]
    /// stops it as `succeeded`.
    pub fn guard(self) -> TrackerGuard {
        TrackerGuard { tracker: self }
    }

    /// Starts a named phase (an epoch, a stage) that ends when the guard is dropped.
    pub fn phase(&self, name: &str) -> PhaseGuard {
        PhaseGuard {
            shared: Arc::clone(&self.shared),
            idx: self.shared.start_phase(name),
            ended: false,
        }
    }

    /// Starts a named phase; end it with [`Tracker::end_phase`].
    pub fn start_phase(&self, name: &str) -> PhaseId {
        PhaseId(self.shared.start_phase(name))
    }

    /// Ends a phase started with [`Tracker::start_phase`] (ending it twice does nothing).
    pub fn end_phase(&self, phase: PhaseId) {
        self.shared.end_phase(phase.0);
    }

    /// Where the run stands now.
    pub fn snapshot(&self) -> Snapshot {
        let st = self.shared.lock();
        let now = self.shared.now_ms();
        let elapsed_secs = (now - self.shared.started_ms).max(0) as f64 / 1000.0;
        let acc = &st.acc;
        let energy = acc.energy();
        let water = accounting::water(
            energy,
            &st.ctx.pue,
            &st.ctx.wue_onsite,
            &st.ctx.water_offsite,
        );
        Snapshot {
            run_id: self.run_id.clone(),
            elapsed_secs,
            power: Watts(acc.last_power_w),
            energy,
            emissions: acc.operational(),
            embodied: acc.embodied(&st.ctx.hardware, elapsed_secs),
            water_litres: water.total_litres(),
            intensity: acc.last_intensity.map(GramsCo2PerKwh),
            samples: st.samples,
            phase: acc
                .phases
                .iter()
                .rev()
                .find(|p| p.end_ms.is_none())
                .map(|p| p.name.clone()),
            completed_phases: acc.completed_phases(),
            total_phases: st.ctx.total_phases,
            prediction: acc.latest_prediction(),
            diagnostics: st.diagnostics.to_vec(),
        }
    }

    /// Replaces the intensity series (in priority order) from the next sampling tick on;
    /// intervals already measured keep the intensity they were accounted with.
    pub fn set_intensity(&self, segments: Vec<IntensitySeries>) {
        let mut st = self.shared.lock();
        st.next_segments = Some(segments);
        st.cut = true;
        self.shared.wake.notify_all();
    }

    /// Takes a sample now and returns once it is accounted (or after `timeout`, or at once if the
    /// run has stopped).
    ///
    /// `kite run` calls this after its command has exited but before reaping it: the zombie's
    /// `/proc` entry still holds its final CPU time, which reaping would move into kite's own
    /// `cutime`, out of the measured tree.
    pub fn sample_now(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        if st.finished {
            return;
        }
        st.sample_requested += 1;
        let wanted = st.sample_requested;
        st.cut = true;
        self.shared.wake.notify_all();
        while st.sampled < wanted && !st.finished {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            st = match self.shared.wake.wait_timeout(st, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Takes a last sample, writes what is left, records how the run ended, and returns its
    /// record. A failed final write is reported in the record's diagnostics (the record itself
    /// is complete); only a dead sampling thread is an error.
    pub fn stop(mut self, outcome: RunOutcome) -> Result<RunRecord, TrackerError> {
        self.stop_inner(outcome)
    }

    fn stop_inner(&mut self, outcome: RunOutcome) -> Result<RunRecord, TrackerError> {
        let Some(thread) = self.thread.take() else {
            return Err(TrackerError::ThreadDied);
        };
        {
            let mut st = self.shared.lock();
            st.stop = Some(outcome);
            self.shared.wake.notify_all();
        }
        thread.join().unwrap_or(Err(TrackerError::ThreadDied))
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let reason = if std::thread::panicking() {
                "the program panicked while the run was measured"
            } else {
                "the tracker was dropped without being stopped (an early return or a lost guard)"
            };
            if let Err(e) = self.stop_inner(RunOutcome::Interrupted {
                reason: reason.into(),
            }) {
                tracing::warn!("stopping run {} on drop: {e}", self.run_id);
            }
        }
    }
}

/// RAII handle on a [`Tracker`]: dropped, it stops the run as `interrupted` (saying whether the
/// program was panicking); [`TrackerGuard::finish`] stops it as `succeeded`. Derefs to the
/// tracker for phases and snapshots.
#[derive(Debug)]
pub struct TrackerGuard {
    tracker: Tracker,
}

impl TrackerGuard {
    /// Stops the run as succeeded.
    pub fn finish(self) -> Result<RunRecord, TrackerError> {
        self.stop(RunOutcome::Succeeded { exit_code: None })
    }

    /// Stops the run with `outcome`.
    pub fn stop(self, outcome: RunOutcome) -> Result<RunRecord, TrackerError> {
        let TrackerGuard { tracker } = self;
        tracker.stop(outcome)
    }
}

impl std::ops::Deref for TrackerGuard {
    type Target = Tracker;
    fn deref(&self) -> &Tracker {
        &self.tracker
    }
}

/// The row being built from ticks.
struct Row {
    start_ms: i64,
    end_ms: i64,
    /// Per device index: (device J, attributed J, reported in this row).
    energy: Vec<(f64, f64, bool)>,
    charged_j: f64,
    /// Σ charged J × intensity, over ticks with an intensity.
    weighted_by_energy: f64,
    charged_with_intensity: f64,
    /// Σ ms × intensity, for rows without energy.
    weighted_by_time: f64,
    intensity_ms: i64,
    filled_ms: i64,
    /// Per signal index: ms it supplied.
    signal_ms: Vec<i64>,
    tree_cpu: f64,
    busy_cpu: f64,
    capacity_cpu: f64,
    tree_rss: u64,
    used_memory: u64,
}

impl Row {
    fn new(start_ms: i64) -> Row {
        Row {
            start_ms,
            end_ms: start_ms,
            energy: Vec::new(),
            charged_j: 0.0,
            weighted_by_energy: 0.0,
            charged_with_intensity: 0.0,
            weighted_by_time: 0.0,
            intensity_ms: 0,
            filled_ms: 0,
            signal_ms: Vec::new(),
            tree_cpu: 0.0,
            busy_cpu: 0.0,
            capacity_cpu: 0.0,
            tree_rss: 0,
            used_memory: 0,
        }
    }

    /// Empties the row for reuse, starting at `start_ms`.
    fn reset(&mut self, start_ms: i64) {
        self.start_ms = start_ms;
        self.end_ms = start_ms;
        self.energy.iter_mut().for_each(|e| *e = (0.0, 0.0, false));
        self.charged_j = 0.0;
        self.weighted_by_energy = 0.0;
        self.charged_with_intensity = 0.0;
        self.weighted_by_time = 0.0;
        self.intensity_ms = 0;
        self.filled_ms = 0;
        self.signal_ms.iter_mut().for_each(|m| *m = 0);
        self.tree_cpu = 0.0;
        self.busy_cpu = 0.0;
        self.capacity_cpu = 0.0;
    }
}

struct Worker {
    shared: Arc<Shared>,
    run_id: String,
    /// `None` once a meter panicked.
    meters: Vec<Option<Box<dyn Meter>>>,
    sampler: Box<dyn ActivitySource>,
    store: Option<Store>,
    interval: Duration,
    persist_every: Duration,
    row_min_ms: i64,
    batch: IntervalBatch,
    devices_sent: usize,
    signals_sent: usize,
    row: Row,
    tick_start_ms: i64,
    seq: u64,
    last_persist: Instant,
    persist_failures: u32,
    last_cpus: usize,
    readings: Vec<Reading>,
}

/// A non-negative finite number of joules, or 0.
fn clean(j: f64) -> f64 {
    if j.is_finite() && j > 0.0 { j } else { 0.0 }
}

impl Worker {
    fn run(mut self) -> Result<RunRecord, TrackerError> {
        let mut next_tick = Instant::now() + self.interval;
        loop {
            let (stopping, request) = {
                let mut st = self.shared.lock();
                let stopping = loop {
                    if st.stop.is_some() {
                        break true;
                    }
                    if st.cut {
                        break false;
                    }
                    let now = Instant::now();
                    if now >= next_tick {
                        break false;
                    }
                    st = match self.shared.wake.wait_timeout(st, next_tick - now) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    };
                };
                // Read under the lock before sampling: this tick serves every request up to here.
                (stopping, st.sample_requested)
            };
            self.tick(stopping, request);
            if stopping {
                return Ok(self.finish());
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick += self.interval;
                if next_tick <= now {
                    next_tick = now + self.interval;
                }
            }
        }
    }

    /// One sampling tick. Sampling happens outside the lock; accounting inside.
    fn tick(&mut self, stopping: bool, request: u64) {
        let mut notes: Vec<(String, String)> = Vec::new();
        let activity = match catch_unwind(AssertUnwindSafe(|| self.sampler.sample())) {
            Ok(Ok(a)) => {
                self.last_cpus = a.cpus;
                a
            }
            Ok(Err(e)) => {
                notes.push((
                    "activity".into(),
                    format!("process activity could not be read ({e}); those intervals have no CPU or memory figures"),
                ));
                Activity {
                    cpus: self.last_cpus,
                    ..Activity::default()
                }
            }
            Err(_) => {
                notes.push((
                    "activity panic".into(),
                    "the activity source panicked; those intervals have no CPU or memory figures"
                        .into(),
                ));
                Activity::default()
            }
        };
        self.readings.clear();
        for slot in &mut self.meters {
            let Some(meter) = slot.as_mut() else { continue };
            let name = meter.name();
            match catch_unwind(AssertUnwindSafe(|| meter.sample(&activity))) {
                Ok(Ok(readings)) => self.readings.extend(readings),
                Ok(Err(e)) => notes.push((
                    format!("meter {name}"),
                    format!("meter `{name}` failed to sample ({e}); its energy is missing for those intervals"),
                )),
                Err(_) => {
                    notes.push((
                        format!("meter {name} panic"),
                        format!("meter `{name}` panicked and was stopped; its energy is missing from then on"),
                    ));
                    *slot = None;
                }
            }
        }

        let shared = Arc::clone(&self.shared);
        let mut st = shared.lock();
        for (key, message) in notes {
            st.diagnostics.note(&key, || message);
        }
        st.samples += 1;
        if request > st.sampled {
            st.sampled = request;
            self.shared.wake.notify_all();
        }
        let end_ms = self.shared.now_ms().max(self.tick_start_ms);
        let start_ms = self.tick_start_ms;
        self.tick_start_ms = end_ms;
        let tracking = st.ctx.tracking;
        let mut tick_charged = 0.0;
        for r in self.readings.drain(..) {
            let device_j = clean(r.device_energy.0);
            let attributed_j = clean(r.attributed.0).min(device_j);
            // Rounding may put the attributed share a hair above the device; only real
            // violations are worth a diagnostic.
            let rounding = 1e-9 * device_j.max(1.0);
            if device_j != r.device_energy.0 || (attributed_j - r.attributed.0).abs() > rounding {
                st.diagnostics.note("bad reading", || {
                    format!(
                        "a reading of {} ({}) was negative, not a number, or attributed more than \
                         the device used; it was clamped",
                        r.device,
                        r.component.as_str()
                    )
                });
            }
            let idx = st.acc.device_index(r.component, &r.device, &r.method);
            if self.row.energy.len() <= idx {
                self.row.energy.resize(idx + 1, (0.0, 0.0, false));
            }
            let e = &mut self.row.energy[idx];
            e.0 += device_j;
            e.1 += attributed_j;
            e.2 = true;
            tick_charged += match tracking {
                crate::config::TrackingMode::Process => attributed_j,
                crate::config::TrackingMode::Machine => device_j,
            };
        }
        let used = accounting::intensity_over_ms(&st.segments, start_ms, end_ms);
        let row = &mut self.row;
        row.end_ms = end_ms;
        row.charged_j += tick_charged;
        let tick_ms = end_ms - start_ms;
        if let Some(i) = used.mean {
            row.weighted_by_energy += tick_charged * i.0;
            row.charged_with_intensity += tick_charged;
            row.weighted_by_time += tick_ms as f64 * i.0;
            row.intensity_ms += tick_ms;
        }
        row.filled_ms += used.filled_ms.min(tick_ms);
        if let Some(signal) = used
            .dominant
            .and_then(|d| st.segment_signal.get(d).copied())
        {
            if row.signal_ms.len() <= signal {
                row.signal_ms.resize(signal + 1, 0);
            }
            row.signal_ms[signal] += tick_ms;
        }
        row.tree_cpu += clean(activity.tree_cpu_seconds);
        row.busy_cpu += clean(activity.busy_cpu_seconds);
        row.capacity_cpu += activity.cpus as f64 * tick_ms as f64 / 1000.0;
        row.tree_rss = activity.tree_rss_bytes;
        row.used_memory = activity.used_memory_bytes;

        // Closing the row at every write bounds what a crash loses to `persist_every` plus one
        // tick, whatever the row length.
        let persist_due = stopping || self.last_persist.elapsed() >= self.persist_every;
        if self.row.end_ms - self.row.start_ms >= self.row_min_ms || st.cut || persist_due {
            st.cut = false;
            self.close_row(&mut st);
            // New intensity applies from here on, so a row never mixes two sets of series.
            if let Some(segments) = st.next_segments.take() {
                st.set_segments(segments);
            }
        }
        self.queue_metadata(&mut st);
        drop(st);

        if persist_due {
            self.persist();
        }
    }

    /// Turns the current row into a persisted interval, folds it into the totals, and prices
    /// the predictions of phases it completed.
    fn close_row(&mut self, st: &mut State) {
        let row = &self.row;
        let intensity = if row.charged_with_intensity > 0.0 {
            Some(row.weighted_by_energy / row.charged_with_intensity)
        } else if row.intensity_ms > 0 {
            Some(row.weighted_by_time / row.intensity_ms as f64)
        } else {
            None
        };
        let signal_idx = row
            .signal_ms
            .iter()
            .enumerate()
            .filter(|(_, ms)| **ms > 0)
            .max_by_key(|(i, ms)| (**ms, std::cmp::Reverse(*i)))
            .and_then(|(i, _)| u32::try_from(i).ok());
        let seq = self.seq;
        self.seq += 1;
        let interval = RunInterval {
            seq,
            start: ts(row.start_ms),
            end: ts(row.end_ms),
            intensity,
            signal_idx,
            filled_ms: u64::try_from(row.filled_ms).unwrap_or(0),
            tree_cpu_secs: row.tree_cpu,
            busy_cpu_secs: row.busy_cpu,
            capacity_cpu_secs: row.capacity_cpu,
            tree_rss_bytes: row.tree_rss,
            used_memory_bytes: row.used_memory,
        };
        let from = self.batch.readings.len();
        for (idx, &(device_j, attributed_j, reported)) in row.energy.iter().enumerate() {
            if reported && let Ok(device_idx) = u32::try_from(idx) {
                self.batch.readings.push(RunReading {
                    seq,
                    device_idx,
                    device_j,
                    attributed_j,
                });
            }
        }
        st.acc.ingest(&interval, &self.batch.readings[from..]);
        self.batch.intervals.push(interval);
        let end_ms = row.end_ms;
        self.row.reset(end_ms);

        if st.acc.has_pending() {
            let pue = st.ctx.pue.value;
            for mut pending in st.acc.take_pending() {
                pending.progress.elapsed_secs =
                    (pending.from_ms - self.shared.started_ms) as f64 / 1000.0;
                let k = f64::from(pending.progress.completed.max(1));
                let remaining = f64::from(
                    pending
                        .progress
                        .total
                        .saturating_sub(pending.progress.completed),
                );
                let remaining_ms = (pending.progress.phases_secs / k * remaining * 1000.0) as i64;
                let intensity = (remaining_ms > 0)
                    .then(|| {
                        accounting::intensity_over_ms(
                            &st.segments,
                            pending.from_ms,
                            pending.from_ms + remaining_ms,
                        )
                        .mean
                    })
                    .flatten();
                let prediction = accounting::predict(&pending.progress, pue, intensity);
                if let Some(p) = st.acc.phases.get_mut(pending.phase) {
                    p.prediction = Some(prediction);
                }
                st.dirty_phases.push(pending.phase);
            }
        }
    }

    /// Queues devices and signals first seen, and phases started or ended, for the next write.
    fn queue_metadata(&mut self, st: &mut State) {
        for (i, d) in st.acc.devices.iter().enumerate().skip(self.devices_sent) {
            let (measured, sensor, method_detail) = match &d.method {
                crate::record::EnergyMethod::Measured { sensor, detail } => {
                    (true, sensor.clone(), detail.clone())
                }
                crate::record::EnergyMethod::Modelled { model } => {
                    (false, String::new(), model.clone())
                }
            };
            self.batch.devices.push(RunDevice {
                idx: u32::try_from(i).unwrap_or(u32::MAX),
                component: d.component.as_str().to_string(),
                device: d.device.clone(),
                measured,
                sensor,
                method_detail,
            });
        }
        self.devices_sent = st.acc.devices.len();
        for (i, (zone, meta)) in st.acc.signals.iter().enumerate().skip(self.signals_sent) {
            self.batch.signals.push(RunSignal {
                idx: u32::try_from(i).unwrap_or(u32::MAX),
                zone: zone.clone(),
                meta: meta.clone(),
            });
        }
        self.signals_sent = st.acc.signals.len();
        if !st.dirty_phases.is_empty() {
            st.dirty_phases.sort_unstable();
            st.dirty_phases.dedup();
            for &pi in &st.dirty_phases {
                let Some(p) = st.acc.phases.get(pi) else {
                    continue;
                };
                let phase = RunPhase {
                    idx: u32::try_from(pi).unwrap_or(u32::MAX),
                    name: p.name.clone(),
                    start: ts(p.start_ms),
                    end: p.end_ms.map(ts),
                    prediction: p.prediction.map(|x| kite_store::PhasePrediction {
                        energy_kwh: x.energy.0,
                        emissions_g: x.emissions.0,
                        duration_secs: x.duration_secs,
                    }),
                };
                match self.batch.phases.iter_mut().find(|q| q.idx == phase.idx) {
                    Some(q) => *q = phase,
                    None => self.batch.phases.push(phase),
                }
            }
            st.dirty_phases.clear();
        }
    }

    /// Writes the queued batch in one transaction; on failure keeps it for the next attempt.
    fn persist(&mut self) {
        self.last_persist = Instant::now();
        let Some(store) = self.store.as_mut() else {
            self.batch.clear();
            return;
        };
        if self.batch.is_empty() {
            return;
        }
        match store.append_intervals(&self.run_id, &self.batch) {
            Ok(()) => {
                self.batch.clear();
                self.persist_failures = 0;
            }
            Err(e) => {
                self.persist_failures += 1;
                let give_up = self.persist_failures >= MAX_PERSIST_FAILURES;
                let mut st = self.shared.lock();
                st.diagnostics.note("persist", || {
                    format!("writing measured intervals to the store failed ({e}); retrying at the next write")
                });
                if give_up {
                    st.diagnostics.note("persist gave up", || {
                        format!(
                            "writing to the store failed {MAX_PERSIST_FAILURES} times in a row; the \
                             run is no longer persisted (the record is still complete)"
                        )
                    });
                    drop(st);
                    self.store = None;
                    self.batch.clear();
                }
            }
        }
    }

    /// After the last tick: builds the record and records how the run ended.
    fn finish(mut self) -> RunRecord {
        let mut st = self.shared.lock();
        st.finished = true;
        let outcome = st.stop.take().unwrap_or(RunOutcome::Interrupted {
            reason: "stopped".into(),
        });
        let (status, exit_code, reason) = match outcome {
            RunOutcome::Succeeded { exit_code } => (RunStatus::Succeeded, exit_code, None),
            RunOutcome::Failed { exit_code } => (
                RunStatus::Failed,
                exit_code,
                Some(match exit_code {
                    Some(code) => format!("exit code {code}"),
                    None => "killed by a signal or failed without an exit code".to_string(),
                }),
            ),
            RunOutcome::Interrupted { reason } => (RunStatus::Interrupted, None, Some(reason)),
        };
        let ended_ms = st.acc.last_end_ms.unwrap_or(self.shared.started_ms);
        let mut record = accumulate::build_record(
            &st.ctx,
            &st.acc,
            RunEnd {
                ended_ms,
                status,
                exit_code,
                reason: reason.clone(),
                samples: st.samples,
                diagnostics: st.diagnostics.to_vec(),
            },
        );
        drop(st);
        if let Some(store) = self.store.as_mut() {
            let finish = RunFinish {
                ended_at: record.ended_at,
                status,
                exit_code,
                reason,
                params: accumulate::result_params(&record),
            };
            if let Err(e) = store.finish_run(&self.run_id, &finish) {
                let message = format!(
                    "recording the end of the run in the store failed ({e}); the store will show \
                     it as interrupted"
                );
                tracing::warn!("{message}");
                record.diagnostics.push(Diagnostic { message, count: 1 });
            }
        }
        record
    }
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}
