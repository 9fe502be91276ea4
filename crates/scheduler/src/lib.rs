//! Carbon-aware scheduling: pure policies that turn `(jobs, signals, now)` into a [`Plan`].
//!
//! Architecture invariant: nothing here does I/O, reads a clock or fails on I/O. Every policy is
//! a pure function of its inputs; `now` is a parameter. Each job is planned on its own (there is
//! no capacity model yet), so one job that cannot be placed never stops the others: it is
//! reported in [`Plan::unplaced`] with the reason.
//!
//! Emissions are computed only over data the signal actually has ([`emissions_of`]); a piece the
//! signal does not cover is never given a guessed value.

mod asap;
mod best_window;
mod interruptible;
mod job;
mod plan;
mod policy;
mod threshold;

pub use asap::Asap;
pub use best_window::{BestWindow, best_windows};
pub use interruptible::{LetsWaitAwhile, interruptible_pieces};
pub use job::{Interruptible, Job, JobError};
pub use plan::{Placement, Plan, Unplaced, UnplacedReason, emissions_of};
pub use policy::{Policy, Signals, all_policies};
pub use threshold::Threshold;
