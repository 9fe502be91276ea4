//! `kite check-claims CLAIMS.toml`: public claims checked against the books kept in the ledger
//! (or a JSON Lines file of records). Thin glue over `kite_accounting::claims`.
//!
//! Exit codes: 0 every claim is supported; 2 at least one claim fails; 1 the command could not
//! run (bad file, no ledger).

use crate::args::{GlobalArgs, TableOrJson};
use anyhow::{Context, Result, bail};
use clap::Args;
use kite_accounting::{
    BooksOptions, ClaimResult, Record, ResidualMix, Severity, Verification, check, parse_claims,
};
use kite_ledger::Ledger;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct CheckClaimsArgs {
    /// The claims file (`[[claim]]` tables; see docs/accounting.md).
    pub claims: PathBuf,
    /// The ledger to check against (default: $KITE_LEDGER, then ledger.sqlite3 next to kite's
    /// database). It is verified first; a ledger that fails verification fails every claim.
    #[arg(
        long,
        env = "KITE_LEDGER",
        value_name = "PATH",
        conflicts_with = "records"
    )]
    pub ledger: Option<PathBuf>,
    /// Read the records from a JSON Lines file instead of a ledger (not verifiable: every claim
    /// gets a warning saying so).
    #[arg(long, value_name = "FILE")]
    pub records: Option<PathBuf>,
    /// A residual-mix factor for market-based scope 2, ZONE=G_PER_KWH[@SOURCE], repeatable
    /// (zones without one are charged location-based for uncovered load, with a caveat).
    #[arg(long, value_name = "ZONE=G[@SOURCE]")]
    pub residual_mix: Vec<String>,
    /// `table` for people, `json` for machines (every finding with its numbers).
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableOrJson,
    /// Append each claim and its verdict to the ledger (kind `claim`), with the tree size and
    /// root it was checked against, so what was claimed and what the books said is on record.
    #[arg(long, conflicts_with = "records")]
    pub book: bool,
}

/// Runs `kite check-claims`; the exit code is 0 (all supported) or 2 (a claim fails).
pub fn run(global: &GlobalArgs, args: CheckClaimsArgs) -> Result<u8> {
    let text = std::fs::read_to_string(&args.claims)
        .with_context(|| format!("reading the claims file {}", args.claims.display()))?;
    let claims =
        parse_claims(&text).with_context(|| format!("claims file {}", args.claims.display()))?;
    let options = BooksOptions {
        residual_mix: args
            .residual_mix
            .iter()
            .map(|s| residual_mix(s))
            .collect::<Result<_>>()?,
        ..BooksOptions::standard()
    };
    let mut ledger_file = None;
    let (records, verification, source) = match &args.records {
        Some(path) => {
            let records = read_jsonl(path)?;
            let v = Verification::NotVerified {
                reason: format!("records read from {}, not from a ledger", path.display()),
            };
            (records, v, path.display().to_string())
        }
        None => {
            let path = crate::books::ledger_path(global, args.ledger.as_deref())?;
            let (records, v) = read_ledger(&path)?;
            let source = path.display().to_string();
            ledger_file = Some(path);
            (records, v, source)
        }
    };
    let results = check(&claims, &records, &verification, &options);
    let failed = results.iter().filter(|r| !r.passed()).count();
    let out = match args.format {
        TableOrJson::Json => {
            let v = json!({
                "source": source,
                "records": records.len(),
                "verification": verification,
                "passed": failed == 0,
                "claims": results,
            });
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        TableOrJson::Table => table(&results, &source, records.len()),
    };
    crate::emit(&out)?;
    if args.book
        && let Some(path) = &ledger_file
    {
        book(path, &results, &verification)?;
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} claim(s) not supported by the books",
            results.len()
        );
        return Ok(2);
    }
    Ok(0)
}

fn residual_mix(s: &str) -> Result<ResidualMix> {
    let fix = "write ZONE=G_PER_KWH[@SOURCE], e.g. DE=620@AIB 2025";
    let Some((zone, rest)) = s.split_once('=') else {
        bail!("--residual-mix {s:?}: no `=`; {fix}");
    };
    let (value, source) = rest
        .split_once('@')
        .unwrap_or((rest, "--residual-mix flag"));
    let g: f64 = value
        .trim()
        .parse()
        .ok()
        .filter(|g: &f64| g.is_finite() && *g >= 0.0)
        .with_context(|| format!("--residual-mix {s:?}: {value:?} is not g/kWh ≥ 0; {fix}"))?;
    Ok(ResidualMix {
        zone: zone.trim().to_string(),
        g_per_kwh: g,
        source: source.trim().to_string(),
    })
}

