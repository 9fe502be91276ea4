//! Measured runs: what the tracker (`kite-tracker`) persists while it measures a job, so that a
//! crash, a `kill -9` or a power cut loses at most the interval being measured, and an
//! interrupted run is found and marked on the next start instead of silently vanishing.
//!
//! Layout (schema version 2, see `schema.rs`); every time is UTC epoch **milliseconds**:
//! - `run`: one row per run: id, project, experiment, grid zone, the measured child's pid, the pid
//!   of the process running the tracker (`tracker_pid`, what [`Store::mark_interrupted`] checks),
//!   start, status (`running`, `succeeded`, `failed`, `interrupted`), end, exit code, reason, and
//!   `last_end_ms`, the end of the last persisted interval.
//! - `run_arg`: the measured command line, one row per argument (lossless, any bytes of UTF-8).
//! - `run_param`: free key/value text the tracker owns (factors with their sources, hardware
//!   profile, host facts, final totals). The store does not interpret it.
//! - `run_device`: the devices that reported energy, with how (`measured` by a sensor or
//!   `modelled`) and the sensor or model in words.
//! - `run_signal`: the intensity series the run used, with their full [`SignalMeta`].
//! - `run_phase`: named phases (epochs, stages) with their window and, once a phase ended, the
//!   prediction of the whole run's energy, emissions and duration made at that moment.
//! - `run_interval` and `run_reading`: one row per persisted interval (start, end, the effective
//!   grid intensity applied to it and which signal supplied it, milliseconds that no signal
//!   covered, CPU and memory activity) and one row per device and interval (device energy and
//!   the part attributed to the measured process tree, joules).
//!
//! Architecture invariants:
//! - each call is one transaction: a batch of intervals lands entirely or not at all, so the
//!   persisted energy is always a prefix of what was measured;
//! - a run that finished as `succeeded` or `failed` is never rewritten;
//! - an `interrupted` mark is a judgement made from outside (the tracker's process is gone); if
//!   the tracker turns out to be alive and writes again, the run goes back to `running`.

use crate::Store;
use crate::error::StoreError;
use crate::upsert::identity;
use kite_core::{Provenance, Signal, SignalMeta, Timestamp, ZoneKey};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Being measured (or its tracker died and nobody has looked yet).
    Running,
    /// Finished and the job succeeded.
    Succeeded,
    /// Finished and the job failed.
    Failed,
    /// The measurement stopped before the job finished: kite was killed, crashed, lost power,
    /// or was told to stop. The persisted intervals are kept.
    Interrupted,
}

impl RunStatus {
    /// `running`, `succeeded`, `failed` or `interrupted`: the stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<RunStatus> {
        Some(match text {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "interrupted" => RunStatus::Interrupted,
            _ => return None,
        })
    }

    /// Whether the run's record is final (`succeeded` or `failed`).
    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed)
    }
}

/// The header of a run, written once when measuring starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// Unique id (the tracker uses a UUID v4).
    pub id: String,
    /// Project name.
    pub project: String,
    /// Experiment name or id, if any.
    pub experiment: Option<String>,
    /// The measured command line, if the run wraps a command.
    pub command: Vec<String>,
    /// The grid zone whose intensity applies.
    pub zone: ZoneKey,
    /// The measured child process, if any.
    pub pid: Option<u32>,
    /// The process that runs the tracker; when it is gone the run can no longer finish.
    pub tracker_pid: u32,
    /// When measuring started (millisecond precision is kept).
    pub started_at: Timestamp,
    /// Free key/value text owned by the tracker.
    pub params: Vec<(String, String)>,
}

/// A device that reported energy during a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDevice {
    /// Index within the run, referenced by [`RunReading::device_idx`].
    pub idx: u32,
    /// `cpu`, `ram` or `gpu`.
    pub component: String,
    /// The device for people, e.g. `package-0`.
    pub device: String,
    /// `true` if read from a sensor, `false` if modelled.
    pub measured: bool,
    /// The sensor (`rapl`, `nvml`) when measured, else empty.
    pub sensor: String,
    /// What was read and how it was attributed (measured), or the model in words (modelled).
    pub method_detail: String,
}

/// An intensity series a run used.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSignal {
    /// Index within the run, referenced by [`RunInterval::signal_idx`].
    pub idx: u32,
    /// The zone of the series.
    pub zone: ZoneKey,
    /// Where the values came from.
    pub meta: SignalMeta,
}

/// What was predicted for the whole run when a phase ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhasePrediction {
    /// Predicted IT energy of the whole run, kWh.
    pub energy_kwh: f64,
    /// Predicted operational emissions of the whole run, gCO2e.
    pub emissions_g: f64,
    /// Predicted duration of the whole run, seconds.
    pub duration_secs: f64,
}

