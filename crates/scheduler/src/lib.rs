//! Carbon-aware scheduling: pure policies that turn `(jobs, signals, now)` into a [`Plan`].
//!
//! Architecture invariant: nothing here does I/O, reads a clock or fails on I/O. Every policy is
//! a pure function of its inputs; `now` is a parameter (solver times are measured only through a
//! [`Clock`](kite_core::Clock) the caller passes in [`PlannerConfig::clock`]). One job that
//! cannot be placed never stops the others: it is reported in [`Plan::unplaced`] with the
//! reason.
//!
//! The per-job policies (`asap`, `threshold`, `best-window`, `lets-wait-awhile`) ignore
//! capacity. The `spatio-temporal` planner ([`Planner`], [`SpatioTemporal`]) places all jobs at
//! once under a capacity per region and slot, by an exact MILP on small instances or a greedy
//! with a certified lower bound on large ones; [`pareto_front`] sweeps its objective's weights,
//! and [`evaluate`], [`oracle`] and [`physical_limit`] judge plans on the intensities that
//! actually happened.
//!
//! Emissions are computed only over data the signal actually has ([`emissions_of`]); a piece the
//! signal does not cover is never given a guessed value.

mod asap;
mod best_window;
mod interruptible;
mod job;
mod oracle;
mod pareto;
mod plan;
mod policy;
mod spatio_temporal;
mod threshold;

pub use asap::Asap;
pub use best_window::{BestWindow, best_windows};
pub use interruptible::{LetsWaitAwhile, interruptible_pieces};
pub use job::{Interruptible, Job, JobError};
pub use oracle::{Evaluation, JobEvaluation, evaluate, oracle, physical_limit};
pub use pareto::{ParetoPoint, pareto_front};
pub use plan::{Placement, Plan, Unplaced, UnplacedReason, emissions_of};
pub use policy::{Policy, Signals, all_policies};
pub use spatio_temporal::{
    BoundConfig, Capacity, LpBound, MAX_GRID_CELLS, Method, MethodUsed, Planner, PlannerConfig,
    PlannerError, PricePoint, PriceSeries, Prices, SpatioTemporal, SpatioTemporalPlan, Weights,
    plan_spatio_temporal,
};
pub use threshold::Threshold;
