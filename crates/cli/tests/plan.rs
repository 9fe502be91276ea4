//! `kite plan` end to end: jobs from flags and files, planned on intensities imported into the
//! store, so the cleanest window is known independently of kite.
#![allow(clippy::unwrap_used)]

mod support;

use jiff::{SignedDuration, Timestamp};
use kite_core::{Clock, SystemClock};
use support::{Kite, write};

const HOUR: i64 = 3600;

/// The next whole hour after now, plus one, so every test window lies in the future.
fn base() -> Timestamp {
    let now = SystemClock.now().as_second();
    Timestamp::from_second((now / HOUR + 2) * HOUR).unwrap()
}

fn at(h: i64) -> String {
    (base() + SignedDuration::from_hours(h)).to_string()
}

/// Imports 48 hourly values for `zone` from `base()`: `value(h)` for hour h.
fn import(kite: &Kite, zone: &str, value: impl Fn(i64) -> f64) {
    let mut csv = String::from("timestamp,region,gco2_per_kwh\n");
    for h in 0..48 {
        csv += &format!("{},{zone},{}\n", at(h), value(h));
    }
    let path = kite.path(&format!("{zone}.csv"));
    write(&path, &csv);
    kite.ok(&["intensity", "import", path.to_str().unwrap()]);
}

/// 400 g/kWh everywhere except a 3-hour dip to 100 at hours 20..23.
fn dip(h: i64) -> f64 {
    if (20..23).contains(&h) { 100.0 } else { 400.0 }
}

#[test]
fn one_job_lands_in_the_known_clean_window_with_its_saving() {
    let kite = Kite::new();
    import(&kite, "DE", dip);
    let v = kite.json(&[
        "plan",
        "--duration",
        "3h",
        "--earliest",
        &at(0),
        "--deadline",
        &at(40),
        "--region",
        "DE",
        "--power",
        "2000",
        "--format",
        "json",
    ]);
    let job = &v["jobs"][0];
    assert_eq!(job["start"], at(20), "{v:#}");
    assert_eq!(job["end"], at(23));
    assert_eq!(job["region"], "DE");
    // 2 kW × 3 h × 100 g/kWh = 600 g; running at once: 6 kWh × 400 = 2400 g; 75 % saved.
    assert!(
        (job["emissions_g"].as_f64().unwrap() - 600.0).abs() < 1e-6,
        "{job}"
    );
    assert!((job["run_now_emissions_g"].as_f64().unwrap() - 2400.0).abs() < 1e-6);
    assert!((v["total"]["saved_percent"].as_f64().unwrap() - 75.0).abs() < 1e-9);
    // Where the signal came from: the store, measured.
    let src = &v["signals"][0];
    assert_eq!(src["zone"], "DE");
    assert!(
        src["provenance"].as_str().unwrap().contains("measured"),
        "{src}"
    );
}

#[test]
fn the_cleanest_allowed_region_wins_and_the_baseline_is_the_first() {
    let kite = Kite::new();
    import(&kite, "DE", |_| 400.0);
    import(&kite, "FR", |_| 50.0);
    let v = kite.json(&[
        "plan",
        "--duration",
        "2h",
        "--earliest",
        &at(0),
        "--deadline",
        &at(10),
        "--region",
        "DE,FR",
        "--format",
        "json",
    ]);
    assert_eq!(v["jobs"][0]["region"], "FR", "{v:#}");
    assert!((v["total"]["saved_percent"].as_f64().unwrap() - 87.5).abs() < 1e-9);
}

#[test]
fn an_interruptible_job_takes_the_cleanest_pieces_and_loses_no_work() {
    let kite = Kite::new();
    // Two separate 1-hour dips: an interruptible 2 h job uses both.
    import(
        &kite,
        "DE",
        |h| if h == 5 || h == 15 { 10.0 } else { 500.0 },
    );
    let v = kite.json(&[
        "plan",
        "--duration",
        "2h",
        "--earliest",
        &at(0),
        "--deadline",
        &at(30),
        "--region",
        "DE",
        "--interruptible",
        "--min-chunk",
        "1h",
        "--format",
        "json",
    ]);
    let pieces = v["jobs"][0]["pieces"].as_array().unwrap();
    assert_eq!(pieces.len(), 2, "{v:#}");
    assert_eq!(pieces[0][0], at(5));
    assert_eq!(pieces[1][0], at(15));
    let secs: i64 = pieces
        .iter()
        .map(|p| {
            let a: Timestamp = p[0].as_str().unwrap().parse().unwrap();
            let b: Timestamp = p[1].as_str().unwrap().parse().unwrap();
            b.as_second() - a.as_second()
        })
        .sum();
    assert_eq!(secs, 2 * HOUR);
}