/// A named phase of a run (an epoch, a stage). Written when it starts and again when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPhase {
    /// Index within the run, in order of start.
    pub idx: u32,
    /// The name given by the user.
    pub name: String,
    /// When the phase started.
    pub start: Timestamp,
    /// When it ended; `None` while it runs.
    pub end: Option<Timestamp>,
    /// The prediction made when it ended, if a total number of phases was known.
    pub prediction: Option<PhasePrediction>,
}

/// One persisted interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInterval {
    /// Sequence number within the run, from 0, increasing.
    pub seq: u64,
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// The effective grid intensity applied to the interval's energy, gCO2e/kWh; `None` when no
    /// intensity was known at all.
    pub intensity: Option<f64>,
    /// The run signal that supplied (most of) it.
    pub signal_idx: Option<u32>,
    /// Milliseconds of the interval that no series covered (filled from the nearest value).
    pub filled_ms: u64,
    /// CPU time of the measured process tree, seconds.
    pub tree_cpu_secs: f64,
    /// Non-idle CPU time of the whole machine, seconds.
    pub busy_cpu_secs: f64,
    /// CPU capacity of the machine over the interval (logical CPUs × seconds).
    pub capacity_cpu_secs: f64,
    /// Resident memory of the tree at the end, bytes.
    pub tree_rss_bytes: u64,
    /// Memory in use on the machine at the end, bytes.
    pub used_memory_bytes: u64,
}

/// One device's energy over one persisted interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunReading {
    /// The interval ([`RunInterval::seq`]).
    pub seq: u64,
    /// The device ([`RunDevice::idx`]).
    pub device_idx: u32,
    /// Energy the whole device used, joules.
    pub device_j: f64,
    /// The part attributed to the measured process tree, joules.
    pub attributed_j: f64,
}

/// What one [`Store::append_intervals`] call writes, in one transaction. Devices, signals and
/// phases may be repeated across batches: devices and signals are written once (the first
/// write wins), phases are updated (a phase is sent again when it ends).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntervalBatch {
    /// Devices first seen since the previous batch.
    pub devices: Vec<RunDevice>,
    /// Signals first used since the previous batch.
    pub signals: Vec<RunSignal>,
    /// Phases started or ended since the previous batch.
    pub phases: Vec<RunPhase>,
    /// Intervals measured since the previous batch.
    pub intervals: Vec<RunInterval>,
    /// Their readings.
    pub readings: Vec<RunReading>,
}

impl IntervalBatch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
            && self.signals.is_empty()
            && self.phases.is_empty()
            && self.intervals.is_empty()
            && self.readings.is_empty()
    }

    /// Empties the batch, keeping its buffers for reuse.
    pub fn clear(&mut self) {
        self.devices.clear();
        self.signals.clear();
        self.phases.clear();
        self.intervals.clear();
        self.readings.clear();
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFinish {
    /// When measuring stopped.
    pub ended_at: Timestamp,
    /// `Succeeded`, `Failed` or `Interrupted` (`Running` is refused).
    pub status: RunStatus,
    /// The job's exit code, if it had one.
    pub exit_code: Option<i32>,
    /// Why it ended this way, in words (for failed and interrupted runs).
    pub reason: Option<String>,
    /// Key/value text to add to or replace in the run's params (e.g. final totals).
    pub params: Vec<(String, String)>,
}

/// A run's header and status as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Unique id.
    pub id: String,
    /// Project name.
    pub project: String,
    /// Experiment, if any.
    pub experiment: Option<String>,
    /// The measured command line (empty if none).
    pub command: Vec<String>,
    /// The grid zone.
    pub zone: ZoneKey,
    /// The measured child, if any.
    pub pid: Option<u32>,
    /// The process that ran the tracker.
    pub tracker_pid: u32,
    /// When measuring started.
    pub started_at: Timestamp,
    /// Where the run stands.
    pub status: RunStatus,
    /// When it ended (for an interrupted run: the end of its last persisted interval).
    pub ended_at: Option<Timestamp>,
    /// The job's exit code, if known.
    pub exit_code: Option<i32>,
    /// Why it ended this way, if said.
    pub reason: Option<String>,
    /// End of the last persisted interval.
    pub last_end: Option<Timestamp>,
    /// The key/value params, sorted by key.
    pub params: Vec<(String, String)>,
}

