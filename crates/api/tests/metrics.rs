//! `/metrics` and `/readyz` on a real server: request counters move by exactly the requests
//! made, jobs by state match the queue, run totals and data ages match what was seeded, cache
//! hits and misses are counted, and the text is valid exposition format.
#![allow(clippy::unwrap_used)]

mod util;

use kite_api::limits::{ApiConfig, RateLimit};
use kite_core::{
    Clock, IntensitySeries, Provenance, Resolution, Signal, SignalMeta, SignedDuration,
    SystemClock, Timestamp, ZoneKey,
};
use kite_store::{NewRun, RunFinish, RunStatus};
use std::collections::{BTreeMap, BTreeSet};

/// A parsed exposition: families with their type, and samples by `name{labels}` (labels sorted).
struct Exposition {
    types: BTreeMap<String, String>,
    samples: BTreeMap<String, f64>,
}

impl Exposition {
    /// The value of `name` with exactly these labels (given in any order).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples.get(&key(name, labels)).copied()
    }
}

fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    l.sort();
    format!("{name}{{{}}}", l.join(","))
}

/// Parses the OpenMetrics / Prometheus text format strictly enough to catch malformed output:
/// `# HELP`, `# TYPE`, `# UNIT` and `# EOF` lines, and samples `name{k="v",...} value` whose
/// name belongs to a declared family.
fn parse(text: &str) -> Exposition {
    let mut types = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.last(),
        Some(&"# EOF"),
        "the exposition ends with # EOF"
    );
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let name = parts.next().unwrap_or("");
            let value = parts.next().unwrap_or("");
            assert!(ident(name), "bad family name in `{line}`");
            match kind {
                "TYPE" => {
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "summary",
                            "info",
                            "stateset",
                            "unknown"
                        ]
                        .contains(&value),
                        "bad type in `{line}`"
                    );
                    assert!(
                        types.insert(name.to_owned(), value.to_owned()).is_none(),
                        "family declared twice: `{line}`"
                    );
                }
                "HELP" | "UNIT" => {}
                _ => panic!("unknown comment `{line}`"),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: `{line}`"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in `{line}`")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: `{line}`"));
                let mut labels = Vec::new();
                // Label values here never contain `",` (routes, states, zones).
                for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("bad label in `{line}`"));
                    assert!(ident(k), "bad label name in `{line}`");
                    labels.push(format!("{k}=\"{}\"", v.trim_end_matches('"')));
                }
                labels.sort();
                (n, labels)
            }
            None => (series, Vec::new()),
        };
        assert!(ident(name), "bad metric name in `{line}`");
        let family = types
            .iter()
            .filter(|(f, t)| {
                let suffixes: &[&str] = match t.as_str() {
                    "counter" => &["_total", "_created"],
                    "histogram" => &["_bucket", "_count", "_sum", "_created"],
                    _ => &[""],
                };
                suffixes.iter().any(|s| name == format!("{f}{s}"))
            })
            .count();
        assert_eq!(family, 1, "sample of no declared family: `{line}`");
        let k = format!("{name}{{{}}}", labels.join(","));
        assert!(
            samples.insert(k, value).is_none(),
            "duplicate sample `{line}`"
        );
    }
    Exposition { types, samples }
}

async fn scrape(url: &str) -> Exposition {
    let r = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    parse(&r.text().await.unwrap())
}

