//! `kite forecast REGION` (kite's own forecast, beside a live provider's where one answers) and
//! `kite forecast backtest` (rolling-origin evaluation with MAPE/MAE/RMSE per forecast day and
//! interval coverage, as a table, CSV, JSON and an SVG chart).
//!
//! History comes from the store's latest measured data, else the embedded dataset (labelled
//! offline). The models, the backtest protocol and the interval method live in kite-forecast;
//! this module picks the history, renders, and maps errors to messages.

use crate::args::{GlobalArgs, OutputFormat};
use crate::cmd_intensity::{load_config, signal_arg};
use crate::render::{self, csv_field};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use kite_core::{
    Clock, Provenance, Resolution, Signal, SignedDuration, SystemClock, TimeWindow, Timestamp,
    ZoneKey, parse_time,
};
use kite_engine::{
    Config, ForecastHistory, IntensityRequest, IntensityService, SourceKind, embedded_history,
    forecast_series, stored_history,
};
use kite_forecast::{BacktestConfig, BacktestReport, ForecastOutput, IssueRule};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// `kite forecast` flags.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ForecastArgs {
    #[command(subcommand)]
    pub sub: Option<ForecastSub>,
    /// Zone key, balancing authority or cloud region (default: `region` in the config file).
    pub region: Option<String>,
    /// Hours to forecast (1 to 96).
    #[arg(long, default_value_t = 48)]
    pub hours: usize,
    /// `auto` (the ensemble) or one of persistence, seasonal-naive, climatology, mstl, learned.
    #[arg(long, default_value = "auto")]
    pub model: String,
    /// Issue time (default: the end of the latest history). RFC 3339, a date, or now-2d.
    #[arg(long)]
    pub at: Option<String>,
    /// average-lifecycle (default), average-direct, or marginal.
    #[arg(long)]
    pub signal: Option<String>,
    /// History to forecast from: `auto` (store, else embedded), `store` or `embedded`.
    #[arg(long, default_value = "auto")]
    pub history: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum ForecastSub {
    /// Rolling-origin backtest: one forecast per day, scored against what happened.
    Backtest(BacktestArgs),
}

/// `kite forecast backtest` flags.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Zone key, balancing authority or cloud region.
    #[arg(long)]
    pub region: String,
    /// Models, comma-separated (persistence, seasonal-naive, climatology, mstl, learned,
    /// ensemble), or `all`.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    pub model: Vec<String>,
    /// First issue date (UTC).
    #[arg(long)]
    pub from: String,
    /// Last issue date (UTC, inclusive).
    #[arg(long)]
    pub to: String,
    /// Forecast horizon in hours (e.g. 96h or 96).
    #[arg(long, default_value = "96h")]
    pub horizon: String,
    /// Issue time of day, UTC, on the hour (HH:MM).
    #[arg(long, default_value = "00:00")]
    pub issue_at: String,
    /// average-lifecycle (default), average-direct, or marginal.
    #[arg(long)]
    pub signal: Option<String>,
    /// Only history whose source starts with this (e.g. carboncast, em-, import:).
    #[arg(long)]
    pub source: Option<String>,
    /// History: `auto` (store if it covers the test window, else embedded), `store`, `embedded`.
    #[arg(long, default_value = "auto")]
    pub history: String,
    /// Weather-forecast features: a CarbonCast `<R>_weather_forecast.csv(.gz)` file.
    #[arg(long, value_name = "FILE")]
    pub weather: Option<PathBuf>,
    /// Train learned models only on data before this date (CarbonCast's protocol trains before
    /// its test window); default: everything before each issue.
    #[arg(long, value_name = "DATE")]
    pub train_before: Option<String>,
    /// Hours before 00:00 UTC of each target day that a weather row is taken to be issued
    /// (0: a 00:00 forecast sees only its first day's weather).
    #[arg(long, default_value_t = 0)]
    pub weather_lead: i64,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Also write an SVG chart of MAPE by forecast day, one line per model.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
}

