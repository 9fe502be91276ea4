//! The Slurm executor: a kite zone maps to a Slurm cluster (`-M CLUSTER`, optionally one
//! partition), driven through Slurm's own client commands with a timeout each.
//!
//! - **submit**: `sbatch --parsable -M C --begin=START --time=MIN --deadline=D -J kite-ID
//!   --no-requeue [--gres=gpu:N] [-p P] -o OUT --wrap 'CMD'`. Slurm holds the job (`PENDING`,
//!   reason `BeginTime`) until START and then starts it by itself. Times are passed as
//!   `YYYY-MM-DDTHH:MM:SS` with `TZ=UTC` set for the command (sbatch reads local time).
//! - **reschedule**: `scontrol -M C update JobId=ID StartTime=...` while the job is pending and
//!   kite has not started it.
//! - **start**: Slurm starts the job by itself at its begin time, so nothing is launched. Start
//!   marks the Slurm job (`Comment=kite-started`), so a second start is refused from Slurm's own
//!   record, and makes a job still held by its begin time eligible now (`StartTime=now`: the
//!   service decided to start it, e.g. after a reschedule that failed while slurmctld was down).
//! - **status**: `squeue -M C -h -t all -j ID -o '%i|%T|%r|%S|%e|%k'`; once the job ended (or left
//!   slurmctld's memory after `MinJobAge`), `sacct -M C -X -P -n -j ID -o
//!   JobID,State,ExitCode,Start,End,ConsumedEnergyRaw` for the exit code.
//! - **cancel**: `scancel -M C ID` (a finished job is not an error).
//!
//! `--format` strings are the stable interface in Slurm 22.05 (`scontrol --json` does not exist
//! there). A backend that cannot be reached (slurmctld or slurmdbd down, a timeout) is
//! [`ExecError::Backend`] with Slurm's message: the service keeps the job queued and retries.

use crate::executor::{ExecError, ExecState, Executor, Handle, Launch};
use kite_core::{SignedDuration, Timestamp};
use serde::Deserialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The mark `start` leaves in the Slurm job's comment.
const STARTED: &str = "kite-started";

fn default_timeout() -> u64 {
    20
}

fn default_true() -> bool {
    true
}

/// One Slurm cluster as a kite executor (a `[[slurm]]` entry of `kite serve --config`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmConfig {
    /// The executor's name, unique among executors (e.g. `slurm-eu`); jobs and handles refer to it.
    pub name: String,
    /// The Slurm cluster (`-M`), as `sacctmgr list cluster` names it.
    pub cluster: String,
    /// The partition (`-p`); the cluster's default partition when absent.
    #[serde(default)]
    pub partition: Option<String>,
    /// The `slurm.conf` the commands read (`SLURM_CONF`); Slurm's default when absent.
    #[serde(default)]
    pub slurm_conf: Option<PathBuf>,
    /// The kite zones this cluster serves (e.g. `["DE", "FR"]`).
    #[serde(default)]
    pub zones: Vec<String>,
    /// Where jobs write their output (`--output DIR/kite-JOB-%j.out`, read back by `kite job ID
    /// --log`); it must be visible to the compute nodes and to kite. No output is kept when absent.
    #[serde(default)]
    pub output_dir: Option<PathBuf>,
    /// Whether a job's GPUs are requested as `--gres=gpu:N` (default true); false for a
    /// cluster that has no GPU GRES configured (the request would be refused).
    #[serde(default = "default_true")]
    pub gres: bool,
    /// Seconds each Slurm command may take before it counts as the backend being unreachable
    /// (default 20; Slurm's clients retry an unreachable slurmctld for about 10 s themselves).
    #[serde(default = "default_timeout")]
    pub command_timeout_secs: u64,
}

impl SlurmConfig {
    /// A configuration with the defaults: no partition, Slurm's own `slurm.conf`, no zones.
    pub fn new(name: &str, cluster: &str) -> Self {
        Self {
            name: name.into(),
            cluster: cluster.into(),
            partition: None,
            slurm_conf: None,
            zones: Vec::new(),
            output_dir: None,
            gres: true,
            command_timeout_secs: default_timeout(),
        }
    }
}