async fn get(url: String) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn request_counters_move_by_exactly_the_requests_made_by_route_template() {
    let s = util::start().await;
    let before = scrape(&s.url).await;
    // The scrape is counted after it answers: the first one sees no request at all.
    assert!(
        before
            .samples
            .keys()
            .all(|k| !k.starts_with("kite_http_requests_total")),
        "{:?}",
        before.samples.keys().collect::<Vec<_>>()
    );
    for _ in 0..3 {
        assert_eq!(get(format!("{}/healthz", s.url)).await, 200);
    }
    for path in ["/v1/regions/DE", "/v1/regions/FR"] {
        assert_eq!(get(format!("{}{path}", s.url)).await, 200);
    }
    for path in ["/no/such/route", "/another/unknown"] {
        assert_eq!(get(format!("{}{path}", s.url)).await, 404);
    }
    // A write without the token.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/jobs", s.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let m = scrape(&s.url).await;
    let req = |method: &str, route: &str, status: &str| {
        m.get(
            "kite_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(req("GET", "/healthz", "2xx"), Some(3.0));
    // Two regions, one route template: the raw paths are not labels.
    assert_eq!(req("GET", "/v1/regions/{region}", "2xx"), Some(2.0));
    assert_eq!(req("GET", "unmatched", "4xx"), Some(2.0));
    assert_eq!(req("POST", "/v1/jobs", "4xx"), Some(1.0));
    assert_eq!(req("GET", "/metrics", "2xx"), Some(1.0), "the first scrape");
    let total: f64 = m
        .samples
        .iter()
        .filter(|(k, _)| k.starts_with("kite_http_requests_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, 3.0 + 2.0 + 2.0 + 1.0 + 1.0);

    // The histogram counted the same requests, and its buckets are cumulative.
    let hist = |suffix: &str, extra: &[(&str, &str)]| {
        let mut l = vec![("method", "GET"), ("route", "/healthz"), ("status", "2xx")];
        l.extend_from_slice(extra);
        m.get(&format!("kite_http_request_duration_seconds{suffix}"), &l)
    };
    assert_eq!(hist("_count", &[]), Some(3.0));
    assert_eq!(hist("_bucket", &[("le", "+Inf")]), Some(3.0));
    let mut buckets: Vec<(f64, f64)> = m
        .samples
        .iter()
        .filter(|(k, _)| {
            k.starts_with("kite_http_request_duration_seconds_bucket{")
                && k.contains("route=\"/healthz\"")
        })
        .map(|(k, v)| {
            let le = k.split("le=\"").nth(1).unwrap().split('"').next().unwrap();
            (
                if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                },
                *v,
            )
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() > 5, "{buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
    assert!(hist("_sum", &[]).unwrap() > 0.0);
    assert_eq!(m.types["kite_http_requests"], "counter");
    assert_eq!(m.types["kite_http_request_duration_seconds"], "histogram");
}

fn request(body: serde_json::Value, now: Timestamp) -> kite_service::JobRequest {
    let body: kite_service::SubmitBody = serde_json::from_value(body).unwrap();
    kite_service::api::validate(body, now, &["DE".into()], None).unwrap()
}

#[tokio::test]
async fn jobs_by_state_match_the_jobs_submitted_and_cancelled() {
    let s = util::start().await;
    let control = &s.state.jobs.control;
    let body = serde_json::json!({"command": ["true"], "duration": "1m", "deadline": "now+168h"});
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(
            control
                .accept(request(body.clone(), control.now()))
                .unwrap()
                .id,
        );
    }
    // Cancel one over HTTP, as a client would.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/jobs/{}/cancel", s.url, ids[0]))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let m = scrape(&s.url).await;
    let jobs = |state: &str| m.get("kite_jobs", &[("state", state)]);
    assert_eq!(jobs("pending"), Some(3.0));
    assert_eq!(jobs("cancelled"), Some(1.0));
    // Every state is exported, the others at zero.
    for st in kite_service::State::ALL {
        let want = match st.as_str() {
            "pending" => 3.0,
            "cancelled" => 1.0,
            _ => 0.0,
        };
        assert_eq!(jobs(st.as_str()), Some(want), "{}", st.as_str());
    }
    assert_eq!(m.get("kite_queue_up", &[]), Some(1.0));
    assert_eq!(m.types["kite_jobs"], "gauge");
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn new_run(id: &str, started: Timestamp) -> NewRun {
    NewRun {
        id: id.into(),
        project: "metrics-test".into(),
        experiment: None,
        command: vec!["true".into()],
        zone: ZoneKey::new("DE").unwrap(),
        pid: None,
        tracker_pid: 1,
        started_at: started,
        params: Vec::new(),
    }
}

fn finish(status: RunStatus, ended: Timestamp, totals: [(&str, &str); 3]) -> RunFinish {
    RunFinish {
        ended_at: ended,
        status,
        exit_code: Some(i32::from(status == RunStatus::Failed)),
        reason: None,
        params: totals
            .iter()
            .map(|(k, v)| (format!("result.{k}"), (*v).to_owned()))
            .collect(),
    }
}

#[tokio::test]
async fn run_totals_and_data_ages_come_from_the_store() {
    let now = SystemClock.now();
    let hour = Resolution::HOUR.floor(now);
    let measured_end = hour - SignedDuration::from_hours(3);
    let forecast_fetched = hour - SignedDuration::from_hours(2);
    let s = util::start_with(ApiConfig::default(), |db| {
        let mut store = kite_store::Store::open(db).unwrap();
        let day = t("2025-01-10T00:00:00Z");
        let end = day + SignedDuration::from_mins(10);
        store.create_run(&new_run("a", day)).unwrap();
        store
            .finish_run(
                "a",
                &finish(
                    RunStatus::Succeeded,
                    end,
                    [
                        ("energy_kwh", "0.5"),
                        ("operational_g", "100"),
                        ("embodied_g", "20"),
                    ],
                ),
            )
            .unwrap();
        store.create_run(&new_run("b", day)).unwrap();
        store
            .finish_run(
                "b",
                &finish(
                    RunStatus::Failed,
                    end,
                    [
                        ("energy_kwh", "0.25"),
                        ("operational_g", "50"),
                        ("embodied_g", "5"),
                    ],
                ),
            )
            .unwrap();
        // Still running: no totals yet, counted by status only.
        store.create_run(&new_run("c", day)).unwrap();

        let de = ZoneKey::new("DE").unwrap();
        let measured = IntensitySeries::from_regular(
            de.clone(),
            SignalMeta {
                signal: Signal::AVERAGE_LIFECYCLE,
                source: "test-meter".into(),
                fetched_at: Some(measured_end),
                provenance: Provenance::Measured,
            },
            Resolution::HOUR,
            (1..=24)
                .rev()
                .map(|n| (measured_end - SignedDuration::from_hours(n), 200.0)),
        )
        .unwrap();
        let forecast = IntensitySeries::from_regular(
            de,
            SignalMeta {
                signal: Signal::AVERAGE_LIFECYCLE,
                source: "test-forecast".into(),
                fetched_at: Some(forecast_fetched),
                provenance: Provenance::Forecast {
                    issued_at: Some(forecast_fetched),
                    model: "test".into(),
                },
            },
            Resolution::HOUR,
            (0..24).map(|n| (hour + SignedDuration::from_hours(n), 300.0)),
        )
        .unwrap();
        store.upsert(&[measured, forecast]).unwrap();
    })
    .await;
    let before = SystemClock.now();
    let m = scrape(&s.url).await;
    let after = SystemClock.now();

    assert_eq!(m.get("kite_store_up", &[]), Some(1.0));
    assert_eq!(m.get("kite_runs", &[("status", "succeeded")]), Some(1.0));
    assert_eq!(m.get("kite_runs", &[("status", "failed")]), Some(1.0));
    assert_eq!(m.get("kite_runs", &[("status", "running")]), Some(1.0));
    assert_eq!(m.get("kite_runs", &[("status", "interrupted")]), Some(0.0));
    // 0.5 + 0.25 kWh; 100 + 50 g operational; 20 + 5 g embodied.
    assert_eq!(m.get("kite_runs_energy_kwh", &[]), Some(0.75));
    assert_eq!(
        m.get("kite_runs_emissions_grams", &[("scope", "operational")]),
        Some(150.0)
    );
    assert_eq!(
        m.get("kite_runs_emissions_grams", &[("scope", "embodied")]),
        Some(25.0)
    );

    let secs = |a: Timestamp, b: Timestamp| (a.as_millisecond() - b.as_millisecond()) as f64 / 1e3;
    let within = |v: Option<f64>, from: Timestamp, what: &str| {
        let v = v.unwrap_or_else(|| panic!("no {what}"));
        assert!(
            secs(before, from) <= v && v <= secs(after, from),
            "{what} {v}: not between {} and {}",
            secs(before, from),
            secs(after, from)
        );
    };
    within(
        m.get(
            "kite_measured_data_age_seconds",
            &[("zone", "DE"), ("source", "test-meter")],
        ),
        measured_end,
        "measured data age",
    );
    within(
        m.get(
            "kite_forecast_age_seconds",
            &[("zone", "DE"), ("source", "test-forecast")],
        ),
        forecast_fetched,
        "forecast age",
    );
    // The forecast is no measured data and the other way round.
    assert_eq!(
        m.get(
            "kite_forecast_age_seconds",
            &[("zone", "DE"), ("source", "test-meter")]
        ),
        None
    );
}

#[tokio::test]
async fn cache_hits_misses_and_429s_are_counted() {
    let s = util::start_with(
        ApiConfig {
            rate_limit: Some(RateLimit {
                per_second: 0.01,
                burst: 6,
            }),
            ..ApiConfig::default()
        },
        |_| {},
    )
    .await;
    let de = format!("{}/emissions/bylocation?location=DE", s.url);
    let fr = format!("{}/emissions/bylocation?location=FR", s.url);
    // Miss, hit, hit, miss: 4 of the burst of 6.
    for url in [&de, &de, &de, &fr] {
        assert_eq!(get(url.clone()).await, 200);
    }
    // The scrape is the 5th; /metrics is never cached.
    let m = scrape(&s.url).await;
    assert_eq!(
        m.get("kite_http_cache_total", &[("result", "hit")]),
        Some(2.0)
    );
    assert_eq!(
        m.get("kite_http_cache_total", &[("result", "miss")]),
        Some(2.0)
    );
    // The 6th spends the burst; the 7th and 8th are refused.
    assert_eq!(get(de.clone()).await, 200);
    assert_eq!(get(de.clone()).await, 429);
    assert_eq!(get(format!("{}/metrics", s.url)).await, 429);
    let r = reqwest::Client::new()
        .get(format!("{}/metrics", s.url))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    let m = parse(&r.text().await.unwrap());
    assert_eq!(m.get("kite_http_rate_limited_total", &[]), Some(2.0));
    assert_eq!(
        m.get("kite_http_cache_total", &[("result", "hit")]),
        Some(3.0)
    );
    let families: BTreeSet<&str> = m.types.keys().map(String::as_str).collect();
    for f in [
        "kite_http_requests",
        "kite_http_request_duration_seconds",
        "kite_http_cache",
        "kite_http_rate_limited",
        "kite_jobs",
        "kite_queue_up",
        "kite_store_up",
        "kite_runs",
        "kite_runs_energy_kwh",
        "kite_runs_emissions_grams",
    ] {
        assert!(families.contains(f), "{f} missing from {families:?}");
    }
    // Families without a sample are left out: no live provider, no stored data here.
    assert!(!families.contains("kite_provider_errors"), "{families:?}");
}

#[tokio::test]
async fn readyz_is_200_when_the_queue_answers_and_the_store_opens() {
    let s = util::start().await;
    let r = reqwest::get(format!("{}/readyz", s.url)).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "ready");
    // The unopenable store is covered in tests/limits.rs (503, and no path in the body).
}
