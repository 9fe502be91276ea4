//! `spatio-temporal`: the capacity-constrained planner. Places many jobs at once over a slot grid
//! of regions × time, minimising a weighted sum of emissions, energy cost and delay, with a
//! capacity per region and slot.
//!
//! # Model
//!
//! - **Slot grid.** Slots are [`PlannerConfig::slot`] long, or the finest resolution of the
//!   signals the jobs use, aligned on the Unix epoch, from the first allowed start (or the first
//!   data) to the last deadline (or the last data). A slot is usable in a region only when the
//!   signal (and the price series, when prices are given) covers all of it; emissions are never
//!   guessed. When the grid would exceed [`MAX_GRID_CELLS`] the slot is coarsened (and a note
//!   says so).
//! - **Placements.** A non-interruptible job runs once, in one region, starting at its allowed
//!   start, at a slot boundary, at a time that makes it *end* on a slot boundary, or at
//!   `deadline - duration`: these are all the breakpoints of the piecewise-linear window cost,
//!   so the cheapest of them is the cheapest start in continuous time. An interruptible job may
//!   also run in pieces: each piece starts at a slot start (or the allowed start), runs through
//!   whole slots and may end inside its last slot; every piece after the first is longer by
//!   `resume_overhead` (time and energy), pieces are at least `min_chunk` long (capped at the
//!   duration), and there are at most `max_pieces`.
//! - **Capacity.** A job occupies `demand` units in every slot of its region that a piece
//!   overlaps, even partly ([`Capacity`]).
//! - **Objective.** `carbon × gCO2e + cost × (kWh × price) + delay × hours`, where a job's delay
//!   is its finish time minus its as-soon-as-possible finish time ([`Weights`]). Energy per slot
//!   is the time-weighted overlap, as in [`emissions_of`](crate::emissions_of). A job left out for
//!   lack of capacity adds a penalty `(1 + tier) × (1 + 2 × UB)`, where `tier` is the rank of
//!   its priority among the distinct priorities (0 = lowest) and `UB` bounds the job's own
//!   placement cost (its energy at the highest rate of its regions, plus its largest delay):
//!   placing a job always costs less than leaving it out, and leaving out a higher-priority job
//!   costs more than leaving out a lower-priority job of the same size.
//!
//! # Methods
//!
//! - **Greedy** ([`Method::Greedy`]): jobs in order of priority (highest first), then least
//!   flexibility (`regions × (slack in slots + 1)`: a job with one region and no slack goes
//!   before jobs that could go elsewhere), then largest energy. Each takes its cheapest
//!   placement that still fits, in one pass over its candidates: window costs are O(1) from
//!   per-region prefix sums and the capacity check is O(1) from a prefix count of the full slots
//!   in the job's window. Interruptible jobs also try the cleanest-slots split of
//!   [`interruptible_pieces`](crate::interruptible_pieces) over the slots with room, and keep
//!   whichever is cheaper. Then a repair pass tries, for each job left out, to free one of its
//!   two cheapest windows by moving up to six placed jobs elsewhere; it is kept only if every
//!   moved job is placed again and the objective drops. So priority decides who is served
//!   first and who is left out; a moved higher-priority job stays placed but may pay more.
//! - **Exact MILP** ([`Method::Exact`]) with `good_lp` + microlp, warm-started from the greedy:
//!   a binary per (job, region, candidate start); for interruptible jobs also a per-slot model
//!   (binary "runs in this slot", continuous time in the slot, run starts, and the rules above),
//!   so every plan the greedy can make is feasible for it and its optimum is never worse. It
//!   ignores the greedy's strict tiers: priority enters only through the penalties.
//!   [`Method::Auto`] uses it when the model has at most [`PlannerConfig::exact_max_binaries`]
//!   binaries and the greedy otherwise.
//! - **Lower bound** ([`BoundConfig`]): relax the capacity rows with prices λ ≥ 0; the
//!   Lagrangian `Σ_j min(penalty, cheapest placement + demand × Σ λ over its slots) − Σ cap × λ`
//!   is a lower bound on the optimum for *any* λ ≥ 0 and is computed here in one O(1)-per-
//!   candidate pass (prefix sums of λ). λ comes from projected subgradient steps and, up to
//!   [`BoundConfig::max_master_jobs`] jobs, from the capacity duals of the LP relaxation solved
//!   by column generation (`good_lp` + clarabel, which reports duals; microlp does not; with
//!   the crate's `highs` cargo feature, HiGHS's interior point instead).
//!   At the LP's optimal duals the Lagrangian equals the LP bound; the value reported is the
//!   best seen, clamped duals included, so it holds whatever the solver's precision. See
//!   [`LpBound`].

