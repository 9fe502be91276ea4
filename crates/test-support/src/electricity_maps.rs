//! A fake Electricity Maps v3 API serving [`fixtures::electricity_maps`](crate::fixtures).
//!
//! Faithful points: the `auth-token` header must equal [`TOKEN`] (else 401 with the documented
//! error body), `zone` is required, `emissionFactorType` must be `lifecycle` or `direct` and is
//! echoed in the answer, and `past-range` refuses ranges over [`MAX_PAST_RANGE_DAYS`] days and
//! answers only the fixture points inside `[start, end]`.

use crate::common::{filter_by_time, parse_time};
use crate::fixtures::electricity_maps as fx;
use crate::script::{Script, intercept, json_response};
use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::get;
use std::collections::HashMap;

/// The only token the fake accepts.
pub const TOKEN: &str = "em-test-token-7c1d9e0f";

/// The longest `past-range` request the fake (and the real API, for hourly data) accepts.
pub const MAX_PAST_RANGE_DAYS: i64 = 10;

type Params = Query<HashMap<String, String>>;

/// The fake's routes, behind `script`.
pub fn router(script: Script) -> Router {
    Router::new()
        .route("/v3/carbon-intensity/latest", get(latest))
        .route("/v3/carbon-intensity/history", get(history))
        .route("/v3/carbon-intensity/past-range", get(past_range))
        .route("/v3/carbon-intensity/forecast", get(forecast))
        .route("/v3/zones", get(zones))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not found") })
        .layer(from_fn_with_state(script, intercept))
}

/// An Electricity Maps error body: `{"error": message}`.
pub fn error_body(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, error_body(message))
}

/// Checks the token, the zone and the emission factor type; returns the latter.
fn check(headers: &HeaderMap, params: &HashMap<String, String>) -> Result<String, Response> {
    if headers.get("auth-token").and_then(|v| v.to_str().ok()) != Some(TOKEN) {
        return Err(json_response(
            StatusCode::UNAUTHORIZED,
            fx::ERROR_UNAUTHORIZED,
        ));
    }
    if params.get("zone").is_none_or(|z| z.is_empty()) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Missing query parameter: zone",
        ));
    }
    let factor = params
        .get("emissionFactorType")
        .cloned()
        .unwrap_or_else(|| "lifecycle".into());
    if factor != "lifecycle" && factor != "direct" {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "emissionFactorType must be one of: lifecycle, direct",
        ));
    }
    Ok(factor)
}

/// The fixture (pretty or compact JSON) with `emissionFactorType` set to what was asked.
fn with_factor(body: &str, factor: &str) -> String {
    body.replace(
        "\"emissionFactorType\": \"lifecycle\"",
        &format!("\"emissionFactorType\": \"{factor}\""),
    )
    .replace(
        "\"emissionFactorType\":\"lifecycle\"",
        &format!("\"emissionFactorType\":\"{factor}\""),
    )
}

async fn latest(headers: HeaderMap, Query(params): Params) -> Response {
    match check(&headers, &params) {
        Ok(factor) => json_response(StatusCode::OK, with_factor(fx::LATEST, &factor)),
        Err(res) => res,
    }
}

async fn history(headers: HeaderMap, Query(params): Params) -> Response {
    match check(&headers, &params) {
        Ok(factor) => json_response(StatusCode::OK, with_factor(fx::HISTORY, &factor)),
        Err(res) => res,
    }
}

async fn forecast(headers: HeaderMap, Query(params): Params) -> Response {
    match check(&headers, &params) {
        Ok(_) => json_response(StatusCode::OK, fx::FORECAST),
        Err(res) => res,
    }
}

async fn past_range(headers: HeaderMap, Query(params): Params) -> Response {
    let factor = match check(&headers, &params) {
        Ok(factor) => factor,
        Err(res) => return res,
    };
    let time = |name: &str| params.get(name).and_then(|s| parse_time(s));
    let (Some(start), Some(end)) = (time("start"), time("end")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "start and end are required ISO 8601 datetimes",
        );
    };
    if end <= start {
        return error(StatusCode::BAD_REQUEST, "end must be after start");
    }
    if end.duration_since(start).as_secs() > MAX_PAST_RANGE_DAYS * 86_400 {
        return error(
            StatusCode::BAD_REQUEST,
            "The maximum time range for hourly granularity is 10 days",
        );
    }
    let body = filter_by_time(fx::PAST_RANGE, &["data"], "datetime", start, end, true);
    json_response(StatusCode::OK, with_factor(&body, &factor))
}

async fn zones(headers: HeaderMap) -> Response {
    match headers.get("auth-token").map(|v| v.to_str().ok()) {
        Some(token) if token != Some(TOKEN) => {
            json_response(StatusCode::UNAUTHORIZED, fx::ERROR_UNAUTHORIZED)
        }
        _ => json_response(StatusCode::OK, fx::ZONES),
    }
}
