//! Unit tests of the spatio-temporal planner: small instances whose optimum is known by hand.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::Interruptible;
use crate::policy::{test_job, test_series};
use kite_core::Watts;
use std::collections::BTreeMap;

fn signals(series: &[(&str, &[f64])]) -> Signals {
    series.iter().map(|(z, v)| test_series(z, v)).collect()
}

fn cfg(capacity: Capacity, method: Method) -> PlannerConfig {
    PlannerConfig {
        capacity,
        method,
        ..PlannerConfig::carbon_only()
    }
}

fn plan(jobs: &[Job], signals: &Signals, cfg: &PlannerConfig) -> SpatioTemporalPlan {
    let now = jobs.iter().map(|j| j.earliest_start).min().unwrap();
    plan_spatio_temporal(jobs, signals, now, cfg).unwrap()
}

fn hour(h: i64) -> Timestamp {
    test_job("t", 1, 0, 1, &["DE"]).earliest_start + SignedDuration::from_hours(h)
}

fn zone(z: &str) -> ZoneKey {
    ZoneKey::new(z).unwrap()
}

#[test]
fn without_capacity_each_job_takes_its_cleanest_window_in_any_region() {
    let s = signals(&[("DE", &[300.0, 100.0, 300.0]), ("FR", &[80.0, 200.0, 50.0])]);
    let jobs = [
        test_job("a", 1, 0, 3, &["DE", "FR"]),
        test_job("b", 1, 0, 2, &["DE"]),
    ];
    let p = plan(&jobs, &s, &cfg(Capacity::unlimited(), Method::Greedy));
    let a = p.plan.placement("a").unwrap();
    assert_eq!((a.region.as_str(), a.pieces[0].start()), ("FR", hour(2)));
    assert_eq!(p.plan.placement("b").unwrap().pieces[0].start(), hour(1));
    assert!((p.objective - 150.0).abs() < 1e-9, "{}", p.objective);
    // Greedy is optimal per job without capacity, so the bound meets it.
    assert!((p.lower_bound.unwrap() - p.objective).abs() < 1e-6);
}

#[test]
fn capacity_sends_the_second_job_to_the_next_best_slot() {
    let s = signals(&[("DE", &[300.0, 100.0, 200.0])]);
    let jobs = [
        test_job("a", 1, 0, 3, &["DE"]),
        test_job("b", 1, 0, 3, &["DE"]),
    ];
    let p = plan(&jobs, &s, &cfg(Capacity::uniform(1), Method::Greedy));
    let mut starts: Vec<_> = p
        .plan
        .placements
        .iter()
        .map(|p| p.pieces[0].start())
        .collect();
    starts.sort();
    assert_eq!(starts, vec![hour(1), hour(2)]);
    assert!((p.objective - 300.0).abs() < 1e-9);
}

#[test]
fn the_higher_priority_job_gets_the_only_slot() {
    let s = signals(&[("DE", &[100.0, 100.0])]);
    let low = test_job("low", 1, 0, 1, &["DE"]);
    let mut high = test_job("high", 1, 0, 1, &["DE"]);
    high.priority = 5;
    for method in [Method::Greedy, Method::Exact] {
        let p = plan(
            &[low.clone(), high.clone()],
            &s,
            &cfg(Capacity::uniform(1), method),
        );
        assert!(p.plan.placement("high").is_some(), "{method:?}");
        assert_eq!(p.plan.unplaced.len(), 1);
        assert_eq!(p.plan.unplaced[0].job_id, "low");
    }
}