mod bound;
mod greedy;
mod grid;
mod milp;
#[cfg(test)]
mod tests;

use crate::job::Job;
use crate::plan::{Placement, Plan, Unplaced, UnplacedReason, emissions_of};
use crate::policy::{Policy, Signals, asap_window};
use kite_core::{Clock, GramsCo2e, Resolution, SignedDuration, TimeWindow, Timestamp, ZoneKey};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub(crate) use grid::Choice;

/// The grid is coarsened above this many region × slot cells (about 10 regions × 4 years of
/// 5-minute slots), so a long signal at a fine slot cannot exhaust memory.
pub const MAX_GRID_CELLS: usize = 4_000_000;

/// Units of capacity (GPUs, nodes) per region and slot. `None` means unlimited.
///
/// A slot's capacity is the smallest override whose window overlaps the slot, else the
/// region's own capacity, else the default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Capacity {
    default: Option<u32>,
    per_region: BTreeMap<ZoneKey, Option<u32>>,
    overrides: BTreeMap<ZoneKey, Vec<(TimeWindow, u32)>>,
}

impl Capacity {
    /// Unlimited everywhere.
    pub fn unlimited() -> Capacity {
        Capacity::default()
    }

    /// `units` in every region and slot not otherwise set.
    pub fn uniform(units: u32) -> Capacity {
        Capacity {
            default: Some(units),
            ..Capacity::default()
        }
    }

    /// Sets the capacity of `region` (`None`: unlimited), replacing the default there.
    pub fn with_region(mut self, region: ZoneKey, units: Option<u32>) -> Capacity {
        self.per_region.insert(region, units);
        self
    }

    /// Limits `region` to `units` in every slot that overlaps `window`.
    pub fn with_override(mut self, region: ZoneKey, window: TimeWindow, units: u32) -> Capacity {
        self.overrides
            .entry(region)
            .or_default()
            .push((window, units));
        self
    }

    /// The capacity of `region` outside overrides.
    pub fn of_region(&self, region: &ZoneKey) -> Option<u32> {
        self.per_region.get(region).copied().unwrap_or(self.default)
    }

    /// The overrides of `region`.
    pub fn overrides(&self, region: &ZoneKey) -> &[(TimeWindow, u32)] {
        self.overrides.get(region).map_or(&[], Vec::as_slice)
    }

    /// Whether no region and no slot is limited.
    pub fn is_unlimited(&self) -> bool {
        self.default.is_none()
            && self.per_region.values().all(Option::is_none)
            && self.overrides.values().all(Vec::is_empty)
    }
}

/// One price, valid for `[start, start + duration)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PricePoint {
    /// Start of the interval.
    pub start: Timestamp,
    /// Length of the interval in seconds.
    pub duration_secs: u32,
    /// Price per kWh in the caller's currency; may be negative (market prices sometimes are).
    pub per_kwh: f64,
}

/// An electricity price series for one zone: sorted, non-overlapping, finite values.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSeries {
    zone: ZoneKey,
    points: Vec<PricePoint>,
}

