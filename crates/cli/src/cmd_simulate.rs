//! `kite simulate SCENARIO.toml`: replays real traces with kite-simulate and renders the
//! comparison as a table, JSON or CSV, with an optional SVG chart of one experiment.
//!
//! Trace files are read relative to `--data` (else the scenario's directory); zones marked
//! `store = true` are read from the local store. The JSON and CSV shapes are defined here.

use crate::args::{GlobalArgs, OutputFormat};
use anyhow::{Context, Result, bail};
use clap::Args;
use kite_core::{IntensitySeries, Provenance, Signal, TimeWindow, ZoneKey};
use kite_simulate::{ChartOptions, Report, ResultRow, RunOptions, Scenario, TraceContext, Traces};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `kite simulate` flags.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The scenario file (see docs/scenarios.md and scenarios/).
    pub scenario: PathBuf,
    /// Directory the scenario's trace files are read from (default: the scenario's directory).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Write an SVG chart of one experiment: intensity with the jobs placed on it.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
    /// The chart's experiment as HOME/VARIANT, e.g. DE/semi-weekly (default: the first).
    #[arg(long, value_name = "HOME/VARIANT", requires = "chart")]
    pub chart_experiment: Option<String>,
    /// Start of the chart (RFC 3339 or a date; default: the day of the first job).
    #[arg(long, requires = "chart")]
    pub chart_from: Option<String>,
    /// Days shown in the chart.
    #[arg(long, default_value_t = 7, requires = "chart")]
    pub chart_days: u32,
    /// Forecast seeds to average over (overrides forecast.seeds).
    #[arg(long)]
    pub seeds: Option<u32>,
    /// Override a scenario value before validation, e.g. --set forecast.error=0.1 or
    /// --set compat.skipped_jobs_count_as_zero=true (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Exit with status 1 when a published reference number is not reproduced within its
    /// tolerance.
    #[arg(long)]
    pub check: bool,
    /// Worker threads for the forecast seeds (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(global: &GlobalArgs, args: SimulateArgs) -> Result<u8> {
    let scenario = Scenario::load(&args.scenario, &args.set)
        .with_context(|| format!("scenario {}", args.scenario.display()))?;
    let data_dir = match &args.data {
        Some(d) => d.clone(),
        None => args
            .scenario
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let loader = |zone: &ZoneKey, window: TimeWindow, source: Option<&str>| {
        stored_zone(global, zone, window, source)
    };
    let ctx = TraceContext {
        data_dir: &data_dir,
        store: Some(&loader),
    };
    let traces = Traces::load(&scenario, &ctx)
        .with_context(|| format!("scenario {}", args.scenario.display()))?;
    let started = std::time::Instant::now();
    let report = kite_simulate::simulate(
        &scenario,
        &traces,
        &RunOptions {
            seeds: args.seeds,
            threads: args.threads,
        },
    )
    .with_context(|| format!("scenario {}", args.scenario.display()))?;
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = &args.chart {
        let (home, variant) = match &args.chart_experiment {
            Some(e) => match e.split_once('/') {
                Some((h, v)) => (Some(h.to_string()), Some(v.to_string())),
                None => bail!("--chart-experiment `{e}`: write HOME/VARIANT, e.g. DE/semi-weekly"),
            },
            None => (None, None),
        };
        let from = match &args.chart_from {
            Some(t) => Some(
                kite_core::parse_time(t, kite_core::Timestamp::UNIX_EPOCH)
                    .with_context(|| format!("--chart-from `{t}`"))?,
            ),
            None => None,
        };
        let svg = kite_simulate::chart_svg(
            &report,
            &traces,
            &ChartOptions {
                home,
                variant,
                from,
                days: args.chart_days,
            },
        )?;
        std::fs::write(path, svg)
            .with_context(|| format!("writing the chart to {}", path.display()))?;
    }
    let text = match args.format {
        OutputFormat::Table => table(&report, secs),
        OutputFormat::Json => serde_json::to_string_pretty(&JsonReport::from(&report))? + "\n",
        OutputFormat::Csv => csv(&report),
    };
    crate::emit(&text)?;
    let missed: Vec<&ResultRow> = report
        .rows
        .iter()
        .filter(|r| r.reference.as_ref().is_some_and(|c| !c.within))
        .collect();
    if args.check && !missed.is_empty() {
        eprintln!(
            "error: {} published number(s) not reproduced within tolerance: {}",
            missed.len(),
            missed
                .iter()
                .map(|r| format!("{}/{}/{}", r.home, r.variant, r.policy))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(1);
    }
    Ok(0)
}

/// A stored zone's measured series (the first source in the store's order).
fn stored_zone(
    global: &GlobalArgs,
    zone: &ZoneKey,
    window: TimeWindow,
    source: Option<&str>,
) -> Result<IntensitySeries, String> {
    let cfg = crate::cmd_intensity::load_config(global).map_err(|e| format!("{e:#}"))?;
    let store = kite_store::Store::open(&cfg.database)
        .map_err(|e| format!("opening the store at {}: {e}", cfg.database.display()))?;
    let found = store
        .query(zone, Signal::AVERAGE_LIFECYCLE, window, source)
        .map_err(|e| e.to_string())?;
    found
        .into_iter()
        .find(|s| s.meta().provenance == Provenance::Measured)
        .ok_or_else(|| {
            format!(
                "the store at {} has no measured average-lifecycle data in {window}{}; import it with `kite intensity import FILE`, or give a file instead",
                cfg.database.display(),
                source.map(|s| format!(" from source {s}")).unwrap_or_default()
            )
        })
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into())
}

