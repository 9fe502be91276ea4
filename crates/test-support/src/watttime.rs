//! A fake WattTime v3 API serving [`fixtures::watttime`](crate::fixtures).
//!
//! Faithful points: `GET /login` takes HTTP basic auth ([`USERNAME`]/[`PASSWORD`]) and issues a
//! bearer token; data endpoints answer 401 to a missing, unknown or expired token
//! ([`Tokens::expire_all`]), 403 to a region other than `CAISO_NORTH` (the free-plan preview
//! region), 400 to a `signal_type` other than `co2_moer`; `historical` refuses ranges over
//! [`MAX_HISTORICAL_DAYS`] days and answers only the fixture points inside `[start, end]`.

use crate::common::{filter_by_time, parse_time};
use crate::fixtures::watttime as fx;
use crate::script::{Script, intercept, json_response};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::get;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The account the fake knows.
pub const USERNAME: &str = "kite-test-user";
/// Its password.
pub const PASSWORD: &str = "wt-test-password-93b1";
/// The only region the fake serves.
pub const REGION: &str = "CAISO_NORTH";
/// The longest `historical` request the fake (and the real API) accepts.
pub const MAX_HISTORICAL_DAYS: i64 = 32;

#[derive(Debug, Default)]
struct TokensInner {
    issued: Vec<String>,
    /// Tokens issued before this index are expired.
    valid_from: usize,
}

/// The bearer tokens the fake has issued; shared with the test.
#[derive(Debug, Clone, Default)]
pub struct Tokens(Arc<Mutex<TokensInner>>);

impl Tokens {
    /// No tokens issued yet.
    pub fn new() -> Tokens {
        Tokens::default()
    }

    fn lock(&self) -> MutexGuard<'_, TokensInner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes every token issued so far invalid, as after the real 30-minute lifetime.
    pub fn expire_all(&self) {
        let mut inner = self.lock();
        inner.valid_from = inner.issued.len();
    }

    /// Every token issued so far (they are secrets too: tests check none leaks into errors).
    pub fn issued(&self) -> Vec<String> {
        self.lock().issued.clone()
    }

    fn issue(&self) -> String {
        let mut inner = self.lock();
        let token = format!("wt-token-{}-4f9a2c", inner.issued.len() + 1);
        inner.issued.push(token.clone());
        token
    }

    fn is_valid(&self, token: &str) -> bool {
        let inner = self.lock();
        inner.issued[inner.valid_from..].iter().any(|t| t == token)
    }
}

type Params = Query<HashMap<String, String>>;

/// The fake's routes, behind `script`, issuing tokens into `tokens`.
pub fn router(script: Script, tokens: Tokens) -> Router {
    Router::new()
        .route("/login", get(login))
        .route("/v3/forecast", get(forecast))
        .route("/v3/historical", get(historical))
        .route("/v3/signal-index", get(signal_index))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(tokens)
        .layer(from_fn_with_state(script, intercept))
}

/// A WattTime-style error body.
pub fn error_body(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, error_body(message))
}

async fn login(State(tokens): State<Tokens>, headers: HeaderMap) -> Response {
    let expected = format!("Basic {}", base64(&format!("{USERNAME}:{PASSWORD}")));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return json_response(StatusCode::UNAUTHORIZED, fx::ERROR_UNAUTHORIZED);
    }
    let body = serde_json::json!({ "token": tokens.issue() }).to_string();
    json_response(StatusCode::OK, body)
}

/// Checks the bearer token, the region and the signal type.
fn check(
    tokens: &Tokens,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<(), Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !token.is_some_and(|t| tokens.is_valid(t)) {
        return Err(json_response(
            StatusCode::UNAUTHORIZED,
            fx::ERROR_UNAUTHORIZED,
        ));
    }
    match params.get("region") {
        None => return Err(error(StatusCode::BAD_REQUEST, "region is required")),
        Some(r) if r != REGION => {
            return Err(json_response(StatusCode::FORBIDDEN, fx::ERROR_FORBIDDEN));
        }
        Some(_) => {}
    }
    if params.get("signal_type").map(String::as_str) != Some("co2_moer") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "signal_type must be one of: co2_moer, co2_aoer, health_damage",
        ));
    }
    Ok(())
}

async fn forecast(State(tokens): State<Tokens>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Err(res) = check(&tokens, &headers, &p) {
        return res;
    }
    if let Some(h) = p.get("horizon_hours")
        && !h.parse::<u32>().is_ok_and(|h| h <= 72)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "horizon_hours must be between 0 and 72",
        );
    }
    json_response(StatusCode::OK, fx::FORECAST)
}

async fn historical(
    State(tokens): State<Tokens>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Err(res) = check(&tokens, &headers, &p) {
        return res;
    }
    let time = |name: &str| p.get(name).and_then(|s| parse_time(s));
    let (Some(start), Some(end)) = (time("start"), time("end")) else {
        return error(StatusCode::BAD_REQUEST, "start and end are required");
    };
    if end <= start || end.duration_since(start).as_secs() > MAX_HISTORICAL_DAYS * 86_400 {
        return error(
            StatusCode::BAD_REQUEST,
            "Time range must be positive and at most 32 days",
        );
    }
    let body = filter_by_time(fx::HISTORICAL, &["data"], "point_time", start, end, true);
    json_response(StatusCode::OK, body)
}

async fn signal_index(
    State(tokens): State<Tokens>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    match check(&tokens, &headers, &p) {
        Ok(()) => json_response(StatusCode::OK, fx::SIGNAL_INDEX),
        Err(res) => res,
    }
}

/// Standard base64 with padding, enough to check a basic-auth header.
fn base64(input: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain), encoded);
        }
    }
}
