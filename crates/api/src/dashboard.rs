//! The web dashboard `kite serve` shows at `/dashboard/`: the grid (a world map and a table of
//! zones coloured by their current intensity, per-zone history and forecast with its interval
//! band), the jobs (planned against actual runs over the intensity curve, with the carbon each
//! plan saves) and the books (emissions by scope, SCI, CFE, the ledger's size and checkpoint).
//!
//! Every asset is compiled in (`crates/api/assets/`, hand-written HTML, CSS and JavaScript, SVG
//! charts drawn in the browser) and served under a content-hashed name with a year-long cache;
//! nothing is loaded from elsewhere (the pages' Content-Security-Policy says so to the browser).
//! The pages read their numbers from `/dashboard/data/...`, computed here from kite's library
//! crates, and poll them every 15 s.
//!
//! Costs: the grid summary asks the local sources only (store, kite's forecast, embedded data:
//! never a live provider, which would mean 300 API calls) and is computed at most once a
//! minute; a zone's chart and the jobs' intensity curves go through the full fallback chain and
//! are kept for a minute per zone.

mod assets;
mod books;
mod grid;
mod jobs;

use crate::{AppState, Problem};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use kite_core::Timestamp;
use std::collections::HashMap;
use std::sync::Arc;

/// How long a computed summary is served before it is computed again.
const TTL_SECS: i64 = 60;

/// The dashboard's computed data, shared by every request.
#[derive(Default)]
pub struct Cache {
    /// The grid summary and when it was computed; the async lock makes concurrent first
    /// requests wait for one computation instead of starting several.
    grid: tokio::sync::Mutex<Option<(Timestamp, Arc<serde_json::Value>)>>,
    /// Other results by key (a zone's chart, a forecast, an intensity curve), with the instant
    /// they expire.
    entries: std::sync::Mutex<HashMap<String, (Timestamp, Arc<serde_json::Value>)>>,
}

impl Cache {
    fn get(&self, key: &str, now: Timestamp) -> Option<Arc<serde_json::Value>> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(expires, _)| *expires > now)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: String, value: Arc<serde_json::Value>, now: Timestamp, ttl_secs: i64) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (expires, _)| *expires > now);
        map.insert(
            key,
            (now + kite_core::SignedDuration::from_secs(ttl_secs), value),
        );
    }
}

/// This module's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard/") }))
        .route("/dashboard", get(|| async { Redirect::to("/dashboard/") }))
        .route("/dashboard/", get(|| async { page(assets::Page::Grid) }))
        .route(
            "/dashboard/jobs",
            get(|| async { page(assets::Page::Jobs) }),
        )
        .route(
            "/dashboard/books",
            get(|| async { page(assets::Page::Books) }),
        )
        .route("/dashboard/assets/{name}", get(asset))
        .route("/dashboard/data/grid", get(grid_data))
        .route("/dashboard/data/zone/{zone}", get(zone_data))
        .route("/dashboard/data/jobs", get(jobs_data))
        .route("/dashboard/data/books", get(books_data))
}

/// The pages allow only this origin's scripts, styles and data: a stray external URL in an
/// asset fails loudly in the browser instead of leaking a visitor's address.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn page(which: assets::Page) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // The page names the hashed assets: it must be revalidated to pick up new ones.
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        assets::page(which),
    )
        .into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match assets::find(&name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                // The name carries the content hash: a changed file is a new URL.
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            a.body,
        )
            .into_response(),
        None => Problem {
            field: Some("name".into()),
            value: Some(name.clone()),
            fix: Some(
                "load the dashboard at /dashboard/: its pages name the current assets".into(),
            ),
            ..Problem::new(
                StatusCode::NOT_FOUND,
                "no such asset",
                format!(
                    "the dashboard has no asset `{name}` (asset names change with their content)"
                ),
            )
        }
        .into_response(),
    }
}

fn json(value: &serde_json::Value) -> Response {
    let mut r = axum::Json(value).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn reply(result: Result<Arc<serde_json::Value>, Problem>) -> Response {
    match result {
        Ok(v) => json(&v),
        Err(p) => p.into_response(),
    }
}

/// A 500 whose details go to the log, not to the client.
fn internal(what: &str, e: impl std::fmt::Display) -> Problem {
    tracing::error!("dashboard: {what}: {e}");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
        format!("the dashboard could not read {what}; see the kite serve log"),
    )
}

async fn grid_data(State(state): State<Arc<AppState>>) -> Response {
    reply(grid::summary(&state).await)
}

async fn zone_data(State(state): State<Arc<AppState>>, Path(zone): Path<String>) -> Response {
    reply(grid::zone(&state, &zone).await)
}

async fn jobs_data(State(state): State<Arc<AppState>>) -> Response {
    reply(jobs::timeline(&state).await)
}

async fn books_data(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    reply(books::summary(&state, q.get("period").map(String::as_str)).await)
}
