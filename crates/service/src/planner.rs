//! Planning queued jobs exactly as `kite plan` does: job specs → `kite_engine::to_jobs` →
//! `kite_engine::signals_for` (the fallback chain) → the spatio-temporal planner with the
//! service's capacity per region (for one job it finds the same emissions as `best-window`,
//! on the earliest of equal starts).

use crate::job::{JobRecord, PlanInfo};
use kite_core::{Signal, Timestamp, Watts, ZoneKey};
use kite_engine::{
    IntensityService, InterruptibleSpec, JobContext, JobReport, JobSpec, PlanSignals, Regions,
};
use kite_scheduler::{Capacity, Job, Plan, PlannerConfig};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Power assumed for a job submitted without one, as `kite plan` does: emissions scale linearly
/// with power, so the placement (and the % saved) does not depend on it.
pub const DEFAULT_POWER_W: f64 = 1000.0;

/// Delay weight of the spatio-temporal planner, gCO2e per hour: breaks ties toward earlier starts.
const TIE_BREAK_G_PER_HOUR: f64 = 1e-3;

/// The outcome of one planning round.
#[derive(Debug, Default)]
pub struct Round {
    /// Placed jobs.
    pub placed: BTreeMap<String, PlanInfo>,
    /// Jobs that could not be placed, with the reason.
    pub unplaced: BTreeMap<String, String>,
}

/// Plans jobs on the intensity signal of their regions.
pub struct Planner {
    service: Arc<IntensityService>,
    signal: Signal,
    capacity: Capacity,
    limited: bool,
}

struct Ctx<'a>(&'a IntensityService);

impl JobContext for Ctx<'_> {
    fn zone(&self, region: &str) -> Result<ZoneKey, String> {
        self.0
            .resolve(region)
            .map(|z| z.key.clone())
            .map_err(|e| e.to_string())
    }

    fn run_power(&self, run_id: &str) -> Result<(Watts, kite_core::SignedDuration), String> {
        Err(format!(
            "power_from_run `{run_id}` is not supported by kite serve; give power_w"
        ))
    }
}

/// Why planning failed as a whole (the signal could not be fetched).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

impl Planner {
    /// `capacity` is per region and time slot, in GPUs (or job slots); `limited` says whether
    /// any limit was set (then the spatio-temporal planner is used even for one job).
    pub fn new(
        service: Arc<IntensityService>,
        signal: Signal,
        capacity: Capacity,
        limited: bool,
    ) -> Planner {
        Planner {
            service,
            signal,
            capacity,
            limited,
        }
    }

    /// Resolves a region name, for validating submissions.
    pub fn zone(&self, region: &str) -> Result<ZoneKey, String> {
        Ctx(&self.service).zone(region)
    }

    /// Whether any capacity limit is set.
    pub fn limited(&self) -> bool {
        self.limited
    }

    /// The capacity the planner enforces.
    pub fn capacity(&self) -> &Capacity {
        &self.capacity
    }

    /// Plans `jobs` (not yet started) at `now`.
    pub async fn plan(&self, jobs: &[JobRecord], now: Timestamp) -> Result<Round, PlanError> {
        self.plan_around(jobs, &[], now).await
    }

    /// Plans `jobs` (not yet started) at `now` in the capacity left by `held`: GPUs that running
    /// jobs (and jobs about to start, whose plans are not redone) occupy.
    pub async fn plan_around(
        &self,
        jobs: &[JobRecord],
        held: &[Held],
        now: Timestamp,
    ) -> Result<Round, PlanError> {
        let mut round = Round::default();
        let specs: Vec<JobSpec> = jobs.iter().map(spec_of).collect();
        let mut scheduler_jobs = Vec::new();
        // One job at a time through to_jobs, so one bad job (e.g. a region removed from the
        // registry) does not stop the others being planned.
        for spec in &specs {
            match kite_engine::to_jobs(
                std::slice::from_ref(spec),
                "queue",
                now,
                &Ctx(&self.service),
            ) {
                Ok(mut j) => scheduler_jobs.append(&mut j),
                Err(e) => {
                    round.unplaced.insert(spec.id.clone(), e.to_string());
                }
            }
        }
        if scheduler_jobs.is_empty() {
            return Ok(round);
        }
        let signals = kite_engine::signals_for(&self.service, &scheduler_jobs, self.signal, now)
            .await
            .map_err(|e| PlanError(e.to_string()))?;
        // Always the spatio-temporal planner (exact in continuous time, ties to the earliest
        // start), even for one job: a job's plan must not depend on how many others happened to
        // be planned in the same round, or every full replan would move jobs planned alone.
        let mut cfg = PlannerConfig::carbon_only();
        cfg.capacity = left_over(&self.capacity, held);
        // Among windows of equal emissions, the earliest: a job should not wait for nothing.
        // A milligram per hour of delay never outweighs a real difference in carbon.
        cfg.weights.delay_per_hour = TIE_BREAK_G_PER_HOUR;
        // The lower bound is for `kite plan`'s report; a service round does not show it.
        cfg.bound = None;
        let plan =
            kite_scheduler::plan_spatio_temporal(&scheduler_jobs, &signals.signals, now, &cfg)
                .map_err(|e| PlanError(e.to_string()))?
                .plan;
        let policy = "spatio-temporal";
        collect(&mut round, policy, &scheduler_jobs, &plan, &signals, now);
        Ok(round)
    }
}