impl PriceSeries {
    /// Builds a series from `(start, price per kWh)` pairs on a regular grid: each point lasts
    /// one resolution, or less if the next point starts sooner.
    pub fn from_regular(
        zone: ZoneKey,
        resolution: Resolution,
        values: impl IntoIterator<Item = (Timestamp, f64)>,
    ) -> Result<PriceSeries, PlannerError> {
        let raw: Vec<(Timestamp, f64)> = values.into_iter().collect();
        let res = i64::from(resolution.secs());
        let mut points = Vec::with_capacity(raw.len());
        for (index, &(start, per_kwh)) in raw.iter().enumerate() {
            if !per_kwh.is_finite() {
                return Err(PlannerError::BadPrice {
                    zone: zone.clone(),
                    index,
                    value: per_kwh,
                });
            }
            let step = raw
                .get(index + 1)
                .map_or(res, |next| next.0.as_second() - start.as_second());
            if step <= 0 {
                return Err(PlannerError::UnsortedPrices {
                    zone: zone.clone(),
                    index: index + 1,
                });
            }
            points.push(PricePoint {
                start,
                duration_secs: u32::try_from(step.min(res)).unwrap_or(resolution.secs()),
                per_kwh,
            });
        }
        Ok(PriceSeries { zone, points })
    }

    /// The zone.
    pub fn zone(&self) -> &ZoneKey {
        &self.zone
    }

    /// The points, sorted.
    pub fn points(&self) -> &[PricePoint] {
        &self.points
    }
}

/// Price series per zone, like [`Signals`] for intensity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prices {
    by_zone: BTreeMap<ZoneKey, PriceSeries>,
}

impl Prices {
    /// No prices.
    pub fn new() -> Prices {
        Prices::default()
    }

    /// Adds (or replaces) the series of its zone.
    pub fn insert(&mut self, series: PriceSeries) {
        self.by_zone.insert(series.zone().clone(), series);
    }

    /// The series of `zone`, if any.
    pub fn get(&self, zone: &ZoneKey) -> Option<&PriceSeries> {
        self.by_zone.get(zone)
    }
}

impl FromIterator<PriceSeries> for Prices {
    fn from_iter<I: IntoIterator<Item = PriceSeries>>(iter: I) -> Prices {
        let mut p = Prices::new();
        for series in iter {
            p.insert(series);
        }
        p
    }
}

/// Weights of the objective `carbon × gCO2e + cost × money + delay × hours`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Per gram of CO2e.
    pub carbon: f64,
    /// Per unit of the price series' currency (ignored without prices).
    pub cost: f64,
    /// Per hour a job finishes later than it would if started as soon as allowed.
    pub delay_per_hour: f64,
}

impl Weights {
    /// Emissions only.
    pub const CARBON: Weights = Weights {
        carbon: 1.0,
        cost: 0.0,
        delay_per_hour: 0.0,
    };
}

/// Which algorithm places the jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exact MILP when the model has at most [`PlannerConfig::exact_max_binaries`] binaries,
    /// else greedy.
    Auto,
    /// Always the exact MILP (slow beyond a few hundred binaries).
    Exact,
    /// Always the greedy heuristic.
    Greedy,
}

/// Settings of the lower bound (see [`LpBound`]): projected subgradient steps on the capacity
/// prices, then the LP relaxation seeded with the windows those steps picked: on small
/// instances by column generation with an interior-point master, above
/// [`max_master_jobs`](Self::max_master_jobs) by restarted PDHG (PDLP's first-order method)
/// with column generation, until the LP optimum is pinned between a certified lower bound and
/// a feasible fractional plan to within [`lp_tolerance`](Self::lp_tolerance). The bound is the
/// best Lagrangian value seen, so every stage can only raise it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundConfig {
    /// Most master-problem solves.
    pub max_iterations: u32,
    /// Cheapest windows per job (across its regions) in the first master problem, besides
    /// the greedy's choice and the windows the subgradient steps picked.
    pub initial_columns_per_job: usize,
    /// Column generation runs only up to this many jobs. The restricted master is solved by
    /// clarabel (pure Rust) in the default build and by HiGHS (interior point, no crossover)
    /// with the `highs` cargo feature. clarabel's interior point factorises the densely coupled
    /// capacity rows, and on the benchmark's 1,000-job instance ten master solves took 7 s and
    /// still ended below what 100 subgradient steps reach in 0.5 s. HiGHS takes about 1.6 s
    /// per master there and 31–35 s per master at 10,000 jobs, so the default stays 200 with
    /// either solver (see `docs/benchmarks.md`).
    pub max_master_jobs: usize,
    /// Above `max_master_jobs` jobs: the first-order method stops once `(upper − lower) /
    /// upper` is at most this, where `upper` is a feasible fractional plan's objective and
    /// `lower` the certified bound, so the LP optimum lies between them.
    pub lp_tolerance: f64,
    /// Above `max_master_jobs` jobs: most PDHG steps (each O(columns + rows)).
    pub max_first_order_steps: u32,
    /// Subgradient steps before column generation (half as many after it); each is one pass
    /// over every candidate of every job, O(1) per candidate.
    pub subgradient_steps: u32,
    /// Stop after this long; needs [`PlannerConfig::clock`].
    pub time_budget: Option<SignedDuration>,
}

