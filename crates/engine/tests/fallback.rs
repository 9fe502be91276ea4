//! The source chain end to end: real providers talking HTTP to fake servers on 127.0.0.1, a
//! real SQLite store in a temp dir, the embedded dataset, and a fixed clock.

// Tests fail loudly on any unexpected error; that is what unwrap is for here.
#![allow(clippy::unwrap_used)]

use kite_core::{FixedClock, Provenance, Signal, TimeWindow, Timestamp};
use kite_engine::{
    EngineError, HttpSettings, IntensityRequest, IntensityService, ProviderSettings, SourceKind,
    build_providers,
};
use kite_store::Store;
use kite_test_support::{FakeServer, Reply, Script, electricity_maps, unreachable_base_url};
use std::sync::Arc;
use std::time::Duration;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// The fake's fixtures describe 2026-03-09T13:00Z .. 2026-03-11T12:00Z around this instant.
const NOW: &str = "2026-03-10T12:30:00Z";

fn em_settings(base_url: &str, token: &str) -> ProviderSettings {
    ProviderSettings::ElectricityMaps {
        base_url: base_url.into(),
        api_key: kite_intensity::ApiKey::new(token),
        http: HttpSettings {
            timeout: Duration::from_secs(2),
            max_retries: 0,
        },
    }
}

fn service(settings: &[ProviderSettings], store: Store, order: &[SourceKind]) -> IntensityService {
    IntensityService::new(
        build_providers(settings).unwrap(),
        Ok(store),
        order.to_vec(),
        Arc::new(FixedClock::new(ts(NOW))),
    )
}

fn request(region: &str, from: &str, to: &str) -> IntensityRequest {
    IntensityRequest {
        region: region.into(),
        window: TimeWindow::new(ts(from), ts(to)).unwrap(),
        signal: Signal::AVERAGE_LIFECYCLE,
        resolution: None,
        source: None,
    }
}

const ALL: [SourceKind; 3] = [SourceKind::Live, SourceKind::Store, SourceKind::Embedded];

