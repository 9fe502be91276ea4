//! kite's own read API under `/v1` (the job routes beside it belong to `kite-service`):
//!
//! - `GET /v1/regions`, `GET /v1/regions/{region}`: zones, aliases, cloud regions, annual means
//!   ([`regions`]).
//! - `GET /v1/intensity`: intensity through the fallback chain, every value with its signal,
//!   provenance, source and age; `GET /v1/forecast`: kite's own forecast with 10/50/90 %
//!   intervals ([`intensity`]).
//! - `POST /v1/plan`: what `kite plan --format json` prints ([`plan`]).
//! - `GET /v1/ledger/checkpoint`, `/v1/ledger/entries`, `/v1/ledger/proof/inclusion`,
//!   `/v1/ledger/proof/consistency` ([`ledger`]) and `GET /v1/report` ([`report`]): the books,
//!   read-only (the server never signs or appends here).
//!
//! Every error is an RFC 9457 problem naming the parameter, the value and the fix. Query
//! parameters are checked by name: an unknown one is refused (a typo must not silently change
//! the answer).

// A problem is built only on the error path of a request; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod intensity;
mod ledger;
mod plan;
mod regions;
mod report;

use crate::{AppState, Problem};
use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::sync::Arc;

/// This module's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/regions", get(regions::list))
        .route("/v1/regions/{region}", get(regions::show))
        .route("/v1/intensity", get(intensity::intensity))
        .route("/v1/forecast", get(intensity::forecast))
        .route("/v1/plan", post(plan::plan))
        .route("/v1/ledger/checkpoint", get(ledger::checkpoint))
        .route("/v1/ledger/entries", get(ledger::entries))
        .route("/v1/ledger/proof/inclusion", get(ledger::inclusion))
        .route("/v1/ledger/proof/consistency", get(ledger::consistency))
        .route("/v1/report", get(report::report))
}

/// The query string of one request, checked against the parameters its route accepts.
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The parameters of `query`, refusing any not in `accepted` and any given twice.
    pub(crate) fn new(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
        accepted: &[&str],
    ) -> Result<Params, Problem> {
        let Query(pairs) = query.map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed query string",
                format!(
                    "{e}; write the query as name=value pairs separated by `&`, percent-encoded"
                ),
            )
        })?;
        for (i, (name, value)) in pairs.iter().enumerate() {
            if !accepted.contains(&name.as_str()) {
                return Err(bad_param(
                    name,
                    value,
                    format!("`{name}` is not a parameter of this endpoint"),
                    format!("use only {}", accepted.join(", ")),
                ));
            }
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(bad_param(
                    name,
                    value,
                    format!("`{name}` is given more than once"),
                    format!("give `{name}` once"),
                ));
            }
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or a problem saying it is required.
    pub(crate) fn required(&self, name: &str, example: &str) -> Result<&str, Problem> {
        self.get(name).ok_or_else(|| {
            bad_param(
                name,
                "",
                format!("`{name}` is required"),
                format!("add `{name}={example}` to the query"),
            )
        })
    }

    /// `name` as a whole number, `default` when absent.
    pub(crate) fn u64_or(&self, name: &str, default: u64) -> Result<u64, Problem> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                bad_param(
                    name,
                    v,
                    format!("`{v}` is not a whole number"),
                    format!("give `{name}` as a non-negative integer, e.g. {name}={default}"),
                )
            }),
        }
    }
}

/// A 400 naming the query parameter, its value and the fix.
pub(crate) fn bad_param(
    name: &str,
    value: &str,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Problem {
    Problem {
        status: StatusCode::BAD_REQUEST.as_u16(),
        title: "invalid query parameter".into(),
        ..Problem::field(name, value, detail, fix)
    }
}

/// A 500 whose details go to the log, not to the client.
pub(crate) fn internal(what: &str, e: impl std::fmt::Display) -> Problem {
    tracing::error!("{what}: {e}");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
        format!("{what} failed; see the kite serve log"),
    )
}

/// Runs blocking work (SQLite, forecasting) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal(what, e))?
}
