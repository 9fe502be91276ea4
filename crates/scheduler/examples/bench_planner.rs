//! Benchmark of the spatio-temporal planner on seeded synthetic instances: 10 regions × 7 days
//! of 15-minute intensity with diurnal shapes, jobs of 15 min to 12 h with slack windows.
//!
//! One case per process, so the peak RSS (`VmHWM`) is the case's own:
//!
//! ```sh
//! cargo run --release -p kite-scheduler --example bench_planner -- \
//!     --jobs 10000 --capacity on --method greedy --runs 5 [--bound on] [--seed 1] [--header]
//! ```
//!
//! Prints one Markdown table row: jobs, capacity, method, median wall time (min–max), peak RSS,
//! objective, LP bound, gap, placed jobs, and extra timings. `--method compare` runs the exact
//! MILP and the greedy on the same instance and prints both with the gap between them.
#![allow(clippy::unwrap_used)]

use kite_core::{
    IntensitySeries, Provenance, Resolution, Signal, SignalMeta, SignedDuration, SystemClock,
    Timestamp, Watts, ZoneKey,
};
use kite_scheduler::{
    BoundConfig, Capacity, Interruptible, Job, Method, MethodUsed, Planner, PlannerConfig, Signals,
    SpatioTemporalPlan,
};
use std::sync::Arc;
use std::time::Instant;

/// splitmix64: tiny, seeded, good enough for synthetic instances.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi].
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// Zones with a typical mean intensity (g/kWh), a solar dip and a UTC offset in hours.
const ZONES: [(&str, f64, f64, i64); 10] = [
    ("DE", 380.0, 0.35, 1),
    ("FR", 60.0, 0.10, 1),
    ("PL", 650.0, 0.15, 1),
    ("SE", 35.0, 0.05, 1),
    ("ES", 180.0, 0.45, 1),
    ("IT", 300.0, 0.30, 1),
    ("NL", 340.0, 0.30, 1),
    ("GB", 220.0, 0.20, 0),
    ("US-CAL-CISO", 250.0, 0.55, -8),
    ("US-NY-NYIS", 280.0, 0.20, -5),
];

#[derive(Debug, Clone, Copy)]
struct Opts {
    jobs: usize,
    capacity: bool,
    method: &'static str,
    runs: usize,
    bound: bool,
    seed: u64,
    regions: usize,
    days: i64,
    cap_factor: f64,
    lp_jobs: usize,
    lp_iterations: u32,
    milp_limit: i64,
    steps: u32,
    tiers: i64,
    header: bool,
}

fn parse() -> Opts {
    let mut o = Opts {
        jobs: 1000,
        capacity: false,
        method: "greedy",
        runs: 5,
        bound: true,
        seed: 1,
        regions: 10,
        days: 7,
        cap_factor: 1.6,
        lp_jobs: BoundConfig::STANDARD.max_master_jobs,
        lp_iterations: BoundConfig::STANDARD.max_iterations,
        milp_limit: 60,
        steps: BoundConfig::STANDARD.subgradient_steps,
        tiers: 3,
        header: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match flag.as_str() {
            "--jobs" => o.jobs = value().parse().unwrap(),
            "--capacity" => o.capacity = value() == "on",
            "--method" => {
                o.method = match value().as_str() {
                    "exact" => "exact",
                    "auto" => "auto",
                    "compare" => "compare",
                    _ => "greedy",
                }
            }
            "--runs" => o.runs = value().parse().unwrap(),
            "--bound" => o.bound = value() == "on",
            "--seed" => o.seed = value().parse().unwrap(),
            "--regions" => o.regions = value().parse::<usize>().unwrap().clamp(1, 10),
            "--days" => o.days = value().parse().unwrap(),
            "--cap-factor" => o.cap_factor = value().parse().unwrap(),
            "--lp-jobs" => o.lp_jobs = value().parse().unwrap(),
            "--lp-iterations" => o.lp_iterations = value().parse().unwrap(),
            "--milp-limit" => o.milp_limit = value().parse().unwrap(),
            "--steps" => o.steps = value().parse().unwrap(),
            "--tiers" => o.tiers = value().parse::<i64>().unwrap().max(1),
            "--header" => o.header = true,
            other => panic!("unknown flag {other}"),
        }
    }
    o
}

fn t0() -> Timestamp {
    "2025-06-02T00:00:00Z".parse().unwrap()
}