impl RunSummary {
    /// The value of param `key`, if set.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Everything stored about a run, enough to rebuild its record.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// Header and status.
    pub summary: RunSummary,
    /// Devices by index.
    pub devices: Vec<RunDevice>,
    /// Signals by index.
    pub signals: Vec<RunSignal>,
    /// Phases by index.
    pub phases: Vec<RunPhase>,
    /// Intervals by sequence number.
    pub intervals: Vec<RunInterval>,
    /// Readings by interval, then device.
    pub readings: Vec<RunReading>,
}

impl Store {
    /// Writes a new run's header with status `running`, in one transaction.
    /// Fails with [`StoreError::RunExists`] if the id is taken.
    pub fn create_run(&mut self, run: &NewRun) -> Result<(), StoreError> {
        create_run(&mut self.conn, run)
    }

    /// Appends a batch of measured intervals (and any new devices, signals and phase updates)
    /// to a run, in one transaction. Fails with [`StoreError::RunNotFound`] or
    /// [`StoreError::RunFinished`]; a run marked `interrupted` goes back to `running`.
    pub fn append_intervals(
        &mut self,
        run_id: &str,
        batch: &IntervalBatch,
    ) -> Result<(), StoreError> {
        append_intervals(&mut self.conn, run_id, batch)
    }

    /// Records how a run ended. A `running` or `interrupted` run may be finished; a run that
    /// already `succeeded` or `failed` is refused with [`StoreError::RunFinished`].
    pub fn finish_run(&mut self, run_id: &str, finish: &RunFinish) -> Result<(), StoreError> {
        finish_run(&mut self.conn, run_id, finish)
    }

    /// Marks every `running` run whose tracker process is gone (`is_alive(tracker_pid)` is
    /// false) as `interrupted`, ending at its last persisted interval (or its start if none was
    /// persisted). Returns the ids it marked. Nothing is deleted.
    pub fn mark_interrupted(
        &mut self,
        is_alive: &dyn Fn(u32) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        mark_interrupted(&mut self.conn, is_alive)
    }

    /// Every stored run's header and status, oldest first.
    pub fn runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM run ORDER BY started_ms, id"
        ))?;
        let rows = stmt.query_map((), raw_summary)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(summary(&self.conn, row?)?);
        }
        Ok(out)
    }

    /// Runs per status, and the sums of the params `keys` (read as numbers) over finished runs
    /// ([`RunStatus::is_final`]), in one query each: O(1) memory however many runs the store holds (`/metrics`
    /// reads this every few seconds; listing every run there made `kite serve` grow with them).
    pub fn run_totals(&self, keys: &[&str]) -> Result<RunTotals, StoreError> {
        let mut by_status = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, COUNT(*) FROM run GROUP BY status")?;
        for row in stmt.query_map((), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (status, n) = row?;
            let status = RunStatus::parse(&status)
                .ok_or_else(|| corrupt(format!("run status `{status}`")))?;
            by_status.push((status, n));
        }
        let mut sums = Vec::with_capacity(keys.len());
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.status, p.value FROM run_param p JOIN run r ON r.id = p.run_id \
             WHERE p.key = ?1",
        )?;
        for key in keys {
            let mut sum = 0.0;
            let rows = stmt.query_map([key], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (status, value) = row?;
                if !RunStatus::parse(&status).is_some_and(RunStatus::is_final) {
                    continue;
                }
                // Unparsable or non-finite values count as nothing, as in the run records.
                if let Some(x) = value.parse::<f64>().ok().filter(|x| x.is_finite()) {
                    sum += x;
                }
            }
            sums.push(((*key).to_owned(), sum));
        }
        Ok(RunTotals { by_status, sums })
    }

    /// Everything stored about run `id`, or `None` if there is no such run.
    pub fn run(&self, id: &str) -> Result<Option<StoredRun>, StoreError> {
        read_run(&self.conn, id)
    }
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: what.into() }
}

fn millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|_| corrupt(format!("time {ms} ms is out of range")))
}

fn secs(s: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_second(s).map_err(|_| corrupt(format!("time {s} s is out of range")))
}

fn to_u32(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| corrupt(format!("{what} {v}")))
}

fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt(format!("{what} {v}")))
}

/// SQLite integers are signed; byte counts above `i64::MAX` cannot occur in practice.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn create_run(conn: &mut Connection, run: &NewRun) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists = tx
        .query_row("SELECT 1 FROM run WHERE id = ?1", [&run.id], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return Err(StoreError::RunExists { id: run.id.clone() });
    }
    tx.execute(
        "INSERT INTO run (id, project, experiment, zone, pid, tracker_pid, started_ms, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running')",
        (
            &run.id,
            &run.project,
            &run.experiment,
            run.zone.as_str(),
            run.pid,
            run.tracker_pid,
            run.started_at.as_millisecond(),
        ),
    )?;
    {
        let mut arg =
            tx.prepare_cached("INSERT INTO run_arg (run_id, idx, arg) VALUES (?1, ?2, ?3)")?;
        for (idx, a) in run.command.iter().enumerate() {
            arg.execute((&run.id, to_i64(idx as u64), a))?;
        }
    }
    put_params(&tx, &run.id, &run.params)?;
    tx.commit()?;
    Ok(())
}

