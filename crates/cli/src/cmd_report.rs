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
use kite_accounting::{BooksOptions, Filter, Period, Record};
use kite_core::{Clock, SystemClock};
use kite_ledger::{Ledger, SignedCheckpoint, Signer, VerifyReport, key_paths};
use kite_report::{Format, LedgerCheckpoint, LedgerProvenance, Report, Verification};
use std::path::{Path, PathBuf};

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
    let (checkpoint, mut caveats) = checkpoint_for(&ledger, path)?;
    let verified = ledger
        .verify()
        .with_context(|| format!("verifying the ledger {}", path.display()))?;
    let size = checkpoint.checkpoint.size;
    let entries = ledger
        .entries(0..size)
        .with_context(|| format!("reading entries 0..{size} of {}", path.display()))?;
    let mut records = Vec::with_capacity(entries.len());
    let (mut excluded, mut skipped) = (Vec::new(), Vec::new());
    for (index, entry) in (0u64..).zip(&entries) {
        if verified.bad_entries.binary_search(&index).is_ok() {
            excluded.push(index);
            continue;
        }
        match entry
            .value()
            .map_err(|e| e.to_string())
            .and_then(|v| Record::from_value(&v).map_err(|e| e.to_string()))
        {
            Ok(r) => records.push(r),
            Err(e) => skipped.push(format!("entry {index}: {e}")),
        }
    }
    if !excluded.is_empty() {
        caveats.push(format!(
            "{} entr(ies) failed verification and are not counted: {}",
            excluded.len(),
            list(&excluded)
        ));
    }
    if !skipped.is_empty() {
        caveats.push(format!(
            "{} entr(ies) are not accounting records and are not counted (first: {})",
            skipped.len(),
            skipped[0]
        ));
    }
    let filter = Filter {
        project: args.project.clone(),
        team: args.team.clone(),
    };
    let options = BooksOptions {
        top_jobs: args.top,
        ..BooksOptions::standard()
    };
    let mut statement = kite_accounting::statement(&records, &period, &filter, &options);
    statement.caveats.extend(caveats);
    let verification = verification(&verified, &checkpoint);
    let failed = !verification.is_verified();
    let mut report = Report::new(
        statement,
        LedgerProvenance {
            checkpoint: provenance(&checkpoint),
            verification,
        },
    );
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

/// The checkpoint to compute from: a fresh one if entries are unsigned and the key is at hand,
/// else the newest stored one (with a caveat naming the entries it leaves out).
fn checkpoint_for(ledger: &Ledger, path: &Path) -> Result<(SignedCheckpoint, Vec<String>)> {
    let (size, _) = ledger.root()?;
    let latest = ledger.latest_checkpoint()?;
    if let Some(c) = latest.as_ref().filter(|c| c.checkpoint.size == size) {
        return Ok((c.clone(), Vec::new()));
    }
    let (key, _) = key_paths(path);
    match (Signer::load(&key), latest) {
        (Ok(signer), _) => {
            let c = ledger.checkpoint(&signer).with_context(|| {
                format!(
                    "signing a checkpoint of {} with {}",
                    path.display(),
                    key.display()
                )
            })?;
            Ok((c, Vec::new()))
        }
        (Err(_), Some(c)) => {
            let left = size - c.checkpoint.size;
            let note = format!(
                "{left} entr(ies) appended after the newest checkpoint (size {}) are not counted: \
                 sign one with `kite ledger checkpoint` to include them",
                c.checkpoint.size
            );
            Ok((c, vec![note]))
        }
        (Err(e), None) => bail!(
            "--ledger {}: the ledger has no checkpoint and its signing key {} cannot be read ({e}); \
             sign one with `kite ledger checkpoint`",
            path.display(),
            key.display()
        ),
    }
}

fn provenance(c: &SignedCheckpoint) -> LedgerCheckpoint {
    let body = c.checkpoint.body();
    LedgerCheckpoint {
        origin: c.checkpoint.origin.clone(),
        tree_size: c.checkpoint.size,
        // The third body line is the root as the note signs it (base64).
        root_hash: body.lines().nth(2).unwrap_or_default().to_owned(),
        key_id: c
            .signatures
            .iter()
            .map(|(name, id)| format!("{name}+{id:08x}"))
            .collect::<Vec<_>>()
            .join(", "),
        time: c
            .checkpoint
            .extensions
            .iter()
            .find_map(|e| e.strip_prefix("time ").map(str::to_owned)),
        signed_note: Some(c.text.clone()),
    }
}

fn verification(v: &VerifyReport, used: &SignedCheckpoint) -> Verification {
    if let Some(p) = v.problems.first() {
        let more = v.problems.len() - 1;
        let mut error = p.message.clone();
        if let Some(e) = p.entry {
            error = format!("entry {e}: {error}");
        }
        if more > 0 {
            error += &format!(" (and {more} more problem(s); run `kite ledger verify`)");
        }
        return Verification::Failed { error };
    }
    let signed = v
        .latest_checkpoint
        .as_ref()
        .is_some_and(|c| c.checkpoint.size >= used.checkpoint.size);
    if !signed {
        return Verification::Failed {
            error: format!(
                "no verified checkpoint covers the {} entries counted",
                used.checkpoint.size
            ),
        };
    }
    Verification::Verified {
        detail: format!(
            "{} entries re-hashed to the root, every checkpoint's Ed25519 signature and root checked",
            v.size
        ),
    }
}

fn list(ix: &[u64]) -> String {
    let shown: Vec<String> = ix.iter().take(10).map(u64::to_string).collect();
    if ix.len() > 10 {
        format!("{}, ...", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
