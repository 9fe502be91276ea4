//! Ledger records for tests, shaped as kite-accounting parses them (`docs/accounting.md`).

use serde_json::{Value, json};

/// A run record (`kind: run`) whose hours each last a full hour: `(hour, facility kWh,
/// intensity g/kWh)` per hour, measured; PUE 1, nothing embodied, no water, no hardware and no
/// team (set those fields on the value where a test needs them). Its energy and emissions are
/// the sums over its hours.
pub fn run<H: AsRef<str>>(
    id: &str,
    project: &str,
    stage: &str,
    zone: &str,
    hours: &[(H, f64, f64)],
) -> Value {
    let hs: Vec<Value> = hours
        .iter()
        .map(|(h, kwh, i)| {
            json!({"hour": h.as_ref(), "seconds": 3600.0, "kwh": kwh, "g": kwh * i,
                   "intensity": i, "signal": "average-lifecycle", "source": "test",
                   "provenance": "measured"})
        })
        .collect();
    let kwh: f64 = hours.iter().map(|h| h.1).sum();
    let g: f64 = hours.iter().map(|h| h.1 * h.2).sum();
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        panic!("run `{id}`: a run record needs at least one hour");
    };
    let last: jiff::Timestamp = last
        .0
        .as_ref()
        .parse()
        .unwrap_or_else(|e| panic!("run `{id}`: hour {:?}: {e}", last.0.as_ref()));
    let end = last + jiff::SignedDuration::from_hours(1);
    json!({
        "kind": "run", "v": 1, "run_id": id, "project": project, "stage": stage, "zone": zone,
        "start": first.0.as_ref(), "end": end.to_string(), "it_kwh": kwh, "pue": 1.0,
        "facility_kwh": kwh, "hours": hs, "operational_g": g, "embodied_g": 0.0,
        "water_litres": 0.0, "measured_fraction": 1.0, "hardware": []
    })
}
