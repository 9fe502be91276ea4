//! The ledger, read-only: `GET /v1/ledger/checkpoint` (the latest signed note and its fields),
//! `GET /v1/ledger/entries?from=&limit=`, `GET /v1/ledger/proof/inclusion?entry=&size=` and
//! `GET /v1/ledger/proof/consistency?old=&new=`, as `kite ledger show|prove|consistency` print
//! them. Every proof is verified against the root before it is sent, as the CLI does.

use super::{Params, bad_param, blocking, internal};
use crate::{AppState, Problem};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kite_ledger::{Ledger, LedgerError, SignedCheckpoint, hex};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// Most entries one page returns.
pub(crate) const MAX_PAGE: u64 = 1000;

type QueryResult = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The configured ledger's path, or the problem saying how to configure one.
pub(crate) fn ledger_path(state: &AppState) -> Result<PathBuf, Problem> {
    state.ledger.clone().ok_or_else(|| Problem {
        fix: Some("create one with `kite ledger init` (beside kite's database, where kite serve finds it) or start kite serve with --ledger PATH (or KITE_LEDGER)".into()),
        ..Problem::new(
            StatusCode::NOT_FOUND,
            "no ledger configured",
            "kite serve has no ledger, so there are no books to read",
        )
    })
}

/// Opens the configured ledger (reads only: nothing here appends or signs).
pub(crate) fn open(state: &AppState) -> Result<Ledger, Problem> {
    let path = ledger_path(state)?;
    Ledger::open(&path).map_err(|e| match e {
        LedgerError::Invalid { .. } => Problem {
            fix: Some(format!(
                "create it with `kite ledger init --ledger {}`, or point kite serve's --ledger at an existing ledger",
                path.display()
            )),
            ..Problem::new(StatusCode::CONFLICT, "ledger unavailable", e.to_string())
        },
        e => internal("opening the ledger", e),
    })
}

fn ledger_problem(what: &str, e: LedgerError) -> Problem {
    match e {
        LedgerError::Proof(p) => {
            Problem::new(StatusCode::BAD_REQUEST, "no such proof", p.to_string())
        }
        e => internal(what, e),
    }
}

/// The parsed fields of a signed checkpoint, beside its note text.
pub(crate) fn checkpoint_json(c: &SignedCheckpoint) -> Value {
    json!({
        "note": c.text,
        "origin": c.checkpoint.origin,
        "tree_size": c.checkpoint.size,
        "root_hash": hex(&c.checkpoint.root),
        "time": c.checkpoint.time(),
        "signatures": c.signatures.iter().map(|(name, id)| json!({
            "key_name": name,
            "key_id": format!("{id:08x}"),
        })).collect::<Vec<_>>(),
    })
}

async fn respond(f: impl Future<Output = Result<Value, Problem>>) -> Response {
    match f.await {
        Ok(v) => Json(v).into_response(),
        Err(p) => p.into_response(),
    }
}

pub(crate) async fn checkpoint(State(state): State<Arc<AppState>>, query: QueryResult) -> Response {
    respond(async move {
        Params::new(query, &[])?;
        blocking("reading the ledger", move || {
            let ledger = open(&state)?;
            let (size, root) = ledger
                .root()
                .map_err(|e| ledger_problem("reading the ledger", e))?;
            let latest = ledger
                .latest_checkpoint()
                .map_err(|e| ledger_problem("reading the checkpoints", e))?
                .ok_or_else(|| Problem {
                    fix: Some(
                        "sign one with `kite ledger checkpoint` (kite serve only reads the ledger)"
                            .into(),
                    ),
                    ..Problem::new(
                        StatusCode::CONFLICT,
                        "no checkpoint yet",
                        format!("the ledger holds {size} entries and no signed checkpoint"),
                    )
                })?;
            let mut out = checkpoint_json(&latest);
            out["ledger_size"] = json!(size);
            out["ledger_root_hash"] = json!(hex(&root));
            out["unsigned_entries"] = json!(size - latest.checkpoint.size.min(size));
            Ok(out)
        })
        .await
    })
    .await
}

pub(crate) async fn entries(State(state): State<Arc<AppState>>, query: QueryResult) -> Response {
    respond(async move {
        let params = Params::new(query, &["from", "limit"])?;
        let from = params.u64_or("from", 0)?;
        let limit = params.u64_or("limit", 100)?;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(bad_param(
                "limit",
                &limit.to_string(),
                format!("a page holds 1 to {MAX_PAGE} entries"),
                format!("give limit between 1 and {MAX_PAGE}, and page on with from"),
            ));
        }
        blocking("reading the ledger", move || {
            let ledger = open(&state)?;
            let size = ledger
                .len()
                .map_err(|e| ledger_problem("reading the ledger", e))?;
            let entries = ledger
                .entries(from..from.saturating_add(limit))
                .map_err(|e| ledger_problem("reading entries", e))?;
            let items = entries
                .iter()
                .map(|e| {
                    let entry = e
                        .value()
                        .map_err(|err| internal("decoding an entry", err))?;
                    Ok(json!({
                        "index": e.index,
                        "appended_at": e.appended_at.to_string(),
                        "leaf_hash": hex(&e.leaf_hash),
                        "entry": entry,
                    }))
                })
                .collect::<Result<Vec<_>, Problem>>()?;
            let next = from.saturating_add(limit);
            Ok(json!({
                "size": size,
                "from": from,
                "limit": limit,
                "entries": items,
                "next_from": (next < size).then_some(next),
            }))
        })
        .await
    })
    .await
}

