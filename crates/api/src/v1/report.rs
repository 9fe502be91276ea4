//! `GET /v1/report?period=&format=json|md|html|csv&project=&team=&top=`: the books of a period
//! (kite-accounting) rendered by kite-report, carrying the checkpoint they were computed from and
//! the result of verifying the ledger first, as `kite report` writes them.
//!
//! The server only reads: it computes from the latest signed checkpoint and, where entries were
//! appended after it, says how many it left out (`kite report` signs a fresh checkpoint when the
//! key is at hand; a server holding the signing key would be a second writer).

use super::ledger::open;
use super::{Params, bad_param, blocking, internal};
use crate::{AppState, Problem};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kite_accounting::{BooksOptions, Filter, Period};
use kite_report::{Books, Format};
use std::sync::Arc;

/// Most runs the top-jobs table may list.
const MAX_TOP: u64 = 1000;

pub(crate) async fn report(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    match report_inner(state, query).await {
        Ok((format, text)) => {
            let content_type = match format {
                Format::Html => "text/html; charset=utf-8",
                Format::Markdown => "text/markdown; charset=utf-8",
                Format::Json => "application/json",
                Format::Csv => "text/csv; charset=utf-8",
            };
            ([(header::CONTENT_TYPE, content_type)], text).into_response()
        }
        Err(p) => p.into_response(),
    }
}

async fn report_inner(
    state: Arc<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<(Format, String), Problem> {
    let params = Params::new(query, &["period", "format", "project", "team", "top"])?;
    let period_text = params.required("period", "2026-10")?;
    let period = Period::parse(period_text).map_err(|e| {
        bad_param(
            "period",
            period_text,
            e.to_string(),
            "write a month (2026-10), a quarter (2026-Q4), a year (2026), a day (2026-10-05) or FROM..TO",
        )
    })?;
    let format = match params.get("format").unwrap_or("json") {
        "json" => Format::Json,
        "md" | "markdown" => Format::Markdown,
        "html" => Format::Html,
        "csv" => Format::Csv,
        other => {
            return Err(bad_param(
                "format",
                other,
                format!("`{other}` is not a report format"),
                "use format=json, md, html or csv",
            ));
        }
    };
    let top = params.u64_or("top", 10)?;
    if !(1..=MAX_TOP).contains(&top) {
        return Err(bad_param(
            "top",
            &top.to_string(),
            format!("the top-jobs table lists 1 to {MAX_TOP} runs"),
            "e.g. top=10",
        ));
    }
    let filter = Filter {
        project: params.get("project").map(str::to_owned),
        team: params.get("team").map(str::to_owned),
    };
    let now = state.intensity.now();
    blocking("the report", move || {
        let ledger = open(&state)?;
        // Read-only: no signer, so entries after the newest checkpoint get a caveat.
        let books = Books::read(&ledger, None).map_err(|e| internal(e.step, e.error))?;
        let options = BooksOptions {
            top_jobs: top as usize,
            ..BooksOptions::standard()
        };
        let mut report = books.report(&period, &filter, &options).ok_or_else(|| Problem {
            fix: Some("sign one with `kite ledger checkpoint`; a report counts only what a signed checkpoint covers".into()),
            ..Problem::new(
                StatusCode::CONFLICT,
                "no checkpoint yet",
                format!("the ledger holds {} entries and no signed checkpoint", books.size),
            )
        })?;
        report.generated_at = Some(now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        let text = kite_report::render(&report, format).map_err(|e| internal("rendering the report", e))?;
        Ok((format, text))
    })
    .await
}
