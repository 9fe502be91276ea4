//! What every request goes through: authorisation of reads and writes, body size limit,
//! per-client rate limit, timeouts, CORS, the response cache of public data reads, metrics,
//! and error bodies that are always problem details and never show internal paths.
//!
//! The layers, outermost first:
//! 1. [`observe`]: times and counts the request in [`crate::metrics`]; turns every error
//!    answer that is not already JSON (axum's plain-text rejections, empty 404s and 405s, the
//!    body limit's 413) into a problem, and replaces a 5xx body that is not a problem or that
//!    names a file path or a panic by a generic problem (the original goes to the log).
//! 2. CORS (`tower-http`), only when `cors_origins` is set: outside the limits, so a browser
//!    also sees a 429 or a 401.
//! 3. [`guard`]: the per-client rate limit (requests with the valid bearer token are not
//!    limited: they may run commands anyway), the token check for writes (and for reads when
//!    `private_reads`), the response cache, and the request timeout.
//! 4. The body size limit (`tower-http`; the job routes keep their own 64 KiB limit).
//! 5. Panics in handlers become a 500 problem without the panic text (`tower-http`).

use crate::cache::Cache;
use crate::{AppState, Problem};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use kite_service::config::ApiSection;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

/// The `[serve.api]` settings, checked.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Reads need the bearer token too, except `/healthz` and `/readyz` (default: public).
    pub private_reads: bool,
    /// Origins allowed by CORS (`https://host[:port]`, or `*`); empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// Per client IP, for requests without the valid bearer token; `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// Longest time a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// How long public data reads are cached; zero: no cache.
    pub cache_ttl: Duration,
    /// Most cached answers.
    pub cache_entries: usize,
}

/// A token bucket per client: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests a client may make at once after being idle.
    pub burst: u32,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            private_reads: false,
            cors_origins: Vec::new(),
            rate_limit: Some(RateLimit {
                per_second: 100.0,
                burst: 200,
            }),
            request_timeout: Duration::from_secs(30),
            body_limit: kite_service::api::BODY_LIMIT,
            cache_ttl: Duration::from_secs(5),
            cache_entries: 4096,
        }
    }
}

impl ApiConfig {
    /// The settings of a `[serve.api]` table, each value checked; errors name the key, the
    /// value and the fix.
    pub fn from_section(s: &ApiSection) -> Result<ApiConfig, String> {
        let d = ApiConfig::default();
        let duration = |key: &str, text: &Option<String>, default: Duration| match text {
            None => Ok(default),
            Some(t) => kite_engine::parse_duration(t)
                .ok()
                .and_then(|d| Duration::try_from(d).ok())
                .ok_or_else(|| {
                    format!("{key} = \"{t}\" is not a duration; write e.g. 30s or 500ms")
                }),
        };
        let request_timeout = duration("request_timeout", &s.request_timeout, d.request_timeout)?;
        if request_timeout.is_zero() {
            return Err("request_timeout must be longer than 0s; write e.g. 30s".into());
        }
        let cache_ttl = duration("cache_ttl", &s.cache_ttl, d.cache_ttl)?;
        let body_limit = match s.body_limit {
            None => d.body_limit,
            Some(0) => {
                return Err(
                    "body_limit = 0 would refuse every job; write e.g. 65536 (bytes)".into(),
                );
            }
            Some(n) => usize::try_from(n).map_err(|_| format!("body_limit = {n} is too large"))?,
        };
        let rate_limit = match &s.rate_limit {
            None => d.rate_limit,
            Some(r) if r.per_second == 0.0 => None,
            Some(r) => {
                if !(r.per_second.is_finite() && r.per_second > 0.0) {
                    return Err(format!(
                        "rate_limit.per_second = {} must be a positive number (0: no limit)",
                        r.per_second
                    ));
                }
                let burst = r
                    .burst
                    .unwrap_or((r.per_second * 2.0).ceil().min(f64::from(u32::MAX)) as u32);
                if burst == 0 {
                    return Err(
                        "rate_limit.burst = 0 would refuse every request; write e.g. 200".into(),
                    );
                }
                Some(RateLimit {
                    per_second: r.per_second,
                    burst,
                })
            }
        };
        for o in &s.cors_origins {
            check_origin(o)?;
        }
        Ok(ApiConfig {
            private_reads: s.private_reads.unwrap_or(d.private_reads),
            cors_origins: s.cors_origins.clone(),
            rate_limit,
            request_timeout,
            body_limit,
            cache_ttl,
            cache_entries: s.cache_entries.unwrap_or(d.cache_entries),
        })
    }
}

