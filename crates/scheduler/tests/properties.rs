//! Property tests: every policy respects time bounds and never loses work; `asap` is the
//! baseline; best-window never emits more than `asap` on the same series.
#![allow(clippy::unwrap_used)]

use kite_core::{
    IntensitySeries, Provenance, Resolution, Signal, SignalMeta, SignedDuration, Timestamp, Watts,
    ZoneKey,
};
use kite_scheduler::{
    Asap, BestWindow, Interruptible, Job, LetsWaitAwhile, Placement, Plan, Policy, Signals,
    Threshold,
};
use proptest::prelude::*;

fn t0() -> Timestamp {
    "2025-01-01T00:00:00Z".parse().unwrap()
}

fn series(values: &[f64], res_mins: i64) -> IntensitySeries {
    IntensitySeries::from_regular(
        ZoneKey::new("DE").unwrap(),
        SignalMeta {
            signal: Signal::AVERAGE_LIFECYCLE,
            source: "prop".into(),
            fetched_at: None,
            provenance: Provenance::Measured,
        },
        Resolution::from_secs(u32::try_from(res_mins * 60).unwrap()).unwrap(),
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (t0() + SignedDuration::from_mins(i as i64 * res_mins), *v)),
    )
    .unwrap()
}

#[derive(Debug, Clone)]
struct Case {
    values: Vec<f64>,
    res_mins: i64,
    now: Timestamp,
    jobs: Vec<Job>,
}

fn interruptible() -> impl Strategy<Value = Option<Interruptible>> {
    prop::option::of(
        (0i64..120, prop::option::of(1u32..5), 0i64..30).prop_map(|(c, p, o)| Interruptible {
            min_chunk: SignedDuration::from_mins(c),
            max_pieces: p,
            resume_overhead: SignedDuration::from_mins(o),
        }),
    )
}

fn job() -> impl Strategy<Value = Job> {
    (
        0i64..600,
        1i64..600,
        -60i64..1200,
        interruptible(),
        0.0f64..2000.0,
    )
        .prop_map(|(earliest, dur, slack, interruptible, power)| {
            let earliest_start = t0() + SignedDuration::from_mins(earliest);
            let duration = SignedDuration::from_mins(dur);
            Job {
                id: String::new(),
                duration,
                power: Watts(power),
                earliest_start,
                deadline: earliest_start + duration + SignedDuration::from_mins(slack),
                interruptible,
                regions: vec![ZoneKey::new("DE").unwrap()],
                priority: 0,
                team: None,
                demand: 1,
            }
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(0.0f64..1000.0, 1..60),
        prop::sample::select(vec![5i64, 15, 30, 60]),
        0i64..300,
        prop::collection::vec(job(), 1..5),
    )
        .prop_map(|(values, res_mins, now, mut jobs)| {
            for (i, j) in jobs.iter_mut().enumerate() {
                j.id = format!("job{i}");
            }
            Case {
                values,
                res_mins,
                now: t0() + SignedDuration::from_mins(now),
                jobs,
            }
        })
}

fn policies() -> Vec<Box<dyn Policy>> {
    kite_scheduler::all_policies(kite_core::GramsCo2PerKwh(300.0))
}

fn check_placement(job: &Job, p: &Placement, now: Timestamp) {
    let first = p.pieces.first().unwrap();
    let last = p.pieces.last().unwrap();
    assert!(first.start() >= now, "{p:?} starts before now {now}");
    assert!(
        first.start() >= job.earliest_start,
        "{p:?} starts too early"
    );
    assert!(last.end() <= job.deadline, "{p:?} ends after the deadline");
    for pair in p.pieces.windows(2) {
        assert!(
            pair[0].end() < pair[1].start(),
            "{p:?} pieces overlap or touch"
        );
    }
    let total: SignedDuration = p.pieces.iter().map(|w| w.duration()).sum();
    match &job.interruptible {
        None => {
            assert_eq!(p.pieces.len(), 1);
            assert_eq!(total, job.duration);
        }
        Some(i) => {
            let overhead = i.resume_overhead * i32::try_from(p.pieces.len() - 1).unwrap();
            assert_eq!(total - overhead, job.duration, "work lost in {p:?}");
            if let Some(m) = i.max_pieces {
                assert!(p.pieces.len() <= m as usize);
            }
        }
    }
}

fn job_of<'a>(case: &'a Case, id: &str) -> &'a Job {
    case.jobs.iter().find(|j| j.id == id).unwrap()
}