#[test]
fn demand_above_capacity_is_unplaced_and_named_while_others_are_planned() {
    let s = signals(&[("DE", &[100.0, 200.0]), ("FR", &[90.0, 90.0])]);
    let ok = test_job("ok", 1, 0, 2, &["DE"]);
    let mut big = test_job("big", 1, 0, 2, &["DE", "FR"]);
    big.demand = 8;
    let capacity = Capacity::uniform(4).with_region(zone("FR"), Some(2));
    for method in [Method::Greedy, Method::Exact] {
        let p = plan(
            &[big.clone(), ok.clone()],
            &s,
            &cfg(capacity.clone(), method),
        );
        assert!(p.plan.placement("ok").is_some());
        assert_eq!(p.plan.unplaced.len(), 1);
        let msg = p.plan.unplaced[0].reason.to_string();
        assert!(msg.contains("job `big` (demand 8)"), "{msg}");
        assert!(msg.contains("no capacity left in DE, FR"), "{msg}");
        assert!(msg.contains(&hour(2).to_string()), "{msg}");
    }
}

#[test]
fn an_unreachable_deadline_is_reported_while_the_others_are_planned() {
    let s = signals(&[("DE", &[300.0, 100.0, 300.0])]);
    let jobs = [
        test_job("ok", 1, 0, 3, &["DE"]),
        test_job("late", 2, 2, 3, &["DE"]),
    ];
    let p = plan(&jobs, &s, &cfg(Capacity::uniform(1), Method::Auto));
    assert!(p.plan.placement("ok").is_some());
    assert_eq!(p.plan.unplaced.len(), 1);
    assert_eq!(p.plan.unplaced[0].job_id, "late");
    assert!(matches!(
        p.plan.unplaced[0].reason,
        UnplacedReason::Invalid(crate::JobError::DeadlineUnreachable { .. })
    ));
}

#[test]
fn zero_duration_and_zero_demand_are_invalid_jobs() {
    let s = signals(&[("DE", &[100.0, 100.0])]);
    let mut zero = test_job("zero", 1, 0, 2, &["DE"]);
    zero.duration = SignedDuration::ZERO;
    let mut none = test_job("none", 1, 0, 2, &["DE"]);
    none.demand = 0;
    let ok = test_job("ok", 1, 0, 2, &["DE"]);
    let p = plan(
        &[zero, none, ok],
        &s,
        &cfg(Capacity::uniform(1), Method::Auto),
    );
    assert_eq!(p.plan.placements.len(), 1);
    let reasons: Vec<String> = p
        .plan
        .unplaced
        .iter()
        .map(|u| u.reason.to_string())
        .collect();
    assert!(reasons[0].contains("duration is 0s"), "{reasons:?}");
    assert!(reasons[1].contains("demand is 0"), "{reasons:?}");
}

#[test]
fn the_milp_fixes_a_myopic_greedy_order() {
    // Greedy serves the small, tight job first and it takes the cleanest hour; the big job
    // then pays 20 for its hour. Swapping them is cheaper: 1×20 + 10×10 = 120 < 10 + 200.
    let s = signals(&[("DE", &[10.0, 20.0, 1000.0])]);
    let small = test_job("small", 1, 0, 2, &["DE"]);
    let mut big = test_job("big", 1, 0, 3, &["DE"]);
    big.power = Watts(10_000.0);
    let jobs = [small, big];
    let greedy = plan(&jobs, &s, &cfg(Capacity::uniform(1), Method::Greedy));
    let exact = plan(&jobs, &s, &cfg(Capacity::uniform(1), Method::Exact));
    assert!(
        (greedy.objective - 210.0).abs() < 1e-6,
        "{}",
        greedy.objective
    );
    assert!(
        (exact.objective - 120.0).abs() < 1e-6,
        "{}",
        exact.objective
    );
    assert_eq!(
        exact.method,
        MethodUsed::ExactMilp {
            proven_optimal: true
        }
    );
    // Without capacity prices the bound would be 10 + 100 = 110; the duals lift it to the
    // LP optimum, which is the MILP's here (the assignment LP is integral).
    let lb = greedy.lp_bound.unwrap();
    assert!(lb.converged);
    assert!((lb.value - 120.0).abs() < 1e-4, "{lb:?}");
}