fn check_origin(o: &str) -> Result<(), String> {
    if o == "*" {
        return Ok(());
    }
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty() && !host.contains('/') && HeaderValue::from_str(o).is_ok() =>
        {
            Ok(())
        }
        _ => Err(format!(
            "cors_origins: `{o}` is not an origin; write the scheme and host as the browser sends them, e.g. \"https://dashboard.example.org\" or \"http://localhost:8080\" (no path, no trailing slash), or \"*\""
        )),
    }
}

/// `router` with every layer applied.
pub fn layer(router: Router, state: Arc<AppState>) -> Router {
    let cfg = &state.config;
    let guard = Arc::new(Guard {
        limiter: cfg.rate_limit.map(RateLimiter::new),
        cache: if cfg.private_reads {
            None
        } else {
            Cache::new(cfg.cache_ttl, cfg.cache_entries)
        },
        markers: leak_markers(&state),
        state: state.clone(),
    });
    let mut router = router
        .layer(CatchPanicLayer::custom(panic_problem))
        .layer(RequestBodyLimitLayer::new(cfg.body_limit))
        .layer(from_fn_with_state(guard.clone(), self::guard));
    if let Some(cors) = cors_layer(&cfg.cors_origins) {
        router = router.layer(cors);
    }
    router.layer(from_fn_with_state(guard, observe))
}

/// What the middleware share.
struct Guard {
    state: Arc<AppState>,
    limiter: Option<RateLimiter>,
    cache: Option<Cache>,
    /// Text that must not appear in a 5xx body (paths on this machine, panic output).
    markers: Vec<String>,
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([header::RETRY_AFTER, header::AGE])
            .max_age(Duration::from_secs(3600)),
    )
}

/// Layer 1: metrics, and problem bodies for every error.
async fn observe(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    // Only an unmatched request's error names its path.
    let path = route.is_none().then(|| req.uri().path().to_owned());
    let mut resp = next.run(req).await;
    let status = resp.status();
    if status.is_client_error() || status.is_server_error() {
        let at = route.as_deref().or(path.as_deref()).unwrap_or("");
        resp = problem_body(resp, &method, at, &g.markers, g.state.config.body_limit).await;
    }
    g.state
        .metrics
        .observe(&method, route.as_deref(), resp.status(), start.elapsed());
    resp
}

/// Layer 3: rate limit, authorisation, cache, timeout.
async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let cfg = &g.state.config;
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")));
    let authorised = matches!(given, Some(Some(t)) if g.state.jobs.token.matches(t.trim()));
    if !authorised {
        if let Some(limiter) = &g.limiter {
            let ip = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |c| c.0.ip());
            if let Err(wait) = limiter.check(ip) {
                g.state.metrics.rate_limited();
                return too_many(wait, limiter.limit);
            }
        }
        if needs_token(req.method(), req.uri().path(), cfg.private_reads) {
            return unauthorised(given.is_some());
        }
    }
    let key = g.cache.as_ref().and_then(|_| Cache::key(&req));
    if let (Some(cache), Some(key)) = (&g.cache, &key) {
        if let Some(hit) = cache.get(key) {
            g.state.metrics.cache_hit();
            return hit;
        }
        g.state.metrics.cache_miss();
    }
    let resp = match tokio::time::timeout(cfg.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => return timed_out(cfg.request_timeout),
    };
    match (&g.cache, key) {
        (Some(cache), Some(key)) => cache.put(key, resp).await,
        _ => resp,
    }
}

