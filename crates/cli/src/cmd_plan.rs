//! `kite plan`: jobs from a file or flags → signals from the fallback chain → a policy's plan,
//! with each job's emissions against running now and where the signal came from.

use crate::args::{GlobalArgs, PlanArgs, PolicyArg, TableOrJson};
use crate::cmd_intensity::load_config;
use crate::render;
use anyhow::{Result, anyhow, bail};
use kite_core::{
    Clock, GramsCo2PerKwh, Resolution, SignedDuration, SystemClock, Timestamp, ZoneKey,
};
use kite_engine::{
    IntensityService, InterruptibleRules, InterruptibleSpec, JobSpec, PlanReport, PlanSignals,
    PlannerSummary, Regions,
};
use kite_scheduler::{
    BoundConfig, Capacity, Job, ParetoPoint, PlannerConfig, Policy, PriceSeries, Prices,
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
    let ctx = kite_engine::PlanContext {
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

    let mut report = PlanReport::new(name, &jobs, &plan, &plan_signals, now);
    report.planner = planner;
    match args.format {
        TableOrJson::Table => crate::emit(&plan_table(&report))?,
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
    let budget =
        kite_engine::parse_duration(&args.bound_time).map_err(|m| anyhow!("--bound-time: {m}"))?;
    if budget.is_negative() {
        bail!(
            "--bound-time: `{}` is negative; give e.g. 60s, or 0s to skip the bound",
            args.bound_time
        );
    }
    cfg.bound = budget.is_positive().then_some(BoundConfig {
        time_budget: Some(budget),
        ..BoundConfig::STANDARD
    });
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
        plan: PlanReport,
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
                let mut r = PlanReport::new("spatio-temporal", jobs, &p.plan.plan, signals, now);
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

/// The table `kite plan` prints (the JSON is the engine's [`PlanReport`] itself).
fn plan_table(report: &PlanReport) -> String {
    let mut t = render::table();
    t.set_header([
        "job", "region", "start", "end", "pieces", "delay", "gCO2e", "run now", "saved",
    ]);
    for j in &report.jobs {
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
    let mut out = format!("plan ({} policy) at {}\n", report.policy, report.now);
    if !report.jobs.is_empty() {
        let _ = writeln!(out, "{t}");
    }
    let _ = writeln!(
        out,
        "total: {} planned, {} unplaced; {:.1} gCO2e{}",
        report.total.planned,
        report.total.unplaced,
        report.total.emissions_g,
        match (report.total.run_now_emissions_g, report.total.saved_percent) {
            (Some(b), Some(s)) => format!(" vs {b:.1} gCO2e running now ({s:.1} % saved)"),
            _ => String::new(),
        }
    );
    if let Some(p) = &report.planner {
        let _ = writeln!(
            out,
            "planner: {}, {} slots of {} min; objective {:.1}{}",
            p.method,
            p.slots,
            p.slot_minutes,
            p.objective,
            match (p.lower_bound, p.gap_percent) {
                (Some(b), Some(g)) => format!(", lower bound {b:.1} (gap {g:.2} %)"),
                // `kite plan` always asks for a bound unless --bound-time is 0s.
                (None, _) => ", no lower bound (--bound-time 0s)".into(),
                _ => String::new(),
            }
        );
        for n in &p.notes {
            let _ = writeln!(out, "planner: {n}");
        }
    }
    for u in &report.unplaced {
        let _ = writeln!(out, "not planned: {}: {}", u.id, u.reason);
    }
    if !report.signals.is_empty() {
        out.push_str("signal:\n");
        for s in &report.signals {
            let _ = writeln!(
                out,
                "  {} [{}, {}): {} · {} · {}",
                s.zone, s.from, s.to, s.signal, s.provenance, s.source
            );
        }
    }
    out
}