impl BoundConfig {
    /// 10 master solves, 1 extra initial column per job, column generation up to 200 jobs,
    /// PDHG above that to 0.1 % or 50,000 steps, 100 subgradient steps, no time budget.
    pub const STANDARD: BoundConfig = BoundConfig {
        max_iterations: 10,
        initial_columns_per_job: 1,
        max_master_jobs: 200,
        lp_tolerance: 1e-3,
        max_first_order_steps: 50_000,
        subgradient_steps: 100,
        time_budget: None,
    };
}

/// What the planner is asked to do. Checked by [`Planner::new`].
#[derive(Clone)]
pub struct PlannerConfig {
    /// Slot length; `None` for the finest resolution of the signals the jobs use.
    pub slot: Option<Resolution>,
    /// Capacity per region and slot.
    pub capacity: Capacity,
    /// Prices per region, for the cost term. When given, every region a job may use needs a
    /// price series, and a slot without a price is not usable there.
    pub prices: Option<Prices>,
    /// Objective weights.
    pub weights: Weights,
    /// Algorithm.
    pub method: Method,
    /// [`Method::Auto`] solves exactly up to this many binary variables. 400 keeps microlp's
    /// branch and bound under about a second on the instances of the tests.
    pub exact_max_binaries: usize,
    /// Time limit for the MILP; the best plan found by then is returned (at worst the greedy's).
    /// microlp enforces it with its own monotonic clock, so a limited run may differ from run
    /// to run; `None` keeps planning deterministic.
    pub milp_time_limit: Option<SignedDuration>,
    /// The LP lower bound; `None` skips it.
    pub bound: Option<BoundConfig>,
    /// Measures solver times (and enables [`BoundConfig::time_budget`]); `None` reports none.
    /// The planner never reads a clock of its own.
    pub clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for PlannerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlannerConfig")
            .field("slot", &self.slot)
            .field("capacity", &self.capacity)
            .field("prices", &self.prices)
            .field("weights", &self.weights)
            .field("method", &self.method)
            .field("exact_max_binaries", &self.exact_max_binaries)
            .field("milp_time_limit", &self.milp_time_limit)
            .field("bound", &self.bound)
            .field("clock", &self.clock.as_ref().map(|_| "..."))
            .finish()
    }
}

impl PlannerConfig {
    /// Emissions only, unlimited capacity, automatic method, standard bound, no clock.
    pub fn carbon_only() -> PlannerConfig {
        PlannerConfig {
            slot: None,
            capacity: Capacity::unlimited(),
            prices: None,
            weights: Weights::CARBON,
            method: Method::Auto,
            exact_max_binaries: 400,
            milp_time_limit: Some(SignedDuration::from_secs(30)),
            bound: Some(BoundConfig::STANDARD),
            clock: None,
        }
    }
}

/// Why a planner configuration cannot be used. Each message names the field and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlannerError {
    /// A weight is negative or not a number.
    #[error("weights.{field} is {value}; give a finite, non-negative weight")]
    BadWeight {
        /// `carbon`, `cost` or `delay_per_hour`.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// A price is not a finite number.
    #[error("prices for {zone}: point {index} is {value}; give finite prices per kWh")]
    BadPrice {
        /// The zone.
        zone: ZoneKey,
        /// Index of the point.
        index: usize,
        /// The value given.
        value: f64,
    },
    /// Price points out of order.
    #[error(
        "prices for {zone}: point {index} does not start after the previous one; sort the points by time"
    )]
    UnsortedPrices {
        /// The zone.
        zone: ZoneKey,
        /// Index of the point.
        index: usize,
    },
    /// A time limit or budget is zero or negative.
    #[error("{field} is {value:#}; give a positive duration, or leave it unset")]
    NonPositiveLimit {
        /// The field.
        field: &'static str,
        /// The value given.
        value: SignedDuration,
    },
    /// The bound would run no iteration.
    #[error("bound.max_iterations is 0; give at least 1, or set bound to None")]
    ZeroIterations,
}

