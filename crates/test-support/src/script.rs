//! Request recording and fault injection, as an axum middleware in front of a fake provider.
//!
//! A [`Script`] is shared between the test and the server (it is an `Arc` inside). Rules are
//! matched in the order they were added, by path prefix; a one-shot rule is used up when it fires.
//! Requests that no rule answers go through to the provider's normal routes.

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answer with this status, headers and body instead of the normal route.
    Status {
        /// HTTP status code.
        status: u16,
        /// Extra headers, e.g. `Retry-After`.
        headers: Vec<(String, String)>,
        /// Response body (a provider error body, usually).
        body: String,
    },
    /// Answer 200 with this body (e.g. malformed JSON).
    Body(String),
    /// Wait this long, then serve the normal route (for client timeouts).
    Delay(Duration),
}

impl Reply {
    /// `status` with `body` as `application/json`.
    pub fn status(status: u16, body: impl Into<String>) -> Reply {
        Reply::Status {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// 429 with `Retry-After: <retry_after>` (seconds or an HTTP-date).
    pub fn rate_limited(retry_after: &str) -> Reply {
        Reply::status(429, r#"{"error":"Too many requests"}"#)
            .with_header("retry-after", retry_after)
    }

    /// 500 with a JSON error body.
    pub fn server_error() -> Reply {
        Reply::status(500, r#"{"error":"Internal server error"}"#)
    }

    /// 200 with a body that is not valid JSON.
    pub fn malformed() -> Reply {
        Reply::Body(r#"{"data": [{"point_time": "2026-03-10T12:00:00+00:00", "val"#.into())
    }

    /// Sleep `delay`, then answer normally.
    pub fn delay(delay: Duration) -> Reply {
        Reply::Delay(delay)
    }

    /// Adds a header to a [`Reply::Status`]; other replies are returned unchanged.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Status { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, percent-decoding not applied.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Request headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// The first query parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first header called `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct Rule {
    path_prefix: String,
    reply: Reply,
    /// `None` fires forever.
    remaining: Option<usize>,
}

#[derive(Debug, Default)]
struct Inner {
    rules: Vec<Rule>,
    log: Vec<Recorded>,
}

/// Shared request log and fault rules for one fake server.
#[derive(Debug, Clone, Default)]
pub struct Script {
    inner: Arc<Mutex<Inner>>,
}

impl Script {
    /// An empty script: every request is served normally and recorded.
    pub fn new() -> Script {
        Script::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers the next request whose path starts with `path_prefix` with `reply`.
    pub fn once(&self, path_prefix: &str, reply: Reply) -> &Script {
        self.times(path_prefix, 1, reply)
    }

    /// Answers the next `n` matching requests with `reply`.
    pub fn times(&self, path_prefix: &str, n: usize, reply: Reply) -> &Script {
        self.lock().rules.push(Rule {
            path_prefix: path_prefix.into(),
            reply,
            remaining: Some(n),
        });
        self
    }

    /// Answers every matching request with `reply`.
    pub fn always(&self, path_prefix: &str, reply: Reply) -> &Script {
        self.lock().rules.push(Rule {
            path_prefix: path_prefix.into(),
            reply,
            remaining: None,
        });
        self
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().log.clone()
    }

    /// The requests whose path starts with `path_prefix`.
    pub fn requests_to(&self, path_prefix: &str) -> Vec<Recorded> {
        self.lock()
            .log
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    /// How many requests had a path starting with `path_prefix`.
    pub fn count(&self, path_prefix: &str) -> usize {
        self.requests_to(path_prefix).len()
    }

    /// Records `req` and returns the scripted reply for it, if any (using up one-shot rules).
    fn take(&self, req: &Request) -> Option<Reply> {
        let path = req.uri().path().to_string();
        let query = Query::<Vec<(String, String)>>::try_from_uri(req.uri())
            .map(|q| q.0)
            .unwrap_or_default();
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut inner = self.lock();
        inner.log.push(Recorded {
            method: req.method().to_string(),
            path: path.clone(),
            query,
            headers,
            at: Instant::now(),
        });
        let idx = inner
            .rules
            .iter()
            .position(|r| path.starts_with(&r.path_prefix) && r.remaining.is_none_or(|n| n > 0))?;
        let rule = &mut inner.rules[idx];
        if let Some(n) = &mut rule.remaining {
            *n -= 1;
        }
        Some(rule.reply.clone())
    }
}

/// The middleware: record, then answer from the script or pass through.
pub(crate) async fn intercept(State(script): State<Script>, req: Request, next: Next) -> Response {
    match script.take(&req) {
        None => next.run(req).await,
        Some(Reply::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Reply::Body(body)) => json_response(StatusCode::OK, body),
        Some(Reply::Status {
            status,
            headers,
            body,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut res = (status, Body::from(body)).into_response();
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(&v),
                ) {
                    res.headers_mut().insert(k, v);
                }
            }
            res
        }
    }
}

/// A JSON response with the given status.
pub(crate) fn json_response(status: StatusCode, body: impl Into<String>) -> Response {
    let mut res = (status, Body::from(body.into())).into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
