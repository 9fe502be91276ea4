//! `kite run [options] -- CMD ARGS...`: run a command and measure its energy, carbon and water.
//!
//! Order matters: everything that can fail on bad input (region, flags, output directory, meter
//! choice) is checked *before* the command starts, so a typo never costs a training run; after
//! it starts, problems become diagnostics in the record and the run is always recorded.

use crate::args::{GlobalArgs, RunArgs, parse_interval};
use crate::child;
use crate::cmd_intensity::load_config;
use crate::meters::{choice, meter_env};
use crate::render_run;
use anyhow::{Context, Result, anyhow};
use kite_core::{Clock, SystemClock};
use kite_engine::{IntensityService, RunRequest};
use kite_meter::{Activity, MeterError, ProcessSampler};
use kite_tracker::{ActivitySource, RunOutcome, Tracker};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The process-tree sampler as the tracker's activity source.
struct TreeActivity(ProcessSampler);

impl ActivitySource for TreeActivity {
    fn sample(&mut self) -> Result<Activity, MeterError> {
        self.0.sample()
    }
}

/// Runs the command; returns the exit code to pass through.
pub async fn run(global: &GlobalArgs, args: RunArgs) -> Result<u8> {
    let cfg = load_config(global)?;
    let interval = parse_interval(&args.interval).map_err(|e| anyhow!(e))?;
    if let Some(pue) = args.pue
        && !(pue.is_finite() && (1.0..=3.0).contains(&pue))
    {
        anyhow::bail!(
            "--pue {pue} is not a power usage effectiveness: use a number from 1.0 to 3.0 (e.g. 1.1 for a hyperscale data centre, 1.6 for a typical enterprise one)"
        );
    }
    let csv_path = prepare_output_dir(&args.output_dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let providers = kite_engine::build_providers(&cfg.providers)?;
    let store_path = cfg.database.clone();
    let service = IntensityService::new(
        providers,
        kite_store::Store::open(&store_path).map_err(|e| e.to_string()),
        cfg.fallback.clone(),
        clock.clone(),
    );
    let command: Vec<String> = args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let prepared = kite_engine::prepare_run(
        &cfg,
        &service,
        RunRequest {
            region: args.region.clone(),
            pue: args.pue,
            interval,
            meter: choice(args.meter),
            meter_env: meter_env(),
            project: args.project.clone(),
            experiment: args.experiment.clone(),
            command: command.clone(),
        },
    )
    .await?;

    let booking = crate::books::RunBooking::prepare(
        global,
        crate::books::BookingArgs {
            ledger: args.ledger.as_deref(),
            team: args.team.clone(),
            stage: args.stage,
            plan: args.plan.as_deref().zip(args.job.as_deref()),
        },
    )?;

    // Runs that a crashed kite left `running` are marked interrupted, never silently dropped.
    let mut store = kite_store::Store::open(&store_path)
        .with_context(|| format!("opening the store at {}", store_path.display()))?;
    for id in store
        .mark_interrupted(&kite_tracker::process_is_alive)
        .unwrap_or_default()
    {
        eprintln!(
            "kite: note: run {id} was interrupted (kite stopped while measuring it); its data up to the last save is kept: `kite` run records show it as interrupted"
        );
    }

    let child = child::spawn(&args.command).map_err(|e| {
        let code = e.exit_code();
        anyhow!(e).context(ExitWith(code))
    })?;
    let mut config = prepared.config;
    config.pid = Some(child.pid());
    let sampler = ProcessSampler::new(meter_env().proc_root, child.pid())
        .map(|s| Box::new(TreeActivity(s)) as Box<dyn ActivitySource>);
    let sampler = match sampler {
        Ok(s) => s,
        Err(e) => {
            // The command may already have exited (a very short job): measure nothing, but keep
            // its exit status and say why.
            let (status, _) = child.wait()?;
            eprintln!("kite: could not follow the command's processes: {e}");
            return Ok(child::exit_code(status));
        }
    };
    let tracker = Tracker::start(
        config,
        prepared.meters.meters,
        sampler,
        prepared.intensity,
        Some(store),
    )
    .context("starting the measurement")?;

    let show_status = !args.quiet && std::io::stderr().is_terminal();
    let done = Arc::new(AtomicBool::new(false));
    let tracker = Arc::new(tracker);
    let status_thread = show_status.then(|| {
        let done = Arc::clone(&done);
        let tracker = Arc::clone(&tracker);
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                eprint!("\r\x1b[2K{}", render_run::status_line(&tracker.snapshot()));
            }
            eprint!("\r\x1b[2K");
        })
    });

    let waited = child.wait_then(|| tracker.sample_now(Duration::from_secs(5)));
    done.store(true, Ordering::Relaxed);
    if let Some(t) = status_thread {
        let _ = t.join();
    }
    let tracker =
        Arc::into_inner(tracker).ok_or_else(|| anyhow!("internal: tracker still shared"))?;
    let (outcome, code) = match &waited {
        Ok((status, signal)) => {
            let code = child::exit_code(*status);
            let outcome = match (status.code(), status_signal(status), signal) {
                (Some(0), _, _) => RunOutcome::Succeeded { exit_code: Some(0) },
                (Some(c), _, _) => RunOutcome::Failed { exit_code: Some(c) },
                (None, Some(sig), _) => RunOutcome::Interrupted {
                    reason: format!("the command was killed by {}", child::signal_name(sig)),
                },
                (None, None, _) => RunOutcome::Failed { exit_code: None },
            };
            (outcome, code)
        }
        Err(e) => (
            RunOutcome::Interrupted {
                reason: format!("lost track of the command: {e}"),
            },
            1,
        ),
    };

    // The run may have outlasted the intensity fetched at the start; refresh it for the whole
    // run, so live providers can replace forecasts and estimates with what was measured.
    let now = clock.now();
    let started = now - kite_core::SignedDuration::from_secs_f64(tracker.snapshot().elapsed_secs);
    if let Ok((segments, _)) = kite_engine::fetch_intensity(
        &service,
        &prepared.zone.key,
        cfg.signal,
        started,
        now + kite_core::SignedDuration::from_hours(1),
    )
    .await
    {
        tracker.set_intensity(segments);
    }
    let record = tracker.stop(outcome).context("finishing the measurement")?;

    let csv = kite_tracker::codecarbon::append_row(&csv_path, &record, &prepared.host);
    // Booked before the overhead is read, so kite's reported cost includes the append.
    let booked = booking
        .as_ref()
        .map(|b| (b.path(), b.book(&record, &store_path)));
    let overhead = render_run::Overhead::of_this_process();
    eprint!(
        "{}",
        render_run::summary(
            &record,
            &prepared.meters.diagnostics,
            &prepared.intensity_notes,
            Some((&csv_path, csv.as_ref().err().map(|e| e.to_string()))),
            &store_path,
        )
    );
    if let Some((ledger, booked)) = booked {
        // The run is already stored; a failed append is reported, and the job's exit code still
        // passes through.
        match booked {
            Ok((range, notes)) => {
                for n in notes {
                    eprintln!("kite: note: {n}");
                }
                eprintln!(
                    "kite: booked in the ledger {} as entr{} {}",
                    ledger.display(),
                    if range.end - range.start == 1 {
                        "y"
                    } else {
                        "ies"
                    },
                    range.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
                );
            }
            Err(e) => eprintln!(
                "kite: error: run {} is stored but not booked: {e:#}",
                record.run_id
            ),
        }
    }
    if args.json {
        crate::emit(&render_run::record_json(&record, &overhead)?)?;
    }
    Ok(code)
}

fn status_signal(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

/// Creates the output directory if needed and checks that `emissions.csv` can be appended to,
/// before anything runs.
fn prepare_output_dir(dir: &std::path::Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "--output-dir {}: cannot create it; choose a writable directory",
            dir.display()
        )
    })?;
    let path = dir.join("emissions.csv");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| {
            format!(
                "--output-dir {}: cannot write {}; choose a writable directory",
                dir.display(),
                path.display()
            )
        })?;
    Ok(path)
}

/// Carries a specific exit code through `anyhow` (127 for a command not found).
#[derive(Debug)]
pub struct ExitWith(pub u8);

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kite run")
    }
}
