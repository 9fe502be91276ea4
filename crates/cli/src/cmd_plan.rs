//! `kite plan`: jobs from a file or flags → signals from the fallback chain → a policy's plan,
//! with each job's emissions against running now and where the signal came from.

use crate::args::{GlobalArgs, PlanArgs, PolicyArg, TableOrJson};
use crate::cmd_intensity::load_config;
use crate::render;
use anyhow::{Result, anyhow, bail};
use kite_core::{
    Clock, GramsCo2PerKwh, Resolution, SignedDuration, SystemClock, Timestamp, Watts, ZoneKey,
};
use kite_engine::{
    IntensityService, InterruptibleRules, InterruptibleSpec, JobContext, JobSpec, PlanSignals,
    Regions,
};
use kite_scheduler::{
    BoundConfig, Capacity, Job, ParetoPoint, Plan, PlannerConfig, Policy, PriceSeries, Prices,
    SpatioTemporalPlan,
};
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// Power assumed for a job given on the command line without --power: emissions scale linearly
/// with power, so the plan (and the % saved) does not depend on it.
const DEFAULT_POWER_W: f64 = 1000.0;

/// Exit code when some jobs were planned and others could not be.
pub const EXIT_PARTIAL: u8 = 2;

pub async fn run(global: &GlobalArgs, args: PlanArgs) -> Result<u8> {
    let cfg = load_config(global)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Whole seconds: plans are read by people, and sub-second starts mean nothing to a grid.
    let now = Timestamp::from_second(clock.now().as_second())?;
    let signal = crate::cmd_intensity::signal_arg(args.signal.as_deref(), &cfg)?;
    let providers = kite_engine::build_providers(&cfg.providers)?;
    let store = kite_store::Store::open(&cfg.database)
        .map_err(|e| format!("cannot open {}: {e}", cfg.database.display()));
    let service = IntensityService::new(providers, store, cfg.fallback.clone(), clock);

    let (specs, source) = match &args.job {
        Some(path) => (
            kite_engine::read_job_file(path)?,
            path.display().to_string(),
        ),
        None => (vec![spec_from_flags(&args)?], "command line".to_owned()),
    };
    let ctx = PlanContext {
        service: &service,
        database: &cfg.database,
    };
    let jobs = kite_engine::to_jobs(&specs, &source, now, &ctx)?;

    let plan_signals = kite_engine::signals_for(&service, &jobs, signal, now).await?;
    let (name, plan, planner) = match choose_policy(&args, &jobs, now)? {
        Choice::Simple(policy) => (
            policy.name(),
            policy.plan(&jobs, &plan_signals.signals, now),
            None,
        ),
        Choice::SpatioTemporal(cfg) => {
            if args.pareto {
                let front = kite_scheduler::pareto_front(
                    &jobs,
                    &plan_signals.signals,
                    now,
                    &cfg,
                    PARETO_STEPS,
                )?;
                return emit_pareto(&args, &jobs, &front, &plan_signals, now);
            }
            let st = kite_scheduler::plan_spatio_temporal(&jobs, &plan_signals.signals, now, &cfg)?;
            let summary = PlannerSummary::new(&st);
            ("spatio-temporal", st.plan, Some(summary))
        }
    };

    let mut report = Report::new(name, &jobs, &plan, &plan_signals, now);
    report.planner = planner;
    match args.format {
        TableOrJson::Table => crate::emit(&report.table())?,
        TableOrJson::Json => crate::emit(&(serde_json::to_string_pretty(&report)? + "\n"))?,
    }
    if args.format == TableOrJson::Table {
        for note in &plan_signals.notes {
            eprintln!("note: {}: {}", note.source, note.message);
        }
    }
    if plan.placements.is_empty() {
        bail!(
            "no job could be planned ({} given); the reasons are listed above",
            jobs.len()
        );
    }
    Ok(if plan.unplaced.is_empty() {
        0
    } else {
        EXIT_PARTIAL
    })
}