/// A checked [`PlannerConfig`], ready to plan.
#[derive(Debug, Clone)]
pub struct Planner {
    cfg: PlannerConfig,
}

impl Planner {
    /// Checks `cfg`.
    pub fn new(cfg: PlannerConfig) -> Result<Planner, PlannerError> {
        let w = cfg.weights;
        for (field, value) in [
            ("carbon", w.carbon),
            ("cost", w.cost),
            ("delay_per_hour", w.delay_per_hour),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(PlannerError::BadWeight { field, value });
            }
        }
        let budget = cfg.bound.and_then(|b| b.time_budget);
        for (field, value) in [
            ("milp_time_limit", cfg.milp_time_limit),
            ("bound.time_budget", budget),
        ] {
            if let Some(value) = value
                && !value.is_positive()
            {
                return Err(PlannerError::NonPositiveLimit { field, value });
            }
        }
        if cfg.bound.is_some_and(|b| b.max_iterations == 0) {
            return Err(PlannerError::ZeroIterations);
        }
        Ok(Planner { cfg })
    }

    /// The configuration.
    pub fn config(&self) -> &PlannerConfig {
        &self.cfg
    }

    /// Plans `jobs` on `signals` at `now`. Jobs that cannot be placed are listed in the plan's
    /// `unplaced` with the reason; the others are still planned.
    pub fn plan(&self, jobs: &[Job], signals: &Signals, now: Timestamp) -> SpatioTemporalPlan {
        let started = self.now();
        let mut notes = Vec::new();
        let (model, mut unplaced) = grid::build(jobs, signals, now, &self.cfg, &mut notes);
        let auto_exact = || milp::small_enough(&model, self.cfg.exact_max_binaries);
        let exact = match self.cfg.method {
            Method::Exact => true,
            Method::Greedy => false,
            Method::Auto => auto_exact(),
        };
        let mut choices = greedy::plan(&model);
        let greedy_done = self.now();
        let mut method = MethodUsed::Greedy;
        if exact && !model.jobs.is_empty() {
            match milp::solve(&model, &choices, self.cfg.milp_time_limit) {
                Ok((milp_choices, proven_optimal)) => {
                    if model.objective(&milp_choices) <= model.objective(&choices) {
                        choices = milp_choices;
                    } else {
                        notes.push(
                            "the MILP returned a plan worse than the greedy's (solver tolerance); kept the greedy's".into(),
                        );
                    }
                    method = MethodUsed::ExactMilp { proven_optimal };
                }
                Err(e) => notes.push(format!(
                    "the exact MILP failed ({e}); the plan is the greedy's"
                )),
            }
        }
        let solved = self.now();
        let lp_bound = self.cfg.bound.map(|b| {
            let deadline = b
                .time_budget
                .zip(solved)
                .and_then(|(budget, t)| t.checked_add(budget).ok());
            let clock = self.cfg.clock.as_deref();
            let out_of_time = move || match (deadline, clock) {
                (Some(d), Some(c)) => c.now() >= d,
                _ => false,
            };
            bound::lower_bound(&model, &choices, &b, &out_of_time, &mut notes)
        });
        let bound_done = self.now();
        let totals = model.totals(&choices);
        let lower_bound = match method {
            MethodUsed::ExactMilp {
                proven_optimal: true,
            } => Some(totals.objective),
            _ => lp_bound.as_ref().map(|b| b.value),
        };
        let gap_percent = lower_bound.map(|lb| gap_percent(totals.objective, lb));
        let plan = self.assemble(jobs, signals, now, &model, &choices, &mut unplaced);
        let elapsed =
            |a: Option<Timestamp>, b: Option<Timestamp>| a.zip(b).map(|(a, b)| b.duration_since(a));
        SpatioTemporalPlan {
            plan,
            method,
            objective: totals.objective,
            carbon: GramsCo2e(totals.carbon),
            cost: totals.cost,
            mean_delay_hours: totals.mean_delay_hours,
            penalty: totals.penalty,
            lower_bound,
            lp_bound,
            gap_percent,
            slot: model.grid.slot,
            n_slots: model.grid.n_slots,
            greedy_time: elapsed(started, greedy_done),
            solver_time: elapsed(started, solved),
            bound_time: elapsed(solved, bound_done),
            notes,
        }
    }

    fn now(&self) -> Option<Timestamp> {
        self.cfg.clock.as_ref().map(|c| c.now())
    }

    /// Turns choices into a [`Plan`] in input order, with emissions from the signal itself.
    fn assemble(
        &self,
        jobs: &[Job],
        signals: &Signals,
        now: Timestamp,
        model: &grid::Model,
        choices: &[Choice],
        unplaced: &mut BTreeMap<usize, UnplacedReason>,
    ) -> Plan {
        let mut placed: Vec<Option<Placement>> = vec![None; jobs.len()];
        for (mj, choice) in model.jobs.iter().zip(choices) {
            let job = &jobs[mj.input];
            let placement = model.windows(mj, choice).and_then(|(region, pieces)| {
                let zone = &model.grid.regions[region].zone;
                let series = signals.get(zone)?;
                let emissions = emissions_of(&pieces, job.power, series)?;
                let baseline_emissions = job
                    .regions
                    .first()
                    .and_then(|r| signals.get(r))
                    .zip(asap_window(job, job.start_from(now)))
                    .and_then(|(s, w)| emissions_of(&[w], job.power, s));
                Some(Placement {
                    job_id: job.id.clone(),
                    region: zone.clone(),
                    pieces,
                    emissions,
                    baseline_emissions,
                })
            });
            match (placement, choice) {
                (Some(p), _) => placed[mj.input] = Some(p),
                (None, Choice::None) => {
                    unplaced.insert(mj.input, model.no_capacity(job, mj));
                }
                // The grid said covered but the series itself has a gap inside a slot (points
                // not aligned with the grid): never guess.
                (None, _) => {
                    unplaced.insert(
                        mj.input,
                        UnplacedReason::NotCovered {
                            start: job.start_from(now),
                            deadline: job.deadline,
                        },
                    );
                }
            }
        }
        let mut plan = Plan::default();
        for (idx, job) in jobs.iter().enumerate() {
            if let Some(p) = placed[idx].take() {
                plan.placements.push(p);
            } else if let Some(reason) = unplaced.remove(&idx) {
                plan.unplaced.push(Unplaced {
                    job_id: job.id.clone(),
                    reason,
                });
            }
        }
        plan
    }
}