fn plan(policy: &dyn Policy, case: &Case) -> Plan {
    let signals: Signals = [series(&case.values, case.res_mins)].into_iter().collect();
    policy.plan(&case.jobs, &signals, case.now)
}

proptest! {
    #[test]
    fn every_policy_respects_bounds_and_keeps_work(case in case()) {
        for policy in policies() {
            let plan = plan(policy.as_ref(), &case);
            prop_assert_eq!(plan.placements.len() + plan.unplaced.len(), case.jobs.len());
            for p in &plan.placements {
                check_placement(job_of(&case, &p.job_id), p, case.now);
            }
        }
    }

    #[test]
    fn asap_is_the_baseline(case in case()) {
        let plan = plan(&Asap, &case);
        for p in &plan.placements {
            prop_assert_eq!(Some(p.emissions), p.baseline_emissions);
        }
    }

    #[test]
    fn best_window_never_emits_more_than_asap(case in case()) {
        let asap = plan(&Asap, &case);
        let best = plan(&BestWindow, &case);
        for a in &asap.placements {
            let b = best.placement(&a.job_id);
            prop_assert!(b.is_some(), "asap placed {} but best-window did not", a.job_id);
            let b = b.unwrap();
            prop_assert!(b.emissions.0 <= a.emissions.0 * (1.0 + 1e-9) + 1e-9,
                "best {} > asap {}", b.emissions, a.emissions);
        }
    }

    #[test]
    fn policies_agree_on_what_is_invalid(case in case()) {
        let asap = plan(&Asap, &case);
        for other in [&Threshold { threshold: kite_core::GramsCo2PerKwh(0.0) } as &dyn Policy, &BestWindow, &LetsWaitAwhile] {
            let o = plan(other, &case);
            for u in &asap.unplaced {
                if matches!(u.reason, kite_scheduler::UnplacedReason::Invalid(_)) {
                    prop_assert!(o.placement(&u.job_id).is_none());
                }
            }
        }
    }
}

/// Guards the properties against vacuity: the generator must produce placed jobs, including
/// interruptible ones split into several pieces.
#[test]
fn generated_cases_exercise_placements_and_splits() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut placed, mut split) = (0, 0);
    for _ in 0..256 {
        let case = case().new_tree(&mut runner).unwrap().current();
        let plan = plan(&LetsWaitAwhile, &case);
        placed += plan.placements.len();
        split += plan
            .placements
            .iter()
            .filter(|p| p.pieces.len() > 1)
            .count();
    }
    assert!(placed > 50, "only {placed} placements");
    assert!(split > 0, "no interruptible job was split");
}

// ---- The spatio-temporal planner, the oracle and the physical limit. ----

use kite_scheduler::{
    Capacity, Method, MethodUsed, PlannerConfig, SpatioTemporal, SpatioTemporalPlan, evaluate,
    oracle, physical_limit, plan_spatio_temporal,
};

const ZONES: [&str; 2] = ["DE", "FR"];

fn zone_series(zone: &str, values: &[f64], res_mins: i64) -> IntensitySeries {
    let s = series(values, res_mins);
    IntensitySeries::from_regular(
        ZoneKey::new(zone).unwrap(),
        s.meta().clone(),
        s.resolution(),
        s.points().iter().map(|p| (p.start, p.value.0)),
    )
    .unwrap()
}

#[derive(Debug, Clone)]
struct Fleet {
    /// Per zone, the actual intensities; the forecast is `actual × (1 + noise)`.
    actual: Vec<Vec<f64>>,
    noise: Vec<Vec<f64>>,
    res_mins: i64,
    now: Timestamp,
    jobs: Vec<Job>,
    capacity: Option<u32>,
}

impl Fleet {
    fn signals(&self, noisy: bool) -> Signals {
        ZONES
            .iter()
            .zip(&self.actual)
            .zip(&self.noise)
            .map(|((z, a), n)| {
                let values: Vec<f64> = if noisy {
                    a.iter()
                        .zip(n)
                        .map(|(a, n)| (a * (1.0 + n)).max(0.0))
                        .collect()
                } else {
                    a.clone()
                };
                zone_series(z, &values, self.res_mins)
            })
            .collect()
    }

    fn capacity(&self) -> Capacity {
        self.capacity
            .map_or(Capacity::unlimited(), Capacity::uniform)
    }
}