#[test]
fn the_milp_splits_better_than_the_cleanest_slots_greedy() {
    // Cleanest-slots takes hours 0, 2, 4, 5 (three runs, over max_pieces), then hour 1, and
    // trims to [0, 2) + [4, 5) = 70. The optimum is [0, 1) + [4, 6) = 30.
    let s = signals(&[("DE", &[10.0, 50.0, 10.0, 60.0, 10.0, 10.0])]);
    let mut job = test_job("a", 3, 0, 6, &["DE"]);
    job.interruptible = Some(Interruptible {
        min_chunk: SignedDuration::from_hours(1),
        max_pieces: Some(2),
        resume_overhead: SignedDuration::ZERO,
    });
    let jobs = [job];
    let greedy = plan(&jobs, &s, &cfg(Capacity::unlimited(), Method::Greedy));
    let exact = plan(&jobs, &s, &cfg(Capacity::unlimited(), Method::Exact));
    assert!(
        (greedy.objective - 70.0).abs() < 1e-6,
        "{}",
        greedy.objective
    );
    assert!((exact.objective - 30.0).abs() < 1e-6, "{}", exact.objective);
    let pieces = &exact.plan.placement("a").unwrap().pieces;
    assert_eq!(
        pieces
            .iter()
            .map(|w| (w.start(), w.end()))
            .collect::<Vec<_>>(),
        vec![(hour(0), hour(1)), (hour(4), hour(6))]
    );
}

#[test]
fn resume_overhead_lengthens_later_pieces_in_both_methods() {
    let s = signals(&[("DE", &[10.0, 500.0, 10.0, 500.0])]);
    let mut job = test_job("a", 1, 0, 4, &["DE"]);
    job.duration = SignedDuration::from_mins(90);
    job.interruptible = Some(Interruptible {
        min_chunk: SignedDuration::from_mins(30),
        max_pieces: None,
        resume_overhead: SignedDuration::from_mins(15),
    });
    for method in [Method::Greedy, Method::Exact] {
        let p = plan(
            std::slice::from_ref(&job),
            &s,
            &cfg(Capacity::unlimited(), method),
        );
        let pieces = &p.plan.placement("a").unwrap().pieces;
        let total: SignedDuration = pieces.iter().map(|w| w.duration()).sum();
        assert_eq!(pieces.len(), 2, "{method:?}");
        assert_eq!(total, SignedDuration::from_mins(105), "{method:?}");
    }
}

#[test]
fn a_full_slot_splits_an_interruptible_job_around_it() {
    let s = signals(&[("DE", &[10.0, 10.0, 10.0])]);
    let blocker = test_job("blocker", 1, 1, 2, &["DE"]);
    let mut job = test_job("a", 2, 0, 3, &["DE"]);
    job.interruptible = Some(Interruptible {
        min_chunk: SignedDuration::from_mins(30),
        max_pieces: Some(2),
        resume_overhead: SignedDuration::ZERO,
    });
    for method in [Method::Greedy, Method::Exact] {
        let p = plan(
            &[blocker.clone(), job.clone()],
            &s,
            &cfg(Capacity::uniform(1), method),
        );
        let pieces = &p.plan.placement("a").unwrap().pieces;
        assert_eq!(
            pieces
                .iter()
                .map(|w| (w.start(), w.end()))
                .collect::<Vec<_>>(),
            vec![(hour(0), hour(1)), (hour(2), hour(3))],
            "{method:?}"
        );
    }
}

#[test]
fn a_window_ending_on_a_boundary_beats_slot_aligned_starts() {
    // 90 minutes over [50, 0, 100]: starting at 00:30 costs 25 + 0 = 25 g/kW; any start on
    // a boundary costs 50.
    let s = signals(&[("DE", &[50.0, 0.0, 100.0])]);
    let mut job = test_job("a", 1, 0, 3, &["DE"]);
    job.duration = SignedDuration::from_mins(90);
    let p = plan(
        std::slice::from_ref(&job),
        &s,
        &cfg(Capacity::unlimited(), Method::Greedy),
    );
    let w = p.plan.placement("a").unwrap().pieces[0];
    assert_eq!(w.start(), hour(0) + SignedDuration::from_mins(30));
    assert!((p.objective - 25.0).abs() < 1e-9);
}

