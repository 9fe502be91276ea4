//! The simulation loop. For each home zone and variant: build the jobs, leave out those whose
//! window the home trace does not cover, run the `asap` baseline on the actual trace, then plan
//! every job with each policy at its earliest start using the forecast of each seed, and
//! evaluate the placement on the actual trace. Each policy is also planned once on the actual
//! trace (its oracle). Seeds run on as many threads as the machine has cores.

use crate::error::{SimError, invalid};
use crate::forecast::forecast;
use crate::jobs::{SimJob, base_jobs, constrain};
use crate::plan::{Fast, Placement, Series, best_window_start, plan_fast, plan_with_policy};
use crate::report::{
    ExperimentSample, PlacedJob, PolicySample, ReferenceCheck, Report, ResultRow, ZoneSummary,
};
use crate::scenario::{ForecastModel, PolicyKind, Scenario};
use crate::text::{fmt_duration, fmt_instant};
use crate::trace::Traces;
use kite_core::{GramsCo2PerKwh, Timestamp, ZoneKey};
use kite_scheduler::{Method, PlannerConfig, Policy, SpatioTemporal, Threshold};

/// Options the caller may set at run time (flags, not scenario content).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Forecast seeds to average over, instead of the scenario's `forecast.seeds`.
    pub seeds: Option<u32>,
    /// Worker threads (default: the machine's available parallelism).
    pub threads: Option<usize>,
}

/// How one policy plans.
enum Planner {
    Fast(Fast),
    Policy(Box<dyn Policy>),
}

impl Planner {
    fn of(kind: PolicyKind) -> Planner {
        match kind {
            PolicyKind::Asap => Planner::Fast(Fast::Asap),
            PolicyKind::BestWindow => Planner::Fast(Fast::BestWindow),
            PolicyKind::LetsWaitAwhile => Planner::Fast(Fast::LetsWaitAwhile),
            PolicyKind::Threshold(t) => Planner::Policy(Box::new(Threshold {
                threshold: GramsCo2PerKwh(t),
            })),
            // Planned one job at a time as it arrives, so without a capacity limit; the greedy
            // method (the MILP would solve each one-job model exactly, hundreds of thousands of
            // times). Planner::new only refuses bad weights and limits, which these are not.
            PolicyKind::SpatioTemporal => {
                match kite_scheduler::Planner::new(PlannerConfig {
                    method: Method::Greedy,
                    bound: None,
                    ..PlannerConfig::carbon_only()
                }) {
                    Ok(p) => Planner::Policy(Box::new(SpatioTemporal::new(p))),
                    Err(_) => Planner::Policy(Box::new(SpatioTemporal::carbon_only())),
                }
            }
        }
    }
}

/// What is fixed for one experiment.
struct Ctx<'a> {
    zones: &'a [ZoneKey],
    actual: &'a [Series],
    start: i64,
    step: i64,
    extra: i64,
}

/// Totals of one run (one policy, one seed).
#[derive(Debug, Clone, Copy)]
struct Acc {
    grams: f64,
    delay_sum_h: f64,
    delay_max_h: f64,
    misses: usize,
    unplaced: usize,
    n: usize,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            grams: 0.0,
            delay_sum_h: 0.0,
            delay_max_h: f64::NEG_INFINITY,
            misses: 0,
            unplaced: 0,
            n: 0,
        }
    }

    fn add(&mut self, job: &SimJob, p: &Placement, ctx: &Ctx<'_>) {
        self.grams += grams(job, p, ctx);
        let delay_h = (p.end() - (job.nominal + job.work) * ctx.step) as f64 / 3600.0;
        self.delay_sum_h += delay_h;
        self.delay_max_h = self.delay_max_h.max(delay_h);
        self.misses += usize::from(p.end() > job.deadline * ctx.step);
        self.n += 1;
    }
}

/// Emissions of a placement on the actual trace, grams.
fn grams(job: &SimJob, p: &Placement, ctx: &Ctx<'_>) -> f64 {
    ctx.actual[p.region].integral(&p.pieces, ctx.step) * job.power_w / 1000.0 / 3600.0
}