fn fleet_job(max_mins: i64) -> impl Strategy<Value = Job> {
    (
        0i64..max_mins / 2,
        1i64..36,
        0i64..max_mins / 2,
        interruptible(),
        1.0f64..2000.0,
        1u32..4,
        0i32..2,
        prop::sample::subsequence(vec![0usize, 1], 1..=2),
    )
        .prop_map(
            |(earliest, dur5, slack, interruptible, power, demand, priority, zones)| {
                let earliest_start = t0() + SignedDuration::from_mins(earliest);
                let duration = SignedDuration::from_mins(dur5 * 5);
                let mut job = Job::new(
                    "",
                    duration,
                    Watts(power),
                    earliest_start,
                    earliest_start + duration + SignedDuration::from_mins(slack),
                    zones
                        .iter()
                        .map(|&z| ZoneKey::new(ZONES[z]).unwrap())
                        .collect(),
                );
                job.interruptible = interruptible;
                job.demand = demand;
                job.priority = priority;
                job
            },
        )
}

/// Small instances the MILP solves in well under a second: two zones, at most 16 slots.
fn fleet(max_jobs: usize) -> impl Strategy<Value = Fleet> {
    prop::sample::select(vec![15i64, 30, 60])
        .prop_flat_map(move |res_mins| {
            let n = 16usize;
            (
                prop::collection::vec(prop::collection::vec(0.0f64..800.0, n), 2),
                prop::collection::vec(prop::collection::vec(-0.3f64..0.3, n), 2),
                Just(res_mins),
                0i64..(res_mins * 3),
                prop::collection::vec(fleet_job(res_mins * n as i64), 1..=max_jobs),
                prop::option::of(1u32..5),
            )
        })
        .prop_map(|(actual, noise, res_mins, now, mut jobs, capacity)| {
            for (i, j) in jobs.iter_mut().enumerate() {
                j.id = format!("job{i}");
            }
            Fleet {
                actual,
                noise,
                res_mins,
                now: t0() + SignedDuration::from_mins(now),
                jobs,
                capacity,
            }
        })
}

fn planned(fleet: &Fleet, method: Method, capacity: Capacity) -> SpatioTemporalPlan {
    let cfg = PlannerConfig {
        capacity,
        method,
        ..PlannerConfig::carbon_only()
    };
    plan_spatio_temporal(&fleet.jobs, &fleet.signals(false), fleet.now, &cfg).unwrap()
}

fn job_in<'a>(jobs: &'a [Job], id: &str) -> &'a Job {
    jobs.iter().find(|j| j.id == id).unwrap()
}