#[test]
fn prices_and_delay_weights_change_the_choice() {
    let s = signals(&[("DE", &[100.0, 100.0, 90.0])]);
    let job = test_job("a", 1, 0, 3, &["DE"]);
    let carbon = plan(
        std::slice::from_ref(&job),
        &s,
        &cfg(Capacity::unlimited(), Method::Greedy),
    );
    assert_eq!(
        carbon.plan.placement("a").unwrap().pieces[0].start(),
        hour(2)
    );
    let prices: Prices = [PriceSeries::from_regular(
        zone("DE"),
        Resolution::HOUR,
        [(hour(0), 0.1), (hour(1), 0.05), (hour(2), 0.3)],
    )
    .unwrap()]
    .into_iter()
    .collect();
    let by_cost = PlannerConfig {
        prices: Some(prices),
        weights: Weights {
            carbon: 0.0,
            cost: 1.0,
            delay_per_hour: 0.0,
        },
        ..cfg(Capacity::unlimited(), Method::Greedy)
    };
    let p = plan(std::slice::from_ref(&job), &s, &by_cost);
    assert_eq!(p.plan.placement("a").unwrap().pieces[0].start(), hour(1));
    assert!((p.cost - 0.05).abs() < 1e-12);
    let hurry = PlannerConfig {
        weights: Weights {
            carbon: 1.0,
            cost: 0.0,
            delay_per_hour: 50.0,
        },
        ..cfg(Capacity::unlimited(), Method::Greedy)
    };
    let p = plan(std::slice::from_ref(&job), &s, &hurry);
    assert_eq!(p.plan.placement("a").unwrap().pieces[0].start(), hour(0));
}

#[test]
fn bad_weights_are_refused_with_the_field_name() {
    let bad = PlannerConfig {
        weights: Weights {
            carbon: -1.0,
            cost: 0.0,
            delay_per_hour: 0.0,
        },
        ..PlannerConfig::carbon_only()
    };
    let msg = Planner::new(bad).unwrap_err().to_string();
    assert!(msg.contains("weights.carbon is -1"), "{msg}");
}

#[test]
fn per_slot_overrides_limit_only_their_slots() {
    let s = signals(&[("DE", &[10.0, 20.0, 30.0])]);
    let jobs = [
        test_job("a", 1, 0, 3, &["DE"]),
        test_job("b", 1, 0, 3, &["DE"]),
    ];
    let window = TimeWindow::new(hour(0), hour(1)).unwrap();
    let capacity = Capacity::uniform(2).with_override(zone("DE"), window, 1);
    let p = plan(&jobs, &s, &cfg(capacity, Method::Greedy));
    let mut starts: Vec<_> = p
        .plan
        .placements
        .iter()
        .map(|p| p.pieces[0].start())
        .collect();
    starts.sort();
    assert_eq!(starts, vec![hour(0), hour(1)]);
}

#[test]
fn the_milp_allows_any_number_of_pieces_when_overhead_exceeds_min_chunk() {
    // Three clean hours apart: 2.5 h of work + 2 × 15 min of overhead fill them exactly.
    // (Found by the physical-limit property: the "first piece" rule once capped pieces at 2.)
    let s = signals(&[("DE", &[0.0, 500.0, 0.0, 500.0, 0.0, 500.0])]);
    let mut job = test_job("a", 1, 0, 6, &["DE"]);
    job.duration = SignedDuration::from_mins(150);
    job.interruptible = Some(Interruptible {
        min_chunk: SignedDuration::ZERO,
        max_pieces: None,
        resume_overhead: SignedDuration::from_mins(15),
    });
    let p = plan(
        std::slice::from_ref(&job),
        &s,
        &cfg(Capacity::unlimited(), Method::Exact),
    );
    let pieces = &p.plan.placement("a").unwrap().pieces;
    assert_eq!(
        pieces
            .iter()
            .map(|w| (w.start(), w.end()))
            .collect::<Vec<_>>(),
        vec![(hour(0), hour(1)), (hour(2), hour(3)), (hour(4), hour(5))]
    );
    assert!(p.objective.abs() < 1e-9, "{}", p.objective);
}

