//! `kite check-claims` end to end: the real binary, a real ledger made with `kite ledger`, and
//! JSON Lines record files.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Kite, stderr, write};

/// Load 10 kWh in each of two hours of 2026-10-01 in DE; a 20 kWh solar PPA delivered in the
/// first hour only: annual matching 100 %, hourly 50 %.
fn records() -> String {
    let hour = |h: &str, i: f64| {
        json!({"hour": h, "seconds": 3600.0, "kwh": 10.0, "g": 10.0 * i, "intensity": i,
               "signal": "average-lifecycle", "source": "test", "provenance": "measured"})
    };
    let run = json!({"kind": "run", "v": 1, "run_id": "r1", "project": "llm", "stage": "training",
        "zone": "DE", "start": "2026-10-01T00:00:00Z", "end": "2026-10-01T02:00:00Z",
        "it_kwh": 20.0, "pue": 1.0, "facility_kwh": 20.0,
        "hours": [hour("2026-10-01T00:00:00Z", 300.0), hour("2026-10-01T01:00:00Z", 300.0)],
        "operational_g": 6000.0, "embodied_g": 10.0, "water_litres": 1.0, "measured_fraction": 1.0});
    let ppa = json!({"kind": "contract", "v": 1, "id": "ppa", "instrument": "ppa", "market": "DE",
        "start": "2026-10-01T00:00:00Z", "end": "2026-10-02T00:00:00Z", "mwh": 0.020,
        "technology": "solar", "retired": true,
        "hourly": [{"hour": "2026-10-01T00:00:00Z", "mwh": 0.020}]});
    // A non-accounting entry, as the ledger may hold: skipped.
    let note = json!({"kind": "note", "v": 1, "text": "hello"});
    format!("{run}\n{ppa}\n{note}\n")
}

const RE100: &str = r#"
[[claim]]
id = "re100"
kind = "renewable_percent"
text = "Training ran on 100 % renewable electricity"
period = "2026-10-01"
percent = 100
reports = ["market_based", "location_based"]
"#;

fn ledger(kite: &Kite) -> String {
    let l = kite.path("ledger.sqlite3").display().to_string();
    write(&kite.path("records.jsonl"), &records());
    kite.ok(&["ledger", "init", "--ledger", &l]);
    kite.ok(&["ledger", "append", "records.jsonl", "--ledger", &l]);
    kite.ok(&["ledger", "checkpoint", "--ledger", &l]);
    l
}

#[test]
fn an_annually_matched_100_percent_claim_fails_on_hourly_matching() {
    let kite = Kite::new();
    let l = ledger(&kite);
    write(&kite.path("claims.toml"), RE100);
    let out = kite.run(&[
        "check-claims",
        "claims.toml",
        "--ledger",
        &l,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(v["records"], 2);
    assert_eq!(v["verification"]["status"], "verified");
    assert_eq!(v["verification"]["unsigned"], 0);
    let c = &v["claims"][0];
    assert_eq!(
        (c["id"].as_str(), c["verdict"].as_str()),
        (Some("re100"), Some("fail"))
    );
    let gap = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "hourly_gap")
        .unwrap();
    assert_eq!(gap["numbers"]["annual_renewable_pct"], 100.0);
    assert_eq!(gap["numbers"]["hourly_cfe_pct"], 50.0);

    // The table says the same in words.
    let out = kite.run(&["check-claims", "claims.toml", "--ledger", &l]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("re100 (renewable_percent, 2026-10-01): FAILS"),
        "{text}"
    );
    assert!(text.contains("only 50.0 % of the load"), "{text}");
}

#[test]
fn a_disclosed_annual_claim_passes_with_a_warning() {
    let kite = Kite::new();
    let l = ledger(&kite);
    write(
        &kite.path("claims.toml"),
        &RE100.replace("percent = 100", "percent = 100\nbasis = \"annual\""),
    );
    let v = kite.json(&[
        "check-claims",
        "claims.toml",
        "--ledger",
        &l,
        "--format",
        "json",
    ]);
    assert_eq!(v["passed"], true);
    assert_eq!(v["claims"][0]["verdict"], "warning");
}

#[test]
fn records_file_is_not_verified_and_bad_input_names_the_field() {
    let kite = Kite::new();
    write(&kite.path("records.jsonl"), &records());
    write(
        &kite.path("claims.toml"),
        &RE100.replace("percent = 100", "percent = 100\nbasis = \"annual\""),
    );
    let v = kite.json(&[
        "check-claims",
        "claims.toml",
        "--records",
        "records.jsonl",
        "--format",
        "json",
    ]);
    assert_eq!(v["verification"]["status"], "not_verified");
    let f = &v["claims"][0]["findings"];
    assert!(
        f.as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "ledger_verification" && f["severity"] == "warning")
    );

    // A malformed claims file: the claim, field, value and fix.
    write(
        &kite.path("bad.toml"),
        &RE100.replace("percent = 100", "percent = 150"),
    );
    let err = kite.fails(&["check-claims", "bad.toml", "--records", "records.jsonl"]);
    assert!(
        err.contains("bad.toml") && err.contains("`percent` = 150") && err.contains("(id re100)"),
        "{err}"
    );

    // A malformed record: the line, the field and the value.
    write(
        &kite.path("bad.jsonl"),
        &records().replace("\"mwh\":0.02,", "\"mwh\":\"lots\","),
    );
    let err = kite.fails(&["check-claims", "claims.toml", "--records", "bad.jsonl"]);
    assert!(
        err.contains("bad.jsonl line 2") && err.contains("`mwh`") && err.contains("lots"),
        "{err}"
    );

    // No ledger where one is expected.
    let err = kite.fails(&["check-claims", "claims.toml"]);
    assert!(err.contains("kite ledger init"), "{err}");
}

#[test]
fn booked_claims_enter_the_ledger_with_the_tree_they_were_checked_against() {
    let kite = Kite::new();
    let l = ledger(&kite);
    write(&kite.path("claims.toml"), RE100);
    let before = kite.json(&["ledger", "show", "--ledger", &l, "--format", "json"]);
    let n = before.as_array().unwrap().len();
    assert!(n >= 2);
    let out = kite.run(&["check-claims", "claims.toml", "--ledger", &l, "--book"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a failing claim is booked and still fails"
    );
    assert!(
        stderr(&out).contains("booked 1 claim(s)"),
        "{}",
        stderr(&out)
    );

    let after = kite.json(&["ledger", "show", "--ledger", &l, "--format", "json"]);
    let entries = after.as_array().unwrap();
    assert_eq!(entries.len(), n + 1);
    let claim = &entries[n]["entry"];
    assert_eq!(claim["kind"], "claim");
    assert_eq!(claim["claim_kind"], "renewable_percent");
    assert_eq!(claim["id"], "re100");
    assert_eq!(claim["verdict"], "fail");
    assert_eq!(claim["checked_against"]["tree_size"], n);
    assert_eq!(
        claim["checked_against"]["verification"]["status"],
        "verified"
    );
    // The root it names is the root of the entries it was checked against.
    let size = n.to_string();
    let proof = kite.json(&[
        "ledger", "prove", "--ledger", &l, "--entry", "0", "--size", &size,
    ]);
    assert_eq!(claim["checked_against"]["root_hash"], proof["root_hash"]);
    // Claims are not accounting records: checking again reads the same records.
    let v = kite.run(&[
        "check-claims",
        "claims.toml",
        "--ledger",
        &l,
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(v["records"], 2);
    kite.ok(&["ledger", "verify", "--ledger", &l]);
}