#[tokio::test]
async fn live_values_are_returned_labelled_and_cached() {
    let script = Script::new();
    let server = FakeServer::start(electricity_maps::router(script.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kite.sqlite3");
    let svc = service(
        &[em_settings(&server.base_url, electricity_maps::TOKEN)],
        Store::open(&db).unwrap(),
        &ALL,
    );
    let answer = svc
        .intensity(&request(
            "aws:eu-central-1",
            "2026-03-10T06:00:00Z",
            "2026-03-10T18:00:00Z",
        ))
        .await
        .unwrap();
    assert_eq!(answer.zone.key.as_str(), "DE");
    assert!(answer.gaps.is_empty(), "{:?}", answer.gaps);
    let points = answer.points();
    assert_eq!(points.len(), 12);
    for (p, meta) in &points {
        assert_eq!(meta.source, "electricity_maps");
        assert_eq!(meta.fetched_at, Some(ts(NOW)));
        let expect_forecast = p.start > ts(NOW);
        assert_eq!(
            matches!(meta.provenance, Provenance::Forecast { .. }),
            expect_forecast,
            "{} {:?}",
            p.start,
            meta.provenance
        );
    }
    // The fetch was cached: the store alone now answers the past part.
    let cached = Store::open(&db)
        .unwrap()
        .query(
            &kite_core::ZoneKey::new("DE").unwrap(),
            Signal::AVERAGE_LIFECYCLE,
            TimeWindow::new(ts("2026-03-10T06:00:00Z"), ts("2026-03-10T12:00:00Z")).unwrap(),
            Some("electricity_maps"),
        )
        .unwrap();
    let rows: usize = cached.iter().map(|s| s.len()).sum();
    assert_eq!(rows, 6);
}

#[tokio::test]
async fn a_rejected_key_falls_back_with_the_reason_and_never_shows_the_key() {
    let script = Script::new();
    let server = FakeServer::start(electricity_maps::router(script.clone())).await;
    let svc = service(
        &[em_settings(&server.base_url, "expired-token-123")],
        Store::open_in_memory().unwrap(),
        &ALL,
    );
    let answer = svc
        .intensity(&request(
            "DE",
            "2026-03-10T10:00:00Z",
            "2026-03-10T14:00:00Z",
        ))
        .await
        .unwrap();
    let em_note = answer
        .notes
        .iter()
        .find(|n| n.source == "electricity_maps")
        .expect("a note from the failed provider");
    assert!(
        em_note.message.contains("falling back"),
        "{}",
        em_note.message
    );
    assert!(
        em_note.message.contains("KITE_ELECTRICITY_MAPS_TOKEN"),
        "{}",
        em_note.message
    );
    assert!(!format!("{:?}", answer.notes).contains("expired-token-123"));
    // The embedded typical week answered, and says it is an estimate.
    for (_, meta) in answer.points() {
        assert!(
            matches!(&meta.provenance, Provenance::Estimated { method } if method.starts_with("typical-week profile")),
            "{:?}",
            meta.provenance
        );
    }
}

#[tokio::test]
async fn an_unreachable_provider_falls_back_to_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kite.sqlite3");
    // Seed the store through a provider that works, then point kite at one that is down.
    {
        let server = FakeServer::start(electricity_maps::router(Script::new())).await;
        let svc = service(
            &[em_settings(&server.base_url, electricity_maps::TOKEN)],
            Store::open(&db).unwrap(),
            &ALL,
        );
        svc.intensity(&request(
            "DE",
            "2026-03-10T06:00:00Z",
            "2026-03-10T12:00:00Z",
        ))
        .await
        .unwrap();
    }
    let svc = service(
        &[em_settings(
            &unreachable_base_url(),
            electricity_maps::TOKEN,
        )],
        Store::open(&db).unwrap(),
        &ALL,
    );
    let answer = svc
        .intensity(&request(
            "DE",
            "2026-03-10T06:00:00Z",
            "2026-03-10T12:00:00Z",
        ))
        .await
        .unwrap();
    assert!(
        answer
            .notes
            .iter()
            .any(|n| n.source == "electricity_maps" && n.message.contains("falling back"))
    );
    assert_eq!(answer.points().len(), 6);
    for (p, m) in answer.points() {
        assert_eq!(m.source, "electricity_maps", "{}", p.start);
        // Values Electricity Maps itself flags as estimated stay labelled so after caching.
        match &m.provenance {
            Provenance::Measured => {}
            Provenance::Estimated { method } => {
                assert!(method.contains("Electricity Maps"), "{method}")
            }
            other => panic!("unexpected {other:?} at {}", p.start),
        }
    }
    assert!(
        answer
            .points()
            .iter()
            .any(|(_, m)| m.provenance == Provenance::Measured)
    );
}

#[tokio::test]
async fn the_configured_order_is_respected() {
    let script = Script::new();
    script.always("/v3", Reply::server_error());
    let server = FakeServer::start(electricity_maps::router(script.clone())).await;
    let svc = service(
        &[em_settings(&server.base_url, electricity_maps::TOKEN)],
        Store::open_in_memory().unwrap(),
        &[SourceKind::Embedded],
    );
    let answer = svc
        .intensity(&request(
            "DE",
            "2021-03-01T00:00:00Z",
            "2021-03-02T00:00:00Z",
        ))
        .await
        .unwrap();
    assert_eq!(script.requests().len(), 0, "live is not in the order");
    assert_eq!(answer.points().len(), 24);
    assert!(
        answer
            .points()
            .iter()
            .all(|(_, m)| m.source.ends_with("(embedded)"))
    );
}

#[tokio::test]
async fn gaps_are_filled_source_by_source() {
    // The store has the first 6 hours of a day (an import); embedded history fills the rest.
    let mut store = Store::open_in_memory().unwrap();
    let zone = kite_core::ZoneKey::new("DE").unwrap();
    let meta = kite_core::SignalMeta {
        signal: Signal::AVERAGE_LIFECYCLE,
        source: "import:test".into(),
        fetched_at: Some(ts(NOW)),
        provenance: Provenance::Measured,
    };
    let start = ts("2021-03-01T00:00:00Z");
    let series = kite_core::IntensitySeries::from_regular(
        zone,
        meta,
        kite_core::Resolution::HOUR,
        (0..6).map(|h| (start + kite_core::SignedDuration::from_hours(h), 100.0)),
    )
    .unwrap();
    store.upsert(&[series]).unwrap();
    let svc = service(&[], store, &ALL);
    let answer = svc
        .intensity(&request(
            "DE",
            "2021-03-01T00:00:00Z",
            "2021-03-02T00:00:00Z",
        ))
        .await
        .unwrap();
    let points = answer.points();
    assert_eq!(points.len(), 24);
    assert!(points[..6].iter().all(|(_, m)| m.source == "import:test"));
    assert!(
        points[6..]
            .iter()
            .all(|(_, m)| m.source.ends_with("(embedded)"))
    );
    assert!(answer.gaps.is_empty());
}

#[tokio::test]
async fn a_signal_is_never_substituted() {
    let svc = service(&[], Store::open_in_memory().unwrap(), &ALL);
    let mut req = request("DE", "2021-03-01T00:00:00Z", "2021-03-01T06:00:00Z");
    req.signal = Signal::MARGINAL_DIRECT;
    match svc.intensity(&req).await {
        Err(EngineError::NoData { reasons, .. }) => {
            assert!(reasons.contains("marginal"), "{reasons}");
        }
        other => panic!("expected NoData, got {other:?}"),
    }
}

#[tokio::test]
async fn overlapping_history_does_not_hide_a_gap_after_it() {
    // DE's embedded history ends 2023-01-01; in December 2022 two series overlap, so their
    // summed length exceeds the window although nothing covers 2023-01-01..03.
    let svc = service(&[], Store::open_in_memory().unwrap(), &ALL);
    let answer = svc
        .intensity(&request(
            "DE",
            "2022-12-01T00:00:00Z",
            "2023-01-03T00:00:00Z",
        ))
        .await
        .unwrap();
    assert!(answer.gaps.is_empty(), "{:?}", answer.gaps);
    let points = answer.points();
    let (last, meta) = points.last().unwrap();
    assert!(last.start >= ts("2023-01-02T00:00:00Z"));
    assert!(
        matches!(&meta.provenance, Provenance::Estimated { method } if method.starts_with("typical-week")),
        "{:?}",
        meta.provenance
    );
    let (first, first_meta) = points.first().unwrap();
    assert_eq!(first.start, ts("2022-12-01T00:00:00Z"));
    assert_eq!(first_meta.provenance, Provenance::Measured);
}
