//! Record builders for the accounting tests: every record goes through `Record::from_value`,
//! so the fixtures also exercise the parser.
#![allow(dead_code, clippy::unwrap_used, clippy::too_many_arguments)]

use kite_accounting::Record;
use serde_json::{Value, json};

/// Parses a JSON record, panicking with the error (tests only).
pub fn rec(v: Value) -> Record {
    Record::from_value(&v).unwrap_or_else(|e| panic!("{e}"))
}

/// A run whose hours each last a full hour: `(hour, facility kWh, intensity g/kWh)`; PUE 1.
pub fn run(
    id: &str,
    project: &str,
    stage: &str,
    zone: &str,
    hours: &[(&str, f64, f64)],
    embodied_g: f64,
    water: f64,
    hardware: Value,
) -> Record {
    let mut v = kite_test_support::records::run(id, project, stage, zone, hours);
    v["embodied_g"] = json!(embodied_g);
    v["water_litres"] = json!(water);
    v["hardware"] = hardware;
    rec(v)
}

/// The October 2026 books used by several tests (numbers worked out in `books.rs`).
pub fn october() -> Vec<Record> {
    vec![
        run(
            "a",
            "llm",
            "training",
            "DE",
            &[
                ("2026-10-01T00:00:00Z", 10.0, 400.0),
                ("2026-10-01T01:00:00Z", 10.0, 200.0),
            ],
            50.0,
            3.0,
            json!([]),
        ),
        run(
            "b",
            "llm",
            "inference",
            "FR",
            &[("2026-10-02T12:00:00Z", 5.0, 60.0)],
            999.0,
            2.0,
            json!([{"id": "srv-1", "share": 0.5}]),
        ),
        rec(
            json!({"kind": "hardware", "v": 1, "id": "srv-1", "category": "server",
                   "embodied_kg": 1000.0, "lifetime_hours": 35040.0,
                   "in_service": "2025-01-01T00:00:00Z", "source": "CCF base server"}),
        ),
        rec(
            json!({"kind": "contract", "v": 1, "id": "ppa-de", "instrument": "ppa", "market": "DE",
                   "start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z", "mwh": 0.010,
                   "technology": "wind", "retired": true,
                   "hourly": [{"hour": "2026-10-01T00:00:00Z", "mwh": 0.010}]}),
        ),
        rec(
            json!({"kind": "contract", "v": 1, "id": "rec-us", "instrument": "rec",
                   "market": "US-CAL-CISO", "start": "2026-01-01T00:00:00Z",
                   "end": "2027-01-01T00:00:00Z", "mwh": 1.0, "technology": "solar"}),
        ),
        rec(
            json!({"kind": "contract", "v": 1, "id": "go-fr-2024", "instrument": "go", "market": "FR",
                   "start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "mwh": 1.0,
                   "technology": "hydro", "applied_to": "2026"}),
        ),
        rec(
            json!({"kind": "contract", "v": 1, "id": "offset-1", "instrument": "offset", "market": "-",
                   "start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z",
                   "tonnes_co2e": 1.0, "technology": "forestry"}),
        ),
        rec(
            json!({"kind": "onsite", "v": 1, "id": "gen-1", "description": "diesel backup test",
                   "fuel": "diesel", "quantity": 10.0, "unit": "litre",
                   "start": "2026-10-15T00:00:00Z", "end": "2026-10-16T00:00:00Z",
                   "factor_kg_per_unit": 2.66, "source": "test factor"}),
        ),
        rec(
            json!({"kind": "grid_cfe", "v": 1, "zone": "DE", "source": "test grid share",
                   "hours": [{"hour": "2026-10-01T01:00:00Z", "share": 0.5}]}),
        ),
        rec(json!({"kind": "functional_units", "v": 1, "project": "llm",
                   "start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z",
                   "unit": "1k inferences", "count": 1000.0})),
    ]
}

/// Asserts `a ≈ b` within 1e-6.
#[track_caller]
pub fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-6, "{a} != {b}");
}