/// Units in use per (zone, slot of the signal's resolution) never exceed `cap`.
fn check_capacity(fleet: &Fleet, plan: &Plan, cap: u32) {
    let res = fleet.res_mins * 60;
    let mut used: std::collections::BTreeMap<(String, i64), u32> = Default::default();
    for p in &plan.placements {
        let job = job_in(&fleet.jobs, &p.job_id);
        let mut slots = std::collections::BTreeSet::new();
        for w in &p.pieces {
            let first = w.start().as_second().div_euclid(res);
            let last = (w.end().as_second() - 1).div_euclid(res);
            slots.extend(first..=last);
        }
        for s in slots {
            *used.entry((p.region.to_string(), s)).or_default() += job.demand;
        }
    }
    for ((zone, slot), units) in used {
        assert!(
            units <= cap,
            "{units} units in {zone} slot {slot} > capacity {cap}"
        );
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn planner_respects_time_bounds_work_and_capacity(fleet in fleet(5)) {
        for method in [Method::Greedy, Method::Exact] {
            let p = planned(&fleet, method, fleet.capacity());
            prop_assert_eq!(p.plan.placements.len() + p.plan.unplaced.len(), fleet.jobs.len());
            for placement in &p.plan.placements {
                check_placement(job_in(&fleet.jobs, &placement.job_id), placement, fleet.now);
                let job = job_in(&fleet.jobs, &placement.job_id);
                prop_assert!(job.regions.contains(&placement.region));
            }
            if let Some(cap) = fleet.capacity {
                check_capacity(&fleet, &p.plan, cap);
            }
        }
    }

    #[test]
    fn bounds_and_methods_are_ordered(fleet in fleet(4)) {
        let greedy = planned(&fleet, Method::Greedy, fleet.capacity());
        let exact = planned(&fleet, Method::Exact, fleet.capacity());
        let lb = greedy.lp_bound.as_ref().unwrap().value;
        prop_assert!(lb <= greedy.objective + 1e-6 * greedy.objective.abs().max(1.0),
            "bound {} > greedy {}", lb, greedy.objective);
        if exact.method == (MethodUsed::ExactMilp { proven_optimal: true }) {
            prop_assert!(lb <= exact.objective + 1e-6 * exact.objective.abs().max(1.0),
                "bound {} > MILP {}", lb, exact.objective);
        }
        prop_assert!(exact.objective <= greedy.objective + 1e-6 * greedy.objective.abs().max(1.0),
            "MILP {} > greedy {}", exact.objective, greedy.objective);
    }

    #[test]
    fn without_capacity_the_greedy_is_optimal_for_single_pieces(fleet in fleet(5)) {
        let mut fleet = fleet;
        for j in &mut fleet.jobs {
            j.interruptible = None;
        }
        let greedy = planned(&fleet, Method::Greedy, Capacity::unlimited());
        let exact = planned(&fleet, Method::Exact, Capacity::unlimited());
        prop_assert!(close(greedy.objective, exact.objective),
            "greedy {} vs MILP {}", greedy.objective, exact.objective);
        prop_assert!(close(greedy.lower_bound.unwrap(), greedy.objective));
    }

    #[test]
    fn no_policy_on_a_noisy_forecast_beats_the_physical_limit(fleet in fleet(4)) {
        let actual = fleet.signals(false);
        let forecast = fleet.signals(true);
        let (_, limit) = physical_limit(&fleet.jobs, &actual, fleet.now);
        let mut policies = policies();
        policies.push(Box::new(SpatioTemporal::carbon_only()));
        for policy in &policies {
            let plan = policy.plan(&fleet.jobs, &forecast, fleet.now);
            let judged = evaluate(&plan, &fleet.jobs, &actual);
            let (_, perfect) = oracle(policy.as_ref(), &fleet.jobs, &actual, fleet.now);
            for e in judged.per_job.iter().chain(&perfect.per_job) {
                let Some(emitted) = e.emissions else { continue };
                let best = limit.job(&e.job_id);
                prop_assert!(best.is_some(), "{} placed {} but the limit did not", policy.name(), e.job_id);
                let best = best.unwrap().emissions.unwrap();
                prop_assert!(best.0 <= emitted.0 * (1.0 + 1e-9) + 1e-6,
                    "{}: {} emits {} < limit {}", policy.name(), e.job_id, emitted, best);
            }
        }
    }
}

/// Guards the planner properties against vacuity: generated fleets place jobs, bind capacity
/// (some plan differs from the uncapacitated one), split interruptible jobs, and the MILP
/// proves optimality and sometimes beats the greedy.
#[test]
fn generated_fleets_exercise_capacity_and_splits() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut placed, mut split, mut binding, mut left_out) = (0, 0, 0, 0);
    let (mut proven, mut improved, mut bound_lifted) = (0, 0, 0);
    for _ in 0..64 {
        let fleet = fleet(5).new_tree(&mut runner).unwrap().current();
        let capped = planned(&fleet, Method::Greedy, fleet.capacity());
        let exact = planned(&fleet, Method::Exact, fleet.capacity());
        proven += usize::from(
            exact.method
                == MethodUsed::ExactMilp {
                    proven_optimal: true,
                },
        );
        improved += usize::from(exact.objective < capped.objective * (1.0 - 1e-6));
        let free = planned(&fleet, Method::Greedy, Capacity::unlimited());
        placed += capped.plan.placements.len();
        split += capped
            .plan
            .placements
            .iter()
            .filter(|p| p.pieces.len() > 1)
            .count();
        binding += usize::from(!close(capped.objective, free.objective));
        let lifted = capped.lp_bound.as_ref().unwrap().value;
        bound_lifted += usize::from(lifted > free.lp_bound.as_ref().unwrap().value * (1.0 + 1e-6));
        left_out += capped
            .plan
            .unplaced
            .iter()
            .filter(|u| matches!(u.reason, kite_scheduler::UnplacedReason::NoCapacity { .. }))
            .count();
    }
    assert!(placed > 100, "only {placed} placements");
    assert!(split > 0, "no interruptible job was split");
    assert!(binding > 5, "capacity changed only {binding} plans");
    assert!(left_out > 0, "capacity never left a job out");
    assert!(
        proven > 56,
        "the MILP proved optimality in only {proven} of 64"
    );
    assert!(improved > 0, "the MILP never beat the greedy");
    assert!(bound_lifted > 0, "capacity prices never raised the bound");
}
