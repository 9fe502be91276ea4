//! The `kite` binary: parses the command line, builds the engine, renders results.
//!
//! Architecture invariant: no domain logic lives here. Commands turn flags into engine calls
//! and engine results into text, JSON or CSV; errors are printed once by `main` with their
//! causes, and map to a non-zero exit code.

mod args;
mod cmd_intensity;
mod cmd_regions;
mod render;

use anyhow::Result;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    init_tracing(cli.global.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: args::Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        args::Command::Regions(a) => cmd_regions::run(&cli.global, a),
        args::Command::Intensity(a) => runtime.block_on(cmd_intensity::run(&cli.global, *a)),
    }
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