fn spec_from_flags(args: &PlanArgs) -> Result<JobSpec> {
    if args.duration.is_none() && args.work_units.is_none() && args.power_from_run.is_none() {
        bail!(
            "nothing to plan: give --job FILE, or one job with --duration (e.g. 2h), --deadline (e.g. now+12h) and --region"
        );
    }
    if args.region.is_empty() {
        bail!(
            "no region: pass --region with one or more zones or cloud regions (e.g. --region DE,FR); kite does not guess where the job runs"
        );
    }
    let interruptible = args.interruptible.then(|| {
        InterruptibleSpec::Rules(InterruptibleRules {
            min_chunk: args.min_chunk.clone(),
            max_pieces: args.max_pieces,
            resume_overhead: args.resume_overhead.clone(),
        })
    });
    let power_w = match (args.power, &args.power_from_run) {
        (Some(w), _) => Some(w),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_POWER_W),
    };
    Ok(JobSpec {
        id: "job".into(),
        duration: args.duration.clone(),
        work_units: args.work_units,
        rate_per_hour: args.rate_per_hour,
        power_w,
        power_from_run: args.power_from_run.clone(),
        earliest_start: args.earliest.clone(),
        deadline: Some(args.deadline.clone().ok_or_else(|| {
            anyhow!("--deadline is missing: say when the job must finish (e.g. now+12h)")
        })?),
        regions: Regions(args.region.clone()),
        interruptible,
        demand: args.demand,
        priority: None,
        team: None,
    })
}

/// Divisions per weight axis of the `--pareto` sweep.
const PARETO_STEPS: u32 = 8;

enum Choice {
    Simple(Box<dyn Policy>),
    SpatioTemporal(Box<PlannerConfig>),
}

fn choose_policy(args: &PlanArgs, jobs: &[Job], now: Timestamp) -> Result<Choice> {
    let wants_planner = !args.capacity.is_empty() || args.pareto || !args.price.is_empty();
    let policy = args.policy.unwrap_or(if wants_planner {
        PolicyArg::SpatioTemporal
    } else if jobs.iter().any(|j| j.interruptible.is_some()) {
        PolicyArg::Interruptible
    } else {
        PolicyArg::BestWindow
    });
    if args.threshold.is_some() && policy != PolicyArg::Threshold {
        bail!("--threshold only applies to --policy threshold");
    }
    if wants_planner && policy != PolicyArg::SpatioTemporal {
        bail!(
            "--capacity, --price and --pareto need --policy spatio-temporal (the only policy with capacity and cost)"
        );
    }
    Ok(Choice::Simple(match policy {
        PolicyArg::Asap => Box::new(kite_scheduler::Asap),
        PolicyArg::Threshold => {
            let t = args.threshold.ok_or_else(|| {
                anyhow!("--policy threshold needs --threshold G (gCO2e/kWh), e.g. --threshold 200")
            })?;
            if !(t.is_finite() && t > 0.0) {
                bail!("--threshold {t} is not a positive number of gCO2e/kWh");
            }
            Box::new(kite_scheduler::Threshold {
                threshold: GramsCo2PerKwh(t),
            })
        }
        PolicyArg::BestWindow => Box::new(kite_scheduler::BestWindow),
        PolicyArg::Interruptible => Box::new(kite_scheduler::LetsWaitAwhile),
        PolicyArg::SpatioTemporal => {
            return Ok(Choice::SpatioTemporal(Box::new(planner_config(
                args, jobs, now,
            )?)));
        }
    }))
}

fn planner_config(args: &PlanArgs, jobs: &[Job], now: Timestamp) -> Result<PlannerConfig> {
    let mut cfg = PlannerConfig::carbon_only();
    cfg.bound = Some(BoundConfig::STANDARD);
    cfg.clock = Some(Arc::new(SystemClock));
    cfg.capacity = parse_capacity(&args.capacity)?;
    if !args.price.is_empty() {
        cfg.prices = Some(parse_prices(&args.price, jobs, now)?);
    }
    Ok(cfg)
}

/// `8` (every region) or `DE=8,FR=4` (also `kite serve --capacity`).
pub(crate) fn parse_capacity(items: &[String]) -> Result<Capacity> {
    let mut cap = Capacity::unlimited();
    for item in items {
        let (zone, units) = match item.split_once('=') {
            Some((z, u)) => (Some(z.trim()), u.trim()),
            None => (None, item.trim()),
        };
        let units: u32 = units.parse().map_err(|_| {
            anyhow!(
                "--capacity `{item}`: `{units}` is not a whole number of units; write e.g. DE=8 or 8"
            )
        })?;
        cap = match zone {
            Some(z) => cap.with_region(
                ZoneKey::new(z).map_err(|e| anyhow!("--capacity `{item}`: {e}"))?,
                Some(units),
            ),
            None => Capacity::uniform(units),
        };
    }
    Ok(cap)
}