pub async fn run(global: &GlobalArgs, args: ForecastArgs) -> Result<()> {
    if let Some(ForecastSub::Backtest(b)) = args.sub {
        return backtest(global, b);
    }
    let cfg = load_config(global)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let region = args
        .region
        .clone()
        .or_else(|| cfg.region.clone())
        .ok_or(kite_engine::EngineError::NoRegion)?;
    let signal = signal_arg(args.signal.as_deref(), &cfg)?;
    if !(1..=kite_engine::MAX_HORIZON_HOURS).contains(&args.hours) {
        bail!(
            "--hours {} is out of range: kite forecasts 1 to {} h ahead",
            args.hours,
            kite_engine::MAX_HORIZON_HOURS
        );
    }
    let at = args
        .at
        .as_deref()
        .map(|a| parse_time(a, now).map(|t| Resolution::HOUR.floor(t)))
        .transpose()
        .context("--at")?;
    let service = IntensityService::new(
        kite_engine::build_providers(&cfg.providers)?,
        kite_store::Store::open(&cfg.database).map_err(|e| e.to_string()),
        vec![SourceKind::Live],
        clock.clone(),
    );
    let zone = service.resolve(&region)?;
    let history = pick_history(
        &cfg,
        &zone.key,
        signal,
        &args.history,
        at.unwrap_or(now),
        None,
    )?;
    let (series, output) =
        forecast_series(&zone.key, signal, &history, at, args.hours, &args.model)?;
    // A live provider's own forecast for the same hours, shown beside kite's, labelled.
    let mut provider = Vec::new();
    if !cfg.providers.is_empty() && !global.offline {
        let window = TimeWindow::new(
            output.start,
            output.start + SignedDuration::from_hours(args.hours as i64),
        )?;
        let req = IntensityRequest {
            region: zone.key.to_string(),
            window,
            signal,
            resolution: Some(Resolution::HOUR),
            source: None,
        };
        if let Ok(answer) = service.intensity(&req).await {
            for seg in &answer.segments {
                if matches!(seg.meta().provenance, Provenance::Forecast { .. }) {
                    for p in seg.points() {
                        provider.push((p.start, p.value.0, seg.meta().source.clone()));
                    }
                }
            }
        }
    }
    let doc = ForecastDoc {
        zone: zone.key.to_string(),
        signal: signal.to_string(),
        history: history.source.clone(),
        offline_history: history.embedded,
        source: series.meta().source.clone(),
        forecast: &output,
        provider: provider
            .iter()
            .map(|(t, v, s)| ProviderPoint {
                start: *t,
                gco2_per_kwh: *v,
                source: s.clone(),
            })
            .collect(),
    };
    let stale_h = (now.as_second() - output.issue_at.as_second()) / 3600;
    let mut notes: Vec<String> = output.notes.clone();
    if history.embedded && at.is_none() {
        notes.push(format!(
            "no measured data for {} in the store: this forecast starts where the embedded \
             history ends ({}), not now; import or fetch recent data (`kite intensity import`) \
             to forecast from now",
            zone.key,
            output.issue_at.strftime("%Y-%m-%d %H:%MZ")
        ));
    } else if stale_h > 24 && at.is_none() {
        notes.push(format!(
            "the latest measured data ends {stale_h} h before now: the forecast starts there"
        ));
    }
    for n in &notes {
        eprintln!("kite: note: {n}");
    }
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&doc)?),
        OutputFormat::Csv => print!("{}", forecast_csv(&doc)),
        OutputFormat::Table => print!("{}", forecast_table(&doc)),
    }
    Ok(())
}