fn put_params(
    tx: &Transaction<'_>,
    run_id: &str,
    params: &[(String, String)],
) -> Result<(), StoreError> {
    let mut put = tx.prepare_cached(
        "INSERT INTO run_param (run_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
    )?;
    for (key, value) in params {
        put.execute((run_id, key, value))?;
    }
    Ok(())
}

fn status_of(tx: &Transaction<'_>, run_id: &str) -> Result<RunStatus, StoreError> {
    let text: Option<String> = tx
        .query_row("SELECT status FROM run WHERE id = ?1", [run_id], |r| {
            r.get(0)
        })
        .optional()?;
    let text = text.ok_or_else(|| StoreError::RunNotFound {
        id: run_id.to_string(),
    })?;
    RunStatus::parse(&text).ok_or_else(|| corrupt(format!("run status `{text}`")))
}

fn append_intervals(
    conn: &mut Connection,
    run_id: &str,
    batch: &IntervalBatch,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let status = status_of(&tx, run_id)?;
    if status.is_final() {
        return Err(StoreError::RunFinished {
            id: run_id.to_string(),
            status: status.as_str().to_string(),
        });
    }
    if status == RunStatus::Interrupted {
        // The tracker is alive after all (e.g. it runs in another pid namespace): revive.
        tx.execute(
            "UPDATE run SET status = 'running', ended_ms = NULL, reason = NULL WHERE id = ?1",
            [run_id],
        )?;
    }
    {
        let mut dev = tx.prepare_cached(
            "INSERT INTO run_device (run_id, idx, component, device, method, sensor, method_detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (run_id, idx) DO NOTHING",
        )?;
        for d in &batch.devices {
            let method = if d.measured { "measured" } else { "modelled" };
            dev.execute((
                run_id,
                d.idx,
                &d.component,
                &d.device,
                method,
                &d.sensor,
                &d.method_detail,
            ))?;
        }
        let mut sig = tx.prepare_cached(
            "INSERT INTO run_signal (run_id, idx, zone, signal, source, provenance, forecast_model,
                                     forecast_issued_at, estimation_method, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (run_id, idx) DO NOTHING",
        )?;
        for s in &batch.signals {
            let id = identity(&s.meta.provenance);
            sig.execute((
                run_id,
                s.idx,
                s.zone.as_str(),
                s.meta.signal.as_str(),
                &s.meta.source,
                s.meta.provenance.label(),
                id.forecast_model,
                id.forecast_issued_at,
                id.estimation_method,
                s.meta.fetched_at.map(|t| t.as_second()),
            ))?;
        }
        let mut phase = tx.prepare_cached(
            "INSERT INTO run_phase (run_id, idx, name, start_ms, end_ms, predicted_kwh, predicted_g,
                                    predicted_secs)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (run_id, idx) DO UPDATE SET name = excluded.name,
                 start_ms = excluded.start_ms, end_ms = excluded.end_ms,
                 predicted_kwh = excluded.predicted_kwh, predicted_g = excluded.predicted_g,
                 predicted_secs = excluded.predicted_secs",
        )?;
        for p in &batch.phases {
            phase.execute((
                run_id,
                p.idx,
                &p.name,
                p.start.as_millisecond(),
                p.end.map(|t| t.as_millisecond()),
                p.prediction.map(|x| x.energy_kwh),
                p.prediction.map(|x| x.emissions_g),
                p.prediction.map(|x| x.duration_secs),
            ))?;
        }
        let mut interval = tx.prepare_cached(
            "INSERT INTO run_interval (run_id, seq, start_ms, end_ms, intensity, signal_idx,
                 filled_ms, tree_cpu_s, busy_cpu_s, capacity_cpu_s, tree_rss_bytes,
                 used_memory_bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        let mut last_end: Option<i64> = None;
        for i in &batch.intervals {
            let end = i.end.as_millisecond();
            interval.execute((
                run_id,
                to_i64(i.seq),
                i.start.as_millisecond(),
                end,
                i.intensity,
                i.signal_idx,
                to_i64(i.filled_ms),
                i.tree_cpu_secs,
                i.busy_cpu_secs,
                i.capacity_cpu_secs,
                to_i64(i.tree_rss_bytes),
                to_i64(i.used_memory_bytes),
            ))?;
            last_end = last_end.max(Some(end));
        }
        let mut reading = tx.prepare_cached(
            "INSERT INTO run_reading (run_id, seq, device_idx, device_j, attributed_j)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in &batch.readings {
            reading.execute((
                run_id,
                to_i64(r.seq),
                r.device_idx,
                r.device_j,
                r.attributed_j,
            ))?;
        }
        if let Some(end) = last_end {
            tx.execute(
                "UPDATE run SET last_end_ms = max(ifnull(last_end_ms, ?2), ?2) WHERE id = ?1",
                (run_id, end),
            )?;
        }
    }
    // On any error above, dropping `tx` rolls the whole batch back.
    tx.commit()?;
    Ok(())
}

