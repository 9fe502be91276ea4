//! A fake UK National Grid Carbon Intensity API serving
//! [`fixtures::uk_carbon_intensity`](crate::fixtures). No key, as the real API.
//!
//! Faithful points: path times must be ISO 8601 like `2026-03-10T12:00Z` (else 400 with the
//! documented `{"error":{"code","message"}}` body), `{from}/{to}` ranges over
//! [`MAX_RANGE_DAYS`] days are refused, range answers hold only the fixture periods starting in
//! `[from, to)`, region ids outside 1..=18 are refused, and regional answers carry the asked id.
//! As in the real API, the single-region endpoint wraps `data` in a list and the range endpoints
//! give an object.

use crate::common::{filter_by_time, parse_time};
use crate::fixtures::uk_carbon_intensity as fx;
use crate::script::{Script, intercept, json_response};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// The longest `{from}/{to}` range the fake (and the real API) accepts.
pub const MAX_RANGE_DAYS: i64 = 14;

/// The fake's routes, behind `script`.
pub fn router(script: Script) -> Router {
    Router::new()
        .route("/intensity", get(|| async { ok(fx::INTENSITY) }))
        .route("/intensity/{from}/{to}", get(national))
        .route("/regional/regionid/{id}", get(regional_current))
        .route(
            "/regional/intensity/{from}/{to}/regionid/{id}",
            get(regional_range),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, "404 Not Found", "Not found") })
        .layer(from_fn_with_state(script, intercept))
}

/// A UK Carbon Intensity API error body.
pub fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "error": { "code": code, "message": message } }).to_string()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, error_body(code, message))
}

fn ok(body: impl Into<String>) -> Response {
    json_response(StatusCode::OK, body)
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "400 Bad Request", message)
}

/// Parses a path time; only the documented `YYYY-MM-DDThh:mmZ` form is accepted.
fn path_time(s: &str) -> Result<Timestamp, Response> {
    let well_formed = s.len() == 17 && s.ends_with('Z') && s.as_bytes().get(10) == Some(&b'T');
    match parse_time(s) {
        Some(t) if well_formed => Ok(t),
        _ => Err(bad_request(
            "Please enter a valid ISO 8601 date in YYYY-MM-DDThh:mmZ format, e.g. 2017-08-25T12:35Z",
        )),
    }
}

/// Either a `fw48h` window or a checked `{from}/{to}` range.
fn range(from: &str, to: &str) -> Result<(Timestamp, Timestamp, bool), Response> {
    let from = path_time(from)?;
    if to == "fw48h" {
        // Like the real API, include the period ending at `from`.
        let start = from - SignedDuration::from_mins(30);
        return Ok((start, from + SignedDuration::from_hours(48), true));
    }
    let to = path_time(to)?;
    if to <= from {
        return Err(bad_request("The to date must be after the from date"));
    }
    if to.duration_since(from).as_secs() > MAX_RANGE_DAYS * 86_400 {
        return Err(bad_request("Maximum date range is limited to 14 days"));
    }
    Ok((from, to, false))
}

async fn national(Path((from, to)): Path<(String, String)>) -> Response {
    match range(&from, &to) {
        Ok((from, to, true)) => ok(filter_by_time(
            fx::INTENSITY_FW48H,
            &["data"],
            "from",
            from,
            to,
            false,
        )),
        Ok((from, to, false)) => ok(filter_by_time(
            fx::INTENSITY_RANGE,
            &["data"],
            "from",
            from,
            to,
            false,
        )),
        Err(res) => res,
    }
}

fn region_id(id: &str) -> Result<u64, Response> {
    match id.parse::<u64>() {
        Ok(id) if (1..=18).contains(&id) => Ok(id),
        _ => Err(bad_request(
            "Please enter a valid region id between 1 and 18",
        )),
    }
}

/// Sets `regionid` in every region object of the answer to the asked one.
fn with_region(body: &str, id: u64) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    match doc.get_mut("data") {
        Some(Value::Array(regions)) => {
            for r in regions {
                r["regionid"] = Value::from(id);
            }
        }
        Some(region @ Value::Object(_)) => region["regionid"] = Value::from(id),
        _ => {}
    }
    doc.to_string()
}

async fn regional_current(Path(id): Path<String>) -> Response {
    match region_id(&id) {
        Ok(id) => ok(with_region(fx::REGIONAL_REGIONID, id)),
        Err(res) => res,
    }
}

async fn regional_range(Path((from, to, id)): Path<(String, String, String)>) -> Response {
    let id = match region_id(&id) {
        Ok(id) => id,
        Err(res) => return res,
    };
    let (fixture, from, to) = match range(&from, &to) {
        Ok((from, to, true)) => (fx::REGIONAL_FW48H, from, to),
        Ok((from, to, false)) => (fx::REGIONAL_RANGE, from, to),
        Err(res) => return res,
    };
    let body = filter_by_time(fixture, &["data", "data"], "from", from, to, false);
    ok(with_region(&body, id))
}