/// What `sacct` records about a job (its accounting line).
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmAccounting {
    /// Slurm's state (`COMPLETED`, `FAILED`, `CANCELLED`, ...; the "by UID" part dropped).
    pub state: String,
    /// `ExitCode` as `N:S` (exit status : signal).
    pub exit_code: String,
    /// When it started (`Unknown`/`None` while it has not).
    pub start: String,
    /// When it ended.
    pub end: String,
    /// `ConsumedEnergyRaw` in joules; `None` where the cluster has no energy accounting
    /// (`AcctGatherEnergyType` with RAPL or IPMI): sacct leaves the field empty then.
    pub consumed_energy_joules: Option<u64>,
}

/// Runs jobs on one Slurm cluster.
#[derive(Debug, Clone)]
pub struct SlurmExecutor {
    cfg: SlurmConfig,
}

/// What `squeue -t all` says about a job still in slurmctld's memory.
#[derive(Debug)]
struct Queued {
    state: String,
    reason: String,
    comment: String,
}

impl SlurmExecutor {
    /// Checks the configuration (nothing is contacted: an unreachable cluster is a per-call error).
    pub fn new(cfg: SlurmConfig) -> Result<Self, ExecError> {
        let bad = |message: String| ExecError::Backend {
            executor: cfg.name.clone(),
            message,
        };
        if cfg.name.trim().is_empty() {
            return Err(bad(
                "`name` is empty: give the executor a name, e.g. `slurm-eu`".into(),
            ));
        }
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        };
        if !ok(&cfg.cluster) {
            return Err(bad(format!(
                "`cluster` = {:?} is not a Slurm cluster name (letters, digits, `-_.`); see `sacctmgr list cluster`",
                cfg.cluster
            )));
        }
        if let Some(p) = &cfg.partition
            && !ok(p)
        {
            return Err(bad(format!(
                "`partition` = {p:?} is not a Slurm partition name; see `sinfo -M {}`",
                cfg.cluster
            )));
        }
        if let Some(f) = &cfg.slurm_conf
            && !f.is_file()
        {
            return Err(bad(format!(
                "`slurm_conf` = {} is not a file: point it at the cluster's slurm.conf",
                f.display()
            )));
        }
        if cfg.command_timeout_secs == 0 {
            return Err(bad(
                "`command_timeout_secs` is 0: give it a few seconds (default 20)".into(),
            ));
        }
        Ok(Self { cfg })
    }

    /// The configuration.
    pub fn config(&self) -> &SlurmConfig {
        &self.cfg
    }

    fn backend(&self, message: String) -> ExecError {
        ExecError::Backend {
            executor: self.cfg.name.clone(),
            message,
        }
    }

    /// Runs one Slurm command with `-M CLUSTER`, `TZ=UTC` and the configured `SLURM_CONF`;
    /// returns (success, stdout, stderr). Failing to run it at all, or a timeout, is an error.
    fn slurm(&self, program: &str, args: &[String]) -> Result<(bool, String, String), ExecError> {
        let mut cmd = Command::new(program);
        cmd.arg("-M").arg(&self.cfg.cluster).args(args);
        // The service's own SLURM_* variables (e.g. when it runs inside a Slurm job) would
        // change what the commands do (SLURM_CLUSTERS acts like -M): only ours count.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SLURM_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("TZ", "UTC");
        if let Some(conf) = &self.cfg.slurm_conf {
            cmd.env("SLURM_CONF", conf);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = format!("{program} -M {} {}", self.cfg.cluster, args.join(" "));
        let mut child = cmd.spawn().map_err(|e| {
            self.backend(format!(
                "cannot run `{program}`: {e} (install slurm-client, or put Slurm's commands on PATH)"
            ))
        })?;
        // Read both pipes on threads so a chatty command cannot block on a full pipe.
        let reader = |p: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut s = String::new();
                if let Some(mut p) = p {
                    let _ = p.read_to_string(&mut s);
                }
                s
            })
        };
        let out = reader(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err = reader(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let until = Instant::now() + Duration::from_secs(self.cfg.command_timeout_secs);
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(self.backend(format!(
                        "`{shown}` did not answer within {} s (slurmctld/slurmdbd unreachable?); retried later",
                        self.cfg.command_timeout_secs
                    )));
                }
                Err(e) => return Err(self.backend(format!("waiting for `{shown}`: {e}"))),
            }
        };
        let out = out.join().unwrap_or_default();
        let err = err.join().unwrap_or_default();
        Ok((status.success(), out, err))
    }

    /// Like [`Self::slurm`], but a failure is a backend error naming the command and its message.
    fn slurm_ok(&self, program: &str, args: &[String]) -> Result<String, ExecError> {
        let (ok, out, err) = self.slurm(program, args)?;
        if ok {
            Ok(out)
        } else {
            Err(self.backend(format!(
                "`{program} -M {} {}` failed: {}",
                self.cfg.cluster,
                args.join(" "),
                one_line(&err, &out)
            )))
        }
    }

    fn job_id<'a>(&self, h: &'a Handle) -> Result<&'a str, ExecError> {
        let bad = |message: String| ExecError::BadHandle {
            executor: self.cfg.name.clone(),
            message,
        };
        if h.executor != self.cfg.name {
            return Err(bad(format!(
                "the handle belongs to executor `{}`, not `{}`",
                h.executor, self.cfg.name
            )));
        }
        if h.id.is_empty() || !h.id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!("`{}` is not a Slurm job id", h.id)));
        }
        if let Some(c) = h.data.get("cluster").and_then(|c| c.as_str())
            && c != self.cfg.cluster
        {
            return Err(bad(format!(
                "job {} was submitted to cluster `{c}`, this executor drives `{}`",
                h.id, self.cfg.cluster
            )));
        }
        Ok(&h.id)
    }

    /// The job as slurmctld still knows it (`None` once it left its memory after `MinJobAge`).
    fn queued(&self, id: &str) -> Result<Option<Queued>, ExecError> {
        let args = ["-h", "-t", "all", "-j", id, "-o", "%i|%T|%r|%S|%e|%k"].map(String::from);
        let (ok, out, err) = self.slurm("squeue", &args)?;
        if !ok {
            if err.contains("Invalid job id") {
                return Ok(None);
            }
            return Err(self.backend(format!(
                "`squeue -M {} -j {id}` failed: {}",
                self.cfg.cluster,
                one_line(&err, &out)
            )));
        }
        for line in out.lines() {
            let f: Vec<&str> = line.split('|').collect();
            if f.len() >= 6 && f[0].trim() == id {
                return Ok(Some(Queued {
                    state: f[1].trim().to_owned(),
                    reason: f[2].trim().to_owned(),
                    comment: f[5..].join("|").trim().to_owned(),
                }));
            }
        }
        Ok(None)
    }

    /// The job's accounting line (`None` while slurmdbd has no record of it).
    pub fn accounting(&self, handle: &Handle) -> Result<Option<SlurmAccounting>, ExecError> {
        let id = self.job_id(handle)?;
        let args = [
            "-X",
            "-P",
            "-n",
            "-j",
            id,
            "-o",
            "JobID,State,ExitCode,Start,End,ConsumedEnergyRaw",
        ]
        .map(String::from);
        let out = self.slurm_ok("sacct", &args)?;
        Ok(out.lines().find_map(|line| {
            let f: Vec<&str> = line.split('|').collect();
            (f.len() >= 6 && f[0] == id).then(|| SlurmAccounting {
                state: f[1].split_whitespace().next().unwrap_or("").to_owned(),
                exit_code: f[2].to_owned(),
                start: f[3].to_owned(),
                end: f[4].to_owned(),
                consumed_energy_joules: f[5].trim().parse().ok(),
            })
        }))
    }

    /// The state of a job that ended, from its accounting line.
    fn ended(&self, handle: &Handle, queue_state: Option<&str>) -> Result<ExecState, ExecError> {
        let acct = self.accounting(handle)?;
        let Some(a) = acct else {
            return Ok(match queue_state {
                // slurmdbd has not caught up yet: the next poll sees the record.
                Some("COMPLETED") => ExecState::Exited { code: 0 },
                Some("CANCELLED") => ExecState::Cancelled,
                Some(_) => ExecState::Running,
                None => ExecState::Lost {
                    reason: format!(
                        "Slurm job {} is known neither to squeue nor to sacct on cluster `{}`",
                        handle.id, self.cfg.cluster
                    ),
                },
            });
        };
        Ok(map_ended(&a))
    }
}