/// Whether a request without the valid token must be refused. The job routes check the token
/// themselves. Queries sent as POST change nothing and are reads: the Carbon Aware SDK's batch
/// queries (`POST /emissions/.../batch`) and `POST /v1/plan`. With `private_reads`, the
/// dashboard's pages and assets stay public (they hold no data; the page asks for the token and
/// sends it with its data requests, `/dashboard/data/...`), as do the probes.
pub fn needs_token(method: &Method, path: &str, private_reads: bool) -> bool {
    if path == "/v1/jobs" || path.starts_with("/v1/jobs/") {
        return false;
    }
    let read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (*method == Method::POST
            && ((path.starts_with("/emissions/") && path.ends_with("/batch"))
                || path == "/v1/plan"));
    if !read {
        return true;
    }
    let public = matches!(
        path,
        "/healthz"
            | "/readyz"
            | "/"
            | "/dashboard"
            | "/dashboard/"
            | "/dashboard/jobs"
            | "/dashboard/books"
    ) || path.starts_with("/dashboard/assets/");
    private_reads && !public
}

fn unauthorised(token_given: bool) -> Response {
    Problem {
        fix: Some("send `Authorization: Bearer <token>`; the token is in the `.token` file beside the queue (kite submit reads it, or pass --token / KITE_TOKEN)".into()),
        ..Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            if token_given { "the bearer token is wrong" } else { "no bearer token: writes (and, with [serve.api] private_reads, reads) need it" },
        )
    }
    .into_response()
}

fn too_many(wait: Duration, limit: RateLimit) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut resp = Problem {
        fix: Some(format!("retry after {secs} s (the Retry-After header); send the bearer token (not limited), or raise [serve.api] rate_limit")),
        ..Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests",
            format!(
                "this client made more than {} requests at once or more than {} per second",
                limit.burst, limit.per_second
            ),
        )
    }
    .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

fn timed_out(limit: Duration) -> Response {
    Problem {
        fix: Some("retry later; a write may still have taken effect (`kite jobs` lists the queue); an operator can raise [serve.api] request_timeout".into()),
        ..Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request timed out",
            format!("no answer within the request timeout ({} ms)", limit.as_millis()),
        )
    }
    .into_response()
}

fn panic_problem(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // The panic message is printed to the log by the panic hook; the client gets none of it.
    tracing::error!("a request handler panicked; answered 500");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
        "kite serve failed to answer this request; its log has the details",
    )
    .into_response()
}

/// Paths of this machine that a 5xx body must not show, and signs of panic output.
fn leak_markers(state: &AppState) -> Vec<String> {
    let mut m: Vec<String> = [
        "panicked at",
        "stack backtrace",
        "RUST_BACKTRACE",
        ".rs:",
        "/src/",
        "/home/",
        "/root/",
        "/tmp/",
        "/var/",
        "/usr/",
        "/etc/",
        "/opt/",
        "/srv/",
        "/mnt/",
        "/Users/",
        ":\\",
    ]
    .map(str::to_owned)
    .into();
    let dirs = [
        state.database.parent().map(|p| p.to_path_buf()),
        state
            .ledger
            .as_deref()
            .and_then(|l| l.parent())
            .map(|p| p.to_path_buf()),
        std::env::current_dir().ok(),
        Some(std::env::temp_dir()),
        std::env::var_os("HOME").map(Into::into),
    ];
    for d in dirs.into_iter().flatten() {
        let s = d.to_string_lossy().into_owned();
        // `/` or `.` alone would match everything.
        if s.len() > 2 {
            m.push(s);
        }
    }
    m
}