/// GPUs a job occupies in a zone over a window; the planner plans around them.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// The zone.
    pub region: String,
    /// `[start, end)`.
    pub window: [Timestamp; 2],
    /// GPUs (at least one unit: a job is one slot even without GPUs).
    pub units: u32,
}

/// `capacity` less what `held` occupies: in each limited zone, the time is cut where a holding
/// starts or ends, and each piece with something held gets an override of what is left there.
fn left_over(capacity: &Capacity, held: &[Held]) -> Capacity {
    let mut out = capacity.clone();
    let mut zones: BTreeMap<&str, Vec<&Held>> = BTreeMap::new();
    for h in held.iter().filter(|h| h.window[0] < h.window[1]) {
        zones.entry(h.region.as_str()).or_default().push(h);
    }
    for (zone, hs) in zones {
        let Ok(key) = ZoneKey::new(zone) else {
            continue;
        };
        let Some(base) = capacity.of_region(&key) else {
            continue; // unlimited: nothing to subtract from
        };
        let mut cuts: Vec<Timestamp> = hs.iter().flat_map(|h| h.window).collect();
        cuts.sort();
        cuts.dedup();
        for pair in cuts.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let used: u32 = hs
                .iter()
                .filter(|h| h.window[0] < b && a < h.window[1])
                .map(|h| h.units)
                .sum();
            let Ok(w) = kite_core::TimeWindow::new(a, b) else {
                continue;
            };
            if used == 0 {
                continue;
            }
            // Overrides already set here still bound what is left.
            let limit = capacity
                .overrides(&key)
                .iter()
                .filter(|(o, _)| o.start() < b && a < o.end())
                .map(|(_, u)| *u)
                .fold(base, u32::min);
            out = out.with_override(key.clone(), w, limit.saturating_sub(used));
        }
    }
    out
}

fn spec_of(job: &JobRecord) -> JobSpec {
    let r = &job.request;
    JobSpec {
        id: job.id.clone(),
        duration: Some(format!("{}s", r.duration_secs)),
        power_w: Some(r.power_w.unwrap_or(DEFAULT_POWER_W)),
        earliest_start: Some(r.earliest_start.to_string()),
        deadline: Some(r.deadline.to_string()),
        regions: Regions(r.regions.clone()),
        interruptible: r.interruptible.then_some(InterruptibleSpec::Flag(true)),
        demand: Some(r.gpus.max(1)),
        team: r.team.clone(),
        ..JobSpec::default()
    }
}

fn collect(
    round: &mut Round,
    policy: &str,
    jobs: &[Job],
    plan: &Plan,
    signals: &PlanSignals,
    now: Timestamp,
) {
    let by_id: std::collections::HashMap<&str, &Job> =
        jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    for p in &plan.placements {
        let Some(job) = by_id.get(p.job_id.as_str()) else {
            continue;
        };
        // The figures `kite plan` reports for the same placement.
        let Some(report) = JobReport::new(job, p, now) else {
            continue;
        };
        let energy_kwh = report.energy_kwh;
        let base = report.run_now_emissions_g;
        let mean = |g: f64| {
            if energy_kwh > 0.0 {
                g / energy_kwh
            } else {
                0.0
            }
        };
        let sources: Vec<String> = signals
            .sources
            .iter()
            .filter(|z| z.zone == p.region)
            .flat_map(|z| {
                z.segments
                    .iter()
                    .map(|(_, m)| format!("{} ({})", m.source, m.provenance))
            })
            .collect();
        let mut why = format!(
            "{policy}: {} in {} at a mean {:.0} gCO2e/kWh",
            if p.pieces.len() > 1 {
                format!("the cleanest {} pieces before the deadline", p.pieces.len())
            } else {
                "the cleanest window before the deadline".to_owned()
            },
            p.region,
            mean(p.emissions.0)
        );
        match base {
            Some(b) => why.push_str(&format!(
                " vs {:.0} starting at {} in {}",
                mean(b),
                job.start_from(now),
                job.regions.first().map_or("?", ZoneKey::as_str)
            )),
            None => why.push_str("; starting now is not covered by the signal"),
        }
        if !sources.is_empty() {
            why.push_str(&format!("; signal: {}", dedup(sources).join(", ")));
        }
        round.placed.insert(
            p.job_id.clone(),
            PlanInfo {
                policy: policy.to_owned(),
                planned_at: now,
                region: report.region,
                start: report.start,
                end: report.end,
                pieces: report.pieces,
                energy_kwh,
                emissions_g: report.emissions_g,
                run_now_emissions_g: base,
                saved_percent: report.saved_percent,
                why,
            },
        );
    }
    for u in &plan.unplaced {
        round
            .unplaced
            .insert(u.job_id.clone(), u.reason.to_string());
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}