fn finish_run(conn: &mut Connection, run_id: &str, finish: &RunFinish) -> Result<(), StoreError> {
    if finish.status == RunStatus::Running {
        return Err(corrupt(format!(
            "finish_run for `{run_id}` was given status `running`, which is not an ending"
        )));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let status = status_of(&tx, run_id)?;
    if status.is_final() {
        return Err(StoreError::RunFinished {
            id: run_id.to_string(),
            status: status.as_str().to_string(),
        });
    }
    tx.execute(
        "UPDATE run SET status = ?2, ended_ms = ?3, exit_code = ?4, reason = ?5 WHERE id = ?1",
        (
            run_id,
            finish.status.as_str(),
            finish.ended_at.as_millisecond(),
            finish.exit_code,
            &finish.reason,
        ),
    )?;
    put_params(&tx, run_id, &finish.params)?;
    tx.commit()?;
    Ok(())
}

fn mark_interrupted(
    conn: &mut Connection,
    is_alive: &dyn Fn(u32) -> bool,
) -> Result<Vec<String>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut running: Vec<(String, i64)> = Vec::new();
    {
        let mut stmt =
            tx.prepare_cached("SELECT id, tracker_pid FROM run WHERE status = 'running'")?;
        let rows = stmt.query_map((), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            running.push(row?);
        }
    }
    let mut marked = Vec::new();
    {
        let mut mark = tx.prepare_cached(
            "UPDATE run SET status = 'interrupted', ended_ms = ifnull(last_end_ms, started_ms),
                 reason = ?2
             WHERE id = ?1 AND status = 'running'",
        )?;
        for (id, pid) in running {
            // A pid that does not fit a u32 cannot be a live process.
            let alive = u32::try_from(pid).is_ok_and(is_alive);
            if alive {
                continue;
            }
            let reason = format!(
                "the process measuring this run (pid {pid}) ended without finishing it (killed, \
                 crashed or power loss); the energy up to the last persisted interval is kept"
            );
            mark.execute((&id, reason))?;
            marked.push(id);
        }
    }
    tx.commit()?;
    Ok(marked)
}

/// What [`Store::run_totals`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct RunTotals {
    /// Runs per status (statuses without runs are absent).
    pub by_status: Vec<(RunStatus, i64)>,
    /// Per key asked for: the sum over finished runs.
    pub sums: Vec<(String, f64)>,
}

impl RunTotals {
    /// Runs with `status`.
    pub fn count(&self, status: RunStatus) -> i64 {
        (self.by_status.iter())
            .filter(|(s, _)| *s == status)
            .map(|(_, n)| n)
            .sum()
    }

    /// The sum for `key` (0 if it was not asked for).
    pub fn sum(&self, key: &str) -> f64 {
        (self.sums.iter())
            .find(|(k, _)| k == key)
            .map_or(0.0, |(_, v)| *v)
    }
}

const SUMMARY_COLUMNS: &str = "id, project, experiment, zone, pid, tracker_pid, started_ms, status, \
                               ended_ms, exit_code, reason, last_end_ms";

/// A `run` row as read, before the argument and param look-ups.
struct RawSummary {
    id: String,
    project: String,
    experiment: Option<String>,
    zone: String,
    pid: Option<i64>,
    tracker_pid: i64,
    started_ms: i64,
    status: String,
    ended_ms: Option<i64>,
    exit_code: Option<i32>,
    reason: Option<String>,
    last_end_ms: Option<i64>,
}

fn raw_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawSummary> {
    Ok(RawSummary {
        id: r.get(0)?,
        project: r.get(1)?,
        experiment: r.get(2)?,
        zone: r.get(3)?,
        pid: r.get(4)?,
        tracker_pid: r.get(5)?,
        started_ms: r.get(6)?,
        status: r.get(7)?,
        ended_ms: r.get(8)?,
        exit_code: r.get(9)?,
        reason: r.get(10)?,
        last_end_ms: r.get(11)?,
    })
}