/// `100 × (objective − bound) / |objective|`, 0 when both are 0, never negative.
fn gap_percent(objective: f64, bound: f64) -> f64 {
    let diff = (objective - bound).max(0.0);
    if diff == 0.0 {
        0.0
    } else {
        100.0 * diff / objective.abs().max(f64::MIN_POSITIVE)
    }
}

/// Plans with a checked copy of `cfg`; see [`Planner::plan`].
pub fn plan_spatio_temporal(
    jobs: &[Job],
    signals: &Signals,
    now: Timestamp,
    cfg: &PlannerConfig,
) -> Result<SpatioTemporalPlan, PlannerError> {
    Ok(Planner::new(cfg.clone())?.plan(jobs, signals, now))
}

/// How a [`SpatioTemporalPlan`] was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodUsed {
    /// The MILP; `proven_optimal` is false when its time limit stopped it first.
    ExactMilp {
        /// Whether microlp proved optimality.
        proven_optimal: bool,
    },
    /// The greedy heuristic.
    Greedy,
}

impl fmt::Display for MethodUsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MethodUsed::ExactMilp {
                proven_optimal: true,
            } => f.write_str("exact MILP (optimal)"),
            MethodUsed::ExactMilp {
                proven_optimal: false,
            } => f.write_str("MILP (time limit, best found)"),
            MethodUsed::Greedy => f.write_str("greedy"),
        }
    }
}