/// The baseline's placement: the nominal start at home (with the LWA horizon quirk, the better
/// of the nominal start and one step later, on actual data).
fn baseline(job: &SimJob, ctx: &Ctx<'_>) -> Option<Placement> {
    let home = *job.regions.first()?;
    let a = &ctx.actual[home];
    let start = if ctx.extra > 0 {
        best_window_start(a, job.nominal, job.nominal + job.work + ctx.extra, job.work)?
    } else {
        job.nominal
    };
    a.covered(start, start + job.work).then(|| Placement {
        region: home,
        pieces: vec![(start * ctx.step, (start + job.work) * ctx.step)],
    })
}

fn plan_one(
    planner: &Planner,
    job: &SimJob,
    forecast: &[Series],
    ctx: &Ctx<'_>,
) -> Option<Placement> {
    match planner {
        Planner::Fast(Fast::Asap) => baseline(job, ctx),
        Planner::Fast(kind) => plan_fast(*kind, job, forecast, ctx.step, ctx.extra),
        Planner::Policy(p) => plan_with_policy(
            p.as_ref(),
            job,
            ctx.zones,
            forecast,
            ctx.start,
            ctx.step,
            ctx.extra,
        ),
    }
}

/// Plans every job with one forecast; unplaced jobs run at their baseline placement.
fn run(
    planner: &Planner,
    jobs: &[SimJob],
    forecast: &[Series],
    ctx: &Ctx<'_>,
    keep: bool,
) -> (Acc, Vec<Placement>) {
    let mut acc = Acc::new();
    let mut kept = Vec::new();
    for job in jobs {
        let placed = plan_one(planner, job, forecast, ctx);
        let p = match placed {
            Some(p) => p,
            None => {
                acc.unplaced += 1;
                match baseline(job, ctx) {
                    Some(p) => p,
                    None => continue,
                }
            }
        };
        acc.add(job, &p, ctx);
        if keep {
            kept.push(p);
        }
    }
    (acc, kept)
}

/// Runs every seed of one policy, spread over `threads` workers; results in seed order.
fn run_seeds(
    planner: &Planner,
    jobs: &[SimJob],
    forecasts: &[Vec<Series>],
    ctx: &Ctx<'_>,
    threads: usize,
) -> Vec<(Acc, Vec<Placement>)> {
    let n = forecasts.len();
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return forecasts
            .iter()
            .enumerate()
            .map(|(i, f)| run(planner, jobs, f, ctx, i == 0))
            .collect();
    }
    let mut out: Vec<Option<(Acc, Vec<Placement>)>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..n)
                        .step_by(threads)
                        .map(|i| (i, run(planner, jobs, &forecasts[i], ctx, i == 0)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            if let Ok(results) = h.join() {
                for (i, r) in results {
                    out[i] = Some(r);
                }
            }
        }
    });
    // A worker that panicked leaves its seeds empty; rerun them here so the panic surfaces.
    out.into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|| run(planner, jobs, &forecasts[i], ctx, i == 0)))
        .collect()
}

/// Jobs one experiment left out.
struct Skip {
    home: String,
    variant: String,
    count: usize,
    kept_by_baseline: usize,
    example: String,
}

/// One note per home and count, listing the variants (a ±window sweep skips the same job in
/// every variant from some width on).
fn skip_notes(skips: &[Skip]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut i = 0;
    while i < skips.len() {
        let s = &skips[i];
        let mut j = i + 1;
        while j < skips.len()
            && skips[j].home == s.home
            && skips[j].count == s.count
            && skips[j].kept_by_baseline == s.kept_by_baseline
        {
            j += 1;
        }
        let variants: Vec<&str> = skips[i..j].iter().map(|k| k.variant.as_str()).collect();
        let kept = if s.kept_by_baseline > 0 {
            format!(
                "; compat.skipped_jobs_count_as_zero: {} of them still count in the asap baseline and as 0 g for the other policies",
                s.kept_by_baseline
            )
        } else {
            "; they are left out of every policy, so the comparison is like for like".into()
        };
        notes.push(format!(
            "home {}, variant(s) {}: {} job(s) skipped in each because the {} trace does not cover their whole window (e.g. {}){kept}",
            s.home,
            variants.join(", "),
            s.count,
            s.home,
            s.example
        ));
        i = j;
    }
    notes
}