/// Maps an accounting line to a state.
fn map_ended(a: &SlurmAccounting) -> ExecState {
    let code = exit_status(&a.exit_code);
    match a.state.as_str() {
        "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD" => {
            ExecState::Waiting
        }
        "RUNNING" | "CONFIGURING" | "COMPLETING" | "RESIZING" | "SIGNALING" | "STAGE_OUT" => {
            ExecState::Running
        }
        "SUSPENDED" | "STOPPED" => ExecState::Suspended,
        "CANCELLED" => ExecState::Cancelled,
        "COMPLETED" => ExecState::Exited {
            code: code.unwrap_or(0),
        },
        "FAILED" | "OUT_OF_MEMORY" if code.is_some_and(|c| c != 0) => ExecState::Exited {
            code: code.unwrap_or(1),
        },
        other => ExecState::Lost {
            reason: format!(
                "Slurm ended it as {other} (ExitCode {}){}",
                a.exit_code,
                match other {
                    "TIMEOUT" => ": it ran past its --time limit",
                    "DEADLINE" =>
                        ": Slurm removed it because it could not finish by its --deadline",
                    "NODE_FAIL" => ": its node failed",
                    "BOOT_FAIL" => ": its node failed to boot",
                    "PREEMPTED" => ": it was preempted",
                    "FAILED" => ": it failed without an exit status (see slurmd's log)",
                    _ => "",
                }
            ),
        },
    }
}