#[test]
fn edge_inputs_plan_without_panicking() {
    let s = signals(&[("DE", &[100.0, 50.0])]);
    let cfg = cfg(Capacity::uniform(1), Method::Auto);
    let empty = plan_spatio_temporal(&[], &s, hour(0), &cfg).unwrap();
    assert!(empty.plan.placements.is_empty() && empty.plan.unplaced.is_empty());
    let mut far = test_job("far", 1, 0, 2, &["DE"]);
    far.deadline = "9999-01-01T00:00:00Z".parse().unwrap();
    let outside = test_job("outside", 1, 10, 12, &["DE"]);
    let nowhere = test_job("nowhere", 1, 0, 2, &["FR"]);
    let p = plan(&[far, outside, nowhere], &s, &cfg);
    // The grid stops at the data: the far deadline costs nothing and the job takes hour 1.
    assert_eq!(p.plan.placement("far").unwrap().pieces[0].start(), hour(1));
    assert_eq!(p.n_slots, 2);
    let reasons: Vec<_> = p.plan.unplaced.iter().map(|u| &u.reason).collect();
    assert!(
        matches!(reasons[0], UnplacedReason::NotCovered { .. }),
        "{reasons:?}"
    );
    assert!(
        matches!(reasons[1], UnplacedReason::NoSignal { .. }),
        "{reasons:?}"
    );
}

/// splitmix64, for seeded small instances.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi]`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// 2 zones × 12 hourly slots, 4–8 one-piece jobs of 1–3 h with demand 1–3, capacity 2–4.
fn small_instance(seed: u64) -> (Vec<Job>, Signals, Capacity) {
    let mut rng = Rng(seed);
    let de: Vec<f64> = (0..12).map(|_| rng.range(50, 500) as f64).collect();
    let fr: Vec<f64> = (0..12).map(|_| rng.range(50, 500) as f64).collect();
    let s = signals(&[("DE", &de), ("FR", &fr)]);
    let n = rng.range(4, 8);
    let jobs = (0..n)
        .map(|i| {
            let dur = rng.range(1, 3);
            let earliest = rng.range(0, 4);
            let deadline = (earliest + dur + rng.range(0, 5)).min(12);
            let regions: &[&str] = match rng.range(0, 2) {
                0 => &["DE"],
                1 => &["FR"],
                _ => &["DE", "FR"],
            };
            let mut job = test_job(&format!("j{i}"), dur, earliest, deadline, regions);
            job.demand = rng.range(1, 3) as u32;
            job.priority = rng.range(0, 1) as i32;
            job.power = Watts(rng.range(200, 3000) as f64);
            job
        })
        .collect();
    (jobs, s, Capacity::uniform(rng.range(2, 4) as u32))
}

/// The LP relaxation of the time-indexed model (a variable in `[0, 1]` per job, region and
/// candidate start; a convexity row per job with the left-out variable at its penalty; a
/// capacity row per limited cell), solved exactly by microlp's simplex.
fn exact_lp(model: &grid::Model) -> f64 {
    use good_lp::{Expression, ProblemVariables, SolverModel, microlp, variable};
    let mut vars = ProblemVariables::new();
    let mut objective = Expression::with_capacity(64);
    let mut convexity = Vec::new();
    let mut usage: BTreeMap<(usize, usize), Expression> = BTreeMap::new();
    let mut starts = Vec::new();
    for j in &model.jobs {
        let u = vars.add(variable().min(0));
        objective.add_mul(j.penalty, u);
        let mut one = Expression::from(u);
        model.starts(j, &mut starts);
        for &r in &j.regions {
            for &a in &starts {
                let sp = model.grid.span(a, a + j.dur);
                let Some(cost) = model.window_cost(j, r, &sp) else {
                    continue;
                };
                let x = vars.add(variable().min(0));
                objective.add_mul(cost, x);
                one.add_mul(1.0, x);
                for s in sp.first..=sp.last {
                    usage
                        .entry((r, s))
                        .or_default()
                        .add_mul(f64::from(j.demand), x);
                }
            }
        }
        convexity.push(one);
    }
    let mut problem = vars.minimise(objective.clone()).using(microlp);
    for e in convexity {
        problem = problem.with(e.eq(1.0));
    }
    for ((r, s), e) in usage {
        let cap = model.grid.regions[r].cap[s];
        if cap != u32::MAX {
            problem = problem.with(e.leq(f64::from(cap)));
        }
    }
    objective.eval_with(&problem.solve().unwrap())
}

