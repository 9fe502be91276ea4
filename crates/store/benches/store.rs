//! Store throughput on synthetic data: bulk upsert into a fresh on-disk store, re-upsert of
//! unchanged data, and a one-year range query (8760 hourly rows) out of three stored years.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use divan::Bencher;
use divan::counter::ItemsCount;
use kite_core::{
    IntensitySeries, Provenance, Resolution, Signal, SignalMeta, TimeWindow, Timestamp, ZoneKey,
};
use kite_store::Store;

const T0: i64 = 1_577_836_800; // 2020-01-01T00:00:00Z
const HOURS_PER_YEAR: i64 = 8760;

fn main() {
    divan::main();
}

/// `zones` hourly series of `hours` points each, values a deterministic wiggle.
fn synthetic(zones: usize, hours: i64) -> Vec<IntensitySeries> {
    (0..zones)
        .map(|z| {
            let meta = SignalMeta {
                signal: Signal::AVERAGE_LIFECYCLE,
                source: "bench".into(),
                fetched_at: Some(Timestamp::from_second(T0).unwrap()),
                provenance: Provenance::Measured,
            };
            let zone = ZoneKey::new(&format!("Z{z:03}")).unwrap();
            let values = (0..hours).map(|h| {
                let t = Timestamp::from_second(T0 + h * 3600).unwrap();
                (t, 200.0 + ((h * 37 + z as i64 * 11) % 300) as f64 / 3.0)
            });
            IntensitySeries::from_regular(zone, meta, Resolution::HOUR, values).unwrap()
        })
        .collect()
}

#[divan::bench(args = [1, 10])]
fn upsert_fresh_on_disk(bencher: Bencher, years: i64) {
    let series = synthetic(10, years * HOURS_PER_YEAR);
    let rows: usize = series.iter().map(|s| s.len()).sum();
    bencher
        .counter(ItemsCount::new(rows))
        .with_inputs(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("kite.db")).unwrap();
            (dir, store)
        })
        .bench_local_values(|(dir, mut store)| {
            store.upsert(&series).unwrap();
            (dir, store)
        });
}

#[divan::bench]
fn reupsert_unchanged(bencher: Bencher) {
    let series = synthetic(10, HOURS_PER_YEAR);
    let rows: usize = series.iter().map(|s| s.len()).sum();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kite.db")).unwrap();
    store.upsert(&series).unwrap();
    bencher
        .counter(ItemsCount::new(rows))
        .bench_local(|| store.upsert(&series).unwrap());
}

#[divan::bench]
fn query_one_year(bencher: Bencher) {
    let series = synthetic(10, 3 * HOURS_PER_YEAR);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kite.db")).unwrap();
    store.upsert(&series).unwrap();
    let zone = ZoneKey::new("Z005").unwrap();
    let start = Timestamp::from_second(T0 + HOURS_PER_YEAR * 3600).unwrap();
    let end = Timestamp::from_second(T0 + 2 * HOURS_PER_YEAR * 3600).unwrap();
    let window = TimeWindow::new(start, end).unwrap();
    bencher.bench_local(|| {
        let got = store
            .query(&zone, Signal::AVERAGE_LIFECYCLE, window, None)
            .unwrap();
        assert_eq!(got[0].len(), HOURS_PER_YEAR as usize);
        got
    });
}