fn saved(baseline: f64, grams: f64) -> f64 {
    if baseline > 0.0 {
        100.0 * (1.0 - grams / baseline)
    } else {
        0.0
    }
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn sample(policy: &str, jobs: &[SimJob], placements: &[Placement], ctx: &Ctx<'_>) -> PolicySample {
    let ts = |secs: i64| Timestamp::from_second(ctx.start + secs).unwrap_or(Timestamp::UNIX_EPOCH);
    PolicySample {
        policy: policy.to_string(),
        jobs: jobs
            .iter()
            .zip(placements)
            .map(|(j, p)| PlacedJob {
                id: j.id.clone(),
                region: ctx.zones[p.region].to_string(),
                pieces: p.pieces.iter().map(|&(a, b)| (ts(a), ts(b))).collect(),
            })
            .collect(),
    }
}

/// Runs the scenario on the traces.
pub fn simulate(
    scenario: &Scenario,
    traces: &Traces,
    opts: &RunOptions,
) -> Result<Report, SimError> {
    let step = traces.step;
    let start = traces.start;
    let mut notes = Vec::new();
    let model = scenario.forecast.model;
    let seeds = match (model, opts.seeds) {
        (_, Some(0)) => return Err(invalid("--seeds", "is 0; give at least 1")),
        (ForecastModel::Perfect, Some(n)) => {
            if n > 1 {
                notes.push(format!(
                    "--seeds {n} ignored: the forecast is perfect, so every seed is the same"
                ));
            }
            1
        }
        (ForecastModel::Perfect, None) => 1,
        (_, Some(n)) => n,
        (_, None) => scenario.forecast.seeds,
    };
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let base = base_jobs(&scenario.jobs, start, step)?;
    let zones: Vec<ZoneKey> = traces.zones.iter().map(|z| z.zone.clone()).collect();
    let actual: Vec<Series> = traces
        .zones
        .iter()
        .map(|z| Series::new(z.values.clone()))
        .collect();
    let mut clamped = vec![0usize; zones.len()];
    let forecasts: Vec<Vec<Series>> = (0..seeds)
        .map(|s| {
            traces
                .zones
                .iter()
                .enumerate()
                .map(|(zi, z)| {
                    let (values, c) =
                        forecast(&z.values, z.mean, model, scenario.forecast.seed, s, zi);
                    clamped[zi] += c;
                    Series::new(values)
                })
                .collect()
        })
        .collect();
    let extra = i64::from(scenario.compat.horizon_one_step_past_deadline);
    let ctx = Ctx {
        zones: &zones,
        actual: &actual,
        start,
        step,
        extra,
    };
    let perfect: Vec<Vec<Series>> = vec![actual.clone()];

    let mut rows = Vec::new();
    let mut samples = Vec::new();
    let mut skips: Vec<Skip> = Vec::new();
    for home in &scenario.homes {
        let h = traces
            .zone_index(home)
            .ok_or_else(|| invalid("homes", format!("`{home}` has no trace")))?;
        for variant in &scenario.variants {
            let mut regions = vec![h];
            for r in &variant.regions {
                if let Some(i) = traces.zone_index(r)
                    && i != h
                {
                    regions.push(i);
                }
            }
            let region_names: Vec<String> = regions.iter().map(|&i| zones[i].to_string()).collect();
            let all: Vec<SimJob> = base
                .iter()
                .map(|b| {
                    constrain(
                        b,
                        variant.constraint,
                        variant.interruptible.as_ref(),
                        &regions,
                        start,
                        step,
                    )
                })
                .collect();
            let (jobs, outside): (Vec<SimJob>, Vec<SimJob>) = all
                .into_iter()
                .partition(|j| actual[h].covered(j.earliest, j.deadline + extra));
            let experiment = format!("home {home}, variant `{}`", variant.name);
            if jobs.is_empty() {
                let span = match (outside.first(), outside.last()) {
                    (Some(a), Some(b)) => format!(
                        "their windows span [{}, {})",
                        fmt_instant(start + a.earliest * step),
                        fmt_instant(start + (b.deadline + extra) * step)
                    ),
                    _ => "there are no jobs".into(),
                };
                return Err(SimError::NothingToSimulate(format!(
                    "{experiment}: no data covering the window of any of the {} job(s): the {home} trace spans [{}, {}) with {} of its steps missing, and {span}; move the jobs or trace.from/trace.to, or give data that covers them",
                    outside.len(),
                    fmt_instant(start),
                    fmt_instant(start + traces.len as i64 * step),
                    traces.zones[h].missing
                )));
            }
            // Jobs left out of the shifting policies but kept by the baseline (LWA quirk).
            let baseline_only: Vec<&SimJob> = if scenario.compat.skipped_jobs_count_as_zero {
                outside
                    .iter()
                    .filter(|j| actual[h].covered(j.nominal, j.nominal + j.work))
                    .collect()
            } else {
                Vec::new()
            };
            if let Some(first) = outside.first() {
                skips.push(Skip {
                    home: home.to_string(),
                    variant: variant.name.clone(),
                    count: outside.len(),
                    kept_by_baseline: baseline_only.len(),
                    example: format!(
                        "{} from {} to {}",
                        first.id,
                        fmt_instant(start + first.earliest * step),
                        fmt_instant(start + (first.deadline + extra) * step)
                    ),
                });
            }
            let asap_planner = Planner::Fast(Fast::Asap);
            let (asap_acc, asap_kept) = run(&asap_planner, &jobs, &actual, &ctx, true);
            let mut only_acc = Acc::new();
            for j in &baseline_only {
                if let Some(p) = baseline(j, &ctx) {
                    only_acc.add(j, &p, &ctx);
                }
            }
            let baseline_g = asap_acc.grams + only_acc.grams;
            let mut policy_samples = vec![sample("asap", &jobs, &asap_kept, &ctx)];
            for kind in &scenario.policies {
                let name = kind.name();
                let reference = scenario
                    .references
                    .iter()
                    .find(|r| &r.home == home && r.variant == variant.name && r.policy == name);
                let row = |acc_mean: (f64, f64), per_seed: &[Acc], oracle: Option<f64>| {
                    let (grams, sd) = acc_mean;
                    let saved_percent = saved(baseline_g, grams);
                    let n_total: usize = per_seed.iter().map(|a| a.n).sum();
                    let delay_sum: f64 = per_seed.iter().map(|a| a.delay_sum_h).sum();
                    let of_oracle =
                        oracle.and_then(|o| (o.abs() > 1e-12).then(|| 100.0 * saved_percent / o));
                    ResultRow {
                        home: home.to_string(),
                        variant: variant.name.clone(),
                        policy: name.to_string(),
                        regions: region_names.clone(),
                        jobs: jobs.len() + baseline_only.len(),
                        skipped: outside.len() - baseline_only.len(),
                        emissions_kg: grams / 1000.0,
                        baseline_kg: baseline_g / 1000.0,
                        saved_percent,
                        saved_percent_sd: sd,
                        oracle_saved_percent: oracle,
                        of_oracle_percent: of_oracle,
                        mean_delay_hours: if n_total > 0 {
                            delay_sum / n_total as f64
                        } else {
                            0.0
                        },
                        max_delay_hours: if n_total > 0 {
                            per_seed
                                .iter()
                                .map(|a| a.delay_max_h)
                                .fold(f64::NEG_INFINITY, f64::max)
                        } else {
                            0.0
                        },
                        deadline_misses: per_seed.iter().map(|a| a.misses).max().unwrap_or(0),
                        unplaced: per_seed.iter().map(|a| a.unplaced).max().unwrap_or(0),
                        reference: reference.map(|r| {
                            let diff_pp = saved_percent - r.saved_percent;
                            ReferenceCheck {
                                saved_percent: r.saved_percent,
                                diff_pp,
                                tolerance_pp: r.tolerance_pp,
                                within: diff_pp.abs() <= r.tolerance_pp + 1e-9,
                                source: r.source.clone(),
                            }
                        }),
                    }
                };
                if *kind == PolicyKind::Asap {
                    rows.push(row((baseline_g, 0.0), &[asap_acc], None));
                    continue;
                }
                let planner = Planner::of(*kind);
                let results = run_seeds(&planner, &jobs, &forecasts, &ctx, threads);
                let per_seed: Vec<Acc> = results.iter().map(|(a, _)| *a).collect();
                let savings: Vec<f64> = per_seed
                    .iter()
                    .map(|a| saved(baseline_g, a.grams))
                    .collect();
                let (mean_grams, _) =
                    mean_sd(&per_seed.iter().map(|a| a.grams).collect::<Vec<_>>());
                let (_, sd) = mean_sd(&savings);
                let oracle = if model == ForecastModel::Perfect {
                    saved(baseline_g, mean_grams)
                } else {
                    let (o, _) = run(&planner, &jobs, &perfect[0], &ctx, false);
                    saved(baseline_g, o.grams)
                };
                rows.push(row((mean_grams, sd), &per_seed, Some(oracle)));
                if let Some((_, kept)) = results.first() {
                    policy_samples.push(sample(name, &jobs, kept, &ctx));
                }
            }
            samples.push(ExperimentSample {
                home: home.to_string(),
                variant: variant.name.clone(),
                policies: policy_samples,
            });
        }
    }

    let sigma = |mean: f64| match model {
        ForecastModel::Gaussian { error } => Some(error * mean),
        ForecastModel::Perfect => None,
    };
    let forecast_text = match model {
        ForecastModel::Perfect => "perfect (the actual trace)".to_string(),
        ForecastModel::Gaussian { error } => format!(
            "gaussian noise, σ = {} % of each zone's mean, one draw per step, {seeds} seed(s)",
            error * 100.0
        ),
    };
    notes.extend(skip_notes(&skips));
    for (zi, c) in clamped.iter().enumerate() {
        if *c > 0 {
            notes.push(format!(
                "{}: {c} noisy forecast value(s) below 0 g/kWh were clamped to 0",
                zones[zi]
            ));
        }
    }
    let ts = |secs: i64| Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH);
    Ok(Report {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        from: ts(start),
        to: ts(start + traces.len as i64 * step),
        step: fmt_duration(step),
        resample: scenario.trace.resample,
        zones: traces
            .zones
            .iter()
            .zip(&clamped)
            .map(|(z, c)| ZoneSummary {
                zone: z.zone.to_string(),
                origin: z.origin.clone(),
                mean_gco2_per_kwh: z.mean,
                missing_steps: z.missing,
                sigma_gco2_per_kwh: sigma(z.mean),
                clamped_draws: *c,
            })
            .collect(),
        forecast: forecast_text,
        seeds,
        compat: scenario.compat,
        rows,
        notes,
        samples,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kite_core::{Provenance, Resolution, Signal, SignalMeta, SignedDuration};

    /// An hourly series from 2020-01-01T00:00Z.
    fn hourly(zone: &str, values: &[f64]) -> kite_core::IntensitySeries {
        let t0: Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
        kite_core::IntensitySeries::from_regular(
            ZoneKey::new(zone).unwrap(),
            SignalMeta {
                signal: Signal::AVERAGE_LIFECYCLE,
                source: "test".into(),
                fetched_at: None,
                provenance: Provenance::Measured,
            },
            Resolution::HOUR,
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (t0 + SignedDuration::from_hours(i as i64), *v)),
        )
        .unwrap()
    }

    /// A daily shape with a different cleanest hour each day, over `days` days.
    fn values(days: usize) -> Vec<f64> {
        (0..days * 24)
            .map(|h| {
                200.0 + 100.0 * ((h as f64) * 0.7).sin() + (h % 24) as f64 * 3.0 + (h / 24) as f64
            })
            .collect()
    }

    fn scenario(body: &str) -> Scenario {
        Scenario::parse(body, "test", &[]).unwrap()
    }

    fn row<'a>(r: &'a Report, variant: &str, policy: &str) -> &'a ResultRow {
        r.rows
            .iter()
            .find(|x| x.variant == variant && x.policy == policy)
            .unwrap()
    }

    const NIGHTLY: &str = r#"