pub(crate) async fn inclusion(State(state): State<Arc<AppState>>, query: QueryResult) -> Response {
    respond(async move {
        let params = Params::new(query, &["entry", "size"])?;
        params.required("entry", "0")?;
        let entry = params.u64_or("entry", 0)?;
        let size = params
            .get("size")
            .map(|_| params.u64_or("size", 0))
            .transpose()?;
        blocking("proving inclusion", move || {
            let ledger = open(&state)?;
            let len = ledger
                .len()
                .map_err(|e| ledger_problem("reading the ledger", e))?;
            let latest = ledger
                .latest_checkpoint()
                .map_err(|e| ledger_problem("reading the checkpoints", e))?;
            // Default: the latest checkpoint's tree, so the proof checks against a signed root.
            let size = match (size, &latest) {
                (Some(s), _) => s,
                (None, Some(c)) if entry < c.checkpoint.size => c.checkpoint.size,
                _ => len,
            };
            if size > len {
                return Err(bad_param(
                    "size",
                    &size.to_string(),
                    format!("the ledger holds {len} entries, so there is no tree of size {size}"),
                    format!("give size at most {len}"),
                ));
            }
            if entry >= size {
                return Err(bad_param(
                    "entry",
                    &entry.to_string(),
                    format!("entry {entry} is not in the tree of size {size}"),
                    format!("give an entry below {size} (entries are numbered from 0)"),
                ));
            }
            let e = ledger
                .entry(entry)
                .map_err(|e| ledger_problem("reading the entry", e))?
                .ok_or_else(|| {
                    internal("reading the entry", format!("entry {entry} is missing"))
                })?;
            let proof = ledger
                .inclusion_proof(entry, size)
                .map_err(|e| ledger_problem("proving inclusion", e))?;
            let root = ledger
                .root_at(size)
                .map_err(|e| ledger_problem("computing the root", e))?;
            kite_ledger::merkle::verify_inclusion(&e.bytes, entry, size, &proof, &root).map_err(
                |e| {
                    internal(
                        "verifying the inclusion proof (run `kite ledger verify`)",
                        e,
                    )
                },
            )?;
            let value = e
                .value()
                .map_err(|err| internal("decoding the entry", err))?;
            Ok(json!({
                "index": entry,
                "tree_size": size,
                "root_hash": hex(&root),
                "leaf_hash": hex(&e.leaf_hash),
                "entry": value,
                "inclusion_proof": proof.iter().map(hex).collect::<Vec<_>>(),
                "checkpoint": latest.filter(|c| c.checkpoint.size == size).map(|c| c.text),
            }))
        })
        .await
    })
    .await
}

pub(crate) async fn consistency(
    State(state): State<Arc<AppState>>,
    query: QueryResult,
) -> Response {
    respond(async move {
        let params = Params::new(query, &["old", "new"])?;
        params.required("old", "1")?;
        let old = params.u64_or("old", 0)?;
        let new = params
            .get("new")
            .map(|_| params.u64_or("new", 0))
            .transpose()?;
        blocking("proving consistency", move || {
            let ledger = open(&state)?;
            let len = ledger
                .len()
                .map_err(|e| ledger_problem("reading the ledger", e))?;
            let new = new.unwrap_or(len);
            if new > len {
                return Err(bad_param(
                    "new",
                    &new.to_string(),
                    format!("the ledger holds {len} entries, so there is no tree of size {new}"),
                    format!("give new at most {len}, or leave it out for the current size"),
                ));
            }
            if old > new {
                return Err(bad_param(
                    "old",
                    &old.to_string(),
                    format!("the old size {old} is larger than the new size {new}"),
                    format!("give old at most {new}"),
                ));
            }
            let proof = ledger
                .consistency_proof(old, new)
                .map_err(|e| ledger_problem("proving consistency", e))?;
            let old_root = ledger
                .root_at(old)
                .map_err(|e| ledger_problem("computing a root", e))?;
            let new_root = ledger
                .root_at(new)
                .map_err(|e| ledger_problem("computing a root", e))?;
            kite_ledger::merkle::verify_consistency(old, &old_root, new, &new_root, &proof)
                .map_err(|e| {
                    internal(
                        "verifying the consistency proof (run `kite ledger verify`)",
                        e,
                    )
                })?;
            Ok(json!({
                "old_size": old,
                "old_root_hash": hex(&old_root),
                "new_size": new,
                "new_root_hash": hex(&new_root),
                "consistency_proof": proof.iter().map(hex).collect::<Vec<_>>(),
            }))
        })
        .await
    })
    .await
}
