//! Conformance of the Carbon Aware SDK v1.8 endpoints, from the SDK's documented OpenAPI and
//! behaviour: real HTTP against the full router, a real SQLite store seeded with hand-made
//! series, every expected number worked out by hand in the comments.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use kite_api::limits::ApiConfig;
use kite_core::{
    Clock, IntensitySeries, Provenance, Resolution, Signal, SignalMeta, SignedDuration,
    SystemClock, Timestamp, ZoneKey,
};
use serde_json::{Value, json};
use std::path::Path;

fn series(
    zone: &str,
    provenance: Provenance,
    source: &str,
    start: Timestamp,
    values: &[f64],
) -> IntensitySeries {
    let meta = SignalMeta {
        signal: Signal::AVERAGE_LIFECYCLE,
        source: source.into(),
        fetched_at: Some(start),
        provenance,
    };
    let points = values
        .iter()
        .enumerate()
        .map(|(i, v)| (start + SignedDuration::from_hours(i as i64), *v));
    IntensitySeries::from_regular(ZoneKey::new(zone).unwrap(), meta, Resolution::HOUR, points)
        .unwrap()
}

fn measured(zone: &str, start: Timestamp, values: &[f64]) -> IntensitySeries {
    series(zone, Provenance::Measured, "test-measured", start, values)
}