/// `DE=0.30,FR=0.25`: a constant price per kWh per zone over the planning horizon.
fn parse_prices(items: &[String], jobs: &[Job], now: Timestamp) -> Result<Prices> {
    let start = jobs.iter().map(|j| j.earliest_start).min();
    let end = jobs.iter().map(|j| j.deadline).max();
    let (Some(start), Some(end)) = (start, end) else {
        return Ok(Prices::new());
    };
    let start = Resolution::HOUR.floor(start.min(now));
    let hours = (end.as_second() - start.as_second()) / 3600 + 1;
    let mut prices = Prices::new();
    for item in items {
        let Some((zone, price)) = item.split_once('=') else {
            bail!("--price `{item}`: write ZONE=PRICE per kWh, e.g. DE=0.30");
        };
        let per_kwh: f64 = price.trim().parse().map_err(|_| {
            anyhow!("--price `{item}`: `{price}` is not a number; write e.g. DE=0.30")
        })?;
        if !per_kwh.is_finite() {
            bail!("--price `{item}`: the price must be a finite number");
        }
        let zone = ZoneKey::new(zone.trim()).map_err(|e| anyhow!("--price `{item}`: {e}"))?;
        let series = PriceSeries::from_regular(
            zone,
            Resolution::HOUR,
            (0..hours).map(|h| (start + SignedDuration::from_hours(h), per_kwh)),
        )
        .map_err(|e| anyhow!("--price `{item}`: {e}"))?;
        prices.insert(series);
    }
    Ok(prices)
}

/// `kite plan --pareto`: the non-dominated plans, best carbon first.
fn emit_pareto(
    args: &PlanArgs,
    jobs: &[Job],
    front: &[ParetoPoint],
    signals: &PlanSignals,
    now: Timestamp,
) -> Result<u8> {
    #[derive(Serialize)]
    struct Point {
        carbon_g: f64,
        cost: f64,
        mean_delay_hours: f64,
        placed: usize,
        /// Objective weights (carbon, cost, delay) that produced the plan.
        weights: [f64; 3],
        plan: Report,
    }
    let points: Vec<Point> = front
        .iter()
        .map(|p| Point {
            carbon_g: p.carbon.0,
            cost: p.cost,
            mean_delay_hours: p.mean_delay_hours,
            placed: p.placed,
            weights: [p.weights.carbon, p.weights.cost, p.weights.delay_per_hour],
            plan: {
                let mut r = Report::new("spatio-temporal", jobs, &p.plan.plan, signals, now);
                r.planner = Some(PlannerSummary::new(&p.plan));
                r
            },
        })
        .collect();
    match args.format {
        TableOrJson::Json => crate::emit(&(serde_json::to_string_pretty(&points)? + "\n"))?,
        TableOrJson::Table => {
            let mut t = render::table();
            t.set_header([
                "#",
                "gCO2e",
                "cost",
                "mean delay",
                "planned",
                "weights (carbon, cost, delay)",
            ]);
            for (i, p) in points.iter().enumerate() {
                t.add_row([
                    (i + 1).to_string(),
                    format!("{:.1}", p.carbon_g),
                    format!("{:.2}", p.cost),
                    format!("{:.2} h", p.mean_delay_hours),
                    format!("{}/{}", p.placed, jobs.len()),
                    format!(
                        "{:.3}, {:.3}, {:.3}",
                        p.weights[0], p.weights[1], p.weights[2]
                    ),
                ]);
            }
            crate::emit(&format!(
                "{} non-dominated plans (carbon, cost, mean delay); --format json has each plan\n{t}\n",
                points.len()
            ))?;
        }
    }
    if points.is_empty() {
        bail!("no plan could be made for any weights");
    }
    Ok(0)
}

/// How the spatio-temporal planner got its answer, and how far it may be from optimal.
#[derive(Debug, Serialize)]
struct PlannerSummary {
    method: String,
    objective: f64,
    lower_bound: Option<f64>,
    gap_percent: Option<f64>,
    slot_minutes: u32,
    slots: usize,
    greedy_ms: Option<f64>,
    solver_ms: Option<f64>,
    bound_ms: Option<f64>,
    notes: Vec<String>,
}