fn summary(conn: &Connection, raw: RawSummary) -> Result<RunSummary, StoreError> {
    let mut args = conn.prepare_cached("SELECT arg FROM run_arg WHERE run_id = ?1 ORDER BY idx")?;
    let command = args
        .query_map([&raw.id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut params =
        conn.prepare_cached("SELECT key, value FROM run_param WHERE run_id = ?1 ORDER BY key")?;
    let params = params
        .query_map([&raw.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RunSummary {
        zone: ZoneKey::new(&raw.zone).map_err(|e| corrupt(format!("run `{}`: {e}", raw.id)))?,
        pid: raw.pid.map(|p| to_u32(p, "pid")).transpose()?,
        tracker_pid: to_u32(raw.tracker_pid, "tracker pid")?,
        started_at: millis(raw.started_ms)?,
        status: RunStatus::parse(&raw.status)
            .ok_or_else(|| corrupt(format!("run status `{}`", raw.status)))?,
        ended_at: raw.ended_ms.map(millis).transpose()?,
        last_end: raw.last_end_ms.map(millis).transpose()?,
        id: raw.id,
        project: raw.project,
        experiment: raw.experiment,
        command,
        exit_code: raw.exit_code,
        reason: raw.reason,
        params,
    })
}

fn read_run(conn: &Connection, id: &str) -> Result<Option<StoredRun>, StoreError> {
    let raw = conn
        .prepare_cached(&format!("SELECT {SUMMARY_COLUMNS} FROM run WHERE id = ?1"))?
        .query_row([id], raw_summary)
        .optional()?;
    let Some(raw) = raw else {
        return Ok(None);
    };
    let summary = summary(conn, raw)?;

    let mut devices = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT idx, component, device, method, sensor, method_detail FROM run_device
         WHERE run_id = ?1 ORDER BY idx",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(r) = rows.next()? {
        let method: String = r.get(3)?;
        devices.push(RunDevice {
            idx: to_u32(r.get(0)?, "device index")?,
            component: r.get(1)?,
            device: r.get(2)?,
            measured: method == "measured",
            sensor: r.get(4)?,
            method_detail: r.get(5)?,
        });
    }

    let mut signals = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT idx, zone, signal, source, provenance, forecast_model, forecast_issued_at,
                estimation_method, fetched_at
         FROM run_signal WHERE run_id = ?1 ORDER BY idx",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(r) = rows.next()? {
        let zone_text: String = r.get(1)?;
        let signal_text: String = r.get(2)?;
        let provenance_text: String = r.get(4)?;
        let provenance = match provenance_text.as_str() {
            "measured" => Provenance::Measured,
            "forecast" => Provenance::Forecast {
                issued_at: r.get::<_, Option<i64>>(6)?.map(secs).transpose()?,
                model: r.get(5)?,
            },
            "estimated" => Provenance::Estimated { method: r.get(7)? },
            other => return Err(corrupt(format!("provenance `{other}`"))),
        };
        signals.push(RunSignal {
            idx: to_u32(r.get(0)?, "signal index")?,
            zone: ZoneKey::new(&zone_text).map_err(|e| corrupt(e.to_string()))?,
            meta: SignalMeta {
                signal: Signal::parse(&signal_text)
                    .ok_or_else(|| corrupt(format!("signal `{signal_text}`")))?,
                source: r.get(3)?,
                fetched_at: r.get::<_, Option<i64>>(8)?.map(secs).transpose()?,
                provenance,
            },
        });
    }

    let mut phases = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT idx, name, start_ms, end_ms, predicted_kwh, predicted_g, predicted_secs
         FROM run_phase WHERE run_id = ?1 ORDER BY idx",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(r) = rows.next()? {
        let prediction = match (r.get::<_, Option<f64>>(4)?, r.get(5)?, r.get(6)?) {
            (Some(energy_kwh), Some(emissions_g), Some(duration_secs)) => Some(PhasePrediction {
                energy_kwh,
                emissions_g,
                duration_secs,
            }),
            _ => None,
        };
        phases.push(RunPhase {
            idx: to_u32(r.get(0)?, "phase index")?,
            name: r.get(1)?,
            start: millis(r.get(2)?)?,
            end: r.get::<_, Option<i64>>(3)?.map(millis).transpose()?,
            prediction,
        });
    }

    let mut intervals = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT seq, start_ms, end_ms, intensity, signal_idx, filled_ms, tree_cpu_s, busy_cpu_s,
                capacity_cpu_s, tree_rss_bytes, used_memory_bytes
         FROM run_interval WHERE run_id = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(r) = rows.next()? {
        intervals.push(RunInterval {
            seq: to_u64(r.get(0)?, "interval sequence number")?,
            start: millis(r.get(1)?)?,
            end: millis(r.get(2)?)?,
            intensity: r.get(3)?,
            signal_idx: r
                .get::<_, Option<i64>>(4)?
                .map(|v| to_u32(v, "signal index"))
                .transpose()?,
            filled_ms: to_u64(r.get(5)?, "filled milliseconds")?,
            tree_cpu_secs: r.get(6)?,
            busy_cpu_secs: r.get(7)?,
            capacity_cpu_secs: r.get(8)?,
            tree_rss_bytes: to_u64(r.get(9)?, "tree RSS")?,
            used_memory_bytes: to_u64(r.get(10)?, "used memory")?,
        });
    }

    let mut readings = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT seq, device_idx, device_j, attributed_j FROM run_reading
         WHERE run_id = ?1 ORDER BY seq, device_idx",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(r) = rows.next()? {
        readings.push(RunReading {
            seq: to_u64(r.get(0)?, "interval sequence number")?,
            device_idx: to_u32(r.get(1)?, "device index")?,
            device_j: r.get(2)?,
            attributed_j: r.get(3)?,
        });
    }

    Ok(Some(StoredRun {
        summary,
        devices,
        signals,
        phases,
        intervals,
        readings,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kite_core::SignedDuration;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_767_225_600_000 + ms).unwrap()
    }

    fn new_run(id: &str, tracker_pid: u32) -> NewRun {
        NewRun {
            id: id.into(),
            project: "demo".into(),
            experiment: Some("exp, with comma".into()),
            command: vec![
                "python".into(),
                "train.py".into(),
                "--lr=1e-3 \u{1f} odd".into(),
            ],
            zone: ZoneKey::new("DE").unwrap(),
            pid: Some(4242),
            tracker_pid,
            started_at: t(0),
            params: vec![
                ("pue".into(), "1.2".into()),
                ("pue.source".into(), "flag".into()),
            ],
        }
    }

    fn batch(seq0: u64, n: u64) -> IntervalBatch {
        let mut b = IntervalBatch {
            devices: vec![RunDevice {
                idx: 0,
                component: "cpu".into(),
                device: "package-0".into(),
                measured: true,
                sensor: "rapl".into(),
                method_detail: "energy_uj counter".into(),
            }],
            signals: vec![RunSignal {
                idx: 0,
                zone: ZoneKey::new("DE").unwrap(),
                meta: SignalMeta {
                    signal: Signal::AVERAGE_LIFECYCLE,
                    source: "electricity_maps".into(),
                    fetched_at: Some(Timestamp::from_second(1_767_225_600).unwrap()),
                    provenance: Provenance::Forecast {
                        issued_at: Some(Timestamp::from_second(1_767_222_000).unwrap()),
                        model: "em".into(),
                    },
                },
            }],
            phases: vec![RunPhase {
                idx: 0,
                name: "epoch 1".into(),
                start: t(0),
                end: None,
                prediction: None,
            }],
            ..IntervalBatch::default()
        };
        for seq in seq0..seq0 + n {
            let start = t(i64::try_from(seq).unwrap() * 100);
            b.intervals.push(RunInterval {
                seq,
                start,
                end: start + SignedDuration::from_millis(100),
                intensity: Some(300.0),
                signal_idx: Some(0),
                filled_ms: 0,
                tree_cpu_secs: 0.05,
                busy_cpu_secs: 0.1,
                capacity_cpu_secs: 0.8,
                tree_rss_bytes: 1 << 20,
                used_memory_bytes: 1 << 30,
            });
            b.readings.push(RunReading {
                seq,
                device_idx: 0,
                device_j: 10.0,
                attributed_j: 5.0,
            });
        }
        b
    }

    #[test]
    fn a_run_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kite.db");
        let mut store = Store::open(&path).unwrap();
        store.create_run(&new_run("r1", 1)).unwrap();
        assert!(matches!(
            store.create_run(&new_run("r1", 1)),
            Err(StoreError::RunExists { .. })
        ));
        store.append_intervals("r1", &batch(0, 3)).unwrap();
        let mut second = batch(3, 2);
        second.phases[0].end = Some(t(450));
        second.phases[0].prediction = Some(PhasePrediction {
            energy_kwh: 1.0,
            emissions_g: 2.0,
            duration_secs: 3.0,
        });
        store.append_intervals("r1", &second).unwrap();
        store
            .finish_run(
                "r1",
                &RunFinish {
                    ended_at: t(500),
                    status: RunStatus::Succeeded,
                    exit_code: Some(0),
                    reason: None,
                    params: vec![("pue".into(), "1.3".into())],
                },
            )
            .unwrap();
        drop(store);

        let store = Store::open(&path).unwrap();
        let run = store.run("r1").unwrap().unwrap();
        assert_eq!(run.summary.command, new_run("r1", 1).command);
        assert_eq!(run.summary.experiment.as_deref(), Some("exp, with comma"));
        assert_eq!(run.summary.status, RunStatus::Succeeded);
        assert_eq!(run.summary.param("pue"), Some("1.3"));
        assert_eq!(run.summary.param("pue.source"), Some("flag"));
        assert_eq!(run.summary.last_end, Some(t(500)));
        assert_eq!(run.intervals.len(), 5);
        assert_eq!(run.readings.len(), 5);
        assert_eq!(run.devices, batch(0, 0).devices);
        assert_eq!(run.signals, batch(0, 0).signals);
        assert_eq!(run.phases[0].end, Some(t(450)));
        assert_eq!(run.phases[0].prediction.unwrap().duration_secs, 3.0);
        assert_eq!(run.intervals[4], batch(4, 1).intervals[0]);
        assert!(store.run("nope").unwrap().is_none());
        assert_eq!(store.runs().unwrap().len(), 1);
    }

    #[test]
    fn finished_runs_are_final_and_failed_batches_write_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        store.create_run(&new_run("r1", 1)).unwrap();
        store.append_intervals("r1", &batch(0, 2)).unwrap();
        // A batch with a duplicate sequence number fails as a whole.
        let mut bad = batch(2, 2);
        bad.intervals.push(bad.intervals[0].clone());
        assert!(store.append_intervals("r1", &bad).is_err());
        assert_eq!(store.run("r1").unwrap().unwrap().intervals.len(), 2);

        let finish = RunFinish {
            ended_at: t(300),
            status: RunStatus::Failed,
            exit_code: Some(2),
            reason: Some("exit status 2".into()),
            params: vec![],
        };
        store.finish_run("r1", &finish).unwrap();
        assert!(matches!(
            store.finish_run("r1", &finish),
            Err(StoreError::RunFinished { .. })
        ));
        assert!(matches!(
            store.append_intervals("r1", &batch(5, 1)),
            Err(StoreError::RunFinished { .. })
        ));
        assert!(matches!(
            store.append_intervals("r2", &batch(0, 1)),
            Err(StoreError::RunNotFound { .. })
        ));
    }

    #[test]
    fn runs_whose_tracker_is_gone_are_marked_interrupted() {
        let mut store = Store::open_in_memory().unwrap();
        store.create_run(&new_run("dead", 111)).unwrap();
        store.append_intervals("dead", &batch(0, 4)).unwrap();
        store.create_run(&new_run("alive", 222)).unwrap();
        store.create_run(&new_run("dead-empty", 333)).unwrap();
        let mut marked = store.mark_interrupted(&|pid| pid == 222).unwrap();
        marked.sort();
        assert_eq!(marked, ["dead", "dead-empty"]);
        let dead = store.run("dead").unwrap().unwrap().summary;
        assert_eq!(dead.status, RunStatus::Interrupted);
        assert_eq!(
            dead.ended_at,
            Some(t(400)),
            "ends at the last persisted interval"
        );
        assert!(dead.reason.unwrap().contains("pid 111"));
        let empty = store.run("dead-empty").unwrap().unwrap().summary;
        assert_eq!(empty.ended_at, Some(t(0)));
        assert_eq!(
            store.run("alive").unwrap().unwrap().summary.status,
            RunStatus::Running
        );
        // Marking again finds nothing new.
        assert!(store.mark_interrupted(&|_| false).unwrap() == ["alive"]);
        // A tracker that writes again revives its run, and may then finish it.
        store.append_intervals("dead", &batch(4, 1)).unwrap();
        let revived = store.run("dead").unwrap().unwrap().summary;
        assert_eq!(revived.status, RunStatus::Running);
        assert_eq!(revived.ended_at, None);
    }

    #[test]
    fn a_version_1_database_gains_the_run_tables_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            tx.execute_batch(crate::schema::MIGRATIONS[0]).unwrap();
            tx.pragma_update(None, "user_version", 1).unwrap();
            tx.execute(
                "INSERT INTO series (zone, signal, source, provenance, resolution_secs)
                 VALUES ('DE', 'average-lifecycle', 'x', 'measured', 3600)",
                (),
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        store.create_run(&new_run("r1", 1)).unwrap();
        let n: i64 = store
            .conn
            .query_row("SELECT count(*) FROM series", (), |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        let v: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, 2);
    }
}
