//! End-to-end tests of `kite run` booking what it measured in the ledger: the real binary, a real
//! ledger file, real child processes.

// Tests fail loudly on any unexpected error; that is what unwrap is for here.
#![allow(clippy::unwrap_used)]

use serde_json::Value;

mod support;

use support::{Kite, stderr};

/// A command that burns CPU for about 0.3 s, so the run has energy to book.
const BUSY: [&str; 3] = [
    "sh",
    "-c",
    "end=$(($(date +%s%N) + 300000000)); while [ $(date +%s%N) -lt $end ]; do :; done",
];

fn entries(kite: &Kite, ledger: &str) -> Vec<Value> {
    let shown = kite.json(&["ledger", "--ledger", ledger, "show", "--format", "json"]);
    shown
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"].clone())
        .collect()
}

#[test]
fn a_run_is_booked_with_its_team_stage_and_hourly_energy_when_a_ledger_is_configured() {
    let kite = Kite::new();
    kite.ok(&["ledger", "--ledger", "books.sqlite3", "init"]);
    let mut args = vec![
        "run",
        "--region",
        "DE",
        "--quiet",
        "--json",
        "--interval",
        "100ms",
        "--team",
        "ml-platform",
        "--stage",
        "training",
        "--project",
        "llm",
        "--ledger",
        "books.sqlite3",
        "--",
    ];
    args.extend(BUSY);
    let out = kite.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("booked in the ledger"),
        "{}",
        stderr(&out)
    );
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();

    let booked = entries(&kite, "books.sqlite3");
    assert_eq!(booked.len(), 1, "{booked:?}");
    let run = &booked[0];
    assert_eq!(run["kind"], "run");
    assert_eq!(run["run_id"], record["run_id"]);
    assert_eq!(run["project"], "llm");
    assert_eq!(run["team"], "ml-platform");
    assert_eq!(run["stage"], "training");
    assert_eq!(run["zone"], "DE");
    let facility = run["facility_kwh"].as_f64().unwrap();
    assert!(facility > 0.0, "{run}");
    // The hourly breakdown adds up to the run's totals, from the stored intervals.
    let hours = run["hours"].as_array().unwrap();
    assert!(!hours.is_empty());
    let kwh: f64 = hours.iter().map(|h| h["kwh"].as_f64().unwrap()).sum();
    let g: f64 = hours.iter().map(|h| h["g"].as_f64().unwrap()).sum();
    assert!(
        (kwh - facility).abs() <= 1e-9 * facility.max(1e-12),
        "{kwh} vs {facility}"
    );
    let operational = run["operational_g"].as_f64().unwrap();
    assert!(
        (g - operational).abs() <= 1e-6 * operational.max(1e-9),
        "{g} vs {operational}"
    );

    // The booked log verifies.
    kite.ok(&["ledger", "--ledger", "books.sqlite3", "verify"]);
}

#[test]
fn without_a_ledger_nothing_is_booked_and_a_missing_explicit_one_stops_before_the_job() {
    let kite = Kite::new();
    let out = kite.run(&["run", "--region", "DE", "--quiet", "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("booked"), "{}", stderr(&out));
    assert!(!kite.path("data/kite/ledger.sqlite3").exists());
    assert!(!kite.path("ledger.sqlite3").exists());

    let err = kite.fails(&[
        "run",
        "--region",
        "DE",
        "--ledger",
        "nowhere.sqlite3",
        "--",
        "sh",
        "-c",
        "touch ran",
    ]);
    assert!(
        err.contains("nowhere.sqlite3") && err.contains("kite ledger init"),
        "{err}"
    );
    assert!(!kite.path("ran").exists(), "the job must not run");
}

#[test]
fn a_planned_job_books_its_outcome_against_running_at_once() {
    let kite = Kite::new();
    kite.ok(&["ledger", "--ledger", "books.sqlite3", "init"]);
    let plan = kite.ok(&[
        "plan",
        "--duration",
        "1h",
        "--deadline",
        "now+24h",
        "--region",
        "DE",
        "--policy",
        "best-window",
        "--power",
        "300",
        "--format",
        "json",
    ]);
    std::fs::write(kite.path("plan.json"), &plan).unwrap();
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let job = &plan["jobs"][0];
    let id = job["id"].as_str().unwrap();

    // A wrong job id is refused before the job runs, naming the ids the plan has.
    let err = kite.fails(&[
        "run",
        "--region",
        "DE",
        "--ledger",
        "books.sqlite3",
        "--plan",
        "plan.json",
        "--job",
        "nope",
        "--",
        "sh",
        "-c",
        "touch ran",
    ]);
    assert!(err.contains("nope") && err.contains(id), "{err}");
    assert!(!kite.path("ran").exists());

    let mut args = vec![
        "run",
        "--region",
        "DE",
        "--quiet",
        "--ledger",
        "books.sqlite3",
        "--plan",
        "plan.json",
        "--job",
        id,
        "--",
    ];
    args.extend(BUSY);
    let out = kite.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));

    let booked = entries(&kite, "books.sqlite3");
    assert_eq!(booked.len(), 2, "{booked:?}");
    let (run, outcome) = (&booked[0], &booked[1]);
    assert_eq!(outcome["kind"], "job_outcome");
    assert_eq!(outcome["job_id"], id);
    assert_eq!(outcome["run_id"], run["run_id"]);
    assert_eq!(outcome["planned_start"], job["start"]);
    assert_eq!(outcome["emissions_g"], run["operational_g"]);
    // Counterfactual: the plan's run-now emissions at the energy the job really used.
    let expected = job["run_now_emissions_g"].as_f64().unwrap()
        * run["facility_kwh"].as_f64().unwrap()
        / job["energy_kwh"].as_f64().unwrap();
    let got = outcome["run_now_g"].as_f64().unwrap();
    assert!(
        (got - expected).abs() <= 1e-9 * expected.abs().max(1e-12),
        "{got} vs {expected}"
    );
}
