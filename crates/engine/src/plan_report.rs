//! The plan as `kite plan --format json` prints it and `POST /v1/plan` returns it: per job, its
//! placement and emissions against starting now in its first region, the unplaced jobs with
//! reasons, the totals, and the source of every signal segment.
//!
//! The types here are that wire format (one definition for the CLI and the server); the CLI
//! renders its table from the same value.

use crate::jobs::JobContext;
use crate::plan::PlanSignals;
use crate::service::IntensityService;
use kite_core::{SignedDuration, Timestamp, Watts, ZoneKey};
use kite_scheduler::{Job, Placement, Plan, SpatioTemporalPlan};
use serde::Serialize;
use std::path::Path;

/// How the spatio-temporal planner got its answer, and how far it may be from optimal.
#[derive(Debug, Serialize)]
pub struct PlannerSummary {
    /// `greedy`, `milp`, … as the planner names it.
    pub method: String,
    /// The objective of the returned plan.
    pub objective: f64,
    /// The certified lower bound, when computed.
    pub lower_bound: Option<f64>,
    /// Gap between the objective and the bound, percent.
    pub gap_percent: Option<f64>,
    /// Slot length, minutes.
    pub slot_minutes: u32,
    /// Number of slots.
    pub slots: usize,
    /// Time spent in each stage, milliseconds.
    pub greedy_ms: Option<f64>,
    /// Time spent in the exact solver, milliseconds.
    pub solver_ms: Option<f64>,
    /// Time spent on the bound, milliseconds.
    pub bound_ms: Option<f64>,
    /// The planner's notes.
    pub notes: Vec<String>,
}

impl PlannerSummary {
    /// The summary of a spatio-temporal plan.
    pub fn new(p: &SpatioTemporalPlan) -> PlannerSummary {
        let ms = |d: Option<SignedDuration>| d.map(|d| d.as_secs_f64() * 1000.0);
        PlannerSummary {
            method: p.method.to_string(),
            objective: p.objective,
            lower_bound: p.lower_bound,
            gap_percent: p.gap_percent,
            slot_minutes: p.slot.secs() / 60,
            slots: p.n_slots,
            greedy_ms: ms(p.greedy_time),
            solver_ms: ms(p.solver_time),
            bound_ms: ms(p.bound_time),
            notes: p.notes.clone(),
        }
    }
}

/// What jobs need from the engine: region resolution through `service`, and past runs' power
/// from the store at `database`.
pub struct PlanContext<'a> {
    /// Resolves regions.
    pub service: &'a IntensityService,
    /// kite's store, where past runs are.
    pub database: &'a Path,
}

impl JobContext for PlanContext<'_> {
    fn zone(&self, region: &str) -> Result<ZoneKey, String> {
        self.service
            .resolve(region)
            .map(|z| z.key.clone())
            .map_err(|e| e.to_string())
    }

    fn run_power(&self, run_id: &str) -> Result<(Watts, SignedDuration), String> {
        let store = kite_store::Store::open(self.database)
            .map_err(|e| format!("cannot open {}: {e}", self.database.display()))?;
        let run = kite_tracker::load_run(&store, run_id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "no run `{run_id}` in {}; `kite runs` lists them",
                    self.database.display()
                )
            })?;
        if run.duration_secs <= 0.0 {
            return Err(format!("run `{run_id}` has no duration to take power from"));
        }
        let watts = run.energy.0 * 3.6e6 / run.duration_secs;
        let duration = SignedDuration::try_from_secs_f64(run.duration_secs)
            .map_err(|_| format!("run `{run_id}` has an unusable duration"))?;
        Ok((Watts(watts), duration))
    }
}

/// `kite plan --format json`: the plan, per job, with totals and the signal's sources.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    /// The policy that planned.
    pub policy: &'static str,
    /// The planning time (whole seconds).
    pub now: Timestamp,
    /// Each planned job.
    pub jobs: Vec<JobReport>,
    /// Each job that could not be planned, with the reason.
    pub unplaced: Vec<UnplacedReport>,
    /// Sums over the planned jobs.
    pub total: Totals,
    /// Every signal segment the plan rests on.
    pub signals: Vec<SourceReport>,
    /// Fallbacks taken while fetching the signals.
    pub notes: Vec<String>,
    /// Only for the spatio-temporal policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planner: Option<PlannerSummary>,
}

