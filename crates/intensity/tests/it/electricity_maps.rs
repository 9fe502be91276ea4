//! Electricity Maps v3 against its fake.

use super::*;
use kite_core::Resolution;
use kite_intensity::{BuildError, Unsupported};
use kite_test_support::Reply;
use kite_test_support::electricity_maps::{TOKEN, router};

const HISTORY: &str = "/v3/carbon-intensity/history";
const LATEST: &str = "/v3/carbon-intensity/latest";
const PAST_RANGE: &str = "/v3/carbon-intensity/past-range";
const FORECAST: &str = "/v3/carbon-intensity/forecast";

#[tokio::test]
async fn recent_window_reads_history_latest_and_forecast() {
    let h = Harness::start(Kind::ElectricityMaps, fast_policy()).await;
    let fetched = h.provider.fetch_with_notes(&h.query).await.unwrap();
    assert!(fetched.notes.is_empty(), "{:?}", fetched.notes);
    let series = fetched.series;
    assert_conforms(h.provider.as_ref(), &h.query, &series);
    assert_eq!(series.len(), 3);

    let measured = by_label(&series, "measured").unwrap();
    assert_eq!(
        values(measured),
        vec![
            (ts("2026-03-10T08:00:00Z"), 331.0),
            (ts("2026-03-10T09:00:00Z"), 305.0),
            (ts("2026-03-10T10:00:00Z"), 289.0),
        ]
    );
    assert_eq!(measured.resolution(), Resolution::HOUR);
    assert!(measured.points().iter().all(|p| p.duration_secs == 3600));
    assert_eq!(measured.meta().provenance, Provenance::Measured);
    assert_eq!(measured.meta().signal, Signal::AVERAGE_LIFECYCLE);
    assert_eq!(measured.meta().source, "electricity_maps");
    assert_eq!(measured.meta().fetched_at, Some(now()));

    // isEstimated values are kept apart, labelled with EM's estimation method.
    let estimated = by_label(&series, "estimated").unwrap();
    assert_eq!(
        values(estimated),
        vec![
            (ts("2026-03-10T11:00:00Z"), 296.0),
            (ts("2026-03-10T12:00:00Z"), 302.0)
        ]
    );
    let Provenance::Estimated { method } = &estimated.meta().provenance else {
        panic!()
    };
    assert!(method.contains("TIME_SLICER_AVERAGE"), "{method}");

    let forecast = by_label(&series, "forecast").unwrap();
    assert_eq!(
        values(forecast),
        vec![
            (ts("2026-03-10T13:00:00Z"), 298.0),
            (ts("2026-03-10T14:00:00Z"), 291.0),
            (ts("2026-03-10T15:00:00Z"), 280.0),
        ]
    );
    assert_eq!(
        forecast.meta().provenance,
        Provenance::Forecast {
            issued_at: Some(ts("2026-03-10T12:05:31Z")),
            model: "electricity_maps forecast".into(),
        }
    );

    for path in [HISTORY, LATEST, FORECAST] {
        let hits = h.script.requests_to(path);
        assert_eq!(hits.len(), 1, "{path}");
        assert_eq!(hits[0].param("zone"), Some("DE"));
        assert_eq!(hits[0].param("emissionFactorType"), Some("lifecycle"));
        assert_eq!(hits[0].header("auth-token"), Some(TOKEN));
    }
    assert_eq!(h.script.count(PAST_RANGE), 0);
}

#[tokio::test]
async fn direct_factors_are_asked_for_and_checked() {
    let h = Harness::start(Kind::ElectricityMaps, fast_policy()).await;
    let q = Query {
        signal: Signal::AVERAGE_DIRECT,
        ..h.query.clone()
    };
    let series = h.provider.fetch(&q).await.unwrap();
    assert_conforms(h.provider.as_ref(), &q, &series);
    assert!(
        series
            .iter()
            .all(|s| s.meta().signal == Signal::AVERAGE_DIRECT)
    );
    for hit in h.script.requests() {
        assert_eq!(
            hit.param("emissionFactorType"),
            Some("direct"),
            "{}",
            hit.path
        );
    }
    // An answer in lifecycle factors to a direct question is refused, not relabelled.
    h.script.once(
        HISTORY,
        Reply::Body(fixtures::electricity_maps::HISTORY.into()),
    );
    let err = h.provider.fetch(&q).await.unwrap_err();
    assert!(matches!(err, ProviderError::BadResponse { .. }), "{err}");
    assert!(err.to_string().contains("lifecycle"), "{err}");
}

