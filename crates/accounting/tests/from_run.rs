//! A real run (tracker with a constant-power meter, a real SQLite store) turned into a ledger
//! footprint, from its record and from its stored intervals.
#![allow(clippy::unwrap_used)]

use kite_accounting::{Record, RunFootprint};
use kite_core::{
    Clock, IntensitySeries, Provenance, Resolution, Signal, SignalMeta, SignedDuration,
    SystemClock, ZoneKey,
};
use kite_meter::Component;
use kite_store::Store;
use kite_tracker::{
    ConstantPowerMeter, HardwareProfile, RunOutcome, SyntheticActivity, Tracker, TrackerConfig,
};
use std::time::Duration;

#[test]
fn a_tracked_run_becomes_a_valid_footprint() {
    let zone = ZoneKey::new("DE").unwrap();
    let first = Resolution::HOUR.floor(SystemClock.now()) - SignedDuration::from_hours(1);
    let series = IntensitySeries::from_regular(
        zone.clone(),
        SignalMeta {
            signal: Signal::AVERAGE_LIFECYCLE,
            source: "test".into(),
            fetched_at: Some(first),
            provenance: Provenance::Measured,
        },
        Resolution::HOUR,
        (0..4).map(|i| (first + SignedDuration::from_hours(i), 400.0)),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kite.db");
    let mut cfg = TrackerConfig::new(
        "acct",
        zone,
        HardwareProfile::default_for("cpu", &[], 8, 16.0),
    );
    cfg.interval = Duration::from_millis(20);
    cfg.persist_every = Duration::from_millis(100);
    cfg.pue = kite_tracker::Factor::new(1.2, "test");
    let id = cfg.run_id.clone();
    let tracker = Tracker::start(
        cfg,
        vec![Box::new(ConstantPowerMeter::new(Component::Cpu, 100.0))],
        Box::new(SyntheticActivity::new(8, 0.5, 0.5)),
        vec![series],
        Some(Store::open(&db).unwrap()),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let record = tracker
        .stop(RunOutcome::Succeeded { exit_code: Some(0) })
        .unwrap();
    let store = Store::open(&db).unwrap();
    let stored = store.run(&id).unwrap().unwrap();

    for fp in [
        RunFootprint::from_stored(&record, &stored),
        RunFootprint::from_run_record(&record),
    ] {
        // Same totals as the tracker's record: facility = IT × 1.2, emissions = × 400 g/kWh.
        let rel = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-12);
        assert!(
            rel(fp.facility_kwh, record.facility_energy.0),
            "{} {}",
            fp.facility_kwh,
            record.facility_energy.0
        );
        assert!(
            rel(fp.operational_g, record.operational.0),
            "{} {}",
            fp.operational_g,
            record.operational.0
        );
        assert!(rel(fp.operational_g, fp.facility_kwh * 400.0));
        assert!(fp.facility_kwh > 0.0 && fp.embodied_g > 0.0);
        assert_eq!(fp.hours[0].source, "test");
        // It passes the ledger record checks and round-trips.
        let back = Record::from_value(&Record::Run(fp.clone()).to_value()).unwrap();
        assert_eq!(back, Record::Run(fp));
    }
}
