//! The books page's data: the period's statement (`kite_accounting::statement`, as `kite report`
//! computes it) with the ledger's size, its latest signed checkpoint and the result of
//! verifying it.
//!
//! Read-only, as `/v1/report`: the dashboard never signs a checkpoint. It counts the entries the
//! latest signed checkpoint covers (what `kite report` counts without the ledger's key) and says
//! how many were appended after it.

use super::{TTL_SECS, internal};
use crate::{AppState, Problem};
use axum::http::StatusCode;
use kite_accounting::{BooksOptions, Filter, Period};
use kite_ledger::{Ledger, SignedCheckpoint, VerifyReport};
use kite_report::{Books, BooksError};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

/// The books of `period` (default: the current calendar month, UTC).
pub(super) async fn summary(
    state: &Arc<AppState>,
    period: Option<&str>,
) -> Result<Arc<Value>, Problem> {
    let now = state.intensity.now();
    let text = match period {
        Some(p) if !p.trim().is_empty() => p.trim().to_owned(),
        _ => now.strftime("%Y-%m").to_string(),
    };
    let period = Period::parse(&text).map_err(|e| Problem {
        field: Some("period".into()),
        value: Some(text.clone()),
        fix: Some("write a month (2026-10), a quarter (2026-Q4), a year (2026), a day (2026-10-05) or FROM..TO".into()),
        ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid period", e.to_string())
    })?;
    let Some(path) = state.ledger.clone() else {
        return Ok(Arc::new(json!({
            "configured": false,
            "generated_at": now,
            "period": period,
            "help": "kite serve found no ledger. Create one with `kite ledger init` (it goes beside \
                     kite's database, where kite serve looks for it), record runs with \
                     `kite run --ledger`, and restart kite serve; or point KITE_LEDGER at an \
                     existing ledger.",
        })));
    };
    let key = format!("books:{}", period.label);
    if let Some(v) = state.dashboard.get(&key, now) {
        return Ok(v);
    }
    let value = tokio::task::spawn_blocking(move || books(&path, &period))
        .await
        .map_err(|e| internal("the ledger", e))?
        .map_err(|e| internal("the ledger", e))?;
    let mut value = value;
    value["generated_at"] = json!(now);
    let value = Arc::new(value);
    state.dashboard.put(key, value.clone(), now, TTL_SECS);
    Ok(value)
}

fn checkpoint(c: &SignedCheckpoint, verified: &VerifyReport) -> Value {
    // The fields as a report carries them (kite_report::provenance), under the dashboard's names.
    let p = kite_report::provenance(c);
    json!({
        "size": p.tree_size,
        "origin": p.origin,
        "root_hash": p.root_hash,
        "time": p.time,
        "key_id": p.key_id,
        "signature_verified": verified.latest_checkpoint.as_ref().is_some_and(|v| v.checkpoint.size >= c.checkpoint.size),
    })
}

fn books(path: &Path, period: &Period) -> Result<Value, BooksError> {
    let ledger = Ledger::open(path).map_err(|error| BooksError {
        step: "opening the ledger",
        error,
    })?;
    // Read-only, as /v1/report: no signer.
    let books = Books::read(&ledger, None)?;
    let verified = &books.verified;
    let verification = match verified.problems.first() {
        Some(p) => json!({"ok": false, "detail": match p.entry {
            Some(e) => format!("entry {e}: {}", p.message),
            None => p.message.clone(),
        }, "problems": verified.problems.len()}),
        None => json!({"ok": true, "detail": format!(
            "{} entries re-hashed to the root; every checkpoint's Ed25519 signature and root checked",
            verified.size
        ), "problems": 0}),
    };
    let size = books.size;
    let mut out = json!({
        "configured": true,
        "period": period,
        "ledger": {
            "origin": ledger.origin(),
            "size": size,
            "unsigned_entries": size - books.counted(),
            "checkpoint": books.checkpoint.as_ref().map(|c| checkpoint(c, verified)),
            "verification": verification,
        },
        "statement": null,
    });
    if books.checkpoint.is_none() {
        out["no_checkpoint"] = json!(format!(
            "the ledger holds {size} entr(ies) but no signed checkpoint yet, and the books count \
             only signed entries: sign one with `kite ledger checkpoint`"
        ));
        return Ok(out);
    }
    let statement = books.statement(period, &Filter::default(), &BooksOptions::standard());
    out["ledger"]["records"] = json!(books.records.len());
    out["statement"] = serde_json::to_value(&statement).unwrap_or_default();
    Ok(out)
}