fn seed(db: &Path, all: &[IntensitySeries]) {
    kite_store::Store::open(db).unwrap().upsert(all).unwrap();
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn now_ts() -> Timestamp {
    SystemClock.now()
}

fn hour_now() -> Timestamp {
    Resolution::HOUR.floor(now_ts())
}

fn h(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn m(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

/// Percent-encodes a time for a query string (its `+` and `:`).
fn q(ts: Timestamp) -> String {
    ts.to_string().replace(':', "%3A").replace('+', "%2B")
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn get(url: String) -> Reply {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    Reply {
        status,
        headers,
        body,
    }
}

async fn post(url: String, body: Value) -> Reply {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

fn ts_of(v: &Value) -> Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

/// `(timestamp, value)` of each point of a forecast's `forecastData` or `optimalDataPoints`.
fn windows(v: &Value) -> Vec<(Timestamp, f64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| (ts_of(&p["timestamp"]), p["value"].as_f64().unwrap()))
        .collect()
}

/// A 400 problem naming `field` (both as RFC 9457 `field` and in the SDK's `errors` map).
fn assert_bad(r: &Reply, field: &str) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(r.body["status"], 400);
    assert_eq!(r.body["field"], field, "{}", r.body);
    assert!(r.body["errors"][field].is_array(), "{}", r.body);
    assert!(
        r.body["fix"].as_str().is_some_and(|f| !f.is_empty()),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn best_window_starts_mid_interval_returns_every_tie_and_stops_at_data_end() {
    let base = hour_now() + h(24);
    // A provider forecast kite stored: hourly 300, 100, 200, 100, 200, 0 from `base`.
    let forecast = series(
        "DE",
        Provenance::Forecast {
            issued_at: Some(hour_now()),
            model: "test-model".into(),
        },
        "test-provider",
        base,
        &[300., 100., 200., 100., 200., 0.],
    );
    let s = util::start_with(ApiConfig::default(), |db| seed(db, &[forecast])).await;

    // dataStartAt 00:30, dataEndAt 05:15, 60-minute windows stepping by the data's hour:
    //   00:30-01:30 = (300·30 + 100·30)/60 = 200
    //   01:30-02:30 = (100 + 200)/2 = 150, 02:30-03:30 = 150, 03:30-04:30 = 150
    //   04:30-05:30 would be (200 + 0)/2 = 100, the lowest, but ends after dataEndAt: excluded.
    let r = get(format!(
        "{}/emissions/forecasts/current?location=DE&dataStartAt={}&dataEndAt={}&windowSize=60",
        s.url,
        q(base + m(30)),
        q(base + h(5) + m(15))
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let f = &r.body[0];
    assert_eq!(f["location"], "DE");
    assert_eq!(f["windowSize"], 60);
    assert_eq!(ts_of(&f["dataStartAt"]), base + m(30));
    assert_eq!(ts_of(&f["dataEndAt"]), base + h(5) + m(15));
    assert_eq!(
        ts_of(&f["generatedAt"]),
        hour_now(),
        "the stored forecast's issue time"
    );
    assert_eq!(
        windows(&f["forecastData"]),
        vec![
            (base + m(30), 200.),
            (base + m(90), 150.),
            (base + m(150), 150.),
            (base + m(210), 150.)
        ]
    );
    assert_eq!(
        windows(&f["optimalDataPoints"]),
        vec![
            (base + m(90), 150.),
            (base + m(150), 150.),
            (base + m(210), 150.)
        ]
    );
    for p in f["forecastData"].as_array().unwrap() {
        assert_eq!(p["duration"], 60);
        assert_eq!(p["location"], "DE");
    }
    let source = r.headers["x-kite-source"].to_str().unwrap();
    assert!(
        source.contains("test-provider") && source.contains("test-model"),
        "{source}"
    );
    assert_eq!(r.headers["x-kite-signal"], "average-lifecycle");

    // 120-minute windows over 00:00-06:00: 200, 150, 150, 150, then (200 + 0)/2 = 100, which
    // ends exactly at dataEndAt and is the one optimum.
    let r = get(format!(
        "{}/emissions/forecasts/current?location=DE&dataStartAt={}&dataEndAt={}&windowSize=120",
        s.url,
        q(base),
        q(base + h(6))
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let f = &r.body[0];
    assert_eq!(
        windows(&f["forecastData"]),
        vec![
            (base, 200.),
            (base + h(1), 150.),
            (base + h(2), 150.),
            (base + h(3), 150.),
            (base + h(4), 100.)
        ]
    );
    assert_eq!(windows(&f["optimalDataPoints"]), vec![(base + h(4), 100.)]);
    assert_eq!(f["optimalDataPoints"][0]["duration"], 120);

    // No windowSize: one data point (60 minutes), windows still start at dataStartAt.
    let r = get(format!(
        "{}/emissions/forecasts/current?location=DE&dataStartAt={}&dataEndAt={}",
        s.url,
        q(base + m(30)),
        q(base + h(2) + m(30))
    ))
    .await;
    assert_eq!(r.body[0]["windowSize"], 60);
    assert_eq!(
        windows(&r.body[0]["forecastData"]),
        vec![(base + m(30), 200.), (base + m(90), 150.)]
    );
}

#[tokio::test]
async fn forecast_parameters_are_checked_with_problems_naming_them() {
    let s = util::start().await;
    let url = |query: &str| format!("{}/emissions/forecasts/current?{query}", s.url);
    let start = hour_now() + h(2);

    assert_bad(&get(url("windowSize=60")).await, "location");
    let unknown = get(url("location=atlantis")).await;
    assert_bad(&unknown, "location");
    assert_eq!(unknown.body["value"], "atlantis");
    let typo = get(url("location=westeurop")).await;
    assert_bad(&typo, "location");
    assert!(
        typo.body["fix"].as_str().unwrap().contains("did you mean"),
        "{}",
        typo.body
    );

    let swapped = get(url(&format!(
        "location=DE&dataStartAt={}&dataEndAt={}",
        q(start + h(1)),
        q(start)
    )))
    .await;
    assert_bad(&swapped, "dataStartAt");
    assert_bad(&get(url("location=DE&windowSize=0")).await, "windowSize");
    assert_bad(&get(url("location=DE&windowSize=abc")).await, "windowSize");
    assert_bad(
        &get(url("location=DE&dataStartAt=yesterday-ish")).await,
        "dataStartAt",
    );
    // Beyond the forecast (72 h from the current hour): the SDK's "must be within the forecast".
    let far = get(url(&format!(
        "location=DE&dataEndAt={}",
        q(start + h(24 * 30))
    )))
    .await;
    assert_bad(&far, "dataEndAt");
}

#[tokio::test]
async fn cloud_region_names_of_all_three_clouds_resolve() {
    let s = util::start().await;
    let r = get(format!(
        "{}/emissions/forecasts/current?location=westeurope&location=eu-west-1&location=europe-west4&windowSize=30",
        s.url
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["westeurope", "eu-west-1", "europe-west4"]);
    for f in r.body.as_array().unwrap() {
        assert_eq!(f["windowSize"], 30);
        assert!(!f["forecastData"].as_array().unwrap().is_empty(), "{f}");
        // The default data start is the value in force now, not the past.
        let first = ts_of(&f["forecastData"][0]["timestamp"]);
        assert!(first <= now_ts() && now_ts() - first < h(1), "{first}");
    }
    let source = r.headers["x-kite-source"].to_str().unwrap();
    assert!(
        source.contains("westeurope: ") && source.contains("eu-west-1: "),
        "{source}"
    );

    let locations = get(format!("{}/locations", s.url)).await;
    assert_eq!(locations.status, 200);
    assert_eq!(
        locations.body["westeurope"],
        json!({"latitude": null, "longitude": null, "name": "NL"})
    );
    assert_eq!(locations.body["eu-west-1"]["name"], "IE");
    assert_eq!(locations.body["europe-west4"]["name"], "NL");
    assert_eq!(locations.body["DE"]["name"], "DE");
}

#[tokio::test]
async fn emissions_by_location_list_values_and_best_returns_all_ties() {
    let day = t("2024-03-01T00:00:00Z");
    let s = util::start_with(ApiConfig::default(), |db| {
        seed(
            db,
            &[
                measured("DE", day, &[300., 120., 200., 250.]),
                measured("FR", day, &[120., 500., 130., 400.]),
            ],
        )
    })
    .await;
    let period = format!("time={}&toTime={}", q(day), q(day + h(4)));

    let all = get(format!(
        "{}/emissions/bylocations?location=DE&location=FR&{period}",
        s.url
    ))
    .await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body.as_array().unwrap().len(), 8);
    assert_eq!(
        all.body[0],
        json!({"location": "DE", "time": "2024-03-01T00:00:00Z", "rating": 300.0, "duration": "01:00:00"})
    );

    // The minimum, 120, is DE at 01:00 and FR at 00:00: both are returned.
    let best = get(format!(
        "{}/emissions/bylocations/best?location=DE&location=FR&{period}",
        s.url
    ))
    .await;
    assert_eq!(best.status, 200, "{}", best.body);
    let mut got: Vec<(String, String, f64)> = best
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["location"].as_str().unwrap().to_owned(),
                e["time"].as_str().unwrap().to_owned(),
                e["rating"].as_f64().unwrap(),
            )
        })
        .collect();
    got.sort_by_key(|e| e.1.clone());
    assert_eq!(
        got,
        [
            ("FR".to_owned(), "2024-03-01T00:00:00Z".to_owned(), 120.),
            ("DE".to_owned(), "2024-03-01T01:00:00Z".to_owned(), 120.)
        ]
    );
    assert!(
        best.headers["x-kite-source"]
            .to_str()
            .unwrap()
            .contains("test-measured (measured")
    );

    // `time` alone is the one value at that instant (not days of data): DE 02:00-03:00 = 200.
    let at = get(format!(
        "{}/emissions/bylocation?location=DE&time=2024-03-01T02:30:00Z",
        s.url
    ))
    .await;
    assert_eq!(
        at.body,
        json!([{"location": "DE", "time": "2024-03-01T02:00:00Z", "rating": 200.0, "duration": "01:00:00"}])
    );
    // Without an offset the time is UTC.
    let naive = get(format!(
        "{}/emissions/bylocation?location=DE&time=2024-03-01T02:30:00",
        s.url
    ))
    .await;
    assert_eq!(naive.body, at.body);

    // No time at all: the value in force now.
    let now = get(format!("{}/emissions/bylocation?location=DE", s.url)).await;
    assert_eq!(now.status, 200, "{}", now.body);
    let start = ts_of(&now.body[0]["time"]);
    assert!(start <= now_ts() && now_ts() - start <= h(1));

    assert_bad(
        &get(format!(
            "{}/emissions/bylocation?location=DE&toTime={}",
            s.url,
            q(day)
        ))
        .await,
        "time",
    );
    assert_bad(
        &get(format!(
            "{}/emissions/bylocations?location=DE&time={}&toTime={}",
            s.url,
            q(day + h(1)),
            q(day)
        ))
        .await,
        "time",
    );
    assert_bad(
        &get(format!(
            "{}/emissions/bylocations/best?time={}",
            s.url,
            q(day)
        ))
        .await,
        "location",
    );
    assert_bad(
        &get(format!(
            "{}/emissions/bylocation?location=nowhere-land",
            s.url
        ))
        .await,
        "location",
    );
}

#[tokio::test]
async fn average_carbon_intensity_is_time_weighted_for_zone_and_cloud_names() {
    let day = t("2024-03-01T00:00:00Z");
    let s = util::start_with(ApiConfig::default(), |db| {
        seed(
            db,
            &[
                measured("NL", day, &[100., 200., 400., 300.]),
                measured("IE", day, &[50., 50., 80., 80.]),
            ],
        )
    })
    .await;
    // 00:30-02:15 in NL: (100·30 + 200·60 + 400·15) / 105 = 21000 / 105 = 200.
    for name in ["westeurope", "europe-west4", "NL", "azure:westeurope"] {
        let r = get(format!(
            "{}/emissions/average-carbon-intensity?location={name}&startTime=2024-03-01T00:30:00Z&endTime=2024-03-01T02:15:00Z",
            s.url
        ))
        .await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(
            r.body,
            json!({"location": name, "startTime": "2024-03-01T00:30:00Z", "endTime": "2024-03-01T02:15:00Z", "carbonIntensity": 200.0})
        );
    }
    // 01:30-03:00 in IE (eu-west-1): (50·30 + 80·60) / 90 = 6300 / 90 = 70.
    let batch = post(
        format!("{}/emissions/average-carbon-intensity/batch", s.url),
        json!([
            {"location": "westeurope", "startTime": "2024-03-01T00:30:00Z", "endTime": "2024-03-01T02:15:00Z"},
            {"location": "eu-west-1", "startTime": "2024-03-01T01:30:00Z", "endTime": "2024-03-01T03:00:00Z"}
        ]),
    )
    .await;
    assert_eq!(batch.status, 200, "{}", batch.body);
    let values: Vec<f64> = batch
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["carbonIntensity"].as_f64().unwrap())
        .collect();
    assert_eq!(values.len(), 2);
    assert!(
        (values[0] - 200.).abs() < 1e-9 && (values[1] - 70.).abs() < 1e-9,
        "{values:?}"
    );
    assert_eq!(batch.body[1]["location"], "eu-west-1");

    let url = |query: &str| format!("{}/emissions/average-carbon-intensity?{query}", s.url);
    assert_bad(
        &get(url(
            "startTime=2024-03-01T00:00:00Z&endTime=2024-03-01T01:00:00Z",
        ))
        .await,
        "location",
    );
    assert_bad(
        &get(url("location=NL&endTime=2024-03-01T01:00:00Z")).await,
        "startTime",
    );
    assert_bad(
        &get(url(
            "location=NL&startTime=2024-03-01T02:00:00Z&endTime=2024-03-01T01:00:00Z",
        ))
        .await,
        "startTime",
    );
    let bad_item = post(
        format!("{}/emissions/average-carbon-intensity/batch", s.url),
        json!([{"location": "NL", "startTime": "2024-03-01T00:00:00Z", "endTime": "2024-03-01T01:00:00Z"}, {"location": "NL", "startTime": "soon"}]),
    )
    .await;
    assert_bad(&bad_item, "[1].startTime");
}

#[tokio::test]
async fn requested_at_replays_the_forecast_made_from_the_history_known_then() {
    // Measured DE history: 100 for ten days up to `then`, 300 for the ten days since.
    let now = hour_now();
    let then = now - h(240);
    let s = util::start_with(ApiConfig::default(), |db| {
        seed(
            db,
            &[
                measured("DE", then - h(240), &[100.; 240]),
                measured("DE", then, &[300.; 240]),
            ],
        )
    })
    .await;
    let r = post(
        format!("{}/emissions/forecasts/batch", s.url),
        json!([
            {"location": "DE", "requestedAt": (then + m(30)).to_string()},
            {"location": "DE", "requestedAt": (then + m(30)).to_string(), "dataStartAt": (then + h(1)).to_string(),
             "dataEndAt": (then + h(7)).to_string(), "windowSize": 120},
            {"location": "DE"}
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (past, scoped, current) = (&r.body[0], &r.body[1], &r.body[2]);

    // Known at then+30min: the hours up to `then`, all 100; the forecast is issued at `then`
    // and cannot know about the 300 that followed.
    assert_eq!(ts_of(&past["generatedAt"]), then);
    assert_eq!(ts_of(&past["requestedAt"]), then + m(30));
    let past_values = windows(&past["forecastData"]);
    assert_eq!(past_values[0].0, then);
    assert!(
        past_values.iter().all(|(_, v)| (50.0..150.0).contains(v)),
        "{past_values:?}"
    );

    // 6 h of data, 2 h windows stepping by 1 h: (6 - 2)/1 + 1 = 5 windows.
    assert_eq!(scoped["forecastData"].as_array().unwrap().len(), 5);
    assert_eq!(scoped["windowSize"], 120);

    // The current forecast knows the last ten days: issued at the end of the data, near 300.
    assert_eq!(ts_of(&current["generatedAt"]), now);
    let current_values = windows(&current["forecastData"]);
    assert!(
        current_values
            .iter()
            .all(|(_, v)| (200.0..400.0).contains(v)),
        "{current_values:?}"
    );
    assert!(
        r.headers["x-kite-source"]
            .to_str()
            .unwrap()
            .contains("kite forecast from store")
    );

    let bad = post(
        format!("{}/emissions/forecasts/batch", s.url),
        json!([{"location": "DE", "windowSize": "x"}]),
    )
    .await;
    assert_bad(&bad, "[0].windowSize");
    let missing = post(
        format!("{}/emissions/forecasts/batch", s.url),
        json!([{"requestedAt": then.to_string()}]),
    )
    .await;
    assert_bad(&missing, "[0].location");
    let not_array = post(
        format!("{}/emissions/forecasts/batch", s.url),
        json!({"location": "DE"}),
    )
    .await;
    assert_bad(&not_array, "body");
}
