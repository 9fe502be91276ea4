//! The store through its public API: idempotence, updates, gaps, separation of signals and
//! sources, atomicity of a failed batch, persistence across reopen, and a model-based property
//! test against a `BTreeMap`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kite_core::{
    GramsCo2PerKwh, IntensitySeries, Point, Provenance, Resolution, Signal, SignalMeta,
    SignedDuration, TimeWindow, Timestamp, ZoneKey,
};
use kite_store::{Store, StoreError, UpsertReport};
use proptest::prelude::*;
use std::collections::BTreeMap;

const T0: i64 = 1_577_836_800; // 2020-01-01T00:00:00Z

fn at(hours: i64) -> Timestamp {
    Timestamp::from_second(T0 + hours * 3600).unwrap()
}

fn zone(key: &str) -> ZoneKey {
    ZoneKey::new(key).unwrap()
}

fn meta(signal: Signal, source: &str, fetched_hours: i64) -> SignalMeta {
    SignalMeta {
        signal,
        source: source.into(),
        fetched_at: Some(at(fetched_hours)),
        provenance: Provenance::Measured,
    }
}

/// An hourly series for DE with `values[i]` at hour `i` (`None` is a gap).
fn hourly(signal: Signal, source: &str, values: &[Option<f64>]) -> IntensitySeries {
    let points = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.map(|v| Point {
                start: at(i as i64),
                duration_secs: 3600,
                value: GramsCo2PerKwh(v),
            })
        })
        .collect();
    IntensitySeries::new(
        zone("DE"),
        meta(signal, source, 1000),
        Resolution::HOUR,
        points,
    )
    .unwrap()
}

fn window(from_hours: i64, to_hours: i64) -> TimeWindow {
    TimeWindow::new(at(from_hours), at(to_hours)).unwrap()
}

fn values(s: &IntensitySeries) -> Vec<(i64, f64)> {
    s.points()
        .iter()
        .map(|p| ((p.start.as_second() - T0) / 3600, p.value.0))
        .collect()
}

fn report(inserted: usize, updated: usize, unchanged: usize) -> UpsertReport {
    UpsertReport {
        inserted,
        updated,
        unchanged,
    }
}

#[test]
fn reupsert_is_idempotent_and_changes_are_updates() {
    let mut store = Store::open_in_memory().unwrap();
    let s = hourly(
        Signal::AVERAGE_LIFECYCLE,
        "em",
        &[Some(1.0), Some(2.0), Some(3.0)],
    );
    assert_eq!(
        store.upsert(std::slice::from_ref(&s)).unwrap(),
        report(3, 0, 0)
    );
    assert_eq!(store.upsert(&[s]).unwrap(), report(0, 0, 3));
    let changed = hourly(
        Signal::AVERAGE_LIFECYCLE,
        "em",
        &[Some(1.0), Some(2.5), Some(3.0), Some(4.0)],
    );
    assert_eq!(store.upsert(&[changed]).unwrap(), report(1, 1, 2));
    let got = store
        .query(&zone("DE"), Signal::AVERAGE_LIFECYCLE, window(0, 10), None)
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(values(&got[0]), [(0, 1.0), (1, 2.5), (2, 3.0), (3, 4.0)]);
    assert_eq!(got[0].meta(), &meta(Signal::AVERAGE_LIFECYCLE, "em", 1000));
}

#[test]
fn gaps_stay_gaps_and_windows_cut_by_overlap() {
    let mut store = Store::open_in_memory().unwrap();
    let s = hourly(
        Signal::AVERAGE_LIFECYCLE,
        "em",
        &[Some(1.0), None, None, Some(4.0), Some(5.0)],
    );
    store.upsert(&[s]).unwrap();
    let got = store
        .query(&zone("DE"), Signal::AVERAGE_LIFECYCLE, window(0, 5), None)
        .unwrap();
    let gaps = got[0].gaps(window(0, 5));
    assert_eq!(gaps.len(), 1);
    assert_eq!((gaps[0].start, gaps[0].end), (at(1), at(3)));
    // A window starting inside a point returns that point.
    let half_past =
        TimeWindow::new(at(3) + kite_core::SignedDuration::from_mins(30), at(4)).unwrap();
    let got = store
        .query(&zone("DE"), Signal::AVERAGE_LIFECYCLE, half_past, None)
        .unwrap();
    assert_eq!(values(&got[0]), [(3, 4.0)]);
    // A window with no points returns nothing.
    let got = store
        .query(&zone("DE"), Signal::AVERAGE_LIFECYCLE, window(1, 3), None)
        .unwrap();
    assert!(got.is_empty());
}

