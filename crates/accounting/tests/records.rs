//! Record parsing: round trips and field-level errors.
#![allow(clippy::unwrap_used)]

mod util;

use kite_accounting::{Record, RecordError};
use serde_json::{Value, json};

fn contract() -> Value {
    json!({"kind": "contract", "v": 1, "id": "ppa", "instrument": "ppa", "market": "DE",
           "start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z", "mwh": 100.0,
           "technology": "wind"})
}

fn error(v: Value) -> RecordError {
    Record::from_value(&v).unwrap_err()
}

#[test]
fn records_round_trip() {
    for r in util::october() {
        let back = Record::from_value(&r.to_value()).unwrap();
        assert_eq!(back, r);
    }
}

#[test]
fn contract_errors_name_field_value_and_fix() {
    let mut v = contract();
    v.as_object_mut().unwrap().remove("mwh");
    let e = error(v);
    assert_eq!(
        (e.kind.as_str(), e.field.as_str(), e.value.as_str()),
        ("contract", "mwh", "(missing)")
    );

    let mut v = contract();
    v["mwh"] = json!(-5);
    let e = error(v);
    assert_eq!((e.field.as_str(), e.value.as_str()), ("mwh", "-5"));

    let mut v = contract();
    v["start"] = json!("last spring");
    let e = error(v);
    assert_eq!(e.field, "start");
    assert!(e.value.contains("last spring"), "{e}");

    let mut v = contract();
    v["end"] = json!("2025-01-01T00:00:00Z");
    assert_eq!(error(v).field, "end");

    let mut v = contract();
    v["instrument"] = json!("vibes");
    assert_eq!(error(v).field, "instrument");

    let mut v = contract();
    v["technology"] = json!("gas");
    let e = error(v);
    assert_eq!(e.field, "emission_factor_g_per_kwh");
    assert!(e.fix.contains("not carbon-free"), "{e}");

    let mut v = contract();
    v["mwhh"] = json!(1);
    let e = error(v);
    assert_eq!(
        (e.field.as_str(), e.problem.as_str()),
        ("mwhh", "unknown field")
    );

    let mut v = contract();
    v["hourly"] = json!([{"hour": "2026-03-01T00:30:00Z", "mwh": 1.0}]);
    assert_eq!(error(v).field, "hourly[0].hour");

    let mut v = contract();
    v["hourly"] = json!([{"hour": "2026-03-01T00:00:00Z", "mwh": 1.0}]);
    let e = error(v);
    assert_eq!(e.field, "mwh");
    assert!(e.problem.contains("sum of hourly"), "{e}");

    let mut v = contract();
    v["applied_to"] = json!("someday");
    assert_eq!(error(v).field, "applied_to");

    let mut v = contract();
    v["v"] = json!(2);
    assert_eq!(error(v).field, "v");
    let mut v = contract();
    v["kind"] = json!("invoice");
    assert_eq!(error(v).field, "kind");
}

#[test]
fn run_errors() {
    let base = util::october().remove(0).to_value();
    let mut v = base.clone();
    v["facility_kwh"] = json!(21.0);
    let e = error(v);
    assert_eq!(e.field, "facility_kwh");
    assert!(e.problem.contains("sum of hours"), "{e}");

    let mut v = base.clone();
    v["hours"][1]["kwh"] = json!("ten");
    assert_eq!(error(v).field, "hours[1].kwh");

    let mut v = base.clone();
    v["pue"] = json!(0.8);
    assert_eq!(error(v).field, "pue");

    let mut v = base.clone();
    v["stage"] = json!("manufacturing");
    assert_eq!(error(v).field, "stage");

    let mut v = base;
    v["hours"][0]["hour"] = json!("2026-09-30T00:00:00Z");
    assert_eq!(error(v).field, "hours[0].hour");

    // On-site entries need emissions or a factor, not both.
    let onsite = json!({"kind": "onsite", "v": 1, "id": "g", "description": "diesel", "fuel": "diesel",
                        "quantity": 1.0, "unit": "litre", "start": "2026-10-01T00:00:00Z",
                        "end": "2026-10-02T00:00:00Z", "source": "x"});
    assert_eq!(error(onsite.clone()).field, "kg_co2e");
    let mut both = onsite;
    both["kg_co2e"] = json!(1.0);
    both["factor_kg_per_unit"] = json!(2.0);
    assert_eq!(error(both).field, "factor_kg_per_unit");
}

#[test]
fn hardware_without_a_footprint_gets_the_ccf_default_for_its_category_and_says_so() {
    use kite_accounting::record::with_defaults;
    let (filled, notes) = with_defaults(serde_json::json!({
        "kind": "hardware", "v": 1, "id": "node-7", "category": "server",
        "in_service": "2025-01-01T00:00:00Z", "source": "asset register"
    }))
    .unwrap();
    assert_eq!(filled["embodied_kg"], 1000.0);
    assert_eq!(filled["lifetime_hours"], 35040.0);
    let source = filled["source"].as_str().unwrap();
    assert!(source.starts_with("asset register; default:"), "{source}");
    assert!(source.contains("Cloud Carbon Footprint"), "{source}");
    assert_eq!(notes.len(), 1);
    // The completed entry is a valid record.
    kite_accounting::Record::from_value(&filled).unwrap();

    // A given figure is kept; only the missing lifetime is defaulted.
    let (filled, _) = with_defaults(serde_json::json!({
        "kind": "hardware", "v": 1, "id": "gpu-1", "category": "gpu", "embodied_kg": 318.0,
        "in_service": "2025-01-01T00:00:00Z", "source": "vendor PCF"
    }))
    .unwrap();
    assert_eq!(filled["embodied_kg"], 318.0);
    assert_eq!(filled["lifetime_hours"], 35040.0);

    // No figure and no default: the error names the field and the categories that have one.
    let e = with_defaults(serde_json::json!({
        "kind": "hardware", "v": 1, "id": "san", "category": "storage",
        "in_service": "2025-01-01T00:00:00Z", "source": "x"
    }))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("embodied_kg") && e.contains("storage") && e.contains("server"),
        "{e}"
    );

    // Other kinds pass through untouched.
    let run = serde_json::json!({"kind": "onsite", "v": 1});
    assert_eq!(with_defaults(run.clone()).unwrap().0, run);
}
