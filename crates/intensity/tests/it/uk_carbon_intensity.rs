//! UK Carbon Intensity API against its fake.

use super::*;
use kite_core::Resolution;
use kite_test_support::Reply;
use kite_test_support::uk_carbon_intensity::router;

async fn start() -> (Script, FakeServer, UkCarbonIntensityProvider) {
    let script = Script::new();
    let server = FakeServer::start(router(script.clone())).await;
    let provider = uk_provider(&server.base_url, fast_policy());
    (script, server, provider)
}

fn paths(script: &Script) -> Vec<String> {
    script.requests().iter().map(|r| r.path.clone()).collect()
}

#[tokio::test]
async fn national_actuals_are_measured_and_the_rest_forecast() {
    let (script, _server, provider) = start().await;
    let q = happy_query(Kind::Uk);
    let series = provider.fetch(&q).await.unwrap();
    assert_conforms(&provider, &q, &series);
    assert_eq!(
        paths(&script),
        vec![
            "/intensity/2026-03-10T06:00Z/2026-03-10T12:20Z",
            "/intensity/2026-03-10T12:00Z/fw48h",
        ]
    );

    let measured = by_label(&series, "measured").unwrap();
    assert_eq!(measured.len(), 11, "06:00 to 11:00 have actuals");
    assert_eq!(measured.resolution(), Resolution::HALF_HOUR);
    assert!(measured.points().iter().all(|p| p.duration_secs == 1800));
    let v = values(measured);
    assert_eq!(
        v[0],
        (ts("2026-03-10T06:00:00Z"), 186.0),
        "actual, not forecast (190)"
    );
    assert_eq!(v[10], (ts("2026-03-10T11:00:00Z"), 157.0));
    assert_eq!(measured.meta().signal, Signal::AVERAGE_DIRECT);
    assert_eq!(measured.meta().source, "uk_carbon_intensity");

    // Past periods without an actual yet, and the future, are the forecast.
    let forecast = by_label(&series, "forecast").unwrap();
    assert_eq!(
        values(forecast),
        vec![
            (ts("2026-03-10T11:30:00Z"), 157.0),
            (ts("2026-03-10T12:00:00Z"), 154.0),
            (ts("2026-03-10T12:30:00Z"), 155.0),
            (ts("2026-03-10T13:00:00Z"), 156.0),
            (ts("2026-03-10T13:30:00Z"), 157.0),
        ]
    );
    assert_eq!(
        forecast.meta().provenance,
        Provenance::Forecast {
            issued_at: None,
            model: "uk_carbon_intensity national forecast".into(),
        }
    );
}

#[tokio::test]
async fn regional_values_are_forecasts_for_the_asked_region() {
    let (script, _server, provider) = start().await;
    let q = Query {
        uk_region_id: Some(13),
        ..happy_query(Kind::Uk)
    };
    let series = provider.fetch(&q).await.unwrap();
    assert_conforms(&provider, &q, &series);
    assert_eq!(
        paths(&script),
        vec![
            "/regional/intensity/2026-03-10T06:00Z/2026-03-10T12:20Z/regionid/13",
            "/regional/intensity/2026-03-10T12:00Z/fw48h/regionid/13",
        ]
    );
    assert_eq!(series.len(), 1, "regional data has no actuals");
    let forecast = by_label(&series, "forecast").unwrap();
    let v = values(forecast);
    assert_eq!(v.len(), 16, "06:00 to 13:30");
    assert_eq!(v[0], (ts("2026-03-10T06:00:00Z"), 201.0));
    assert_eq!(v[15], (ts("2026-03-10T13:30:00Z"), 175.0));
    let Provenance::Forecast { model, .. } = &forecast.meta().provenance else {
        panic!()
    };
    assert!(model.contains("region 13"), "{model}");
}

#[tokio::test]
async fn regional_data_may_be_a_list_or_an_object() {
    let (script, _server, provider) = start().await;
    // The single-region endpoint's shape (a list of one region) on a range endpoint.
    script.always(
        "/regional/intensity/",
        Reply::Body(fixtures::uk_carbon_intensity::REGIONAL_REGIONID.into()),
    );
    let q = Query {
        uk_region_id: Some(13),
        ..happy_query(Kind::Uk)
    };
    let series = provider.fetch(&q).await.unwrap();
    let forecast = by_label(&series, "forecast").unwrap();
    assert_eq!(values(forecast), vec![(ts("2026-03-10T12:00:00Z"), 171.0)]);

    // An answer for another region is refused.
    let q14 = Query {
        uk_region_id: Some(14),
        ..q
    };
    let err = provider.fetch(&q14).await.unwrap_err();
    assert!(matches!(err, ProviderError::BadResponse { .. }), "{err}");
    assert!(err.to_string().contains("asked for region 14"), "{err}");
}

