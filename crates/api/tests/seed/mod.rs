//! The data the /v1 and OpenAPI tests read: a store with a measured, weekly-periodic DE series
//! and a stored DE forecast with a known clean window, and a ledger (made with kite-ledger's API)
//! of three run records, the first two covered by a signed checkpoint.
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use kite_core::{
    IntensitySeries, Provenance, Resolution, Signal, SignalMeta, SignedDuration, Timestamp, ZoneKey,
};
use serde_json::Value;
use std::path::Path;

/// Days of measured history before the current hour.
pub const HISTORY_DAYS: i64 = 60;
/// Hours of stored forecast from the current hour.
pub const FORECAST_HOURS: i64 = 48;
/// Forecast value outside the clean window, and in it.
pub const DIRTY: f64 = 300.0;
pub const CLEAN: f64 = 50.0;
/// The clean window: these hours after the current hour (3 h: a 2 h job fits whatever minute
/// of the hour the plan is made at).
pub const CLEAN_HOURS: [i64; 3] = [5, 6, 7];
pub const ORIGIN: &str = "example.org/kite/test";

/// The measured value at `t`: 100 + 10 × hour of day + 2 × day of week (weekly periodic).
pub fn measured(t: Timestamp) -> f64 {
    let s = t.as_second();
    let hod = s.rem_euclid(86_400) / 3600;
    let dow = s.div_euclid(86_400).rem_euclid(7);
    100.0 + 10.0 * hod as f64 + 2.0 * dow as f64
}

/// The current hour, as the seed uses it.
pub fn hour() -> Timestamp {
    use kite_core::Clock as _;
    Resolution::HOUR.floor(kite_core::SystemClock.now())
}

/// Seeds the store at `db`: measured history ending at `hour` and a forecast from it.
pub fn store(db: &Path, hour: Timestamp) {
    let de = ZoneKey::new("DE").unwrap();
    let h = |n: i64| hour + SignedDuration::from_hours(n);
    let measured_meta = SignalMeta {
        signal: Signal::AVERAGE_LIFECYCLE,
        source: "test-meter".into(),
        fetched_at: Some(hour),
        provenance: Provenance::Measured,
    };
    let past = IntensitySeries::from_regular(
        de.clone(),
        measured_meta,
        Resolution::HOUR,
        (-24 * HISTORY_DAYS..0).map(|n| (h(n), measured(h(n)))),
    )
    .unwrap();
    let forecast_meta = SignalMeta {
        signal: Signal::AVERAGE_LIFECYCLE,
        source: "test-forecast".into(),
        fetched_at: Some(hour),
        provenance: Provenance::Forecast {
            issued_at: Some(hour),
            model: "test-model".into(),
        },
    };
    let future = IntensitySeries::from_regular(
        de,
        forecast_meta,
        Resolution::HOUR,
        (0..FORECAST_HOURS).map(|n| {
            (
                h(n),
                if CLEAN_HOURS.contains(&n) {
                    CLEAN
                } else {
                    DIRTY
                },
            )
        }),
    )
    .unwrap();
    let mut store = kite_store::Store::open(db).unwrap();
    store.upsert(&[past, future]).unwrap();
}

/// A training run record: `(hour, facility kWh, intensity)` per full hour, PUE 1, nothing
/// embodied.
fn run(id: &str, project: &str, zone: &str, hours: &[(&str, f64, f64)]) -> Value {
    kite_test_support::records::run(id, project, "training", zone, hours)
}

/// The three entries: runs `a` (DE, 10 kWh at 400 + 10 kWh at 200 g/kWh) and `b` (FR, 5 kWh at
/// 60), signed; then `c` (DE, 1 kWh at 1000), appended after the checkpoint.
pub fn entries() -> Vec<Value> {
    vec![
        run(
            "a",
            "llm",
            "DE",
            &[
                ("2026-10-01T00:00:00Z", 10.0, 400.0),
                ("2026-10-01T01:00:00Z", 10.0, 200.0),
            ],
        ),
        run("b", "vision", "FR", &[("2026-10-02T12:00:00Z", 5.0, 60.0)]),
        run("c", "llm", "DE", &[("2026-10-03T00:00:00Z", 1.0, 1000.0)]),
    ]
}

/// Creates the ledger at `path`: entries 0 and 1, a checkpoint of size 2, then entry 2.
pub fn ledger(path: &Path) {
    let key = kite_ledger::Signer::generate(ORIGIN).unwrap();
    let ledger = kite_ledger::Ledger::create(path, ORIGIN).unwrap();
    ledger.register_key(key.verifier()).unwrap();
    let all = entries();
    ledger.append_batch(&all[..2]).unwrap();
    ledger.checkpoint(&key).unwrap();
    ledger.append(&all[2]).unwrap();
}