/// The history named by `--history`, measured data up to `not_after`.
fn pick_history(
    cfg: &Config,
    zone: &ZoneKey,
    signal: Signal,
    which: &str,
    not_after: Timestamp,
    embedded_window: Option<(Option<&str>, TimeWindow)>,
) -> Result<ForecastHistory> {
    let from_store = || -> Result<Option<ForecastHistory>> {
        let store = kite_store::Store::open(&cfg.database)
            .with_context(|| format!("opening the store at {}", cfg.database.display()))?;
        Ok(stored_history(
            &store,
            &cfg.database.display().to_string(),
            zone,
            signal,
            not_after,
        )?)
    };
    let from_embedded = || match embedded_window {
        Some((source, w)) => embedded_history(zone, signal, source, Some(w)),
        None => embedded_history(zone, signal, None, None),
    };
    let none = |what: &str| {
        anyhow!(
            "no {what} {signal} history for {zone} to forecast from: import hourly data \
             (`kite intensity import FILE --region {zone}`), or pick a zone with embedded \
             history (`kite regions`)"
        )
    };
    match which {
        "store" => from_store()?.ok_or_else(|| none("stored measured")),
        "embedded" => from_embedded().ok_or_else(|| none("embedded")),
        "auto" => match from_store().ok().flatten() {
            Some(h) => Ok(h),
            None => from_embedded().ok_or_else(|| none("stored or embedded")),
        },
        other => bail!("--history `{other}` is not a history: use auto, store or embedded"),
    }
}

#[derive(Serialize)]
struct ForecastDoc<'a> {
    zone: String,
    signal: String,
    /// Where the history came from.
    history: String,
    /// True when the history is the embedded (offline, years-old) dataset.
    offline_history: bool,
    /// The forecast's source label.
    source: String,
    forecast: &'a ForecastOutput,
    /// A live provider's forecast for the same hours, if one answered.
    provider: Vec<ProviderPoint>,
}

#[derive(Serialize)]
struct ProviderPoint {
    start: Timestamp,
    gco2_per_kwh: f64,
    source: String,
}

fn forecast_table(doc: &ForecastDoc<'_>) -> String {
    let f = doc.forecast;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} forecast by kite ({}), issued {}, from {}",
        doc.zone,
        doc.signal,
        f.model,
        f.issue_at.strftime("%Y-%m-%d %H:%MZ"),
        doc.history
    );
    let mut t = render::table();
    let mut header = vec!["hour (UTC)", "gCO2e/kWh", "p10", "p90"];
    if !doc.provider.is_empty() {
        header.push("provider forecast");
    }
    t.set_header(header);
    for (i, v) in f.point.iter().enumerate() {
        let start = f.start + SignedDuration::from_hours(i as i64);
        let mut row = vec![
            start.strftime("%Y-%m-%d %H:%M").to_string(),
            format!("{v:.0}"),
            format!("{:.0}", f.p10.get(i).copied().unwrap_or(f64::NAN)),
            format!("{:.0}", f.p90.get(i).copied().unwrap_or(f64::NAN)),
        ];
        if !doc.provider.is_empty() {
            row.push(
                doc.provider
                    .iter()
                    .find(|p| p.start == start)
                    .map(|p| format!("{:.0} ({})", p.gco2_per_kwh, p.source))
                    .unwrap_or_default(),
            );
        }
        t.add_row(row);
    }
    let _ = writeln!(out, "{t}");
    let _ = writeln!(out, "intervals: {}", f.intervals);
    out
}

fn forecast_csv(doc: &ForecastDoc<'_>) -> String {
    let f = doc.forecast;
    let mut out =
        String::from("timestamp,region,gco2_per_kwh,p10,p50,p90,model,issued_at,source\n");
    for (i, v) in f.point.iter().enumerate() {
        let start = f.start + SignedDuration::from_hours(i as i64);
        let _ = writeln!(
            out,
            "{},{},{v:.2},{:.2},{:.2},{:.2},{},{},{}",
            start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            doc.zone,
            f.p10.get(i).copied().unwrap_or(f64::NAN),
            f.p50.get(i).copied().unwrap_or(f64::NAN),
            f.p90.get(i).copied().unwrap_or(f64::NAN),
            csv_field(&f.model),
            f.issue_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            csv_field(&doc.source),
        );
    }
    for p in &doc.provider {
        let _ = writeln!(
            out,
            "{},{},{:.2},,,,provider,,{}",
            p.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            doc.zone,
            p.gco2_per_kwh,
            csv_field(&p.source)
        );
    }
    out
}

