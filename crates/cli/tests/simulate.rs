//! End-to-end tests of `kite simulate`: the real binary on small synthetic traces written to a
//! temporary directory, with every expected number computed here from the values written, and
//! the bad-input cases (unknown or contradictory fields, missing file, uncovered window, zero
//! duration) failing with a message that names the field, the value and the fix.

// Tests fail loudly on any unexpected error; that is what unwrap is for here.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::{Kite, write};

/// Hourly values for three days: a saw with the cleanest hour moving from day to day.
fn values() -> Vec<f64> {
    (0..72)
        .map(|h| 150.0 + f64::from((h * 7) % 11) * 20.0 + f64::from(h / 24))
        .collect()
}

/// Writes `values()` as a kite CSV trace for `zone` starting 2020-01-01T00:00Z.
fn write_trace(kite: &Kite, name: &str, zone: &str, values: &[f64]) {
    let mut csv = String::from("timestamp,region,gco2_per_kwh\n");
    for (h, v) in values.iter().enumerate() {
        csv += &format!(
            "2020-01-{:02}T{:02}:00:00Z,{zone},{v}\n",
            1 + h / 24,
            h % 24
        );
    }
    write(&kite.path(name), &csv);
}

const LIST: &str = r#"
name = "synthetic"
policies = ["best-window", "lets-wait-awhile"]
[trace]
zones = [{ zone = "DE", file = "de.csv" }]
from = "2020-01-01T00:00:00Z"
to = "2020-01-04T00:00:00Z"
step = "1h"
[jobs]
pattern = "list"
slack = "10h"
interruptible = { min_chunk = "0m", resume_overhead = "0m" }
list = [
  { id = "a", arrival = "2020-01-01T02:00:00Z", duration = "3h" },
  { id = "b", arrival = "2020-01-02T05:00:00Z", duration = "4h", power_watts = 500 },
]
[[references]]
home = "DE"
variant = "default"
policy = "best-window"
saved_percent = 99.0
tolerance_pp = 1.5
source = "a deliberately wrong number, to test --check"
"#;

fn row<'a>(v: &'a Value, policy: &str) -> &'a Value {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == policy)
        .unwrap()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn saves_what_the_cleanest_windows_and_hours_save() {
    let kite = Kite::new();
    let v = values();
    write_trace(&kite, "de.csv", "DE", &v);
    write(&kite.path("s.toml"), LIST);
    let out = kite.json(&["simulate", "s.toml", "--format", "json"]);
    // (arrival hour, hours of work, kW); each may finish up to 10 h after arrival + work.
    let jobs = [(2usize, 3usize, 1.0), (29, 4, 0.5)];
    let (mut asap, mut window, mut hours) = (0.0, 0.0, 0.0);
    for (a, w, kw) in jobs {
        let deadline = a + w + 10;
        asap += kw * v[a..a + w].iter().sum::<f64>();
        window += kw
            * (a..=deadline - w)
                .map(|s| v[s..s + w].iter().sum::<f64>())
                .fold(f64::INFINITY, f64::min);
        let mut slots = v[a..deadline].to_vec();
        slots.sort_by(f64::total_cmp);
        hours += kw * slots[..w].iter().sum::<f64>();
    }
    let a = row(&out, "asap");
    let bw = row(&out, "best-window");
    let lwa = row(&out, "lets-wait-awhile");
    assert!(
        (num(&a["emissions_kg"]) - asap / 1000.0).abs() < 1e-9,
        "{a}"
    );
    assert!(
        (num(&bw["emissions_kg"]) - window / 1000.0).abs() < 1e-9,
        "{bw}"
    );
    assert!(
        (num(&lwa["emissions_kg"]) - hours / 1000.0).abs() < 1e-9,
        "{lwa}"
    );
    let saved = 100.0 * (1.0 - window / asap);
    assert!((num(&bw["saved_percent"]) - saved).abs() < 1e-9);
    assert_eq!(bw["deadline_misses"], 0);
    assert_eq!(bw["jobs"], 2);
    assert_eq!(num(&bw["of_oracle_percent"]), 100.0, "perfect forecast");
    assert!(num(&bw["max_delay_hours"]) <= 10.0);
    let published = &bw["published"];
    assert_eq!(published["within_tolerance"], false);
    assert!((num(&published["diff_pp"]) - (saved - 99.0)).abs() < 1e-9);
}