/// The reported bound never exceeds the exact LP optimum, and where column generation
/// converged it equals it (to the master solver's precision). The first-order path (PDHG,
/// used above `max_master_jobs`) brackets it: its bound never exceeds the LP, its feasible
/// fractional plan never goes below it, and where it reports convergence the two are within
/// `lp_tolerance`. Capacity binds in the instances, so the LP is above the uncapacitated
/// optimum.
#[test]
fn the_bound_is_the_lp_relaxation_on_small_instances() {
    let (mut converged, mut binding, mut near, mut closed) = (0, 0, 0, 0);
    for seed in 0..24 {
        let (jobs, s, capacity) = small_instance(seed);
        let now = jobs.iter().map(|j| j.earliest_start).min().unwrap();
        let capped = cfg(capacity, Method::Greedy);
        let (model, _) = grid::build(&jobs, &s, now, &capped, &mut Vec::new());
        let lp = exact_lp(&model);
        let (free_model, _) = grid::build(
            &jobs,
            &s,
            now,
            &cfg(Capacity::unlimited(), Method::Greedy),
            &mut Vec::new(),
        );
        binding += usize::from(lp > exact_lp(&free_model) * (1.0 + 1e-6));
        let p = plan_spatio_temporal(&jobs, &s, now, &capped).unwrap();
        let bound = p.lp_bound.as_ref().unwrap();
        let tol = 1e-6 * lp.abs().max(1.0);
        // The first-order path, forced here by `max_master_jobs: 0`.
        let first_order = PlannerConfig {
            bound: Some(BoundConfig {
                max_master_jobs: 0,
                ..BoundConfig::STANDARD
            }),
            ..capped.clone()
        };
        let fo = plan_spatio_temporal(&jobs, &s, now, &first_order).unwrap();
        let fo = fo.lp_bound.as_ref().unwrap();
        let (sg, upper) = (fo.value, fo.master_objective.unwrap());
        assert!(
            sg <= lp + tol,
            "seed {seed}: first-order bound {sg} > LP {lp}"
        );
        assert!(
            upper >= lp - tol,
            "seed {seed}: the first-order feasible plan {upper} is below the LP optimum {lp}"
        );
        if fo.converged {
            closed += 1;
            assert!(
                upper - sg <= BoundConfig::STANDARD.lp_tolerance * upper.abs() + tol,
                "seed {seed}: converged, but {sg}..{upper}"
            );
            assert!(fo.first_order_steps > 0, "seed {seed}");
        }
        near += usize::from(sg >= lp - 1e-3 * lp.abs().max(1.0));
        assert!(
            bound.value <= lp + tol,
            "seed {seed}: bound {} > LP {lp}",
            bound.value
        );
        assert!(bound.value <= p.objective + tol, "seed {seed}");
        if bound.converged {
            converged += 1;
            assert!(
                (bound.value - lp).abs() <= 1e-5 * lp.abs().max(1.0),
                "seed {seed}: converged bound {} vs LP {lp}",
                bound.value
            );
        }
    }
    assert!(
        converged >= 20,
        "column generation converged on {converged} of 24"
    );
    assert!(binding >= 5, "capacity bound the LP in {binding} of 24");
    assert!(
        near >= 20,
        "the first-order bound came within 0.1 % of the LP in {near} of 24"
    );
    assert!(
        closed >= 20,
        "the first-order path closed its interval in {closed} of 24"
    );
}