fn parse_hours(s: &str) -> Result<usize> {
    let digits = s.trim().trim_end_matches('h');
    digits
        .parse::<usize>()
        .map_err(|_| anyhow!("--horizon `{s}` is not a number of hours: use e.g. 96h or 48"))
}

fn parse_issue_hour(s: &str) -> Result<u8> {
    let bad =
        || anyhow!("--issue-at `{s}` is not a time on the hour: use HH:00, e.g. 00:00 or 12:00");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let h: u8 = h.parse().map_err(|_| bad())?;
    if m != "00" || h > 23 {
        return Err(bad());
    }
    Ok(h)
}

fn backtest(global: &GlobalArgs, args: BacktestArgs) -> Result<()> {
    let cfg = load_config(global)?;
    let now = SystemClock.now();
    let signal = signal_arg(args.signal.as_deref(), &cfg)?;
    let horizon = parse_hours(&args.horizon)?;
    let issue_hour = parse_issue_hour(&args.issue_at)?;
    let day = |s: &str, flag: &str| -> Result<Timestamp> {
        let t = parse_time(s, now).with_context(|| format!("--{flag}"))?;
        let secs = t.as_second().div_euclid(86_400) * 86_400;
        Timestamp::from_second(secs).with_context(|| format!("--{flag}"))
    };
    let first = day(&args.from, "from")? + SignedDuration::from_hours(issue_hour.into());
    let last = day(&args.to, "to")? + SignedDuration::from_hours(issue_hour.into());
    if last < first {
        bail!(
            "--to {} is before --from {}: the last issue date must not precede the first",
            args.to,
            args.from
        );
    }
    let mut models: Vec<String> = Vec::new();
    for m in &args.model {
        if m == "all" {
            models.extend(kite_forecast::model_names().iter().map(|s| s.to_string()));
        } else if m == "auto" {
            models.push("ensemble".into());
        } else {
            kite_forecast::model_by_name(m).map_err(|e| anyhow!("--model: {e}"))?;
            models.push(m.clone());
        }
    }
    let registry = kite_regions::Registry::embedded();
    let zone = registry
        .resolve(&args.region)
        .map_err(|e| anyhow!("--region: {e}"))?;
    // Everything a forecast issued up to `last` may see, plus the actuals it is scored on.
    let end = last + SignedDuration::from_hours(horizon as i64);
    let window = TimeWindow::new(
        first - SignedDuration::from_hours(24 * (kite_engine::LOOKBACK_DAYS + 120)),
        end,
    )?;
    let history = pick_history(
        &cfg,
        &zone.key,
        signal,
        &args.history,
        end,
        Some((args.source.as_deref(), window)),
    )?;
    let exogenous = args
        .weather
        .as_deref()
        .map(|p| {
            kite_forecast::load_carboncast_weather(
                p,
                IssueRule {
                    hours_before_target_day: args.weather_lead,
                },
            )
        })
        .transpose()
        .map_err(|e| anyhow!("--weather: {e}"))?;
    let config = BacktestConfig {
        first_issue: first,
        last_issue: last,
        issue_hour,
        horizon,
        models,
        calibration_issues: kite_forecast::backtest::DEFAULT_CALIBRATION_ISSUES,
        options: kite_forecast::ModelOptions {
            train_before: args
                .train_before
                .as_deref()
                .map(|t| parse_time(t, now))
                .transpose()
                .context("--train-before")?,
        },
    };
    let mut report = kite_forecast::backtest(&history.history, exogenous.as_ref(), &config)
        .map_err(|e| anyhow!("{e}"))?;
    report.zone_label = format!("{} {} ({})", zone.key, signal, history.source);
    if let Some(path) = &args.chart {
        std::fs::write(path, backtest_chart(&report))
            .with_context(|| format!("--chart: writing {}", path.display()))?;
    }
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Csv => print!("{}", backtest_csv(&report)),
        OutputFormat::Table => print!("{}", backtest_table(&report)),
    }
    Ok(())
}