/// An error answer as a problem; see the module documentation. `markers`: text a 5xx body
/// must not contain.
async fn problem_body(
    resp: Response,
    method: &Method,
    at: &str,
    markers: &[String],
    body_limit: usize,
) -> Response {
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if json && status.is_client_error() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    if status.is_server_error() {
        if json && !markers.iter().any(|m| text.contains(m.as_str())) {
            return Response::from_parts(parts, Body::from(bytes));
        }
        tracing::error!(
            "{status} answer replaced by a generic problem (not a problem body, or it named a path): {text}"
        );
        let mut r = Problem::new(
            status,
            status.canonical_reason().unwrap_or("server error"),
            "kite serve failed to answer this request; its log has the details",
        )
        .into_response();
        if let Some(v) = parts.headers.get(header::RETRY_AFTER) {
            r.headers_mut().insert(header::RETRY_AFTER, v.clone());
        }
        return r;
    }
    let text = text.trim();
    let (detail, fix) = match status {
        StatusCode::NOT_FOUND => (
            format!("no route `{at}`"),
            "GET /openapi.json lists the routes".to_owned(),
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            (
                format!("`{method}` is not allowed on `{at}`"),
                format!("use {allow}"),
            )
        }
        StatusCode::PAYLOAD_TOO_LARGE => (
            format!(
                "the request body is larger than the limit ({} bytes)",
                body_limit
            ),
            "send a smaller body; an operator can raise [serve.api] body_limit".to_owned(),
        ),
        _ if !text.is_empty() => (
            text.chars().take(500).collect(),
            "see /openapi.json for the parameters this route takes".to_owned(),
        ),
        _ => (
            status.canonical_reason().unwrap_or("error").to_owned(),
            "see /openapi.json".to_owned(),
        ),
    };
    let mut r = Problem {
        fix: Some(fix),
        ..Problem::new(
            status,
            status.canonical_reason().unwrap_or("client error"),
            detail,
        )
    }
    .into_response();
    for h in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&h) {
            r.headers_mut().insert(h, v.clone());
        }
    }
    r
}

/// Most clients tracked at once; beyond, idle ones are forgotten first.
const MAX_CLIENTS: usize = 65_536;