#[test]
fn signals_sources_and_zones_are_kept_apart() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .upsert(&[
            hourly(Signal::AVERAGE_LIFECYCLE, "em", &[Some(1.0)]),
            hourly(Signal::AVERAGE_DIRECT, "em", &[Some(2.0)]),
            hourly(Signal::AVERAGE_LIFECYCLE, "import:de", &[Some(3.0)]),
        ])
        .unwrap();
    let q = |signal, source| {
        store
            .query(&zone("DE"), signal, window(0, 1), source)
            .unwrap()
    };
    let both = q(Signal::AVERAGE_LIFECYCLE, None);
    let sources: Vec<&str> = both.iter().map(|s| s.meta().source.as_str()).collect();
    assert_eq!(sources, ["em", "import:de"]);
    assert_eq!(values(&both[1]), [(0, 3.0)]);
    assert_eq!(values(&q(Signal::AVERAGE_DIRECT, None)[0]), [(0, 2.0)]);
    assert_eq!(
        values(&q(Signal::AVERAGE_LIFECYCLE, Some("em"))[0]),
        [(0, 1.0)]
    );
    assert!(q(Signal::MARGINAL_DIRECT, None).is_empty());
    assert!(
        store
            .query(&zone("FR"), Signal::AVERAGE_LIFECYCLE, window(0, 1), None)
            .unwrap()
            .is_empty()
    );

    let catalog = store.catalog().unwrap();
    assert_eq!(catalog.len(), 3);
    assert_eq!(catalog[0].source, "em");
    assert_eq!(catalog[0].signal, Signal::AVERAGE_LIFECYCLE);
    assert_eq!(catalog[0].provenance, "measured");
    assert_eq!(catalog[0].rows, 1);
    assert_eq!((catalog[0].first, catalog[0].last_end), (at(0), at(1)));
    assert_eq!(catalog[0].last_fetched, Some(at(1000)));
}

#[test]
fn forecast_issues_form_one_group_newest_first() {
    let mut store = Store::open_in_memory().unwrap();
    let forecast = |issued: i64, v: f64| {
        hourly(Signal::AVERAGE_LIFECYCLE, "em", &[None, Some(v), Some(v)]).with_meta(SignalMeta {
            provenance: Provenance::Forecast {
                issued_at: Some(at(issued)),
                model: "em-forecast".into(),
            },
            ..meta(Signal::AVERAGE_LIFECYCLE, "em", issued)
        })
    };
    store
        .upsert(&[
            hourly(Signal::AVERAGE_LIFECYCLE, "em", &[Some(1.0)]),
            forecast(0, 10.0),
            forecast(1, 20.0),
        ])
        .unwrap();
    let got = store
        .query(&zone("DE"), Signal::AVERAGE_LIFECYCLE, window(0, 3), None)
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].meta().provenance, Provenance::Measured);
    // The later issue wins where both forecast the same hour.
    assert_eq!(values(&got[1]), [(1, 20.0), (2, 20.0)]);
    assert_eq!(
        got[1].meta().provenance,
        Provenance::Forecast {
            issued_at: Some(at(1)),
            model: "em-forecast".into()
        }
    );
    let catalog = store.catalog().unwrap();
    assert_eq!(catalog.len(), 2);
    assert_eq!(catalog[1].provenance, "forecast");
    assert_eq!(catalog[1].rows, 4);
}

