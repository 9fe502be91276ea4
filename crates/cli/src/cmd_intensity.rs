//! `kite intensity REGION …` and `kite intensity import FILE…`.

use crate::args::{GlobalArgs, ImportArgs, IntensityArgs, IntensitySub, OutputFormat, TableOrJson};
use crate::render;
use anyhow::{Context, Result, anyhow, bail};
use kite_core::{Clock, Resolution, Signal, SystemClock, TimeWindow, parse_time};
use kite_engine::{Config, IntensityRequest, IntensityService, ProcessEnv};
use std::sync::Arc;

/// Loads the configuration with command-line overrides applied.
pub fn load_config(global: &GlobalArgs) -> Result<Config> {
    let mut cfg = Config::load(global.config.as_deref(), &ProcessEnv)?;
    if let Some(db) = &global.database {
        cfg.database = db.clone();
    }
    if global.offline {
        cfg.providers.clear();
    }
    Ok(cfg)
}

/// `--signal`, naming the accepted values when it is not one.
pub fn parse_signal(s: &str) -> Result<Signal> {
    Signal::parse(s).ok_or_else(|| {
        anyhow!("--signal `{s}` is not a signal: use average-lifecycle, average-direct or marginal")
    })
}

/// `--signal` if given, else the configured default.
pub fn signal_arg(arg: Option<&str>, cfg: &Config) -> Result<Signal> {
    arg.map_or(Ok(cfg.signal), parse_signal)
}

pub async fn run(global: &GlobalArgs, args: IntensityArgs) -> Result<()> {
    if let Some(IntensitySub::Import(import)) = args.sub {
        return run_import(global, import);
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
    let resolution = args
        .resolution
        .as_deref()
        .map(Resolution::parse)
        .transpose()
        .context("--resolution")?;
    let window = match (&args.at, &args.from, &args.to) {
        (_, Some(from), Some(to)) => {
            let start = parse_time(from, now).context("--from")?;
            let end = parse_time(to, now).context("--to")?;
            TimeWindow::new(start, end).context("--from/--to")?
        }
        (at, _, _) => {
            let t = match at {
                Some(at) => parse_time(at, now).context("--at")?,
                None => now,
            };
            TimeWindow::new(t, t + kite_core::SignedDuration::from_secs(1)).context("--at")?
        }
    };
    let span_days = window.duration().as_secs() / 86_400;
    if span_days > 3700 {
        bail!("--from/--to spans {span_days} days; ask for at most about ten years at a time");
    }
    let providers = kite_engine::build_providers(&cfg.providers)?;
    let store = kite_store::Store::open(&cfg.database)
        .map_err(|e| format!("cannot open {}: {e}", cfg.database.display()));
    let service = IntensityService::new(providers, store, cfg.fallback.clone(), clock);
    let request = IntensityRequest {
        region,
        window,
        signal,
        resolution,
        source: args.source.clone(),
    };
    let answer = service.intensity(&request).await?;
    let single = args.at.is_some() || args.from.is_none();
    let out = match args.format {
        OutputFormat::Table => render::intensity_table(&answer, single),
        OutputFormat::Json => render::intensity_json(&answer)?,
        OutputFormat::Csv => render::intensity_csv(&answer),
    };
    crate::emit(&out)?;
    if args.format == OutputFormat::Table {
        for note in &answer.notes {
            eprintln!("note: {}: {}", note.source, note.message);
        }
        for gap in &answer.gaps {
            eprintln!(
                "note: no data from any source for [{}, {})",
                gap.start, gap.end
            );
        }
    }
    Ok(())
}

fn run_import(global: &GlobalArgs, args: ImportArgs) -> Result<()> {
    let cfg = load_config(global)?;
    let now = SystemClock.now();
    let signal = args.signal.as_deref().map(parse_signal).transpose()?;
    if !(args.max_value.is_finite() && args.max_value > 0.0) {
        bail!(
            "--max-value {} is not a positive number of gCO2e/kWh",
            args.max_value
        );
    }
    let opts = kite_ingest::ImportOptions {
        signal,
        source: args.source.clone(),
        region: args.region.clone(),
        assume_utc: args.assume_utc,
        max_value: args.max_value,
    };
    let mut store = kite_store::Store::open(&cfg.database)
        .with_context(|| format!("opening the store at {}", cfg.database.display()))?;
    let started = std::time::Instant::now();
    let summary = kite_engine::import_files(&mut store, &args.files, &opts, now)?;
    let secs = started.elapsed().as_secs_f64();
    match args.format {
        TableOrJson::Table => crate::emit(&render::import_table(&summary, secs, &cfg.database))?,
        TableOrJson::Json => crate::emit(&render::import_json(&summary, secs, &cfg.database)?)?,
    }
    Ok(())
}