fn backtest_table(r: &BacktestReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} issues, {} h horizon, {:.1} s",
        r.zone_label, r.issues, r.horizon, r.elapsed_secs
    );
    let days = r.models.iter().map(|m| m.days.len()).max().unwrap_or(0);
    let mut t = render::table();
    let mut header = vec!["model".to_string()];
    for d in 1..=days {
        header.push(format!("day {d} MAPE %"));
    }
    header.extend([
        "MAE d1".into(),
        "RMSE d1".into(),
        "80% cover d1".into(),
        "fit s".into(),
    ]);
    t.set_header(header);
    for m in &r.models {
        let mut row = vec![m.model.clone()];
        for d in 0..days {
            row.push(
                m.days
                    .get(d)
                    .map(|x| format!("{:.2}", x.mape))
                    .unwrap_or_default(),
            );
        }
        let d1 = m.days.first();
        row.push(d1.map(|x| format!("{:.1}", x.mae)).unwrap_or_default());
        row.push(d1.map(|x| format!("{:.1}", x.rmse)).unwrap_or_default());
        row.push(
            d1.map(|x| format!("{:.0} %", x.coverage_80))
                .unwrap_or_default(),
        );
        row.push(format!("{:.2}", m.fit_secs));
        t.add_row(row);
    }
    let _ = writeln!(out, "{t}");
    for m in &r.models {
        for n in &m.notes {
            let _ = writeln!(out, "note: {}: {n}", m.model);
        }
    }
    out
}

fn backtest_csv(r: &BacktestReport) -> String {
    let mut out = String::from("model,day,mape_percent,mae,rmse,coverage_80_percent,n\n");
    for m in &r.models {
        for d in &m.days {
            let _ = writeln!(
                out,
                "{},{},{:.4},{:.4},{:.4},{:.2},{}",
                csv_field(&m.model),
                d.day,
                d.mape,
                d.mae,
                d.rmse,
                d.coverage_80,
                d.n
            );
        }
    }
    out
}

/// MAPE by forecast day, one line per model, with each day's value in a marker's tooltip.
fn backtest_chart(r: &BacktestReport) -> String {
    let days = r
        .models
        .iter()
        .map(|m| m.days.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let legend: Vec<_> = r
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| kite_chart::LegendItem::line(m.model.clone(), kite_chart::PALETTE[i % 8]))
        .collect();
    let frame = kite_chart::Frame::new(
        format!(
            "{}: MAPE by forecast day ({} issues)",
            r.zone_label, r.issues
        ),
        720.0,
        420.0,
    )
    .description("Mean absolute percentage error of each model's forecasts, by day ahead.")
    .margins(70.0, 200.0, 50.0, 50.0);
    let (mut svg, plot) = kite_chart::frame(&frame);
    let mut chart = kite_chart::LineChart::new(kite_chart::XAxis::Categories(
        (1..=days).map(|d| format!("day {d}")).collect(),
    ))
    .y(kite_chart::YAxis::new("MAPE", " %"));
    chart.max_x_labels = days;
    for (i, m) in r.models.iter().enumerate() {
        let points = m
            .days
            .iter()
            .map(|d| (d.day as f64 - 1.0, d.mape))
            .collect();
        let tips = m
            .days
            .iter()
            .map(|d| format!("{} day {}: {:.2} %", m.model, d.day, d.mape))
            .collect();
        chart = chart.series(
            kite_chart::Series::line(m.model.clone(), kite_chart::PALETTE[i % 8], points)
                .markers(tips),
        );
    }
    chart.draw(&mut svg, plot);
    kite_chart::legend_column(&mut svg, plot.right() + 15.0, plot.y, &legend);
    svg.finish()
}
