//! `kite serve`: a restart-safe job service. Jobs are accepted over HTTP ([`api`]), committed to
//! a durable queue ([`queue`]), planned by kite's scheduler exactly as `kite plan` plans them
//! ([`planner`]), handed to an executor that holds them until their planned start
//! ([`executor`], [`local`]), started, watched and reconciled after a restart ([`service`]).
//!
//! `docs/service.md` describes the state machine, the files and what a restart does.

pub mod api;
pub mod client;
pub mod config;
pub mod conformance;
pub mod executor;
pub mod job;
pub mod kubernetes;
pub mod local;
pub mod planner;
pub mod queue;
pub mod queue_pg;
pub mod secret;
pub mod service;
pub mod slurm;

pub use api::{ApiState, Problem, SubmitBody, router};
pub use client::{Client, ClientError};
pub use executor::{ExecError, ExecState, Executor, Handle, Launch};
pub use job::{Event, JobRecord, JobRequest, PlanInfo, State};
pub use kubernetes::{KubernetesConfig, KubernetesExecutor};
pub use local::{KiteRun, LocalExecutor};
pub use planner::Planner;
pub use queue::{Queue, QueueError, SqliteQueue};
pub use queue_pg::PgQueue;
pub use service::{Control, Executors, Msg, Service};
pub use slurm::{SlurmAccounting, SlurmConfig, SlurmExecutor};
