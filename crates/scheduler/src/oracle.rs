//! Judging plans after the fact: [`evaluate`] a plan on the intensities that actually happened,
//! run a policy with perfect knowledge ([`oracle`]), and compute the [`physical_limit`] of a job
//! set, the least any plan could have emitted.

use crate::job::Job;
use crate::plan::{Plan, emissions_of};
use crate::policy::{Policy, Signals};
use crate::spatio_temporal::{Capacity, Method, Planner, PlannerConfig, Weights};
use kite_core::{GramsCo2e, SignedDuration, Timestamp, ZoneKey};

/// One placement judged on the actual intensities.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvaluation {
    /// The job.
    pub job_id: String,
    /// Where it ran.
    pub region: ZoneKey,
    /// Emissions of its pieces on the actual intensities; `None` when the actual signal does
    /// not cover them (never guessed).
    pub emissions: Option<GramsCo2e>,
    /// Finish time minus `earliest_start + duration` (the finish had it started at once).
    pub delay: SignedDuration,
}

/// A plan judged on the actual intensities.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Each placement, in the plan's order.
    pub per_job: Vec<JobEvaluation>,
    /// Sum of the covered placements' emissions.
    pub total: GramsCo2e,
    /// Placements the actual signal does not cover (left out of `total`).
    pub uncovered: usize,
    /// Jobs the plan did not place.
    pub unplaced: usize,
}

impl Evaluation {
    /// The evaluation of `job_id`, if it was placed.
    pub fn job(&self, job_id: &str) -> Option<&JobEvaluation> {
        self.per_job.iter().find(|e| e.job_id == job_id)
    }

    /// Mean delay of the placements, in hours (0 when none).
    pub fn mean_delay_hours(&self) -> f64 {
        if self.per_job.is_empty() {
            return 0.0;
        }
        let secs: f64 = self.per_job.iter().map(|e| e.delay.as_secs_f64()).sum();
        secs / 3600.0 / self.per_job.len() as f64
    }
}

/// Emissions of each placement of `plan` on `actual`, their total, and each job's delay.
/// Placements whose job is not in `jobs` are evaluated at 0 W.
pub fn evaluate(plan: &Plan, jobs: &[Job], actual: &Signals) -> Evaluation {
    let mut out = Evaluation {
        unplaced: plan.unplaced.len(),
        ..Evaluation::default()
    };
    for p in &plan.placements {
        let job = jobs.iter().find(|j| j.id == p.job_id);
        let power = job.map_or(kite_core::Watts(0.0), |j| j.power);
        let emissions = actual
            .get(&p.region)
            .and_then(|s| emissions_of(&p.pieces, power, s));
        match emissions {
            Some(e) => out.total += e,
            None => out.uncovered += 1,
        }
        let finish = p.pieces.last().map(|w| w.end());
        let asap = job.and_then(|j| j.earliest_start.checked_add(j.duration).ok());
        let delay = finish
            .zip(asap)
            .map_or(SignedDuration::ZERO, |(f, a)| f.duration_since(a));
        out.per_job.push(JobEvaluation {
            job_id: p.job_id.clone(),
            region: p.region.clone(),
            emissions,
            delay,
        });
    }
    out
}

/// `policy` run with perfect knowledge: planned on the actual intensities, judged on them.
pub fn oracle(
    policy: &dyn Policy,
    jobs: &[Job],
    actual: &Signals,
    now: Timestamp,
) -> (Plan, Evaluation) {
    let plan = policy.plan(jobs, actual, now);
    let evaluation = evaluate(&plan, jobs, actual);
    (plan, evaluation)
}

/// The least emissions any plan could reach for `jobs` on `actual`, without capacity limits:
/// each job on its own, over all its regions, as one window starting at any instant (the
/// cheapest start is one of the window cost's breakpoints, which are all tried), or, when
/// interruptible, split into pieces that start at slot boundaries (or its allowed start) and
/// end anywhere, honouring its piece rules, solved exactly by the MILP. That family contains
/// every plan the policies of this crate can make, so no policy's emissions on `actual` are
/// lower. Slots are the finest resolution of `actual`; exact when the series' points align
/// with it.
pub fn physical_limit(jobs: &[Job], actual: &Signals, now: Timestamp) -> (Plan, Evaluation) {
    let cfg = PlannerConfig {
        capacity: Capacity::unlimited(),
        weights: Weights::CARBON,
        method: Method::Exact,
        milp_time_limit: None,
        bound: None,
        ..PlannerConfig::carbon_only()
    };
    let mut plan = Plan::default();
    let Ok(exact) = Planner::new(cfg.clone()) else {
        return (plan, Evaluation::default());
    };
    let greedy = Planner::new(PlannerConfig {
        method: Method::Greedy,
        ..cfg
    });
    // Without capacity jobs do not interact: plan each alone. For a job in one piece the
    // greedy's cheapest breakpoint is already the optimum; only splits need the MILP.
    for job in jobs {
        let planner = match (&job.interruptible, &greedy) {
            (None, Ok(g)) => g,
            _ => &exact,
        };
        let one = planner.plan(std::slice::from_ref(job), actual, now).plan;
        plan.placements.extend(one.placements);
        plan.unplaced.extend(one.unplaced);
    }
    let evaluation = evaluate(&plan, jobs, actual);
    (plan, evaluation)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::{test_job, test_series};
    use crate::{Asap, BestWindow, Interruptible};

    #[test]
    fn evaluation_uses_the_actual_intensities_and_reports_delay() {
        let forecast: Signals = [test_series("DE", &[100.0, 50.0, 300.0])]
            .into_iter()
            .collect();
        let actual: Signals = [test_series("DE", &[100.0, 400.0, 30.0])]
            .into_iter()
            .collect();
        let job = test_job("a", 1, 0, 3, &["DE"]);
        let plan = BestWindow.plan(std::slice::from_ref(&job), &forecast, job.earliest_start);
        let e = evaluate(&plan, std::slice::from_ref(&job), &actual);
        // Planned for hour 1 (50 on the forecast), which actually cost 400.
        assert!((e.total.0 - 400.0).abs() < 1e-9, "{:?}", e);
        assert_eq!(e.job("a").unwrap().delay, SignedDuration::from_hours(1));
        assert!((e.mean_delay_hours() - 1.0).abs() < 1e-12);
        let (_, perfect) = oracle(
            &BestWindow,
            std::slice::from_ref(&job),
            &actual,
            job.earliest_start,
        );
        assert!((perfect.total.0 - 30.0).abs() < 1e-9);
    }

    #[test]
    fn the_physical_limit_splits_and_moves_when_the_job_allows() {
        let actual: Signals = [
            test_series("DE", &[10.0, 500.0, 10.0, 500.0]),
            test_series("FR", &[200.0, 200.0, 200.0, 200.0]),
        ]
        .into_iter()
        .collect();
        let mut job = test_job("a", 2, 0, 4, &["FR", "DE"]);
        job.interruptible = Some(Interruptible {
            min_chunk: SignedDuration::from_mins(30),
            max_pieces: None,
            resume_overhead: SignedDuration::ZERO,
        });
        let (plan, limit) = physical_limit(std::slice::from_ref(&job), &actual, job.earliest_start);
        assert_eq!(plan.placement("a").unwrap().region.as_str(), "DE");
        assert!((limit.total.0 - 20.0).abs() < 1e-6, "{limit:?}");
        let (_, asap) = oracle(
            &Asap,
            std::slice::from_ref(&job),
            &actual,
            job.earliest_start,
        );
        assert!(limit.total.0 < asap.total.0);
    }
}
