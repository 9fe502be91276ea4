//! Security and limits of the whole HTTP surface, on a real server: the per-client rate limit,
//! CORS, the body size limit, private reads and the write token, the request timeout, error
//! bodies (always problems; no paths in 5xx), and the response cache of public data reads.
#![allow(clippy::unwrap_used)]

mod util;

use kite_api::limits::{ApiConfig, RateLimit};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::Duration;

struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts an RFC 9457 problem with this status.
    fn assert_problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let p = self.json();
        assert_eq!(p["status"], status, "{p}");
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        assert!(p["detail"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        p
    }
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let r = req.send().await.unwrap();
    Answer {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        text: r.text().await.unwrap(),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn config(f: impl FnOnce(&mut ApiConfig)) -> ApiConfig {
    let mut c = ApiConfig::default();
    f(&mut c);
    c
}

#[tokio::test]
async fn one_client_gets_429_with_retry_after_once_its_burst_is_spent() {
    // One token per 100 s: nothing refills while the test runs.
    let s = util::start_with(
        config(|c| {
            c.rate_limit = Some(RateLimit {
                per_second: 0.01,
                burst: 5,
            })
        }),
        |_| {},
    )
    .await;
    let c = client();
    for i in 0..5 {
        let a = send(c.get(format!("{}/healthz", s.url))).await;
        assert_eq!(a.status, 200, "request {i} of the burst: {}", a.text);
    }
    let a = send(c.get(format!("{}/healthz", s.url))).await;
    let p = a.assert_problem(429);
    let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
    // The next token is 1 / 0.01 s = 100 s away at most.
    assert!((1..=100).contains(&retry), "Retry-After {retry}");
    assert!(p["detail"].as_str().unwrap().contains('5'), "{p}");
    // Every route is limited, not only the one that spent the burst.
    let a = send(c.get(format!("{}/locations", s.url))).await;
    a.assert_problem(429);
    // A request with the valid token is not limited (its holder may run commands anyway).
    let a = send(c.get(format!("{}/healthz", s.url)).bearer_auth(&s.token)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    // A wrong token is no way around the limit.
    let a = send(c.get(format!("{}/healthz", s.url)).bearer_auth("wrong")).await;
    a.assert_problem(429);
}

#[tokio::test]
async fn cors_headers_are_absent_by_default_and_present_for_a_configured_origin() {
    let origin = "https://dashboard.example.org";
    let off = util::start().await;
    let a = send(
        client()
            .get(format!("{}/locations", off.url))
            .header("origin", origin),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("access-control-allow-origin"), None);

    let on = util::start_with(config(|c| c.cors_origins = vec![origin.into()]), |_| {}).await;
    let a = send(
        client()
            .get(format!("{}/locations", on.url))
            .header("origin", origin),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("access-control-allow-origin"), Some(origin));
    let a = send(
        client()
            .get(format!("{}/locations", on.url))
            .header("origin", "https://elsewhere.example.org"),
    )
    .await;
    assert_eq!(a.header("access-control-allow-origin"), None);
    // A preflight for a write with the token.
    let a = send(
        client()
            .request(reqwest::Method::OPTIONS, format!("{}/v1/jobs", on.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            ),
    )
    .await;
    assert!(a.status < 300, "{} {}", a.status, a.text);
    assert_eq!(a.header("access-control-allow-origin"), Some(origin));
    let allowed = a
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem_and_one_at_the_limit_is_read() {
    let limit = 1000;
    let s = util::start_with(config(|c| c.body_limit = limit), |_| {}).await;
    let c = client();
    let a = send(
        c.post(format!("{}/v1/jobs", s.url))
            .bearer_auth(&s.token)
            .header("content-type", "application/json")
            .body(vec![b' '; limit + 1]),
    )
    .await;
    let p = a.assert_problem(413);
    assert!(p["detail"].as_str().unwrap().contains("1000"), "{p}");
    // At the limit the body reaches the handler, which finds it malformed (spaces, no JSON).
    let a = send(
        c.post(format!("{}/v1/jobs", s.url))
            .bearer_auth(&s.token)
            .header("content-type", "application/json")
            .body(vec![b' '; limit]),
    )
    .await;
    a.assert_problem(400);
    // Public reads that take a body are limited the same way.
    let a = send(
        c.post(format!("{}/emissions/forecasts/batch", s.url))
            .header("content-type", "application/json")
            .body(vec![b' '; limit + 1]),
    )
    .await;
    a.assert_problem(413);
}

#[tokio::test]
async fn private_reads_need_the_token_except_health_and_writes_always_do() {
    let s = util::start_with(config(|c| c.private_reads = true), |_| {}).await;
    let c = client();
    for path in ["/locations", "/v1/regions", "/metrics", "/openapi.json"] {
        let a = send(c.get(format!("{}{path}", s.url))).await;
        let p = a.assert_problem(401);
        assert!(p["fix"].as_str().unwrap().contains("Bearer"), "{path}: {p}");
        let a = send(c.get(format!("{}{path}", s.url)).bearer_auth(&s.token)).await;
        assert_eq!(a.status, 200, "{path} with the token: {}", a.text);
        // Private answers are never cached.
        assert_eq!(a.header("x-cache"), None, "{path}");
    }
    let a = send(c.get(format!("{}/locations", s.url)).bearer_auth("wrong")).await;
    let p = a.assert_problem(401);
    assert!(p["detail"].as_str().unwrap().contains("wrong"), "{p}");
    for path in ["/healthz", "/readyz"] {
        let a = send(c.get(format!("{}{path}", s.url))).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text);
    }

    // By default reads are public, writes are not.
    let d = util::start().await;
    let a = send(c.get(format!("{}/locations", d.url))).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = send(c.delete(format!("{}/locations", d.url))).await;
    a.assert_problem(401);
    // Planning changes nothing: a POST to /v1/plan is a read, checked and answered without it.
    let a = send(
        c.post(format!("{}/v1/plan", d.url))
            .header("content-type", "application/json")
            .body("{}"),
    )
    .await;
    let p = a.assert_problem(400);
    assert!(p["detail"].as_str().unwrap().contains("jobs"), "{p}");
    // With the token, a write to a route without that method is a 405 problem naming it.
    let a = send(c.post(format!("{}/healthz", d.url)).bearer_auth(&d.token)).await;
    let p = a.assert_problem(405);
    assert!(p["detail"].as_str().unwrap().contains("/healthz"), "{p}");
    assert!(
        a.header("allow").unwrap().contains("GET"),
        "{:?}",
        a.headers
    );
}

/// Sends `head` and the first part of a body it announced as longer, then reads the answer
/// (the client keeps the connection open and never sends the rest).
async fn raw_partial(url: &str, head: &str, partial: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.strip_prefix("http://").unwrap();
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(partial.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // A guard against hanging forever, not a speed assertion.
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let n = sock.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some((headers, body)) = text.split_once("\r\n\r\n") {
                let len = headers
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if len.is_some_and(|n| body.len() >= n) {
                    break;
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer in 60 s");
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_is_a_503_problem_after_the_timeout() {
    // A naturally slow request without a test-only route: the job handler waits for a body
    // the client announced (100 bytes) and never finishes sending.
    let s = util::start_with(
        config(|c| c.request_timeout = Duration::from_millis(300)),
        |_| {},
    )
    .await;
    let head = format!(
        "POST /v1/jobs HTTP/1.1\r\nHost: kite\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        s.token
    );
    let (status, body) = raw_partial(&s.url, &head, "{\"command\": [\"true\"],").await;
    assert_eq!(status, 503, "{body}");
    let p: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(p["status"], 503, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("300 ms"), "{p}");
    assert!(
        p["fix"]
            .as_str()
            .unwrap()
            .contains("may still have taken effect"),
        "{p}"
    );
    // Nothing landed: the body never came.
    let a = send(
        client()
            .get(format!("{}/v1/jobs", s.url))
            .bearer_auth(&s.token),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["jobs"].as_array().unwrap().len(), 0, "{}", a.text);
}

#[tokio::test]
async fn error_bodies_are_problems_and_5xx_bodies_name_no_path() {
    // The store path is a directory: the store cannot open, so /readyz fails; every 5xx any
    // route gives must keep the path to the log.
    let s = util::start_with(ApiConfig::default(), |db| {
        std::fs::create_dir_all(db).unwrap()
    })
    .await;
    let dir = s.dir.path().to_str().unwrap().to_owned();
    let c = client();
    let a = send(c.get(format!("{}/readyz", s.url))).await;
    let p = a.assert_problem(503);
    assert!(p["detail"].as_str().unwrap().contains("store"), "{p}");
    let mut server_errors = 0;
    for path in [
        "/readyz",
        "/metrics",
        "/healthz",
        "/locations",
        "/emissions/bylocation?location=DE",
        "/emissions/forecasts/current?location=DE",
        "/v1/intensity?region=DE",
        "/v1/forecast?region=DE",
        "/v1/regions",
        "/v1/report",
        "/v1/ledger/checkpoint",
        "/dashboard/data/grid",
        "/dashboard/data/books",
    ] {
        let a = send(c.get(format!("{}{path}", s.url))).await;
        if a.status >= 500 {
            server_errors += 1;
            a.assert_problem(a.status);
            for leak in [dir.as_str(), "/tmp/", ".rs:", "panicked"] {
                assert!(!a.text.contains(leak), "{path} shows `{leak}`: {}", a.text);
            }
        }
    }
    assert!(server_errors >= 1, "the broken store gave no 5xx at all");

    // Client errors are problems too, also where axum answers (no route, no such method).
    let a = send(c.get(format!("{}/no/such/route", s.url))).await;
    let p = a.assert_problem(404);
    assert!(
        p["detail"].as_str().unwrap().contains("/no/such/route"),
        "{p}"
    );
}

#[tokio::test]
async fn a_repeated_public_read_is_a_cache_hit_with_the_same_body_and_another_query_a_miss() {
    let s = util::start().await;
    let c = client();
    let de = format!("{}/emissions/bylocation?location=DE", s.url);
    let first = send(c.get(&de)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("x-cache"), Some("miss"));
    assert_eq!(first.header("cache-control"), Some("public, max-age=5"));
    let second = send(c.get(&de)).await;
    assert_eq!(second.header("x-cache"), Some("hit"));
    assert_eq!(second.text, first.text);
    assert_eq!(second.header("content-type"), first.header("content-type"));
    let age: u64 = second.header("age").unwrap().parse().unwrap();
    let max_age: u64 = second
        .header("cache-control")
        .unwrap()
        .strip_prefix("public, max-age=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(age + max_age <= 5, "age {age}, max-age {max_age}");

    let fr = send(c.get(format!("{}/emissions/bylocation?location=FR", s.url))).await;
    assert_eq!(fr.status, 200, "{}", fr.text);
    assert_eq!(fr.header("x-cache"), Some("miss"));
    assert_ne!(fr.text, first.text);
    // With a token, the cache is bypassed both ways.
    let authed = send(c.get(&de).bearer_auth(&s.token)).await;
    assert_eq!(authed.status, 200);
    assert_eq!(authed.header("x-cache"), None);
    // Only 200s are kept.
    let bad = format!("{}/emissions/bylocation?location=nowhere-land", s.url);
    let a = send(c.get(&bad)).await;
    assert!(a.status >= 400);
    let b = send(c.get(&bad)).await;
    assert_ne!(b.header("x-cache"), Some("hit"));
    // Jobs and health are never cached.
    let h = send(c.get(format!("{}/healthz", s.url))).await;
    assert_eq!(h.header("x-cache"), None);
}

#[tokio::test]
async fn a_cached_answer_expires_after_the_ttl() {
    let s = util::start_with(config(|c| c.cache_ttl = Duration::from_secs(1)), |_| {}).await;
    let c = client();
    let url = format!("{}/locations", s.url);
    assert_eq!(send(c.get(&url)).await.header("x-cache"), Some("miss"));
    assert_eq!(send(c.get(&url)).await.header("x-cache"), Some("hit"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(send(c.get(&url)).await.header("x-cache"), Some("miss"));
}