#[test]
fn a_failed_upsert_writes_nothing_and_keeps_earlier_data() {
    let mut store = Store::open_in_memory().unwrap();
    let first = hourly(Signal::AVERAGE_LIFECYCLE, "em", &[Some(1.0), Some(2.0)]);
    store.upsert(&[first]).unwrap();
    // A half-hour-shifted point at the same resolution overlaps a stored hour.
    let shifted = IntensitySeries::new(
        zone("DE"),
        meta(Signal::AVERAGE_LIFECYCLE, "em", 2000),
        Resolution::HOUR,
        vec![Point {
            start: at(1) + kite_core::SignedDuration::from_mins(30),
            duration_secs: 3600,
            value: GramsCo2PerKwh(9.0),
        }],
    )
    .unwrap();
    let batch = [
        hourly(Signal::AVERAGE_DIRECT, "em", &[Some(7.0), Some(8.0)]),
        hourly(Signal::AVERAGE_LIFECYCLE, "em", &[Some(5.0)]),
        shifted,
    ];
    let err = store.upsert(&batch).unwrap_err();
    assert!(matches!(err, StoreError::Overlap { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("2020-01-01T01:30:00Z") && msg.contains("--source"),
        "{msg}"
    );
    // Nothing of the batch landed: no direct series, and hour 0 keeps its old value.
    let lca = store
        .query(&zone("DE"), Signal::AVERAGE_LIFECYCLE, window(0, 5), None)
        .unwrap();
    assert_eq!(values(&lca[0]), [(0, 1.0), (1, 2.0)]);
    assert_eq!(lca[0].meta().fetched_at, Some(at(1000)));
    assert!(
        store
            .query(&zone("DE"), Signal::AVERAGE_DIRECT, window(0, 5), None)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.catalog().unwrap().len(), 1);
}

#[test]
fn a_point_reaching_into_the_next_stored_point_is_refused() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .upsert(&[hourly(Signal::AVERAGE_LIFECYCLE, "em", &[None, Some(2.0)])])
        .unwrap();
    let early = IntensitySeries::new(
        zone("DE"),
        meta(Signal::AVERAGE_LIFECYCLE, "em", 2000),
        Resolution::HOUR,
        vec![Point {
            start: at(0) + kite_core::SignedDuration::from_mins(30),
            duration_secs: 3600,
            value: GramsCo2PerKwh(9.0),
        }],
    )
    .unwrap();
    let err = store.upsert(&[early]).unwrap_err();
    assert!(matches!(err, StoreError::Overlap { .. }), "{err}");
    // The same series twice in one batch: the second sees the first.
    let twice = hourly(Signal::AVERAGE_DIRECT, "em", &[Some(1.0)]);
    assert_eq!(
        store.upsert(&[twice.clone(), twice]).unwrap(),
        report(1, 0, 1)
    );
}

#[test]
fn a_long_series_with_gaps_round_trips() {
    // Long enough for the multi-row insert path plus a remainder, with gaps.
    let values: Vec<Option<f64>> = (0..1000)
        .map(|h| (h % 97 != 13).then_some((h % 500) as f64 / 4.0))
        .collect();
    let s = hourly(Signal::AVERAGE_LIFECYCLE, "em", &values);
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(
        store.upsert(std::slice::from_ref(&s)).unwrap(),
        report(s.len(), 0, 0)
    );
    let got = store
        .query(
            &zone("DE"),
            Signal::AVERAGE_LIFECYCLE,
            window(0, 1000),
            None,
        )
        .unwrap();
    assert_eq!(got, vec![s.clone()]);
    assert_eq!(
        store.upsert(std::slice::from_ref(&s)).unwrap(),
        report(0, 0, s.len())
    );
}

#[test]
fn reopening_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/kite.db");
    {
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.path(), Some(path.as_path()));
        store
            .upsert(&[hourly(
                Signal::AVERAGE_LIFECYCLE,
                "em",
                &[Some(1.0), Some(2.0)],
            )])
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let got = store
        .query(&zone("DE"), Signal::AVERAGE_LIFECYCLE, window(0, 2), None)
        .unwrap();
    assert_eq!(values(&got[0]), [(0, 1.0), (1, 2.0)]);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kite.db");
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err}"
    );
}

/// One step of the model test: which source, which hour slots get which value and duration.
#[derive(Debug, Clone)]
struct Batch {
    source: usize,
    points: BTreeMap<i64, (u32, u8)>,
}

fn batch() -> impl Strategy<Value = Batch> {
    (
        0usize..2,
        proptest::collection::btree_map(
            0i64..48,
            (prop_oneof![Just(1800u32), Just(3600u32)], 0u8..4),
            0..20,
        ),
    )
        .prop_map(|(source, points)| Batch { source, points })
}

const SOURCES: [&str; 2] = ["a", "b"];

/// (hour, duration, value), as compared between store and model.
type HourPoint = (i64, u32, f64);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random upserts, then every query equals the model: a map from (source, hour) to the last
    /// written (duration, value); the reported counts follow the model too.
    #[test]
    fn store_matches_a_btreemap_model(
        batches in proptest::collection::vec(batch(), 1..8),
        from in 0i64..48,
        len in 1i64..48,
    ) {
        let mut store = Store::open_in_memory().unwrap();
        let mut model: BTreeMap<(usize, i64), (u32, f64)> = BTreeMap::new();
        for b in &batches {
            let points = b.points.iter().map(|(&h, &(d, v))| Point {
                start: at(h),
                duration_secs: d,
                value: GramsCo2PerKwh(f64::from(v) * 10.0),
            }).collect();
            let s = IntensitySeries::new(
                zone("DE"),
                meta(Signal::AVERAGE_LIFECYCLE, SOURCES[b.source], 0),
                Resolution::HOUR,
                points,
            ).unwrap();
            let mut expected = UpsertReport::default();
            for (&h, &(d, v)) in &b.points {
                let new = (d, f64::from(v) * 10.0);
                match model.insert((b.source, h), new) {
                    None => expected.inserted += 1,
                    Some(old) if old == new => expected.unchanged += 1,
                    Some(_) => expected.updated += 1,
                }
            }
            prop_assert_eq!(store.upsert(&[s]).unwrap(), expected);
        }
        let w = window(from, from + len);
        let got = store.query(&zone("DE"), Signal::AVERAGE_LIFECYCLE, w, None).unwrap();
        let mut want: Vec<(&str, Vec<HourPoint>)> = Vec::new();
        for (source, name) in SOURCES.iter().enumerate() {
            let pts: Vec<HourPoint> = model
                .range((source, from - 1)..(source, from + len))
                .filter(|&(&(_, h), &(d, _))| T0 + h * 3600 + i64::from(d) > w.start().as_second())
                .map(|(&(_, h), &(d, v))| (h, d, v))
                .collect();
            if !pts.is_empty() {
                want.push((name, pts));
            }
        }
        let have: Vec<(&str, Vec<HourPoint>)> = got
            .iter()
            .map(|s| {
                (
                    s.meta().source.as_str(),
                    s.points()
                        .iter()
                        .map(|p| ((p.start.as_second() - T0) / 3600, p.duration_secs, p.value.0))
                        .collect(),
                )
            })
            .collect();
        prop_assert_eq!(have, want);
    }
}