#[test]
fn a_job_file_plans_every_job_it_can_and_reports_the_rest() {
    let kite = Kite::new();
    import(&kite, "DE", dip);
    let file = kite.path("jobs.toml");
    write(
        &file,
        &format!(
            r#"
[[job]]
id = "nightly"
duration = "1h"
power_w = 500
earliest_start = "{}"
deadline = "{}"
regions = ["DE"]

[[job]]
id = "late"
duration = "5h"
power_w = 500
earliest_start = "{}"
deadline = "{}"
regions = "DE"
"#,
            at(0),
            at(30),
            at(10),
            at(12)
        ),
    );
    let out = kite.run(&["plan", "--job", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "partial plans exit 2");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["jobs"][0]["id"], "nightly");
    assert_eq!(v["jobs"][0]["start"], at(20));
    assert_eq!(v["unplaced"][0]["id"], "late");
    let reason = v["unplaced"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("cannot be met"), "{reason}");
}

#[test]
fn nothing_plannable_fails_with_the_reason() {
    let kite = Kite::new();
    import(&kite, "DE", dip);
    let out = kite.run(&[
        "plan",
        "--duration",
        "5h",
        "--earliest",
        &at(0),
        "--deadline",
        &at(2),
        "--region",
        "DE",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cannot be met"), "{stdout}");
    assert!(support::stderr(&out).contains("no job could be planned"));
}

#[test]
fn bad_input_names_the_field_and_the_fix() {
    let kite = Kite::new();
    let e = kite.fails(&[
        "plan",
        "--duration",
        "0h",
        "--deadline",
        "now+1d",
        "--region",
        "DE",
    ]);
    assert!(e.contains("`duration` is 0h"), "{e}");
    let e = kite.fails(&[
        "plan",
        "--duration",
        "1h",
        "--deadline",
        "now+1d",
        "--region",
        "Atlantis",
    ]);
    assert!(e.contains("`regions`") && e.contains("Atlantis"), "{e}");
    let e = kite.fails(&["plan", "--duration", "1h", "--deadline", "now+1d"]);
    assert!(e.contains("no region"), "{e}");
    let e = kite.fails(&["plan", "--duration", "1h", "--region", "DE"]);
    assert!(e.contains("--deadline is missing"), "{e}");
    let file = kite.path("jobs.yaml");
    write(&file, "jobs: []");
    let e = kite.fails(&["plan", "--job", file.to_str().unwrap()]);
    assert!(e.contains("name it .toml, .json or .csv"), "{e}");
    let file = kite.path("jobs.toml");
    write(
        &file,
        "[[job]]\nid = \"a\"\nduration = \"1h\"\ncolour = \"red\"\n",
    );
    let e = kite.fails(&["plan", "--job", file.to_str().unwrap()]);
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn without_local_data_the_plan_says_it_used_the_typical_week() {
    let kite = Kite::new();
    let v = kite.json(&[
        "plan",
        "--duration",
        "2h",
        "--deadline",
        "now+24h",
        "--region",
        "DE",
        "--format",
        "json",
    ]);
    let provenance = v["signals"][0]["provenance"].as_str().unwrap();
    assert!(provenance.contains("typical-week profile"), "{provenance}");
    let notes = v["notes"].to_string();
    assert!(notes.contains("embedded"), "{notes}");
}

#[test]
fn capacity_makes_jobs_compete_and_the_planner_proves_its_plan_optimal() {
    let kite = Kite::new();
    import(&kite, "DE", dip);
    let file = kite.path("jobs.csv");
    write(
        &file,
        &format!(
            "id,duration,power_w,earliest_start,deadline,regions\n\
             a,3h,1000,{0},{1},DE\n\
             b,3h,1000,{0},{1},DE\n",
            at(0),
            at(40)
        ),
    );
    let v = kite.json(&[
        "plan",
        "--job",
        file.to_str().unwrap(),
        "--capacity",
        "DE=1",
        "--format",
        "json",
    ]);
    let jobs = v["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{v:#}");
    let window = |j: &serde_json::Value| {
        let a: Timestamp = j["start"].as_str().unwrap().parse().unwrap();
        let b: Timestamp = j["end"].as_str().unwrap().parse().unwrap();
        (a, b)
    };
    let (a, b) = (window(&jobs[0]), window(&jobs[1]));
    assert!(
        a.1 <= b.0 || b.1 <= a.0,
        "capacity 1: no overlap, {a:?} {b:?}"
    );
    // One job gets the dip (3 kWh × 100 g), the other pays 400 g/kWh: 300 + 1200 g.
    assert!(
        (v["total"]["emissions_g"].as_f64().unwrap() - 1500.0).abs() < 1e-6,
        "{v:#}"
    );
    let planner = &v["planner"];
    assert!(
        planner["method"].as_str().unwrap().contains("optimal"),
        "{planner}"
    );
    assert!(planner["gap_percent"].as_f64().unwrap().abs() < 1e-9);
    // Without the capacity limit both take the dip.
    let free = kite.json(&["plan", "--job", file.to_str().unwrap(), "--format", "json"]);
    assert!((free["total"]["emissions_g"].as_f64().unwrap() - 600.0).abs() < 1e-6);
}

#[test]
fn a_large_plan_reports_its_bound_unless_bound_time_is_zero() {
    let kite = Kite::new();
    import(&kite, "DE", dip);
    // 40 jobs × 38 starts: too many binaries for the exact MILP, so the greedy plans and only
    // the bound says how far from optimal it is.
    let mut csv = String::from("id,duration,power_w,earliest_start,deadline,regions\n");
    for i in 0..40 {
        csv += &format!("j{i},3h,1000,{},{},DE\n", at(0), at(40));
    }
    let file = kite.path("jobs.csv");
    write(&file, &csv);
    let args = |bound_time: &'static str| {
        vec![
            "plan",
            "--job",
            file.to_str().unwrap(),
            "--capacity",
            "DE=5",
            "--bound-time",
            bound_time,
        ]
    };
    let plan = |bound_time| {
        let mut a = args(bound_time);
        a.extend(["--format", "json"]);
        kite.json(&a)["planner"].clone()
    };
    let with = plan("60s");
    assert_eq!(with["method"], "greedy", "{with}");
    let bound = with["lower_bound"].as_f64().unwrap();
    let objective = with["objective"].as_f64().unwrap();
    assert!(bound > 0.0 && bound <= objective + 1e-6, "{with}");
    let without = plan("0s");
    assert!(without["lower_bound"].is_null(), "{without}");
    assert!(without["gap_percent"].is_null(), "{without}");
    // The same plan either way: the bound only measures it.
    assert_eq!(without["objective"], with["objective"]);
    let table = kite.ok(&args("0s"));
    assert!(
        table.contains("no lower bound (--bound-time 0s)"),
        "{table}"
    );
}

#[test]
fn the_pareto_front_trades_carbon_against_delay_without_dominated_plans() {
    let kite = Kite::new();
    // Cleaner the longer one waits: every plan on the front gives up carbon for delay.
    import(&kite, "DE", |h| 500.0 - 10.0 * h as f64);
    let v = kite.json(&[
        "plan",
        "--duration",
        "2h",
        "--earliest",
        &at(0),
        "--deadline",
        &at(30),
        "--region",
        "DE",
        "--price",
        "DE=0.3",
        "--pareto",
        "--format",
        "json",
    ]);
    let front = v.as_array().unwrap();
    assert!(front.len() >= 2, "{v:#}");
    let key = |p: &serde_json::Value| {
        (
            p["carbon_g"].as_f64().unwrap(),
            p["cost"].as_f64().unwrap(),
            p["mean_delay_hours"].as_f64().unwrap(),
        )
    };
    for (i, p) in front.iter().enumerate() {
        for (j, q) in front.iter().enumerate() {
            let (a, b) = (key(p), key(q));
            let dominates = b.0 <= a.0 && b.1 <= a.1 && b.2 <= a.2 && b != a;
            assert!(i == j || !dominates, "{b:?} dominates {a:?}");
        }
    }
    // Sorted by carbon; the cleanest plan waits longest.
    let first = key(&front[0]);
    let last = key(&front[front.len() - 1]);
    assert!(first.0 < last.0 && first.2 > last.2, "{first:?} {last:?}");
}

#[test]
fn planner_flags_need_the_planner() {
    let kite = Kite::new();
    let fails = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            "--duration",
            "1h",
            "--deadline",
            "now+1d",
            "--region",
            "DE",
        ];
        args.extend_from_slice(extra);
        kite.fails(&args)
    };
    let e = fails(&["--capacity", "DE=x"]);
    assert!(e.contains("`x` is not a whole number"), "{e}");
    let e = fails(&["--capacity", "2", "--policy", "best-window"]);
    assert!(e.contains("need --policy spatio-temporal"), "{e}");
    for (value, says) in [("soon", "`soon` is not a duration"), ("-5s", "is negative")] {
        let e = fails(&["--capacity", "2", &format!("--bound-time={value}")]);
        assert!(e.contains("--bound-time") && e.contains(says), "{e}");
    }
}