/// The LP lower bound and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct LpBound {
    /// The certified bound: `Σ_j min(penalty_j, min over all its placements of (cost +
    /// demand × Σ λ over the slots it occupies)) − Σ capacity × λ`, maximised over the λ ≥ 0
    /// tried (subgradient steps, and the master problems' capacity duals clamped to λ ≥ 0).
    /// Any λ ≥ 0 gives a valid bound, so it holds whatever the solver's precision. For
    /// interruptible jobs the inner minimum is taken over a relaxation (any `duration` of slot
    /// time, each slot's capacity price spread over its length, delay dropped), which keeps the
    /// bound valid but looser: even without capacity it is below the greedy's objective when
    /// interruptible jobs are present.
    pub value: f64,
    /// An upper bound on the LP optimum: the last restricted master problem's objective, or,
    /// on the first-order path, the best feasible fractional plan's (each PDHG iterate with
    /// every column scaled down until no capacity row is over, the rest left out at its
    /// penalty).
    pub master_objective: Option<f64>,
    /// Master problems solved (interior point), or pricing rounds (first-order path).
    pub iterations: u32,
    /// PDHG steps (first-order path; 0 otherwise).
    pub first_order_steps: u32,
    /// Subgradient steps taken after column generation.
    pub subgradient_steps: u32,
    /// Columns in the last master problem.
    pub columns: usize,
    /// Capacity rows in the last master problem.
    pub rows: usize,
    /// Whether the LP optimum was reached: pricing found no column of negative reduced cost
    /// (interior-point path), or the gap between the bound and `master_objective` closed to
    /// [`BoundConfig::lp_tolerance`] (first-order path).
    pub converged: bool,
}

/// The result of [`Planner::plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct SpatioTemporalPlan {
    /// Placements and unplaced jobs, in input order.
    pub plan: Plan,
    /// The algorithm that produced the placements.
    pub method: MethodUsed,
    /// The objective on the slot grid, penalties included.
    pub objective: f64,
    /// Emissions of the placed jobs on the slot grid.
    pub carbon: GramsCo2e,
    /// Energy cost of the placed jobs (0 without prices).
    pub cost: f64,
    /// Mean delay of the placed jobs, in hours.
    pub mean_delay_hours: f64,
    /// Sum of the penalties of jobs left out for lack of capacity.
    pub penalty: f64,
    /// The best lower bound known: the objective when the MILP proved optimality, else the
    /// LP bound.
    pub lower_bound: Option<f64>,
    /// The LP bound, when asked for.
    pub lp_bound: Option<LpBound>,
    /// `100 × (objective − lower_bound) / objective`.
    pub gap_percent: Option<f64>,
    /// The slot length used.
    pub slot: Resolution,
    /// Slots in the grid.
    pub n_slots: usize,
    /// Time to build the model and run the greedy (needs a clock).
    pub greedy_time: Option<SignedDuration>,
    /// Time to the final placements, MILP included (needs a clock).
    pub solver_time: Option<SignedDuration>,
    /// Time spent on the lower bound (needs a clock).
    pub bound_time: Option<SignedDuration>,
    /// What the planner changed or could not do (coarsened slots, solver failures).
    pub notes: Vec<String>,
}

/// The planner as a [`Policy`]: jobs compete for capacity; see the module docs.
#[derive(Debug, Clone)]
pub struct SpatioTemporal {
    planner: Planner,
}

impl SpatioTemporal {
    /// A policy planning with `planner`.
    pub fn new(planner: Planner) -> SpatioTemporal {
        SpatioTemporal { planner }
    }

    /// Emissions only, unlimited capacity, no lower bound.
    pub fn carbon_only() -> SpatioTemporal {
        SpatioTemporal {
            planner: Planner {
                cfg: PlannerConfig {
                    bound: None,
                    ..PlannerConfig::carbon_only()
                },
            },
        }
    }
}

impl Policy for SpatioTemporal {
    fn name(&self) -> &'static str {
        "spatio-temporal"
    }

    fn plan(&self, jobs: &[Job], signal: &Signals, now: Timestamp) -> Plan {
        self.planner.plan(jobs, signal, now).plan
    }
}
