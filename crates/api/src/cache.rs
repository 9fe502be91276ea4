//! A short-lived response cache for public data reads (`/emissions/*`, `/locations`,
//! `/v1/intensity`, `/v1/regions*`, `/v1/forecast*`).
//!
//! Why: these answers change at most every few minutes (a provider's resolution), while
//! clients such as the Carbon Aware SDK's KEDA operator poll them often; a hit skips the store
//! and the fallback chain. Only `200` answers are kept, keyed by the exact path and query, for
//! `cache_ttl` (5 s by default) and at most `cache_entries` of them; a request with an
//! `Authorization` header, and every request when reads are private, bypasses the cache (so an
//! answer is never shared beyond the clients that may see it). Answers carry
//! `Cache-Control: public, max-age=N`, `Age` and `X-Cache: hit|miss`.

use axum::body::HttpBody as _;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Path prefixes whose GET answers may be cached.
pub const CACHED_PREFIXES: [&str; 5] = [
    "/emissions/",
    "/locations",
    "/v1/intensity",
    "/v1/regions",
    "/v1/forecast",
];

/// Answers larger than this are not kept (a year of hourly values is far smaller).
const MAX_BODY: u64 = 1 << 20;

/// `X-Cache`.
pub const X_CACHE: &str = "x-cache";

struct Entry {
    at: Instant,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// The cache: a map bounded by size, its entries dropped when they expire or, when it is full,
/// the oldest first (with a TTL of seconds, oldest-first is as good as least-recently-used).
pub struct Cache {
    ttl: Duration,
    cap: usize,
    map: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("ttl", &self.ttl)
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache keeping answers for `ttl`, at most `cap` of them; `None` when either is zero.
    pub fn new(ttl: Duration, cap: usize) -> Option<Cache> {
        (!ttl.is_zero() && cap > 0).then(|| Cache {
            ttl,
            cap,
            map: Mutex::new(HashMap::new()),
        })
    }

    /// The key of a request the cache may answer: a GET of a public data route without an
    /// `Authorization` header. `None` for everything else.
    pub fn key<B>(req: &Request<B>) -> Option<String> {
        if req.method() != Method::GET || req.headers().contains_key(header::AUTHORIZATION) {
            return None;
        }
        let path = req.uri().path();
        if !CACHED_PREFIXES.iter().any(|p| path.starts_with(p)) {
            return None;
        }
        Some(
            req.uri()
                .path_and_query()
                .map_or(path, |pq| pq.as_str())
                .to_owned(),
        )
    }

    /// The stored answer for `key`, if it has not expired.
    pub fn get(&self, key: &str) -> Option<Response> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let e = map.get(key)?;
        let age = e.at.elapsed();
        if age >= self.ttl {
            return None;
        }
        let mut resp = Response::new(Body::from(e.body.clone()));
        *resp.status_mut() = e.status;
        *resp.headers_mut() = e.headers.clone();
        drop(map);
        let h = resp.headers_mut();
        h.insert(header::AGE, HeaderValue::from(age.as_secs()));
        h.insert(header::CACHE_CONTROL, max_age(self.ttl - age));
        h.insert(X_CACHE, HeaderValue::from_static("hit"));
        Some(resp)
    }

    /// Keeps `resp` under `key` if it is a 200 of known, small size, and returns it marked as a
    /// miss.
    pub async fn put(&self, key: String, resp: Response) -> Response {
        let size = resp.body().size_hint().exact();
        if resp.status() != StatusCode::OK || size.is_none_or(|n| n > MAX_BODY) {
            return resp;
        }
        let (mut parts, body) = resp.into_parts();
        // The size is known and small, so this reads what is already there.
        let bytes = match axum::body::to_bytes(body, MAX_BODY as usize).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("response cache: reading an answer failed: {e}");
                return problem_500();
            }
        };
        parts
            .headers
            .insert(header::CACHE_CONTROL, max_age(self.ttl));
        let entry = Entry {
            at: Instant::now(),
            status: parts.status,
            headers: parts.headers.clone(),
            body: bytes.clone(),
        };
        {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() >= self.cap && !map.contains_key(&key) {
                let ttl = self.ttl;
                map.retain(|_, e| e.at.elapsed() < ttl);
                if map.len() >= self.cap
                    && let Some(oldest) =
                        map.iter().min_by_key(|(_, e)| e.at).map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                }
            }
            map.insert(key, entry);
        }
        parts.headers.insert(header::AGE, HeaderValue::from(0u64));
        parts
            .headers
            .insert(X_CACHE, HeaderValue::from_static("miss"));
        Response::from_parts(parts, Body::from(bytes))
    }

    /// How many answers are held (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn max_age(left: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!("public, max-age={}", left.as_secs()))
        .unwrap_or(HeaderValue::from_static("no-cache"))
}

fn problem_500() -> Response {
    use axum::response::IntoResponse;
    crate::Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
        "the answer could not be read; see the kite serve log",
    )
    .into_response()
}
