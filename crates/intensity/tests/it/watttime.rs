//! WattTime v3 against its fake.

use super::*;
use kite_core::{GramsCo2PerKwh, Resolution};
use kite_test_support::Reply;
use kite_test_support::watttime::{PASSWORD, REGION, Tokens, router};

const LOGIN: &str = "/login";
const HISTORICAL: &str = "/v3/historical";
const FORECAST: &str = "/v3/forecast";

async fn start() -> (Script, Tokens, FakeServer, WattTimeProvider) {
    let script = Script::new();
    let tokens = Tokens::new();
    let server = FakeServer::start(router(script.clone(), tokens.clone())).await;
    let provider = wt_provider(&server.base_url, PASSWORD, fast_policy());
    (script, tokens, server, provider)
}

fn g(lbs: f64) -> f64 {
    (GramsCo2PerKwh::from_lbs_per_mwh(lbs).0 * 1e6).round() / 1e6
}

#[tokio::test]
async fn history_and_forecast_in_grams_per_kwh() {
    let (script, _tokens, _server, provider) = start().await;
    let q = happy_query(Kind::WattTime);
    let series = provider.fetch(&q).await.unwrap();
    assert_conforms(&provider, &q, &series);
    assert_eq!(series.len(), 2);

    let measured = by_label(&series, "measured").unwrap();
    assert_eq!(measured.len(), 28, "10:00 to 12:15 every 5 minutes");
    assert_eq!(measured.resolution(), Resolution::FIVE_MINUTES);
    assert!(measured.points().iter().all(|p| p.duration_secs == 300));
    let v = values(measured);
    assert_eq!(v[0], (ts("2026-03-10T10:00:00Z"), g(912.0)));
    assert_eq!(v[1], (ts("2026-03-10T10:05:00Z"), g(901.5)));
    assert_eq!(measured.meta().signal, Signal::MARGINAL_DIRECT);
    assert_eq!(measured.meta().provenance, Provenance::Measured);
    assert_eq!(measured.meta().source, "watttime");

    let forecast = by_label(&series, "forecast").unwrap();
    let v = values(forecast);
    assert_eq!(v.len(), 8, "12:20 to 12:55, the rest is past the window");
    assert_eq!(v[0], (ts("2026-03-10T12:20:00Z"), g(812.4)));
    assert_eq!(
        forecast.meta().provenance,
        Provenance::Forecast {
            issued_at: Some(ts("2026-03-10T12:20:00Z")),
            model: "watttime binned_regression 2023-03-01".into(),
        }
    );

    let hist = &script.requests_to(HISTORICAL)[0];
    assert_eq!(hist.param("region"), Some(REGION));
    assert_eq!(hist.param("signal_type"), Some("co2_moer"));
    assert_eq!(hist.param("start"), Some("2026-03-10T10:00:00Z"));
    assert_eq!(hist.param("end"), Some("2026-03-10T12:20:00Z"));
    let fc = &script.requests_to(FORECAST)[0];
    assert_eq!(fc.param("horizon_hours"), Some("1"));
    assert!(fc.header("authorization").unwrap().starts_with("Bearer "));
    assert_eq!(script.count(LOGIN), 1);
}

#[tokio::test]
async fn the_token_is_cached_across_fetches() {
    let (script, _tokens, _server, provider) = start().await;
    let q = happy_query(Kind::WattTime);
    provider.fetch(&q).await.unwrap();
    provider.fetch(&q).await.unwrap();
    provider.signal_index(REGION).await.unwrap();
    assert_eq!(script.count(LOGIN), 1);
    assert_eq!(script.count(HISTORICAL), 2);
}

#[tokio::test]
async fn an_expired_token_triggers_one_relogin() {
    let (script, tokens, _server, provider) = start().await;
    let q = happy_query(Kind::WattTime);
    provider.fetch(&q).await.unwrap();
    tokens.expire_all();
    provider.fetch(&q).await.unwrap();
    assert_eq!(script.count(LOGIN), 2);
    assert_eq!(
        script.count(HISTORICAL),
        3,
        "one refused with the old token, one retried"
    );
    let auths: Vec<String> = script
        .requests_to(HISTORICAL)
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(auths[0], auths[1]);
    assert_ne!(auths[1], auths[2]);
}

#[tokio::test]
async fn a_401_after_relogin_is_unauthorized() {
    let (script, tokens, _server, provider) = start().await;
    script.always(
        HISTORICAL,
        Reply::status(401, fixtures::watttime::ERROR_UNAUTHORIZED),
    );
    let err = provider
        .fetch(&happy_query(Kind::WattTime))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    assert_eq!(script.count(LOGIN), 2, "re-login once, not forever");
    assert_eq!(script.count(HISTORICAL), 2);
    let mut secrets: Vec<String> = tokens.issued();
    secrets.push(PASSWORD.into());
    assert_no_secret(&err, &secrets);
}