impl PlannerSummary {
    fn new(p: &SpatioTemporalPlan) -> PlannerSummary {
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

/// What jobs need from the engine: region resolution and past runs.
struct PlanContext<'a> {
    service: &'a IntensityService,
    database: &'a std::path::Path,
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
struct Report {
    policy: &'static str,
    now: Timestamp,
    jobs: Vec<JobReport>,
    unplaced: Vec<UnplacedReport>,
    total: Totals,
    signals: Vec<SourceReport>,
    notes: Vec<String>,
    /// Only for the spatio-temporal policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    planner: Option<PlannerSummary>,
}

#[derive(Debug, Serialize)]
struct JobReport {
    id: String,
    region: String,
    start: Timestamp,
    end: Timestamp,
    pieces: Vec<[Timestamp; 2]>,
    /// Minutes between the earliest allowed start and the planned start.
    delay_minutes: f64,
    energy_kwh: f64,
    emissions_g: f64,
    /// Emissions of starting as soon as allowed in the first region (`null`: not covered).
    run_now_emissions_g: Option<f64>,
    saved_percent: Option<f64>,
}

#[derive(Debug, Serialize)]
struct UnplacedReport {
    id: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct Totals {
    planned: usize,
    unplaced: usize,
    emissions_g: f64,
    run_now_emissions_g: Option<f64>,
    saved_percent: Option<f64>,
}

#[derive(Debug, Serialize)]
struct SourceReport {
    zone: String,
    from: Timestamp,
    to: Timestamp,
    source: String,
    signal: String,
    provenance: String,
}

impl Report {
    fn new(
        policy: &'static str,
        jobs: &[Job],
        plan: &Plan,
        signals: &PlanSignals,
        now: Timestamp,
    ) -> Report {
        let mut out = Vec::new();
        for p in &plan.placements {
            let Some(job) = jobs.iter().find(|j| j.id == p.job_id) else {
                continue;
            };
            let (Some(first), Some(last)) = (p.pieces.first(), p.pieces.last()) else {
                continue;
            };
            let secs: i64 = p.pieces.iter().map(|w| w.duration().as_secs()).sum();
            let energy_kwh = job.power.0 * secs as f64 / 3.6e6;
            let base = p.baseline_emissions.map(|b| b.0);
            out.push(JobReport {
                id: p.job_id.clone(),
                region: p.region.to_string(),
                start: first.start(),
                end: last.end(),
                pieces: p.pieces.iter().map(|w| [w.start(), w.end()]).collect(),
                delay_minutes: (first.start().as_second() - job.start_from(now).as_second()) as f64
                    / 60.0,
                energy_kwh,
                emissions_g: p.emissions.0,
                run_now_emissions_g: base,
                saved_percent: base.and_then(|b| saved(b, p.emissions.0)),
            });
        }
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
        Report {
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

    fn table(&self) -> String {
        let mut t = render::table();
        t.set_header([
            "job", "region", "start", "end", "pieces", "delay", "gCO2e", "run now", "saved",
        ]);
        for j in &self.jobs {
            t.add_row([
                j.id.clone(),
                j.region.clone(),
                j.start.to_string(),
                j.end.to_string(),
                j.pieces.len().to_string(),
                render::human_duration((j.delay_minutes * 60.0).max(0.0) as u32),
                format!("{:.1}", j.emissions_g),
                j.run_now_emissions_g
                    .map_or("n/a".into(), |b| format!("{b:.1}")),
                j.saved_percent
                    .map_or("n/a".into(), |s| format!("{s:.1} %")),
            ]);
        }
        let mut out = format!("plan ({} policy) at {}\n", self.policy, self.now);
        if !self.jobs.is_empty() {
            let _ = writeln!(out, "{t}");
        }
        let _ = writeln!(
            out,
            "total: {} planned, {} unplaced; {:.1} gCO2e{}",
            self.total.planned,
            self.total.unplaced,
            self.total.emissions_g,
            match (self.total.run_now_emissions_g, self.total.saved_percent) {
                (Some(b), Some(s)) => format!(" vs {b:.1} gCO2e running now ({s:.1} % saved)"),
                _ => String::new(),
            }
        );
        if let Some(p) = &self.planner {
            let _ = writeln!(
                out,
                "planner: {}, {} slots of {} min; objective {:.1}{}",
                p.method,
                p.slots,
                p.slot_minutes,
                p.objective,
                match (p.lower_bound, p.gap_percent) {
                    (Some(b), Some(g)) => format!(", lower bound {b:.1} (gap {g:.2} %)"),
                    _ => String::new(),
                }
            );
            for n in &p.notes {
                let _ = writeln!(out, "planner: {n}");
            }
        }
        for u in &self.unplaced {
            let _ = writeln!(out, "not planned: {}: {}", u.id, u.reason);
        }
        if !self.signals.is_empty() {
            out.push_str("signal:\n");
            for s in &self.signals {
                let _ = writeln!(
                    out,
                    "  {} [{}, {}): {} · {} · {}",
                    s.zone, s.from, s.to, s.signal, s.provenance, s.source
                );
            }
        }
        out
    }
}

fn saved(baseline: f64, planned: f64) -> Option<f64> {
    (baseline > 0.0).then(|| (baseline - planned) / baseline * 100.0)
}
