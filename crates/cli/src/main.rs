//! The `kite` binary: parses the command line, builds the engine, renders results.
//!
//! Architecture invariant: no domain logic lives here. Commands turn flags into engine calls
//! and engine results into text, JSON or CSV; errors are printed once by `main` with their
//! causes, and map to a non-zero exit code.

mod args;
mod books;
mod child;
mod cmd_claims;
mod cmd_forecast;
mod cmd_intensity;
mod cmd_jobs;
mod cmd_ledger;
mod cmd_monitor;
mod cmd_plan;
mod cmd_regions;
mod cmd_report;
mod cmd_run;
mod cmd_runs;
mod cmd_serve;
mod cmd_simulate;
mod meters;
mod render;
mod render_run;

use anyhow::Result;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    init_tracing(cli.global.verbose);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            // A command that could not start exits like a shell would (127 not found, 126).
            match err.downcast_ref::<cmd_run::ExitWith>() {
                Some(cmd_run::ExitWith(code)) => ExitCode::from(*code),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// Runs a command; the result is the process exit code.
fn run(cli: args::Cli) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ok = |r: Result<()>| r.map(|()| 0u8);
    match cli.command {
        args::Command::Regions(a) => ok(cmd_regions::run(&cli.global, a)),
        args::Command::Intensity(a) => ok(runtime.block_on(cmd_intensity::run(&cli.global, *a))),
        args::Command::Run(a) => runtime.block_on(cmd_run::run(&cli.global, *a)),
        args::Command::Runs(a) => ok(cmd_runs::run(&cli.global, a)),
        args::Command::Monitor(a) => ok(runtime.block_on(cmd_monitor::run(&cli.global, *a))),
        args::Command::Plan(a) => runtime.block_on(cmd_plan::run(&cli.global, *a)),
        args::Command::Simulate(a) => cmd_simulate::run(&cli.global, *a),
        args::Command::Forecast(a) => ok(runtime.block_on(cmd_forecast::run(&cli.global, *a))),
        args::Command::Ledger(a) => cmd_ledger::run(&cli.global, *a),
        args::Command::Report(a) => cmd_report::run(&cli.global, *a),
        args::Command::CheckClaims(a) => cmd_claims::run(&cli.global, *a),
        args::Command::Serve(a) => ok(serve_runtime()?.block_on(cmd_serve::run(&cli.global, *a))),
        args::Command::Submit(a) => ok(runtime.block_on(cmd_jobs::submit(&cli.global, *a))),
        args::Command::Jobs(a) => ok(runtime.block_on(cmd_jobs::jobs(&cli.global, *a))),
        args::Command::Job(a) => ok(runtime.block_on(cmd_jobs::job(&cli.global, *a))),
        args::Command::Cancel(a) => ok(runtime.block_on(cmd_jobs::cancel(&cli.global, *a))),
    }
}

/// `kite serve`'s runtime: HTTP workers on all cores but one (at least one), which is left to
/// the planning loop's own thread and the jobs kite runs locally. On 2 cores one worker also
/// answered the load benchmark faster and with a far shorter tail than two (docs/benchmarks.md,
/// "HTTP API"). `TOKIO_WORKER_THREADS` overrides it.
fn serve_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        b.worker_threads(cores.saturating_sub(1).max(1));
    }
    b.enable_all().build()
}

/// Writes command output to stdout. A closed pipe (`kite regions | head`) is not an error: the
/// reader has what it wanted, so we stop quietly instead of panicking like `print!` would.
pub fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KITE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}