/// One planned job.
#[derive(Debug, Serialize)]
pub struct JobReport {
    /// The job's id.
    pub id: String,
    /// The zone it runs in.
    pub region: String,
    /// Start of its first piece.
    pub start: Timestamp,
    /// End of its last piece.
    pub end: Timestamp,
    /// Every piece, `[start, end)`.
    pub pieces: Vec<[Timestamp; 2]>,
    /// Minutes between the earliest allowed start and the planned start.
    pub delay_minutes: f64,
    /// Energy of its pieces at its power, kWh.
    pub energy_kwh: f64,
    /// Emissions of the planned pieces, grams CO2e.
    pub emissions_g: f64,
    /// Emissions of starting as soon as allowed in the first region (`null`: not covered).
    pub run_now_emissions_g: Option<f64>,
    /// Percent saved against starting now.
    pub saved_percent: Option<f64>,
}

/// A job that could not be planned.
#[derive(Debug, Serialize)]
pub struct UnplacedReport {
    /// The job's id.
    pub id: String,
    /// Why.
    pub reason: String,
}

/// Sums over the planned jobs.
#[derive(Debug, Serialize)]
pub struct Totals {
    /// Jobs planned.
    pub planned: usize,
    /// Jobs not planned.
    pub unplaced: usize,
    /// Emissions of the plan, grams CO2e.
    pub emissions_g: f64,
    /// Emissions of starting every job now (`null` if any is not covered).
    pub run_now_emissions_g: Option<f64>,
    /// Percent saved against starting now.
    pub saved_percent: Option<f64>,
}

/// One source segment of one zone's signal.
#[derive(Debug, Serialize)]
pub struct SourceReport {
    /// The zone.
    pub zone: String,
    /// Segment start.
    pub from: Timestamp,
    /// Segment end.
    pub to: Timestamp,
    /// The data source.
    pub source: String,
    /// The signal (average/marginal, lifecycle/direct).
    pub signal: String,
    /// Measured, forecast or estimated (with the model or method).
    pub provenance: String,
}

impl JobReport {
    /// The report of placement `p` of `job`, planned at `now` (`None`: a placement without
    /// pieces). `kite serve`'s planner records the same figures for each job it places.
    pub fn new(job: &Job, p: &Placement, now: Timestamp) -> Option<JobReport> {
        let (first, last) = (p.pieces.first()?, p.pieces.last()?);
        let secs: i64 = p.pieces.iter().map(|w| w.duration().as_secs()).sum();
        let base = p.baseline_emissions.map(|b| b.0);
        Some(JobReport {
            id: p.job_id.clone(),
            region: p.region.to_string(),
            start: first.start(),
            end: last.end(),
            pieces: p.pieces.iter().map(|w| [w.start(), w.end()]).collect(),
            delay_minutes: (first.start().as_second() - job.start_from(now).as_second()) as f64
                / 60.0,
            energy_kwh: job.power.0 * secs as f64 / 3.6e6,
            emissions_g: p.emissions.0,
            run_now_emissions_g: base,
            saved_percent: base.and_then(|b| saved(b, p.emissions.0)),
        })
    }
}

impl PlanReport {
    /// The report of `plan`, made by `policy` for `jobs` on `signals` at `now`.
    pub fn new(
        policy: &'static str,
        jobs: &[Job],
        plan: &Plan,
        signals: &PlanSignals,
        now: Timestamp,
    ) -> PlanReport {
        let out: Vec<JobReport> = plan
            .placements
            .iter()
            .filter_map(|p| JobReport::new(jobs.iter().find(|j| j.id == p.job_id)?, p, now))
            .collect();
        // `+ 0.0`: an empty float sum is -0.0, which would print as `-0.0 gCO2e`.
        let emissions: f64 = out.iter().map(|j| j.emissions_g).sum::<f64>() + 0.0;
        let run_now: Option<f64> = out.iter().map(|j| j.run_now_emissions_g).sum();
        let total = Totals {
            planned: out.len(),
            unplaced: plan.unplaced.len(),
            emissions_g: emissions,
            run_now_emissions_g: run_now,
            saved_percent: run_now.and_then(|b| saved(b, emissions)),
        };
        let sources = signals
            .sources
            .iter()
            .flat_map(|z| {
                z.segments.iter().map(|(w, meta)| SourceReport {
                    zone: z.zone.to_string(),
                    from: w.start(),
                    to: w.end(),
                    source: meta.source.clone(),
                    signal: meta.signal.to_string(),
                    provenance: meta.provenance.to_string(),
                })
            })
            .collect();
        PlanReport {
            policy,
            now,
            jobs: out,
            unplaced: plan
                .unplaced
                .iter()
                .map(|u| UnplacedReport {
                    id: u.job_id.clone(),
                    reason: u.reason.to_string(),
                })
                .collect(),
            total,
            signals: sources,
            notes: signals
                .notes
                .iter()
                .map(|n| format!("{}: {}", n.source, n.message))
                .collect(),
            planner: None,
        }
    }
}

fn saved(baseline: f64, planned: f64) -> Option<f64> {
    (baseline > 0.0).then(|| (baseline - planned) / baseline * 100.0)
}