#[test]
fn the_source_filter_is_a_prefix() {
    let mut store = Store::open_in_memory().unwrap();
    let zone = ZoneKey::new("FR").unwrap();
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let make = |source: &str, value: f64| {
        IntensitySeries::from_regular(
            zone.clone(),
            SignalMeta {
                signal: Signal::AVERAGE_LIFECYCLE,
                source: source.into(),
                fetched_at: Some(start),
                provenance: Provenance::Measured,
            },
            Resolution::HOUR,
            [(start, value)],
        )
        .unwrap()
    };
    store
        .upsert(&[
            make("import:a", 1.0),
            make("import:b", 2.0),
            make("electricity_maps", 3.0),
        ])
        .unwrap();
    let window = TimeWindow::new(start, start + SignedDuration::from_hours(1)).unwrap();
    let sources = |filter: Option<&str>| -> Vec<String> {
        let mut s: Vec<String> = store
            .query(&zone, Signal::AVERAGE_LIFECYCLE, window, filter)
            .unwrap()
            .iter()
            .map(|s| s.meta().source.clone())
            .collect();
        s.sort();
        s
    };
    assert_eq!(sources(Some("import:")), vec!["import:a", "import:b"]);
    assert_eq!(sources(Some("import:b")), vec!["import:b"]);
    assert_eq!(sources(None).len(), 3);
    assert!(sources(Some("watttime")).is_empty());
}

#[test]
fn processes_opening_a_fresh_file_at_once_all_get_the_store() {
    // `kite run` and a `kite runs` beside it may both be first to open a new store: both switch
    // it to WAL, and SQLite answers one of them SQLITE_BUSY at once, without the busy handler.
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let path = dir.path().join(format!("kite-{round}.sqlite3"));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let path = path.clone();
                let barrier = std::sync::Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    Store::open(&path).map(|_| ()).map_err(|e| e.to_string())
                })
            })
            .collect();
        for opener in openers {
            let opened = opener.join().unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}

#[test]
fn measured_extents_agree_with_the_catalog_for_one_zone_and_signal() {
    let mut store = Store::open_in_memory().unwrap();
    let lc = Signal::AVERAGE_LIFECYCLE;
    let forecast = hourly(lc, "em", &[Some(9.0); 48]).with_meta(SignalMeta {
        provenance: Provenance::Forecast {
            issued_at: Some(at(0)),
            model: "m".into(),
        },
        ..meta(lc, "em", 0)
    });
    store
        .upsert(&[
            hourly(lc, "em", &[Some(1.0), None, Some(3.0)]),
            hourly(
                lc,
                "import:a",
                &[None, None, Some(2.0), Some(2.0), Some(2.0)],
            ),
            hourly(Signal::AVERAGE_DIRECT, "em", &[Some(5.0); 10]),
            forecast,
        ])
        .unwrap();
    let extents = store.measured_extents(&zone("DE"), lc).unwrap();
    let expected: Vec<_> = store
        .catalog()
        .unwrap()
        .into_iter()
        .filter(|e| e.zone == zone("DE") && e.signal == lc && e.provenance == "measured")
        .map(|e| kite_store::MeasuredExtent {
            source: e.source,
            resolution: e.resolution,
            first: e.first,
            last_end: e.last_end,
        })
        .collect();
    assert_eq!(expected.len(), 2, "{expected:?}");
    assert_eq!(extents, expected);
    assert_eq!(extents[0].source, "em");
    assert_eq!((extents[0].first, extents[0].last_end), (at(0), at(3)));
    assert!(store.measured_extents(&zone("FR"), lc).unwrap().is_empty());
}