/// Diurnal intensity: a daily cycle with an evening peak, a midday solar dip, and an AR(1)
/// "wind" term, per zone.
fn signals(o: &Opts, rng: &mut Rng) -> Signals {
    let n = (o.days * 96) as usize;
    ZONES[..o.regions]
        .iter()
        .map(|&(zone, mean, solar, utc)| {
            let mut wind = 0.0;
            let values = (0..n).map(|i| {
                let local_h = (i as f64 / 4.0 + utc as f64).rem_euclid(24.0);
                let cycle = 0.15 * (2.0 * std::f64::consts::PI * (local_h - 13.0) / 24.0).sin();
                let dip = solar * (-((local_h - 13.0) / 3.0).powi(2)).exp();
                wind = 0.97 * wind + 0.03 * (rng.unit() - 0.5) * 4.0;
                let v = mean * (1.0 + cycle - dip + 0.25 * wind);
                (t0() + SignedDuration::from_mins(15 * i as i64), v.max(5.0))
            });
            IntensitySeries::from_regular(
                ZoneKey::new(zone).unwrap(),
                SignalMeta {
                    signal: Signal::AVERAGE_LIFECYCLE,
                    source: "bench".into(),
                    fetched_at: None,
                    provenance: Provenance::Measured,
                },
                Resolution::QUARTER_HOUR,
                values,
            )
            .unwrap()
        })
        .collect()
}

fn jobs(o: &Opts, rng: &mut Rng) -> Vec<Job> {
    let horizon_min = o.days * 24 * 60;
    (0..o.jobs)
        .map(|i| {
            // 15 min to 12 h, in 5-minute steps, skewed short (log-uniform).
            let minutes = (15.0 * (48.0f64).powf(rng.unit())).round() as i64 / 5 * 5;
            let duration = minutes.clamp(15, 720);
            let slack = rng.range(0, 24 * 60);
            let latest_start = (horizon_min - duration - slack).max(0);
            let earliest = rng.range(0, latest_start.min(horizon_min * 5 / 7)) / 15 * 15;
            let earliest_start = t0() + SignedDuration::from_mins(earliest);
            let deadline = earliest_start + SignedDuration::from_mins(duration + slack);
            let n_regions = rng.range(1, o.regions as i64) as usize;
            let first = rng.range(0, o.regions as i64 - 1) as usize;
            let regions = (0..n_regions)
                .map(|k| ZoneKey::new(ZONES[(first + k * 3) % o.regions].0).unwrap())
                .fold(Vec::new(), |mut v, z| {
                    if !v.contains(&z) {
                        v.push(z);
                    }
                    v
                });
            let mut job = Job::new(
                format!("job{i}"),
                SignedDuration::from_mins(duration),
                Watts(rng.range(100, 5000) as f64),
                earliest_start,
                deadline,
                regions,
            );
            job.demand = rng.range(1, 8) as u32;
            // Drawn even with one tier, so the other fields stay the same across --tiers.
            job.priority = (rng.range(0, 2) % o.tiers) as i32;
            if rng.unit() < 0.2 {
                job.interruptible = Some(Interruptible {
                    min_chunk: SignedDuration::from_mins(rng.range(2, 4) * 15),
                    max_pieces: Some(rng.range(2, 4) as u32),
                    resume_overhead: SignedDuration::from_mins(rng.range(0, 10)),
                });
            }
            job
        })
        .collect()
}

