//! `kite report`: the books of a period, computed from the ledger and rendered as HTML (with
//! SVG charts), Markdown, JSON or CSV, carrying the checkpoint it was computed from and the
//! result of verifying the ledger first.
//!
//! Which checkpoint: when the log has grown past its newest checkpoint and the ledger's signing
//! key sits next to it (`kite ledger init` puts it there), a new checkpoint is signed so the
//! report covers every entry; without the key, the report counts the entries the newest
//! checkpoint covers and says how many later ones it left out.

use crate::args::GlobalArgs;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use kite_accounting::{BooksOptions, Filter, Period};
use kite_core::{Clock, SystemClock};
use kite_ledger::{Ledger, Signer, key_paths};
use kite_report::{Books, Format, Verification};
use std::path::PathBuf;

/// `kite report` flags.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The period: 2026-10 (a month), 2026-Q4, 2026, 2026-10-05, or FROM..TO (UTC).
    #[arg(long)]
    pub period: String,
    /// Only this project.
    #[arg(long)]
    pub project: Option<String>,
    /// Only this team.
    #[arg(long)]
    pub team: Option<String>,
    /// Output format (default: from the --out extension, else md).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The ledger to compute from (default: $KITE_LEDGER, then ledger.sqlite3 next to kite's
    /// database, as `kite ledger` uses). If entries were appended since its newest checkpoint
    /// and its signing key is beside it, a new checkpoint is signed to cover them.
    #[arg(long, env = "KITE_LEDGER", value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// How many runs the top-jobs table lists.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

/// Report formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    /// A self-contained HTML page with SVG charts.
    Html,
    /// Markdown tables.
    Md,
    /// JSON: the ledger checkpoint and the statement.
    Json,
    /// CSV: one row per figure.
    Csv,
}

fn format_of(args: &ReportArgs) -> Result<Format> {
    let f = match (args.format, &args.out) {
        (Some(f), _) => f,
        (None, Some(out)) => match out.extension().and_then(|e| e.to_str()) {
            Some("html" | "htm") => ReportFormat::Html,
            Some("json") => ReportFormat::Json,
            Some("csv") => ReportFormat::Csv,
            Some("md" | "markdown") | None => ReportFormat::Md,
            Some(other) => bail!(
                "--out {}: cannot tell the format from `.{other}`; add --format html|md|json|csv",
                out.display()
            ),
        },
        (None, None) => ReportFormat::Md,
    };
    Ok(match f {
        ReportFormat::Html => Format::Html,
        ReportFormat::Md => Format::Markdown,
        ReportFormat::Json => Format::Json,
        ReportFormat::Csv => Format::Csv,
    })
}

/// Runs `kite report`; exits 1 (after writing the report) when the ledger fails verification.
pub fn run(global: &GlobalArgs, args: ReportArgs) -> Result<u8> {
    let format = format_of(&args)?;
    let period = Period::parse(&args.period).context("--period")?;
    let path = &crate::books::ledger_path(global, args.ledger.as_deref())?;
    if !path.exists() {
        bail!(
            "--ledger {}: no ledger there; create one with `kite ledger init`, or point --ledger \
             (or KITE_LEDGER) at an existing one",
            path.display()
        );
    }
    let ledger = Ledger::open(path).with_context(|| format!("--ledger {}", path.display()))?;
    // The key `kite ledger init` put beside the ledger, if readable: a fresh checkpoint then
    // covers every entry.
    let (key, _) = key_paths(path);
    let signer = Signer::load(&key);
    let books = Books::read(&ledger, signer.as_ref().ok())
        .with_context(|| format!("--ledger {}", path.display()))?;
    let filter = Filter {
        project: args.project.clone(),
        team: args.team.clone(),
    };
    let options = BooksOptions {
        top_jobs: args.top,
        ..BooksOptions::standard()
    };
    let Some(mut report) = books.report(&period, &filter, &options) else {
        let e = signer.err().map(|e| e.to_string()).unwrap_or_default();
        bail!(
            "--ledger {}: the ledger has no checkpoint and its signing key {} cannot be read ({e}); \
             sign one with `kite ledger checkpoint`",
            path.display(),
            key.display()
        );
    };
    let size = report.ledger.checkpoint.tree_size;
    let failed = !report.ledger.verification.is_verified();
    report.generated_at = Some(SystemClock.now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    let text = kite_report::render(&report, format)?;
    match &args.out {
        Some(out) => {
            std::fs::write(out, &text).with_context(|| format!("--out {}", out.display()))?;
            eprintln!(
                "wrote {} ({}, ledger size {}, {})",
                out.display(),
                report.statement.period.label,
                size,
                if failed {
                    "verification FAILED"
                } else {
                    "verified"
                }
            );
        }
        None => crate::emit(&text)?,
    }
    if let Verification::Failed { error } = &report.ledger.verification {
        eprintln!("error: the ledger failed verification: {error}");
        return Ok(1);
    }
    Ok(0)
}