fn parse_record(v: &serde_json::Value, at: &str) -> Result<Option<Record>> {
    let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if !kite_accounting::record::KINDS.contains(&kind) {
        return Ok(None);
    }
    // An accounting record that does not read would silently change the books: refuse.
    Record::from_value(v)
        .map(Some)
        .with_context(|| format!("{at}: fix or supersede this record"))
}

fn read_jsonl(path: &Path) -> Result<Vec<Record>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--records {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{} line {}", path.display(), i + 1);
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{at}: not JSON"))?;
        if let Some(r) = parse_record(&v, &at)? {
            out.push(r);
        }
    }
    Ok(out)
}

fn read_ledger(path: &Path) -> Result<(Vec<Record>, Verification)> {
    if !path.exists() {
        bail!(
            "--ledger {}: no ledger there; create one with `kite ledger init`, or point --ledger \
             (or KITE_LEDGER) at an existing one, or use --records FILE",
            path.display()
        );
    }
    let ledger = Ledger::open(path).with_context(|| format!("--ledger {}", path.display()))?;
    let report = ledger
        .verify()
        .with_context(|| format!("verifying the ledger {}", path.display()))?;
    let size = report.size;
    let entries = ledger
        .entries(0..size)
        .with_context(|| format!("reading entries 0..{size} of {}", path.display()))?;
    let mut records = Vec::new();
    for entry in &entries {
        // Entries that fail verification are not counted; the verdict below fails every claim.
        if report.bad_entries.binary_search(&entry.index).is_ok() {
            continue;
        }
        let at = format!("ledger entry {}", entry.index);
        let v = entry.value().with_context(|| format!("{at}: not JSON"))?;
        if let Some(r) = parse_record(&v, &at)? {
            records.push(r);
        }
    }
    let verification = if let Some(p) = report.problems.first() {
        let place = match (p.entry, p.checkpoint_size) {
            (Some(e), _) => format!("entry {e}: "),
            (None, Some(s)) => format!("checkpoint of size {s}: "),
            (None, None) => String::new(),
        };
        Verification::Failed {
            first_failure: format!("{place}{}", p.message),
        }
    } else {
        let signed = report
            .latest_checkpoint
            .as_ref()
            .map_or(0, |c| c.checkpoint.size);
        Verification::Verified {
            entries: size,
            unsigned: size.saturating_sub(signed),
            checkpoint: report
                .latest_checkpoint
                .as_ref()
                .map(|c| format!("size {}", c.checkpoint.size)),
        }
    };
    Ok((records, verification))
}

fn table(results: &[ClaimResult], source: &str, n: usize) -> String {
    let mut s = format!("claims checked against {source} ({n} accounting records)\n");
    for r in results {
        let verdict = match r.verdict {
            Severity::Fail => "FAILS",
            Severity::Warning => "supported, with warnings",
            Severity::Info => "supported",
        };
        s.push_str(&format!(
            "\n{} ({}, {}): {verdict}\n",
            r.id,
            serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            r.period
        ));
        if let Some(t) = &r.text {
            s.push_str(&format!("  \"{t}\"\n"));
        }
        for f in &r.findings {
            s.push_str(&format!(
                "  {:<7} {}: {}\n",
                f.severity.as_str(),
                f.check,
                f.message
            ));
        }
    }
    s
}

/// Appends one `claim` entry per claim: the claim's verdict and findings, and the tree it was
/// checked against (the verified size, else the size when it was read).
fn book(path: &Path, results: &[ClaimResult], verification: &Verification) -> Result<()> {
    let ledger = Ledger::open(path)?;
    let size = match verification {
        Verification::Verified { entries, .. } => *entries,
        _ => ledger.len()?,
    };
    let root = kite_ledger::hex(&ledger.root_at(size)?);
    let values: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r)?;
            if let Some(map) = v.as_object_mut() {
                // The claim's own kind moves to `claim_kind`: `kind` is the entry's.
                if let Some(k) = map.remove("kind") {
                    map.insert("claim_kind".into(), k);
                }
                map.insert("kind".into(), json!("claim"));
                map.insert("v".into(), json!(1));
                map.insert(
                    "checked_against".into(),
                    json!({"tree_size": size, "root_hash": root, "verification": verification}),
                );
            }
            Ok(v)
        })
        .collect::<Result<_>>()?;
    let range = ledger
        .append_batch(&values)
        .context("booking the claims in the ledger")?;
    eprintln!(
        "kite: booked {} claim(s) in {} as entries {}..={}",
        values.len(),
        path.display(),
        range.start,
        range.end.saturating_sub(1)
    );
    Ok(())
}