#[tokio::test]
async fn long_past_windows_are_split_into_ten_day_past_range_requests() {
    let h = Harness::start(Kind::ElectricityMaps, fast_policy()).await;
    let q = query(
        "DE",
        Signal::AVERAGE_LIFECYCLE,
        window("2026-02-08T00:00:00Z", "2026-03-05T00:00:00Z"),
    );
    let series = h.provider.fetch(&q).await.unwrap();
    assert_conforms(h.provider.as_ref(), &q, &series);
    let ranges: Vec<(String, String)> = h
        .script
        .requests_to(PAST_RANGE)
        .iter()
        .map(|r| {
            (
                r.param("start").unwrap().into(),
                r.param("end").unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("2026-02-08T00:00:00Z", "2026-02-18T00:00:00Z"),
        ("2026-02-18T00:00:00Z", "2026-02-28T00:00:00Z"),
        ("2026-02-28T00:00:00Z", "2026-03-05T00:00:00Z"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(ranges, expected);
    assert_eq!(
        h.script.requests().len(),
        3,
        "no history, latest or forecast"
    );
    let measured = by_label(&series, "measured").unwrap();
    assert_eq!(measured.len(), 6);
    assert_eq!(measured.points()[0].start, ts("2026-03-01T00:00:00Z"));
    assert_eq!(measured.points()[0].value.0, 335.0);
}

#[tokio::test]
async fn forecast_refused_by_the_plan_is_a_note_not_an_error() {
    let h = Harness::start(Kind::ElectricityMaps, fast_policy()).await;
    let forbidden = Reply::status(403, fixtures::electricity_maps::ERROR_FORBIDDEN);
    h.script.always(FORECAST, forbidden);
    let fetched = h.provider.fetch_with_notes(&h.query).await.unwrap();
    assert!(by_label(&fetched.series, "forecast").is_none());
    assert!(by_label(&fetched.series, "measured").is_some());
    assert_eq!(fetched.notes.len(), 1);
    assert!(
        fetched.notes[0].contains("HTTP 403"),
        "{}",
        fetched.notes[0]
    );
    assert!(
        fetched.notes[0].contains("does not include"),
        "{}",
        fetched.notes[0]
    );

    // A window wholly in the future has nothing else to offer: no data, with the reason.
    let future = query(
        "DE",
        Signal::AVERAGE_LIFECYCLE,
        window("2026-03-10T14:00:00Z", "2026-03-10T18:00:00Z"),
    );
    let err = h.provider.fetch(&future).await.unwrap_err();
    assert!(matches!(err, ProviderError::NoData { .. }), "{err}");
    assert!(err.to_string().contains("no forecast"), "{err}");

    // 404 (forecast not offered for the zone) is treated the same way.
    let h = Harness::start(Kind::ElectricityMaps, fast_policy()).await;
    let missing = Reply::status(404, r#"{"message":"No forecast available for zone DE"}"#);
    h.script.once(FORECAST, missing);
    let fetched = h.provider.fetch_with_notes(&h.query).await.unwrap();
    assert!(
        fetched.notes[0].contains("No forecast available"),
        "{:?}",
        fetched.notes
    );
}

#[tokio::test]
async fn wrong_token_is_unauthorized_naming_the_key_source() {
    let script = Script::new();
    let server = FakeServer::start(router(script.clone())).await;
    let provider = em_provider(&server.base_url, "em-wrong-token-123", fast_policy());
    let err = provider
        .fetch(&happy_query(Kind::ElectricityMaps))
        .await
        .unwrap_err();
    let ProviderError::Unauthorized {
        status,
        key_source,
        detail,
        ..
    } = &err
    else {
        panic!("expected Unauthorized, got {err}");
    };
    assert_eq!(*status, 401);
    assert_eq!(key_source, ElectricityMapsProvider::KEY_SOURCE);
    assert!(detail.contains(HISTORY), "{detail}");
    assert!(
        detail.contains("Invalid auth-token"),
        "the provider's message: {detail}"
    );
    let msg = err.to_string();
    assert!(msg.contains("KITE_ELECTRICITY_MAPS_TOKEN"), "{msg}");
    assert!(msg.contains("expired"), "{msg}");
    assert_no_secret(&err, &["em-wrong-token-123".into(), TOKEN.into()]);
    assert_eq!(script.count(HISTORY), 1, "401 is not retried");
    let health = provider.healthcheck().await.unwrap_err();
    assert!(
        matches!(health, ProviderError::Unauthorized { status: 401, .. }),
        "{health}"
    );
}

#[tokio::test]
async fn a_key_echoed_by_the_server_is_masked() {
    let h = Harness::start(Kind::ElectricityMaps, fast_policy()).await;
    let body = format!(r#"{{"error":"token {TOKEN} is not allowed here"}}"#);
    h.script.once(HISTORY, Reply::status(400, body));
    let err = h.provider.fetch(&h.query).await.unwrap_err();
    assert!(
        err.to_string().contains("token *** is not allowed"),
        "{err}"
    );
    h.assert_no_leak(&err);
}

#[tokio::test]
async fn marginal_signals_are_unsupported() {
    let h = Harness::start(Kind::ElectricityMaps, fast_policy()).await;
    let q = Query {
        signal: Signal::MARGINAL_DIRECT,
        ..h.query.clone()
    };
    let Err(Unsupported { provider, reason }) = h.provider.supports(&q) else {
        panic!("marginal accepted")
    };
    assert_eq!(provider, "electricity_maps");
    assert!(reason.contains("watttime"), "{reason}");
    assert!(matches!(
        h.provider.fetch(&q).await,
        Err(ProviderError::NoData { .. })
    ));
    assert!(h.script.requests().is_empty(), "refused without I/O");
}

#[test]
fn an_empty_key_is_refused_at_build() {
    let err =
        ElectricityMapsProvider::new(ElectricityMapsConfig::new(ApiKey::new(""))).unwrap_err();
    assert!(matches!(err, BuildError::MissingCredentials { .. }));
    assert!(
        err.to_string().contains("KITE_ELECTRICITY_MAPS_TOKEN"),
        "{err}"
    );
    let pasted = ElectricityMapsConfig::new(ApiKey::new("em-key-with-newline\n"));
    let err = ElectricityMapsProvider::new(pasted).unwrap_err();
    assert!(
        matches!(err, BuildError::UnusableCredentials { .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("em-key-with-newline"), "{err}");
}