/// `N:S` → the shell-style exit status (128 + S when a signal ended it).
fn exit_status(s: &str) -> Option<i32> {
    let (n, sig) = s.split_once(':')?;
    let (n, sig): (i32, i32) = (n.trim().parse().ok()?, sig.trim().parse().ok()?);
    Some(if sig > 0 { 128 + sig } else { n })
}

/// The first line worth showing from a failed command.
fn one_line(err: &str, out: &str) -> String {
    let text = if err.trim().is_empty() { out } else { err };
    let s: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if s.is_empty() {
        "no message".into()
    } else {
        s.join("; ")
    }
}

/// A timestamp as sbatch/scontrol read it under `TZ=UTC`, rounded up to the second (never early).
fn slurm_time(t: Timestamp) -> String {
    let secs = t.as_second() + i64::from(t.subsec_nanosecond() > 0);
    let t = Timestamp::from_second(secs).unwrap_or(t);
    t.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// POSIX shell quoting of one word.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Executor for SlurmExecutor {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn submit(&self, launch: &Launch) -> Result<Handle, ExecError> {
        if launch.command.is_empty() {
            return Err(self.backend(format!("job {} has an empty command", launch.job_id)));
        }
        let minutes = (launch.duration_secs.max(1) + 59) / 60;
        // Slurm refuses a job whose begin + time limit is past its deadline. The limit is whole
        // minutes, so a job that fits kite's deadline to the second may not fit Slurm's: the
        // deadline passed to Slurm is then moved to begin + limit (the job's own run time still
        // meets kite's deadline; kite checked that when it planned).
        let limit_end = launch.start + SignedDuration::from_mins(minutes);
        let deadline = launch.deadline.max(limit_end);
        let mut args: Vec<String> = vec![
            "--parsable".into(),
            format!("--begin={}", slurm_time(launch.start)),
            format!("--time={minutes}"),
            format!("--deadline={}", slurm_time(deadline)),
            format!("--job-name=kite-{}", launch.job_id),
            // Slurm must never run the job a second time (e.g. requeued after a node failure).
            "--no-requeue".into(),
        ];
        if self.cfg.gres && launch.gpus > 0 {
            args.push(format!("--gres=gpu:{}", launch.gpus));
        }
        if let Some(p) = &self.cfg.partition {
            args.push(format!("--partition={p}"));
        }
        let output = self
            .cfg
            .output_dir
            .as_ref()
            .map(|d| d.join(format!("kite-{}-%j.out", launch.job_id)));
        match &output {
            Some(o) => args.push(format!("--output={}", o.display())),
            None => args.push("--output=/dev/null".into()),
        }
        let wrap: Vec<String> = launch.command.iter().map(|w| sh_quote(w)).collect();
        args.push("--wrap".into());
        args.push(wrap.join(" "));
        let out = self.slurm_ok("sbatch", &args)?;
        // --parsable prints `ID` or `ID;CLUSTER`.
        let id = out.trim().split(';').next().unwrap_or("").trim().to_owned();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.backend(format!("sbatch answered {:?}, not a job id", out.trim())));
        }
        let output = output.map(|o| o.display().to_string().replace("%j", &id));
        Ok(Handle {
            executor: self.cfg.name.clone(),
            id,
            data: serde_json::json!({
                "cluster": self.cfg.cluster,
                "job": launch.job_id,
                "output": output,
            }),
        })
    }

    fn reschedule(&self, handle: &Handle, start: Timestamp) -> Result<Handle, ExecError> {
        let id = self.job_id(handle)?;
        let q = self.queued(id)?;
        if let Some(q) = &q
            && (q.state != "PENDING" || q.comment.contains(STARTED))
        {
            return Err(ExecError::AlreadyStarted {
                executor: self.cfg.name.clone(),
                job: id.to_owned(),
                evidence: format!("Slurm state {}, comment {:?}", q.state, q.comment),
            });
        }
        if q.is_none() {
            return Err(self.backend(format!(
                "Slurm job {id} is no longer in cluster `{}`'s queue; it cannot be moved",
                self.cfg.cluster
            )));
        }
        let args = [
            "update".to_owned(),
            format!("JobId={id}"),
            format!("StartTime={}", slurm_time(start)),
        ];
        let (ok, out, err) = self.slurm("scontrol", &args)?;
        if !ok {
            // It started between our look and the update.
            if err.contains("no longer pending") || err.contains("already") {
                return Err(ExecError::AlreadyStarted {
                    executor: self.cfg.name.clone(),
                    job: id.to_owned(),
                    evidence: one_line(&err, &out),
                });
            }
            return Err(self.backend(format!(
                "`scontrol -M {} update JobId={id} StartTime=...` failed: {}",
                self.cfg.cluster,
                one_line(&err, &out)
            )));
        }
        Ok(handle.clone())
    }

    fn start(&self, handle: &Handle) -> Result<Handle, ExecError> {
        let id = self.job_id(handle)?;
        let Some(q) = self.queued(id)? else {
            // Gone from slurmctld's memory: it ran (by itself, at its begin time) long ago.
            return match self.accounting(handle)? {
                Some(_) => Ok(handle.clone()),
                None => Err(self.backend(format!(
                    "Slurm job {id} is unknown to cluster `{}`; it cannot be started",
                    self.cfg.cluster
                ))),
            };
        };
        if q.comment.contains(STARTED) {
            return Err(ExecError::AlreadyStarted {
                executor: self.cfg.name.clone(),
                job: id.to_owned(),
                evidence: format!("its Slurm comment says {STARTED}; Slurm state {}", q.state),
            });
        }
        let mut args = vec!["update".to_owned(), format!("JobId={id}")];
        match q.state.as_str() {
            "CANCELLED" | "DEADLINE" | "REVOKED" => {
                return Err(self.backend(format!(
                    "Slurm job {id} was ended before its start ({}, {}); it cannot be started",
                    q.state, q.reason
                )));
            }
            // Still held: the service decided it starts now, whatever begin time Slurm has.
            "PENDING" => args.push("StartTime=now".into()),
            _ => {}
        }
        args.push(format!("Comment={STARTED}"));
        let (ok, out, err) = self.slurm("scontrol", &args)?;
        // A job that finished between the look and the update cannot be marked; it ran once.
        if !ok && q.state == "PENDING" {
            return Err(self.backend(format!(
                "`scontrol -M {} update JobId={id} StartTime=now` failed: {}",
                self.cfg.cluster,
                one_line(&err, &out)
            )));
        }
        let mut h = handle.clone();
        if let Some(d) = h.data.as_object_mut() {
            d.insert("started".into(), true.into());
        }
        Ok(h)
    }

    fn status(&self, handle: &Handle) -> Result<ExecState, ExecError> {
        let id = self.job_id(handle)?;
        let Some(q) = self.queued(id)? else {
            return self.ended(handle, None);
        };
        Ok(match q.state.as_str() {
            "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD" => {
                ExecState::Waiting
            }
            "RUNNING" | "CONFIGURING" | "COMPLETING" | "RESIZING" | "SIGNALING" | "STAGE_OUT" => {
                ExecState::Running
            }
            "SUSPENDED" | "STOPPED" => ExecState::Suspended,
            "CANCELLED" => ExecState::Cancelled,
            state => self.ended(handle, Some(state))?,
        })
    }

    fn cancel(&self, handle: &Handle) -> Result<(), ExecError> {
        let id = self.job_id(handle)?;
        let (ok, out, err) = self.slurm("scancel", &[id.to_owned()])?;
        if ok || err.contains("already completed") || err.contains("Invalid job id") {
            return Ok(());
        }
        Err(self.backend(format!(
            "`scancel -M {} {id}` failed: {}",
            self.cfg.cluster,
            one_line(&err, &out)
        )))
    }

    fn suspend(&self, handle: &Handle) -> Result<(), ExecError> {
        let id = self.job_id(handle)?;
        self.slurm_ok("scontrol", &["suspend".to_owned(), id.to_owned()])
            .map(|_| ())
    }

    fn resume(&self, handle: &Handle) -> Result<(), ExecError> {
        let id = self.job_id(handle)?;
        self.slurm_ok("scontrol", &["resume".to_owned(), id.to_owned()])
            .map(|_| ())
    }

    fn log(&self, handle: &Handle) -> Result<String, ExecError> {
        self.job_id(handle)?;
        let Some(path) = handle.data.get("output").and_then(|o| o.as_str()) else {
            return Err(ExecError::Unsupported {
                executor: self.cfg.name.clone(),
                what: "logs (set `output_dir` to keep job output)",
            });
        };
        std::fs::read_to_string(Path::new(path))
            .map_err(|e| self.backend(format!("reading the job's output {path}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_and_never_early() {
        let t: Timestamp = "2026-03-01T10:00:00.2Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(slurm_time(t), "2026-03-01T10:00:01");
        let t: Timestamp = "2026-03-01T10:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(slurm_time(t), "2026-03-01T10:00:00");
    }

    #[test]
    fn commands_are_quoted_for_sh() {
        assert_eq!(sh_quote("echo"), "echo");
        assert_eq!(sh_quote("it's a b"), r"'it'\''s a b'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn exit_codes_and_states_map() {
        assert_eq!(exit_status("3:0"), Some(3));
        assert_eq!(exit_status("0:15"), Some(143));
        let a = |state: &str, code: &str| SlurmAccounting {
            state: state.into(),
            exit_code: code.into(),
            start: String::new(),
            end: String::new(),
            consumed_energy_joules: None,
        };
        assert_eq!(
            map_ended(&a("COMPLETED", "0:0")),
            ExecState::Exited { code: 0 }
        );
        assert_eq!(
            map_ended(&a("FAILED", "5:0")),
            ExecState::Exited { code: 5 }
        );
        assert_eq!(map_ended(&a("CANCELLED", "0:15")), ExecState::Cancelled);
        assert!(
            matches!(map_ended(&a("TIMEOUT", "0:15")), ExecState::Lost { reason } if reason.contains("--time"))
        );
    }
}