policies = ["best-window"]
[trace]
zones = [{ zone = "DE", file = "unused.csv" }]
from = "2020-01-01"
to = "2020-01-11"
step = "1h"
[jobs]
pattern = "nightly"
at = "01:00"
duration = "1h"
first_day = "2020-01-01"
days = 9
[[variants]]
name = "w1"
window = "1h"
[[variants]]
name = "w3"
window = "3h"
"#;

    #[test]
    fn nightly_best_window_finds_the_cleanest_hour_of_each_window() {
        let v = values(10);
        let s = scenario(NIGHTLY);
        let traces = Traces::from_series(&s, vec![hourly("DE", &v)]).unwrap();
        let r = simulate(&s, &traces, &RunOptions::default()).unwrap();
        for (variant, w) in [("w1", 1usize), ("w3", 3)] {
            // Brute force: each day's job at 01:00 may start at 01:00 - w .. 01:00 + w; the
            // first day's window starts before the trace when w > 1, so that job is skipped.
            let days: Vec<usize> = (0..9).filter(|d| d * 24 + 1 >= w).collect();
            let asap: f64 = days.iter().map(|d| v[d * 24 + 1]).sum();
            let best: f64 = days
                .iter()
                .map(|d| {
                    (d * 24 + 1 - w..=d * 24 + 1 + w)
                        .map(|h| v[h])
                        .fold(f64::INFINITY, f64::min)
                })
                .sum();
            let got = row(&r, variant, "best-window");
            assert_eq!(got.jobs, days.len());
            assert!((got.emissions_kg - best / 1000.0).abs() < 1e-9, "{variant}");
            assert!((got.baseline_kg - asap / 1000.0).abs() < 1e-9, "{variant}");
            let want = 100.0 * (1.0 - best / asap);
            assert!(
                (got.saved_percent - want).abs() < 1e-9,
                "{variant}: {} vs {want}",
                got.saved_percent
            );
            assert_eq!(got.deadline_misses, 0);
            assert!(got.max_delay_hours <= w as f64 && got.mean_delay_hours >= -(w as f64));
            assert_eq!(
                got.of_oracle_percent,
                Some(100.0),
                "a perfect forecast is its own oracle"
            );
        }
        assert_eq!(row(&r, "w3", "asap").skipped, 1);
        assert_eq!(row(&r, "w1", "asap").skipped, 0);
    }

    #[test]
    fn the_divisor_quirk_keeps_skipped_jobs_in_the_baseline_only() {
        let v = values(10);
        let s = Scenario::parse(
            NIGHTLY,
            "t",
            &["compat.skipped_jobs_count_as_zero=true".into()],
        )
        .unwrap();
        let traces = Traces::from_series(&s, vec![hourly("DE", &v)]).unwrap();
        let r = simulate(&s, &traces, &RunOptions::default()).unwrap();
        let got = row(&r, "w3", "best-window");
        // Baseline over all 9 days; the policy over the 8 it could shift (the skipped one is 0 g).
        let asap: f64 = (0..9).map(|d| v[d * 24 + 1]).sum();
        let best: f64 = (1..9)
            .map(|d| {
                (d * 24 - 2..=d * 24 + 4)
                    .map(|h| v[h])
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        assert!((got.saved_percent - 100.0 * (1.0 - best / asap)).abs() < 1e-9);
        assert_eq!((got.jobs, got.skipped), (9, 0));
    }

    #[test]
    fn interruptible_jobs_take_the_cleanest_hours_before_the_deadline() {
        let v = values(4);
        let text = r#"
policies = ["best-window", "lets-wait-awhile"]
[trace]
zones = [{ zone = "DE", file = "unused.csv" }]
from = "2020-01-01"
to = "2020-01-05"
step = "1h"
[jobs]
pattern = "list"
list = [
  { id = "a", arrival = "2020-01-01T03:00:00Z", duration = "5h", deadline = "2020-01-02T03:00:00Z" },
  { id = "b", arrival = "2020-01-02T10:00:00Z", duration = "3h", deadline = "2020-01-03T20:00:00Z", power_watts = 2000 },
]
interruptible = { min_chunk = "0m" }
"#;
        let s = scenario(text);
        let traces = Traces::from_series(&s, vec![hourly("DE", &v)]).unwrap();
        let r = simulate(&s, &traces, &RunOptions::default()).unwrap();
        // (arrival hour, work hours, deadline hour, kW)
        let jobs = [(3usize, 5usize, 27usize, 1.0), (34, 3, 68, 2.0)];
        let mut cleanest = 0.0;
        let mut window = 0.0;
        let mut asap = 0.0;
        for (a, w, d, kw) in jobs {
            let mut slice: Vec<f64> = v[a..d].to_vec();
            slice.sort_by(f64::total_cmp);
            cleanest += kw * slice[..w].iter().sum::<f64>();
            window += kw
                * (a..=d - w)
                    .map(|s| v[s..s + w].iter().sum::<f64>())
                    .fold(f64::INFINITY, f64::min);
            asap += kw * v[a..a + w].iter().sum::<f64>();
        }
        let lwa = row(&r, "default", "lets-wait-awhile");
        let bw = row(&r, "default", "best-window");
        assert!((lwa.emissions_kg - cleanest / 1000.0).abs() < 1e-9);
        assert!((bw.emissions_kg - window / 1000.0).abs() < 1e-9);
        assert!((bw.baseline_kg - asap / 1000.0).abs() < 1e-9);
        assert!(lwa.saved_percent >= bw.saved_percent);
        assert_eq!(lwa.deadline_misses + bw.deadline_misses, 0);
    }

    #[test]
    fn a_noisy_forecast_never_beats_its_oracle_and_zero_error_is_perfect() {
        let v = values(10);
        let noisy =
            format!("{NIGHTLY}\n[forecast]\nmodel = \"gaussian\"\nerror = 0.3\nseeds = 5\n");
        let s = scenario(&noisy);
        let traces = Traces::from_series(&s, vec![hourly("DE", &v)]).unwrap();
        let r = simulate(&s, &traces, &RunOptions::default()).unwrap();
        let got = row(&r, "w3", "best-window");
        // With one-piece jobs the oracle's choice is the cleanest possible for every job.
        assert!(got.saved_percent <= got.oracle_saved_percent.unwrap() + 1e-9);
        assert!(got.saved_percent_sd > 0.0);
        let exact = Scenario::parse(&noisy, "t", &["forecast.error=0.0".into()]).unwrap();
        let r0 = simulate(&exact, &traces, &RunOptions::default()).unwrap();
        let perfect = simulate(&scenario(NIGHTLY), &traces, &RunOptions::default()).unwrap();
        assert_eq!(
            row(&r0, "w3", "best-window").saved_percent,
            row(&perfect, "w3", "best-window").saved_percent
        );
    }

    #[test]
    fn the_horizon_quirk_can_finish_one_step_late_and_says_so() {
        // The step right after the deadline is by far the cleanest.
        let mut v = vec![300.0; 48];
        v[4] = 10.0;
        let text = r#"
policies = ["best-window"]
[trace]
zones = [{ zone = "DE", file = "unused.csv" }]
from = "2020-01-01"
to = "2020-01-03"
step = "1h"
[jobs]
pattern = "list"
list = [{ arrival = "2020-01-01T01:00:00Z", duration = "1h", deadline = "2020-01-01T04:00:00Z" }]
"#;
        let plain = scenario(text);
        let traces = Traces::from_series(&plain, vec![hourly("DE", &v)]).unwrap();
        let r = simulate(&plain, &traces, &RunOptions::default()).unwrap();
        assert_eq!(row(&r, "default", "best-window").deadline_misses, 0);
        let quirk = Scenario::parse(
            text,
            "t",
            &["compat.horizon_one_step_past_deadline=true".into()],
        )
        .unwrap();
        let r = simulate(&quirk, &traces, &RunOptions::default()).unwrap();
        let got = row(&r, "default", "best-window");
        assert_eq!(got.deadline_misses, 1);
        assert!((got.emissions_kg - 0.010).abs() < 1e-12);
    }

    #[test]
    fn a_job_may_move_to_a_cleaner_region() {
        let text = r#"
policies = ["best-window"]
homes = ["DE"]
[trace]
zones = [{ zone = "DE", file = "a.csv" }, { zone = "GB", file = "b.csv" }]
from = "2020-01-01"
to = "2020-01-02"
step = "1h"
[jobs]
pattern = "list"
list = [{ arrival = "2020-01-01T02:00:00Z", duration = "2h" }]
slack = "4h"
[[variants]]
name = "DE only"
[[variants]]
name = "DE+GB"
regions = ["GB"]
"#;
        let s = scenario(text);
        let de: Vec<f64> = (0..24).map(|h| 400.0 - h as f64).collect();
        let gb = vec![100.0; 24];
        let traces = Traces::from_series(&s, vec![hourly("GB", &gb), hourly("DE", &de)]).unwrap();
        let r = simulate(&s, &traces, &RunOptions::default()).unwrap();
        let home = row(&r, "DE only", "best-window");
        // Latest window: hours 6 and 7.
        assert!((home.emissions_kg - (394.0 + 393.0) / 1000.0).abs() < 1e-9);
        let moved = row(&r, "DE+GB", "best-window");
        assert!((moved.emissions_kg - 0.2).abs() < 1e-9);
        assert_eq!(moved.regions, vec!["DE".to_string(), "GB".to_string()]);
        let sample = &r.samples[1].policies[1].jobs[0];
        assert_eq!(sample.region, "GB");
    }

    #[test]
    fn nothing_covered_is_an_error_that_names_the_window() {
        let s =
            scenario(&NIGHTLY.replace("first_day = \"2020-01-01\"", "first_day = \"2020-03-01\""));
        let traces = Traces::from_series(&s, vec![hourly("DE", &values(10))]).unwrap();
        let e = simulate(&s, &traces, &RunOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("nothing to simulate: home DE, variant `w1`"),
            "{e}"
        );
        assert!(
            e.contains("[2020-01-01T00:00:00Z, 2020-01-11T00:00:00Z)"),
            "{e}"
        );
        assert!(e.contains("2020-03-01T00:00:00Z"), "{e}");
    }

    #[test]
    fn threshold_and_spatio_temporal_run_through_the_scheduler() {
        let v = values(10);
        let text = NIGHTLY.replace(
            "policies = [\"best-window\"]",
            "policies = [\"best-window\", \"threshold\", \"spatio-temporal\"]\n[policy_options]\nthreshold_gco2_per_kwh = 150.0",
        );
        let s = scenario(&text);
        let traces = Traces::from_series(&s, vec![hourly("DE", &v)]).unwrap();
        let r = simulate(&s, &traces, &RunOptions::default()).unwrap();
        let bw = row(&r, "w3", "best-window");
        let st = row(&r, "w3", "spatio-temporal");
        let th = row(&r, "w3", "threshold");
        // Without capacity, the spatio-temporal planner finds the same cleanest hour.
        assert!((st.emissions_kg - bw.emissions_kg).abs() < 1e-9);
        assert!(th.emissions_kg >= bw.emissions_kg - 1e-9);
        assert_eq!(th.deadline_misses + st.deadline_misses, 0);
    }
}