fn table(report: &Report, secs: f64) -> String {
    let mut out = format!("scenario {}", report.scenario);
    if let Some(d) = &report.description {
        out += &format!(": {d}");
    }
    out += &format!(
        "\ntrace [{}, {}) every {} ({}); forecast {}\n",
        report.from,
        report.to,
        report.step,
        report.resample.as_str(),
        report.forecast
    );
    for z in &report.zones {
        out += &format!(
            "  {}: mean {:.2} g/kWh{}, {} missing step(s), {}\n",
            z.zone,
            z.mean_gco2_per_kwh,
            z.sigma_gco2_per_kwh
                .map(|s| format!(", σ {s:.2}"))
                .unwrap_or_default(),
            z.missing_steps,
            z.origin
        );
    }
    let c = report.compat;
    if c.skipped_jobs_count_as_zero || c.horizon_one_step_past_deadline {
        out += &format!(
            "compat (Let's Wait Awhile quirks): skipped_jobs_count_as_zero = {}, horizon_one_step_past_deadline = {}\n",
            c.skipped_jobs_count_as_zero, c.horizon_one_step_past_deadline
        );
    }
    let mut t = crate::render::table();
    t.set_header(vec![
        "home",
        "variant",
        "policy",
        "jobs",
        "kg CO2e",
        "saved %",
        "± sd",
        "oracle %",
        "of oracle %",
        "mean delay h",
        "max delay h",
        "misses",
        "published %",
        "Δ pp",
    ]);
    for r in &report.rows {
        let regions = if r.regions.len() > 1 {
            format!(" ({})", r.regions.join("+"))
        } else {
            String::new()
        };
        t.add_row(vec![
            r.home.clone(),
            format!("{}{regions}", r.variant),
            r.policy.clone(),
            r.jobs.to_string(),
            format!("{:.1}", r.emissions_kg),
            format!("{:.2}", r.saved_percent),
            format!("{:.2}", r.saved_percent_sd),
            pct(r.oracle_saved_percent),
            pct(r.of_oracle_percent),
            format!("{:.2}", r.mean_delay_hours),
            format!("{:.1}", r.max_delay_hours),
            r.deadline_misses.to_string(),
            r.reference
                .as_ref()
                .map(|c| format!("{:.2}", c.saved_percent))
                .unwrap_or_else(|| "-".into()),
            r.reference
                .as_ref()
                .map(|c| format!("{:+.2}{}", c.diff_pp, if c.within { "" } else { " !" }))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    out += &format!("{t}\n");
    let refs: Vec<_> = report
        .rows
        .iter()
        .filter_map(|r| r.reference.as_ref())
        .collect();
    if !refs.is_empty() {
        let within = refs.iter().filter(|c| c.within).count();
        let mut sources: Vec<&str> = refs.iter().map(|c| c.source.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        out += &format!(
            "published numbers reproduced within tolerance: {within} of {} (\"!\" marks the others); sources: {}\n",
            refs.len(),
            sources.join("; ")
        );
    }
    for n in &report.notes {
        out += &format!("note: {n}\n");
    }
    out += &format!(
        "simulated in {secs:.2} s; saved % is against asap (every job at its nominal start at home); oracle % is the same policy with a perfect forecast\n"
    );
    out
}

/// `kite simulate --format json`: the report without the chart's placements.
#[derive(Serialize)]
struct JsonReport {
    scenario: String,
    description: Option<String>,
    /// The simulated trace window, `[from, to)`, and its step (e.g. `30m`).
    from: String,
    to: String,
    step: String,
    /// `mean` or `sample`.
    resample: String,
    zones: Vec<JsonZone>,
    forecast: String,
    seeds: u32,
    compat: JsonCompat,
    results: Vec<JsonRow>,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct JsonZone {
    zone: String,
    origin: String,
    mean_gco2_per_kwh: f64,
    missing_steps: usize,
    sigma_gco2_per_kwh: Option<f64>,
    clamped_draws: usize,
}

#[derive(Serialize)]
struct JsonCompat {
    skipped_jobs_count_as_zero: bool,
    horizon_one_step_past_deadline: bool,
}

#[derive(Serialize)]
struct JsonRow {
    home: String,
    variant: String,
    policy: String,
    regions: Vec<String>,
    jobs: usize,
    skipped: usize,
    emissions_kg: f64,
    baseline_kg: f64,
    saved_percent: f64,
    saved_percent_sd: f64,
    oracle_saved_percent: Option<f64>,
    of_oracle_percent: Option<f64>,
    mean_delay_hours: f64,
    max_delay_hours: f64,
    deadline_misses: usize,
    unplaced: usize,
    published: Option<JsonPublished>,
}

#[derive(Serialize)]
struct JsonPublished {
    saved_percent: f64,
    diff_pp: f64,
    tolerance_pp: f64,
    within_tolerance: bool,
    source: String,
}

impl From<&Report> for JsonReport {
    fn from(r: &Report) -> JsonReport {
        JsonReport {
            scenario: r.scenario.clone(),
            description: r.description.clone(),
            from: r.from.to_string(),
            to: r.to.to_string(),
            step: r.step.clone(),
            resample: r.resample.as_str().to_string(),
            zones: r
                .zones
                .iter()
                .map(|z| JsonZone {
                    zone: z.zone.clone(),
                    origin: z.origin.clone(),
                    mean_gco2_per_kwh: z.mean_gco2_per_kwh,
                    missing_steps: z.missing_steps,
                    sigma_gco2_per_kwh: z.sigma_gco2_per_kwh,
                    clamped_draws: z.clamped_draws,
                })
                .collect(),
            forecast: r.forecast.clone(),
            seeds: r.seeds,
            compat: JsonCompat {
                skipped_jobs_count_as_zero: r.compat.skipped_jobs_count_as_zero,
                horizon_one_step_past_deadline: r.compat.horizon_one_step_past_deadline,
            },
            results: r
                .rows
                .iter()
                .map(|x| JsonRow {
                    home: x.home.clone(),
                    variant: x.variant.clone(),
                    policy: x.policy.clone(),
                    regions: x.regions.clone(),
                    jobs: x.jobs,
                    skipped: x.skipped,
                    emissions_kg: x.emissions_kg,
                    baseline_kg: x.baseline_kg,
                    saved_percent: x.saved_percent,
                    saved_percent_sd: x.saved_percent_sd,
                    oracle_saved_percent: x.oracle_saved_percent,
                    of_oracle_percent: x.of_oracle_percent,
                    mean_delay_hours: x.mean_delay_hours,
                    max_delay_hours: x.max_delay_hours,
                    deadline_misses: x.deadline_misses,
                    unplaced: x.unplaced,
                    published: x.reference.as_ref().map(|c| JsonPublished {
                        saved_percent: c.saved_percent,
                        diff_pp: c.diff_pp,
                        tolerance_pp: c.tolerance_pp,
                        within_tolerance: c.within,
                        source: c.source.clone(),
                    }),
                })
                .collect(),
            notes: r.notes.clone(),
        }
    }
}

/// One CSV field, quoted when needed.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn csv(report: &Report) -> String {
    let mut out = String::from(
        "scenario,home,variant,policy,regions,jobs,skipped,emissions_kg,baseline_kg,saved_percent,saved_percent_sd,oracle_saved_percent,of_oracle_percent,mean_delay_hours,max_delay_hours,deadline_misses,unplaced,published_saved_percent,diff_pp,within_tolerance\n",
    );
    for r in &report.rows {
        let cells = [
            field(&report.scenario),
            field(&r.home),
            field(&r.variant),
            field(&r.policy),
            field(&r.regions.join("+")),
            r.jobs.to_string(),
            r.skipped.to_string(),
            r.emissions_kg.to_string(),
            r.baseline_kg.to_string(),
            r.saved_percent.to_string(),
            r.saved_percent_sd.to_string(),
            opt(r.oracle_saved_percent),
            opt(r.of_oracle_percent),
            r.mean_delay_hours.to_string(),
            r.max_delay_hours.to_string(),
            r.deadline_misses.to_string(),
            r.unplaced.to_string(),
            opt(r.reference.as_ref().map(|c| c.saved_percent)),
            opt(r.reference.as_ref().map(|c| c.diff_pp)),
            r.reference
                .as_ref()
                .map(|c| c.within.to_string())
                .unwrap_or_default(),
        ];
        out += &cells.join(",");
        out.push('\n');
    }
    out
}
