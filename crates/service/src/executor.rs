//! The executor seam: one trait, one file per backend (`local.rs` now; Slurm and Kubernetes
//! later), and a shared conformance suite ([`crate::conformance`]) every backend passes.
//!
//! The service owns timing and state; an executor only carries out requests and reports what
//! its backend says. The life of a job on an executor:
//!
//! 1. [`Executor::submit`] when the job is planned: the backend *holds* the job until the planned
//!    start (Slurm: `sbatch --begin`; Kubernetes: a `suspend: true` Job; local: a prepared job
//!    directory, nothing running).
//! 2. [`Executor::reschedule`] when a replan moves the start (Slurm: `scontrol update
//!    StartTime=`; Kubernetes and local: nothing to do but remember).
//! 3. [`Executor::start`] at the planned time, called only *after* the service has committed
//!    `running` (so a crash between the two is seen as `lost`, never as a second start).
//!    Backends that start by themselves at the begin time (Slurm) do nothing; Kubernetes
//!    un-suspends; local spawns the process.
//! 4. [`Executor::status`] while running, and on restart to reconcile from the persisted
//!    [`Handle`] alone.
//! 5. [`Executor::cancel`], and optionally [`Executor::suspend`] / [`Executor::resume`] at piece
//!    boundaries of interruptible jobs.

use crate::job::PlanInfo;
use kite_core::Timestamp;
use serde::{Deserialize, Serialize};

/// What an executor needs to run one job.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The job's id.
    pub job_id: String,
    /// The start attempt this launch is for (1 for the first and, for local jobs, only one).
    pub attempt: u32,
    /// Program and arguments.
    pub command: Vec<String>,
    /// The planned zone (a Slurm cluster or Kubernetes node pool maps from it).
    pub region: String,
    /// The planned start.
    pub start: Timestamp,
    /// The job's deadline.
    pub deadline: Timestamp,
    /// Run time, seconds (Slurm `--time`).
    pub duration_secs: i64,
    /// GPUs to reserve.
    pub gpus: u32,
    /// Owning team.
    pub team: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// The plan, for booking the outcome (planned vs actual start, emissions vs run-now).
    pub plan: Option<PlanInfo>,
}

/// An executor's reference to a submitted job; persisted in the queue as JSON, so it must hold
/// everything needed to find the job again after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handle {
    /// The executor's name.
    pub executor: String,
    /// The backend's id (local: the job directory; Slurm: the job id; Kubernetes: namespace/name).
    pub id: String,
    /// Backend-specific facts (local: pid and process start time).
    #[serde(default)]
    pub data: serde_json::Value,
}

/// What the backend says about a job.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecState {
    /// Submitted, held until its start.
    Waiting,
    /// Running.
    Running,
    /// Stopped at a piece boundary.
    Suspended,
    /// Finished with this exit status.
    Exited {
        /// The exit status (128 + signal for a signalled process, like a shell).
        code: i32,
    },
    /// Cancelled in the backend.
    Cancelled,
    /// Gone without an exit status.
    Lost {
        /// Why kite thinks so.
        reason: String,
    },
}

/// Why an executor could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The backend cannot be reached or refused the request; the job stays queued and is retried.
    #[error("executor `{executor}`: {message}")]
    Backend {
        /// The executor.
        executor: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// The job was already started: an executor never starts a job twice.
    #[error(
        "executor `{executor}`: job {job} was already started ({evidence}); not starting it again"
    )]
    AlreadyStarted {
        /// The executor.
        executor: String,
        /// The job's backend id.
        job: String,
        /// What shows it.
        evidence: String,
    },
    /// This executor does not do that (e.g. suspend on a backend without it).
    #[error("executor `{executor}` does not support {what}")]
    Unsupported {
        /// The executor.
        executor: String,
        /// The operation.
        what: &'static str,
    },
    /// A handle from another executor or a corrupt one.
    #[error("executor `{executor}`: bad handle: {message}")]
    BadHandle {
        /// The executor.
        executor: String,
        /// What is wrong.
        message: String,
    },
}

/// A backend that runs jobs. Implementations are cheap to call from the service loop: they
/// must not block for long (shell out, or talk HTTP with timeouts).
pub trait Executor: Send + Sync {
    /// The name jobs and handles refer to (`local`, `slurm`, `kubernetes`).
    fn name(&self) -> &str;
    /// Hands a planned job to the backend, held until [`Launch::start`].
    fn submit(&self, launch: &Launch) -> Result<Handle, ExecError>;
    /// Moves a held job's start.
    fn reschedule(&self, handle: &Handle, start: Timestamp) -> Result<Handle, ExecError>;
    /// Starts a held job now (after the service committed `running`). Returns the handle with
    /// whatever the start revealed (e.g. a pid), to be persisted.
    fn start(&self, handle: &Handle) -> Result<Handle, ExecError>;
    /// The job's state in the backend, from the handle alone (works after a restart).
    fn status(&self, handle: &Handle) -> Result<ExecState, ExecError>;
    /// Cancels a held or running job; cancelling a finished job is not an error.
    fn cancel(&self, handle: &Handle) -> Result<(), ExecError>;
    /// Stops a running job until [`Executor::resume`].
    fn suspend(&self, _handle: &Handle) -> Result<(), ExecError> {
        Err(ExecError::Unsupported {
            executor: self.name().to_owned(),
            what: "suspend",
        })
    }
    /// Continues a suspended job.
    fn resume(&self, _handle: &Handle) -> Result<(), ExecError> {
        Err(ExecError::Unsupported {
            executor: self.name().to_owned(),
            what: "resume",
        })
    }
    /// The job's log (its stderr, and stdout where kept), if the backend keeps one.
    fn log(&self, _handle: &Handle) -> Result<String, ExecError> {
        Err(ExecError::Unsupported {
            executor: self.name().to_owned(),
            what: "logs",
        })
    }
    /// The `kite run` record of a finished job, if the job ran under `kite run`.
    fn run_record(&self, _handle: &Handle) -> Option<serde_json::Value> {
        None
    }
}