#[test]
fn check_fails_when_a_published_number_is_not_reproduced() {
    let kite = Kite::new();
    write_trace(&kite, "de.csv", "DE", &values());
    write(&kite.path("s.toml"), LIST);
    let out = kite.run(&["simulate", "s.toml", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = support::stderr(&out);
    assert!(
        err.contains("1 published number(s) not reproduced"),
        "{err}"
    );
    assert!(err.contains("DE/default/best-window"), "{err}");
    // Without --check the same run succeeds and marks the row.
    let table = kite.ok(&["simulate", "s.toml"]);
    assert!(table.contains(" !"), "{table}");
    assert!(table.contains("within tolerance: 0 of 1"), "{table}");
}

const NIGHTLY: &str = r#"
policies = ["best-window"]
[trace]
zones = [{ zone = "DE", file = "de.csv" }]
from = "2020-01-01T00:00:00Z"
to = "2020-01-04T00:00:00Z"
step = "1h"
[jobs]
pattern = "nightly"
at = "01:00"
duration = "1h"
first_day = "2020-01-01"
days = 2
window = "2h"
"#;

#[test]
fn a_job_whose_window_starts_before_the_data_is_skipped_or_counted_with_the_quirk() {
    let kite = Kite::new();
    let v = values();
    write_trace(&kite, "de.csv", "DE", &v);
    write(&kite.path("n.toml"), NIGHTLY);
    let best_day2 = (23..=27).map(|h| v[h]).fold(f64::INFINITY, f64::min);
    // Like for like: day 1's window opens at 23:00 the day before the data, so only day 2 runs.
    let out = kite.json(&["simulate", "n.toml", "--format", "json"]);
    let bw = row(&out, "best-window");
    assert_eq!(
        (bw["jobs"].as_u64(), bw["skipped"].as_u64()),
        (Some(1), Some(1))
    );
    let saved = 100.0 * (1.0 - best_day2 / v[25]);
    assert!((num(&bw["saved_percent"]) - saved).abs() < 1e-9, "{bw}");
    let notes = out["notes"].to_string();
    assert!(notes.contains("1 job(s) skipped"), "{notes}");
    // LWA's quirk: the baseline keeps day 1, the shifting policy counts it as 0 g.
    let out = kite.json(&[
        "simulate",
        "n.toml",
        "--format",
        "json",
        "--set",
        "compat.skipped_jobs_count_as_zero=true",
    ]);
    let bw = row(&out, "best-window");
    let saved = 100.0 * (1.0 - best_day2 / (v[1] + v[25]));
    assert!((num(&bw["saved_percent"]) - saved).abs() < 1e-9, "{bw}");
    assert_eq!(out["compat"]["skipped_jobs_count_as_zero"], true);
}

#[test]
fn csv_and_chart_outputs() {
    let kite = Kite::new();
    write_trace(&kite, "de.csv", "DE", &values());
    write(&kite.path("s.toml"), LIST);
    let csv = kite.ok(&["simulate", "s.toml", "--format", "csv", "--chart", "c.svg"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("scenario,home,variant,policy,"),
        "{csv}"
    );
    assert_eq!(lines.len(), 1 + 3, "one row per policy: {csv}");
    assert!(lines[2].starts_with("synthetic,DE,default,best-window,DE,2,0,"));
    let svg = std::fs::read_to_string(kite.path("c.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    // Both jobs in each of the three lanes; the interruptible lane may split them.
    assert!(svg.matches("<title>a (DE)</title>").count() >= 3, "{svg}");
    assert!(svg.matches("<title>b (DE)</title>").count() >= 3, "{svg}");
}

#[test]
fn seeds_average_a_noisy_forecast() {
    let kite = Kite::new();
    write_trace(&kite, "de.csv", "DE", &values());
    let text = format!("{LIST}\n[forecast]\nmodel = \"gaussian\"\nerror = 0.2\nseeds = 4\n");
    write(&kite.path("s.toml"), &text);
    let out = kite.json(&["simulate", "s.toml", "--format", "json", "--seeds", "6"]);
    assert_eq!(out["seeds"], 6);
    let bw = row(&out, "best-window");
    // One-piece jobs: no forecast does better than the actual trace.
    assert!(
        num(&bw["saved_percent"]) <= num(&bw["oracle_saved_percent"]) + 1e-9,
        "{bw}"
    );
    let again = kite.json(&["simulate", "s.toml", "--format", "json", "--seeds", "6"]);
    assert_eq!(out["results"], again["results"], "seeded, so reproducible");
}

fn fails_with(body: &str, args: &[&str], needles: &[&str]) {
    let kite = Kite::new();
    write_trace(&kite, "de.csv", "DE", &values());
    write(&kite.path("s.toml"), body);
    let mut all = vec!["simulate", "s.toml"];
    all.extend_from_slice(args);
    let err = kite.fails(&all);
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in:\n{err}");
    }
}

#[test]
fn unknown_field_is_named() {
    fails_with(
        &LIST.replace("slack = \"10h\"", "slack = \"10h\"\ncolour = \"red\""),
        &[],
        &["scenario s.toml", "unknown field `colour`"],
    );
}

#[test]
fn contradictory_fields_are_named_with_the_fix() {
    fails_with(
        &LIST.replace("slack = \"10h\"", "slack = \"10h\"\nwindow = \"2h\""),
        &[],
        &["jobs.window and jobs.slack", "contradict", "keep one"],
    );
    fails_with(
        &NIGHTLY.replace("days = 2", "days = 2\ncount = 5"),
        &[],
        &[
            "jobs.count",
            "does not apply to pattern `nightly`",
            "remove it",
        ],
    );
}

#[test]
fn zero_duration_is_refused() {
    fails_with(
        &LIST.replace("duration = \"3h\"", "duration = \"0h\""),
        &[],
        &[
            "jobs.list[0].duration",
            "`0h` is zero or negative",
            "positive duration",
        ],
    );
}

#[test]
fn missing_trace_file_names_the_field_and_the_path() {
    fails_with(
        &LIST.replace("de.csv", "nowhere.csv"),
        &[],
        &["trace DE", "nowhere.csv", "trace.zones[0].file", "--data"],
    );
}

#[test]
fn a_window_the_data_does_not_cover_is_nothing_to_simulate() {
    fails_with(
        &NIGHTLY.replace("2020-01-01\"\ndays", "2020-02-01\"\ndays"),
        &[],
        &[
            "nothing to simulate",
            "no data covering the window",
            "2020-01-31T23:00:00Z",
        ],
    );
    fails_with(
        &LIST
            .replace("to = \"2020-01-04", "to = \"2020-01-06")
            .replace("from = \"2020-01-01T00", "from = \"2020-01-05T00"),
        &[],
        &[
            "trace DE",
            "no data covering the window [2020-01-05T00:00:00Z, 2020-01-06T00:00:00Z)",
        ],
    );
}

#[test]
fn a_bad_override_says_how_to_write_one() {
    fails_with(
        LIST,
        &["--set", "forecast"],
        &["--set forecast", "KEY=VALUE"],
    );
}

#[test]
fn a_stored_zone_gives_the_same_numbers_as_its_file() {
    let kite = Kite::new();
    write_trace(&kite, "de.csv", "DE", &values());
    write(&kite.path("s.toml"), LIST);
    let from_file = kite.json(&["simulate", "s.toml", "--format", "json"]);
    kite.ok(&["intensity", "import", "de.csv"]);
    write(
        &kite.path("store.toml"),
        &LIST.replace(
            "{ zone = \"DE\", file = \"de.csv\" }",
            "{ zone = \"DE\", store = true, source = \"import:\" }",
        ),
    );
    let from_store = kite.json(&["simulate", "store.toml", "--format", "json"]);
    for policy in ["asap", "best-window", "lets-wait-awhile"] {
        assert_eq!(
            row(&from_file, policy)["emissions_kg"],
            row(&from_store, policy)["emissions_kg"],
            "{policy}"
        );
    }
    assert!(
        from_store["zones"][0]["origin"]
            .as_str()
            .unwrap()
            .starts_with("store")
    );
}
