//! Replays real grid traces to compare scheduling policies: `kite simulate SCENARIO.toml`.
//!
//! A [`Scenario`] (TOML, see `docs/scenarios.md`) names the traces (files, or stored zones through
//! a loader the caller passes in), the job arrival pattern (explicit list, nightly, Poisson, or
//! Let's Wait Awhile's ML-training workload), how far each job may move (a ±window, a slack, or
//! the next-workday / semi-weekly deadline rules), the forecast model (perfect, or Gaussian noise
//! with σ = e · mean intensity over several seeds) and the policies to compare.
//! [`simulate`] plans every job at its earliest start with the forecast available then,
//! evaluates the placement on the actual trace, and returns a [`Report`]: per policy, total
//! emissions, % saved against `asap`, % of the oracle's saving (the same policy with a perfect
//! forecast), mean and max delay, deadline misses, and the published number when the scenario
//! gives one. [`chart_svg`] draws one experiment.
//!
//! Architecture invariants:
//! - the library does no output and reads no clock; the only I/O is reading the scenario and
//!   trace files it is pointed at;
//! - every time is on the trace grid and in UTC; a job is simulated only where its home trace
//!   covers its whole window (missing data is never filled), and the others are counted as
//!   skipped in the report;
//! - the policies are kite-scheduler's: `threshold` and `spatio-temporal` (carbon only, no
//!   capacity: jobs are planned one at a time as they arrive) run through the
//!   [`kite_scheduler::Policy`] trait; `asap`, `best-window` and `lets-wait-awhile` run through grid planners with the same
//!   semantics, checked against kite-scheduler on random cases by the tests in `plan.rs`;
//! - Let's Wait Awhile's quirks are reproduced only when asked for ([`Compat`]).

mod chart;
mod error;
mod forecast;
mod jobs;
mod plan;
mod report;
mod scenario;
mod simulate;
mod text;
mod trace;

pub use chart::{ChartOptions, chart_svg};
pub use error::SimError;
pub use report::{
    ExperimentSample, PlacedJob, PolicySample, ReferenceCheck, Report, ResultRow, ZoneSummary,
};
pub use scenario::{Compat, POLICY_NAMES, Resample, Scenario};
pub use simulate::{RunOptions, simulate};
pub use trace::{StoredZoneLoader, TraceContext, Traces};