#[tokio::test]
async fn long_windows_are_split_into_14_day_requests() {
    let (script, _server, provider) = start().await;
    let q = query(
        "GB",
        Signal::AVERAGE_DIRECT,
        window("2026-02-01T00:00:00Z", "2026-03-10T12:00:00Z"),
    );
    let series = provider.fetch(&q).await.unwrap();
    assert_conforms(&provider, &q, &series);
    assert_eq!(
        paths(&script),
        vec![
            "/intensity/2026-02-01T00:00Z/2026-02-15T00:00Z",
            "/intensity/2026-02-15T00:00Z/2026-03-01T00:00Z",
            "/intensity/2026-03-01T00:00Z/2026-03-10T12:00Z",
        ]
    );
    assert_eq!(by_label(&series, "measured").unwrap().len(), 11);
    assert_eq!(
        by_label(&series, "forecast").unwrap().len(),
        1,
        "11:30, no actual yet"
    );
}

#[tokio::test]
async fn unaligned_windows_round_out_to_the_grid_and_are_cut_back() {
    let (script, _server, provider) = start().await;
    let q = query(
        "GB",
        Signal::AVERAGE_DIRECT,
        window("2026-03-10T07:10:00Z", "2026-03-10T08:05:30Z"),
    );
    let series = provider.fetch(&q).await.unwrap();
    assert_eq!(
        paths(&script),
        vec!["/intensity/2026-03-10T07:00Z/2026-03-10T08:06Z"]
    );
    let measured = by_label(&series, "measured").unwrap();
    let starts: Vec<Timestamp> = measured.points().iter().map(|p| p.start).collect();
    assert_eq!(
        starts,
        vec![
            ts("2026-03-10T07:00:00Z"),
            ts("2026-03-10T07:30:00Z"),
            ts("2026-03-10T08:00:00Z"),
        ],
        "every period overlapping the window, as interval starts"
    );
}

#[tokio::test]
async fn the_48_hour_horizon_is_noted() {
    let (_script, _server, provider) = start().await;
    let q = query(
        "GB",
        Signal::AVERAGE_DIRECT,
        window("2026-03-10T12:00:00Z", "2026-03-14T00:00:00Z"),
    );
    let fetched = provider.fetch_with_notes(&q).await.unwrap();
    assert_eq!(fetched.notes.len(), 1);
    assert!(fetched.notes[0].contains("48 h"), "{:?}", fetched.notes);
}

#[tokio::test]
async fn unauthorized_says_the_api_is_keyless() {
    let (script, _server, provider) = start().await;
    script.once(
        "/intensity/",
        Reply::status(
            401,
            r#"{"error":{"code":"401 Unauthorized","message":"Unauthorized"}}"#,
        ),
    );
    let err = provider.fetch(&happy_query(Kind::Uk)).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("keyless"), "{msg}");
    assert!(msg.contains("proxy"), "{msg}");
}

#[tokio::test]
async fn api_errors_carry_the_api_message() {
    let (script, _server, provider) = start().await;
    script.once(
        "/intensity/",
        Reply::status(400, fixtures::uk_carbon_intensity::ERROR_BAD_REQUEST),
    );
    let err = provider.fetch(&happy_query(Kind::Uk)).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Http { status: 400, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("400 Bad Request: Please enter a valid ISO 8601 date"),
        "{msg}"
    );
    assert!(msg.contains("check the zone or region"), "{msg}");
    assert_eq!(script.count("/intensity/"), 1, "400 is not retried");
}

#[tokio::test]
async fn only_great_britain_and_direct_factors_are_supported() {
    let (script, _server, provider) = start().await;
    let gb = happy_query(Kind::Uk);
    let lifecycle = Query {
        signal: Signal::AVERAGE_LIFECYCLE,
        ..gb.clone()
    };
    assert!(
        provider
            .supports(&lifecycle)
            .unwrap_err()
            .reason
            .contains("direct")
    );
    let de = query("DE", Signal::AVERAGE_DIRECT, gb.window);
    assert!(
        provider
            .supports(&de)
            .unwrap_err()
            .reason
            .contains("Great Britain")
    );
    let bad_region = Query {
        uk_region_id: Some(19),
        ..gb.clone()
    };
    assert!(provider.supports(&bad_region).is_err());
    assert!(provider.fetch(&de).await.is_err());
    assert!(script.requests().is_empty());
}