/// Capacity per region that binds: 1.3 × the mean load if jobs were spread evenly over all
/// regions and the whole week (they are not: they crowd into the clean hours).
fn capacity(o: &Opts, jobs: &[Job]) -> Capacity {
    let unit_hours: f64 = jobs
        .iter()
        .map(|j| f64::from(j.demand) * j.duration.as_secs_f64() / 3600.0)
        .sum();
    let per_region = unit_hours / (o.days as f64 * 24.0) / o.regions as f64;
    Capacity::uniform((o.cap_factor * per_region).ceil().max(8.0) as u32)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn config(o: &Opts, capacity: Capacity, method: Method, bound: bool) -> PlannerConfig {
    PlannerConfig {
        capacity,
        method,
        exact_max_binaries: usize::MAX,
        milp_time_limit: Some(SignedDuration::from_secs(o.milp_limit)),
        bound: bound.then_some(BoundConfig {
            max_master_jobs: o.lp_jobs,
            max_iterations: o.lp_iterations,
            subgradient_steps: o.steps,
            time_budget: Some(SignedDuration::from_secs(120)),
            ..BoundConfig::STANDARD
        }),
        clock: Some(Arc::new(SystemClock)),
        ..PlannerConfig::carbon_only()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn secs(d: Option<SignedDuration>) -> String {
    d.map_or("-".into(), |d| format!("{:.3}", d.as_secs_f64()))
}

/// Wall times of `runs` plans without the bound, then one plan with it (when asked).
fn run_case(
    o: &Opts,
    jobs: &[Job],
    signals: &Signals,
    capacity: &Capacity,
    method: Method,
) -> (Vec<f64>, SpatioTemporalPlan, u64) {
    let planner = Planner::new(config(o, capacity.clone(), method, false)).unwrap();
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..o.runs.max(1) {
        let started = Instant::now();
        let plan = planner.plan(jobs, signals, t0());
        times.push(started.elapsed().as_secs_f64());
        last = Some(plan);
    }
    let mut plan = last.unwrap();
    let planning_rss = peak_rss_kib();
    if o.bound {
        let with_bound = Planner::new(config(o, capacity.clone(), method, true)).unwrap();
        plan = with_bound.plan(jobs, signals, t0());
    }
    (times, plan, planning_rss)
}

/// `rss`: peak RSS in KiB after the timed runs, and at the end (the bound included).
fn row(o: &Opts, label: &str, times: &[f64], plan: &SpatioTemporalPlan, rss: (u64, u64)) {
    let bound = plan.lp_bound.as_ref();
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    let max = times.iter().copied().fold(0.0, f64::max);
    println!(
        "| {} | {} | {} | {:.3} ({:.3}–{:.3}) | {:.1} / {:.1} | {:.0} | {:.0} | {} | {} | {}/{} | {} | {} |",
        o.jobs,
        if o.capacity { "on" } else { "off" },
        label,
        median(times.to_vec()),
        min,
        max,
        rss.0 as f64 / 1024.0,
        rss.1 as f64 / 1024.0,
        plan.objective,
        plan.penalty,
        bound.map_or("-".into(), |b| format!("{:.0}", b.value)),
        plan.gap_percent.map_or("-".into(), |g| format!("{g:.2}")),
        plan.plan.placements.len(),
        o.jobs,
        secs(plan.bound_time),
        bound.map_or("-".into(), |b| format!(
            "{} LP it{}{}{}, {} cols, {} rows, {} subgradient steps",
            b.iterations,
            if b.first_order_steps > 0 {
                format!(" / {} PDHG steps", b.first_order_steps)
            } else {
                String::new()
            },
            b.master_objective
                .map_or(String::new(), |m| format!(" (LP ≤ {m:.0})")),
            if b.converged { ", converged" } else { "" },
            b.columns,
            b.rows,
            b.subgradient_steps
        )),
    );
}

fn main() {
    let o = parse();
    let mut rng = Rng(o.seed);
    let signals = signals(&o, &mut rng);
    let jobs = jobs(&o, &mut rng);
    let capacity = if o.capacity {
        let c = capacity(&o, &jobs);
        if let Some(units) = c.of_region(&ZoneKey::new(ZONES[0].0).unwrap()) {
            eprintln!("capacity: {units} units per zone and slot");
        }
        c
    } else {
        Capacity::unlimited()
    };
    if o.header {
        println!(
            "| jobs | capacity | method | wall s, median (min–max) | peak RSS MiB, planning / with bound | objective | of which left-out penalty | lower bound | gap % | placed | bound s | bound detail |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    }
    match o.method {
        "compare" => {
            let (t_exact, exact, rss_exact) =
                run_case(&o, &jobs, &signals, &capacity, Method::Exact);
            let label = match exact.method {
                MethodUsed::ExactMilp {
                    proven_optimal: true,
                } => "exact MILP (optimal)",
                MethodUsed::ExactMilp { .. } => "MILP (time limit)",
                MethodUsed::Greedy => "MILP failed: greedy",
            };
            let (t_greedy, greedy, rss_greedy) =
                run_case(&o, &jobs, &signals, &capacity, Method::Greedy);
            // One process for both methods: the greedy's peak includes the MILP's.
            let rss = peak_rss_kib();
            row(&o, label, &t_exact, &exact, (rss_exact, rss));
            row(&o, "greedy", &t_greedy, &greedy, (rss_greedy, rss));
            println!(
                "compare: jobs {} capacity {} | MILP {:.3} s, greedy {:.4} s | greedy objective +{:.2}% over the MILP ({:.1} vs {:.1})",
                o.jobs,
                if o.capacity { "on" } else { "off" },
                median(t_exact),
                median(t_greedy),
                100.0 * (greedy.objective - exact.objective) / exact.objective.abs().max(1e-9),
                greedy.objective,
                exact.objective,
            );
        }
        m => {
            let method = match m {
                "exact" => Method::Exact,
                "auto" => Method::Auto,
                _ => Method::Greedy,
            };
            let (times, plan, rss) = run_case(&o, &jobs, &signals, &capacity, method);
            row(
                &o,
                &plan.method.to_string(),
                &times,
                &plan,
                (rss, peak_rss_kib()),
            );
            for n in &plan.notes {
                eprintln!("note: {n}");
            }
        }
    }
}