#[tokio::test]
async fn wrong_password_is_unauthorized_naming_the_key_source() {
    let script = Script::new();
    let server = FakeServer::start(router(script.clone(), Tokens::new())).await;
    let provider = wt_provider(&server.base_url, "not-the-password-77", fast_policy());
    let err = provider
        .fetch(&happy_query(Kind::WattTime))
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
    assert_eq!(key_source, WattTimeProvider::KEY_SOURCE);
    assert!(detail.contains(LOGIN), "{detail}");
    let msg = err.to_string();
    assert!(msg.contains("KITE_WATTTIME_PASSWORD"), "{msg}");
    assert_no_secret(&err, &["not-the-password-77".into(), PASSWORD.into()]);
    assert_eq!(script.count(LOGIN), 1);
    assert_eq!(script.count(HISTORICAL), 0);
    assert!(provider.healthcheck().await.is_err());
}

#[tokio::test]
async fn a_region_outside_the_plan_is_forbidden() {
    let (script, _tokens, _server, provider) = start().await;
    let q = Query {
        watttime_region: Some("PJM_DC".into()),
        ..happy_query(Kind::WattTime)
    };
    let err = provider.fetch(&q).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Unauthorized { status: 403, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("does not have access"), "{err}");
    assert_eq!(script.count(LOGIN), 1, "403 does not re-login");
}

#[tokio::test]
async fn long_history_is_split_into_32_day_requests() {
    let (script, _tokens, _server, provider) = start().await;
    let q = Query {
        watttime_region: Some(REGION.into()),
        ..query(
            "US-CAL-CISO",
            Signal::MARGINAL_DIRECT,
            window("2026-01-01T00:00:00Z", "2026-03-10T12:00:00Z"),
        )
    };
    let series = provider.fetch(&q).await.unwrap();
    assert_conforms(&provider, &q, &series);
    let ranges: Vec<(String, String)> = script
        .requests_to(HISTORICAL)
        .iter()
        .map(|r| {
            (
                r.param("start").unwrap().into(),
                r.param("end").unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("2026-01-01T00:00:00Z", "2026-02-02T00:00:00Z"),
        ("2026-02-02T00:00:00Z", "2026-03-06T00:00:00Z"),
        ("2026-03-06T00:00:00Z", "2026-03-10T12:00:00Z"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(ranges, expected);
    assert_eq!(script.count(FORECAST), 0, "the window is in the past");
    assert_eq!(
        by_label(&series, "measured").unwrap().len(),
        24,
        "10:00 to 11:55"
    );
}

#[tokio::test]
async fn units_other_than_lbs_per_mwh_are_refused() {
    let (script, _tokens, _server, provider) = start().await;
    let body = fixtures::watttime::FORECAST.replace("lbs_co2_per_mwh", "kg_co2_per_mwh");
    script.once(FORECAST, Reply::Body(body));
    let err = provider
        .fetch(&happy_query(Kind::WattTime))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::BadResponse { .. }), "{err}");
    assert!(err.to_string().contains("kg_co2_per_mwh"), "{err}");
}

#[tokio::test]
async fn api_warnings_become_notes() {
    let (script, _tokens, _server, provider) = start().await;
    let body = fixtures::watttime::FORECAST.replace(
        "\"warnings\": []",
        r#""warnings": [{"type": "stale_data", "message": "Data for this region is delayed"}]"#,
    );
    script.once(FORECAST, Reply::Body(body));
    let fetched = provider
        .fetch_with_notes(&happy_query(Kind::WattTime))
        .await
        .unwrap();
    assert_eq!(fetched.notes.len(), 1, "{:?}", fetched.notes);
    assert!(fetched.notes[0].contains("delayed"), "{:?}", fetched.notes);
}

#[tokio::test]
async fn signal_index_is_a_percentile_not_an_intensity() {
    let (script, _tokens, _server, provider) = start().await;
    let index = provider.signal_index(REGION).await.unwrap();
    assert_eq!(index.percentile, 62.0);
    assert_eq!(index.point_time, ts("2026-03-10T12:20:00Z"));
    assert_eq!(index.region, REGION);
    let hit = &script.requests_to("/v3/signal-index")[0];
    assert_eq!(hit.param("signal_type"), Some("co2_moer"));
}

#[tokio::test]
async fn average_signals_and_missing_regions_are_unsupported() {
    let (script, _tokens, _server, provider) = start().await;
    let average = Query {
        signal: Signal::AVERAGE_LIFECYCLE,
        ..happy_query(Kind::WattTime)
    };
    assert!(
        provider
            .supports(&average)
            .unwrap_err()
            .reason
            .contains("marginal")
    );
    let no_region = Query {
        watttime_region: None,
        ..happy_query(Kind::WattTime)
    };
    assert!(
        provider
            .supports(&no_region)
            .unwrap_err()
            .reason
            .contains("no WattTime region")
    );
    assert!(matches!(
        provider.fetch(&no_region).await,
        Err(ProviderError::NoData { .. })
    ));
    assert!(script.requests().is_empty());
}