/// Token buckets keyed by client: an IPv4 address, or an IPv6 /64 (one host usually holds a
/// whole /64, so per-address keys would not limit it).
struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip`, or says how long until one is free.
    fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let key = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
            },
            v4 => v4,
        };
        let (rate, burst) = (self.limit.per_second, f64::from(self.limit.burst));
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_CLIENTS && !map.contains_key(&key) {
            // A full bucket holds no state worth keeping.
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
            if map.len() >= MAX_CLIENTS {
                map.clear();
            }
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_need_the_token_and_reads_only_when_private() {
        assert!(needs_token(&Method::POST, "/v1/ledger", false));
        assert!(
            !needs_token(&Method::POST, "/v1/jobs", false),
            "the job routes check it"
        );
        assert!(!needs_token(&Method::GET, "/emissions/bylocation", false));
        assert!(!needs_token(
            &Method::POST,
            "/emissions/forecasts/batch",
            false
        ));
        assert!(needs_token(&Method::GET, "/emissions/bylocation", true));
        assert!(needs_token(&Method::GET, "/metrics", true));
        assert!(!needs_token(&Method::GET, "/healthz", true));
        assert!(!needs_token(&Method::GET, "/readyz", true));
        assert!(needs_token(&Method::DELETE, "/healthz", false));
        assert!(!needs_token(&Method::POST, "/v1/plan", false));
        assert!(needs_token(&Method::POST, "/v1/plan", true));
        // Private reads: the dashboard's pages and assets hold no data; its data needs the token.
        for page in [
            "/",
            "/dashboard/",
            "/dashboard/books",
            "/dashboard/assets/app.1a2b.js",
        ] {
            assert!(!needs_token(&Method::GET, page, true), "{page}");
        }
        assert!(needs_token(&Method::GET, "/dashboard/data/grid", true));
    }

    #[test]
    fn the_bucket_allows_the_burst_then_refuses_with_the_wait() {
        let l = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let a: IpAddr = "192.0.2.1"
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        for _ in 0..3 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).unwrap_err();
        // One token at 2/s: at most half a second away.
        assert!(
            wait <= Duration::from_millis(500) && !wait.is_zero(),
            "{wait:?}"
        );
        let b: IpAddr = "192.0.2.2"
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        assert!(l.check(b).is_ok(), "another client has its own bucket");
        // Two addresses of one IPv6 /64 share a bucket.
        let c: IpAddr = "2001:db8::1".parse().unwrap_or(a);
        let d: IpAddr = "2001:db8::2".parse().unwrap_or(a);
        for _ in 0..3 {
            assert!(l.check(c).is_ok());
        }
        assert!(l.check(d).is_err());
    }

    async fn body_of(r: Response) -> (StatusCode, String, Option<String>) {
        let status = r.status();
        let ct = r
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let b = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&b).into_owned(), ct)
    }

    #[tokio::test]
    async fn a_5xx_body_that_names_a_path_or_is_no_problem_is_replaced() {
        let markers = vec![
            "/srv/kite-data".to_owned(),
            "/tmp/".to_owned(),
            ".rs:".to_owned(),
        ];
        let leaky = Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
            "cannot open /srv/kite-data/kite.sqlite3: disk I/O error",
        )
        .into_response();
        let (status, text, ct) =
            body_of(problem_body(leaky, &Method::GET, "/x", &markers, 10).await).await;
        assert_eq!(status, 500);
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
        assert!(
            !text.contains("/srv/kite-data") && text.contains("log"),
            "{text}"
        );

        let plain = (
            StatusCode::BAD_GATEWAY,
            "thread 'x' panicked at src/lib.rs:1:1",
        )
            .into_response();
        let (status, text, ct) =
            body_of(problem_body(plain, &Method::GET, "/x", &markers, 10).await).await;
        assert_eq!(status, 502);
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
        assert!(
            !text.contains("panicked") && !text.contains(".rs:"),
            "{text}"
        );

        // A problem without a path is the handler's own words, kept.
        let fine = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready",
            "the queue is busy",
        )
        .into_response();
        let (_, text, _) =
            body_of(problem_body(fine, &Method::GET, "/x", &markers, 10).await).await;
        assert!(text.contains("the queue is busy"), "{text}");

        // A plain-text client error keeps its words as the detail.
        let bad = (
            StatusCode::BAD_REQUEST,
            "Failed to deserialize query string: missing field `location`",
        )
            .into_response();
        let (status, text, ct) =
            body_of(problem_body(bad, &Method::GET, "/x", &markers, 10).await).await;
        assert_eq!(
            (status.as_u16(), ct.as_deref()),
            (400, Some("application/problem+json"))
        );
        assert!(text.contains("missing field"), "{text}");
    }

    #[tokio::test]
    async fn a_panic_is_a_500_problem_without_the_panic_text() {
        let (status, text, ct) = body_of(panic_problem(Box::new("secret at /src/x.rs:3"))).await;
        assert_eq!(status, 500);
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
        assert!(!text.contains("secret") && !text.contains(".rs"), "{text}");
    }

    #[test]
    fn the_config_section_is_checked() {
        let ok = ApiConfig::from_section(&ApiSection {
            private_reads: Some(true),
            cors_origins: vec!["https://a.example".into(), "*".into()],
            request_timeout: Some("500ms".into()),
            ..ApiSection::default()
        });
        let ok = ok.unwrap_or_else(|e| panic!("{e}"));
        assert!(ok.private_reads);
        assert_eq!(ok.request_timeout, Duration::from_millis(500));
        for bad in ["https://a.example/", "a.example", "https://"] {
            let e = ApiConfig::from_section(&ApiSection {
                cors_origins: vec![bad.into()],
                ..ApiSection::default()
            })
            .unwrap_err();
            assert!(e.contains(bad) && e.contains("cors_origins"), "{e}");
        }
        let e = ApiConfig::from_section(&ApiSection {
            request_timeout: Some("soon".into()),
            ..ApiSection::default()
        })
        .unwrap_err();
        assert!(e.contains("request_timeout") && e.contains("soon"), "{e}");
        let off = ApiConfig::from_section(&ApiSection {
            rate_limit: Some(kite_service::config::RateLimitSection {
                per_second: 0.0,
                burst: None,
            }),
            ..ApiSection::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(off.rate_limit, None);
    }
}
