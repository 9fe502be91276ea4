//! End-to-end tests: the real `kite` binary, run in a temporary directory with its own
//! database and no configuration, the way a user on a fresh machine runs it.

// Tests fail loudly on any unexpected error; that is what unwrap is for here.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::PathBuf;

mod support;

use support::{Kite, write};

#[test]
fn past_value_comes_from_embedded_history_and_says_so() {
    let kite = Kite::new();
    let v = kite.json(&[
        "intensity",
        "US-CAL-CISO",
        "--at",
        "2021-07-15T12:30:00Z",
        "--format",
        "json",
    ]);
    let p = &v["points"][0];
    assert_eq!(v["zone"], "US-CAL-CISO");
    assert_eq!(p["provenance"], "measured");
    assert_eq!(p["signal"], "average-lifecycle");
    assert!(p["source"].as_str().unwrap().ends_with("(embedded)"), "{p}");
    assert_eq!(
        p["start"], "2021-07-15T12:00:00Z",
        "points mark interval starts"
    );
    let g = p["gco2_per_kwh"].as_f64().unwrap();
    assert!((10.0..1000.0).contains(&g), "{g}");
    assert!(p["age_seconds"].as_i64().unwrap() > 3 * 365 * 86_400);
}

#[test]
fn balancing_authority_and_cloud_names_resolve_to_the_same_zone() {
    let kite = Kite::new();
    let at = ["--at", "2021-07-15T12:30:00Z", "--format", "json"];
    let by_key = kite.json(&[&["intensity", "US-CAL-CISO"][..], &at[..]].concat());
    let by_ba = kite.json(&[&["intensity", "CISO"][..], &at[..]].concat());
    assert_eq!(by_key["points"], by_ba["points"]);
    let by_cloud = kite.json(&[&["intensity", "aws:eu-central-1"][..], &at[..]].concat());
    assert_eq!(by_cloud["zone"], "DE");
}

#[test]
fn now_without_live_provider_is_a_labelled_typical_week_estimate() {
    let kite = Kite::new();
    let v = kite.json(&["intensity", "DE", "--format", "json"]);
    let p = &v["points"][0];
    assert_eq!(p["provenance"], "estimated");
    let method = p["estimation_method"].as_str().unwrap();
    assert!(method.starts_with("typical-week profile, "), "{method}");
    let notes = v["notes"].to_string();
    assert!(notes.contains("no live provider configured"), "{notes}");
}

#[test]
fn a_window_is_covered_hourly_and_resampled_time_weighted() {
    let kite = Kite::new();
    let hourly = kite.json(&[
        "intensity",
        "DE",
        "--from",
        "2021-03-01T00:00:00Z",
        "--to",
        "2021-03-02T00:00:00Z",
        "--format",
        "json",
    ]);
    let pts = hourly["points"].as_array().unwrap();
    assert_eq!(pts.len(), 24);
    let mean: f64 = pts
        .iter()
        .map(|p| p["gco2_per_kwh"].as_f64().unwrap())
        .sum::<f64>()
        / 24.0;
    let daily = kite.json(&[
        "intensity",
        "DE",
        "--from",
        "2021-03-01T00:00:00Z",
        "--to",
        "2021-03-02T00:00:00Z",
        "--resolution",
        "1d",
        "--format",
        "json",
    ]);
    let d = daily["points"].as_array().unwrap();
    assert_eq!(d.len(), 1);
    assert!((d[0]["gco2_per_kwh"].as_f64().unwrap() - mean).abs() < 1e-6);
    assert!(daily["notes"].to_string().contains("time-weighted"));
    // Finer than the data is refused, not invented.
    let err = kite.fails(&[
        "intensity",
        "DE",
        "--from",
        "2021-03-01T00:00:00Z",
        "--to",
        "2021-03-01T02:00:00Z",
        "--resolution",
        "15m",
    ]);
    assert!(err.contains("finer"), "{err}");
}

#[test]
fn unknown_region_suggests_and_missing_region_is_not_guessed() {
    let kite = Kite::new();
    let err = kite.fails(&["intensity", "germny"]);
    assert!(
        err.contains("unknown region") && err.contains("DE"),
        "{err}"
    );
    let err = kite.fails(&["intensity"]);
    assert!(err.contains("no region given"), "{err}");
}

#[test]
fn bad_times_are_refused_with_the_fix() {
    let kite = Kite::new();
    let err = kite.fails(&["intensity", "DE", "--at", "2021-07-01T05:00:00"]);
    assert!(err.contains("offset"), "{err}");
    let err = kite.fails(&["intensity", "DE", "--from", "now", "--to", "now-1h"]);
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn import_is_idempotent_and_queries_see_it() {
    let kite = Kite::new();
    let csv = kite.path("fr.csv");
    write(
        &csv,
        "timestamp,region,gco2_per_kwh\n\
         2026-01-05T00:00:00Z,FR,55.5\n\
         2026-01-05T01:00:00Z,FR,60\n\
         2026-01-05T02:00:00Z,FR,58.25\n",
    );
    let first = kite.json(&[
        "intensity",
        "import",
        csv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(first["inserted"], 3);
    let again = kite.json(&[
        "intensity",
        "import",
        csv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(again["inserted"], 0);
    assert_eq!(again["unchanged"], 3);
    let v = kite.json(&[
        "intensity",
        "FR",
        "--from",
        "2026-01-05T00:00:00Z",
        "--to",
        "2026-01-05T03:00:00Z",
        "--format",
        "json",
    ]);
    let values: Vec<f64> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["gco2_per_kwh"].as_f64().unwrap())
        .collect();
    assert_eq!(values, vec![55.5, 60.0, 58.25]);
    assert_eq!(v["points"][0]["source"], "import:fr");
    assert!(v["points"][0]["fetched_at"].is_string());
}

#[test]
fn a_bad_file_imports_nothing_and_keeps_what_was_there() {
    let kite = Kite::new();
    let good = kite.path("good.csv");
    write(
        &good,
        "timestamp,region,gco2_per_kwh\n2026-01-05T00:00:00Z,FR,55.5\n",
    );
    kite.ok(&["intensity", "import", good.to_str().unwrap()]);
    let bad = kite.path("bad.csv");
    write(
        &bad,
        "timestamp,region,gco2_per_kwh\n2026-01-06T00:00:00Z,FR,50\n2026-01-06T01:00:00Z,FR,-3\n",
    );
    let err = kite.fails(&[
        "intensity",
        "import",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert!(
        err.contains("bad.csv") && err.contains("line 3") && err.contains("-3"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    let v = kite.json(&[
        "intensity",
        "FR",
        "--from",
        "2026-01-05T00:00:00Z",
        "--to",
        "2026-01-07T00:00:00Z",
        "--source",
        "import:",
        "--format",
        "json",
    ]);
    assert_eq!(v["points"].as_array().unwrap().len(), 1, "{v}");
}

#[test]
fn csv_output_reimports() {
    let kite = Kite::new();
    let out = kite.ok(&[
        "intensity",
        "SE",
        "--from",
        "2021-02-01T00:00:00Z",
        "--to",
        "2021-02-01T06:00:00Z",
        "--format",
        "csv",
    ]);
    assert!(out.starts_with("timestamp,region,gco2_per_kwh,"));
    assert_eq!(out.lines().count(), 7);
    let path = kite.path("se.csv");
    write(&path, &out);
    let r = kite.json(&[
        "intensity",
        "import",
        path.to_str().unwrap(),
        "--source",
        "roundtrip",
        "--format",
        "json",
    ]);
    assert_eq!(r["inserted"], 6);
}

#[test]
fn regions_lists_all_three_clouds() {
    let kite = Kite::new();
    for cloud in ["aws", "gcp", "azure"] {
        let v = kite.json(&["regions", "--cloud", cloud, "--format", "json"]);
        let regions: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|z| z["cloud_regions"].as_array().unwrap().clone())
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        assert!(regions.len() >= 15, "{cloud}: {}", regions.len());
        assert!(regions.iter().all(|r| r.starts_with(&format!("{cloud}:"))));
    }
    let table = kite.ok(&["regions"]);
    assert!(table.lines().count() > 200, "every country is listed");
    assert!(table.contains("US-CAL-CISO"));
}

/// A config file pointing Electricity Maps at a fake server on 127.0.0.1.
fn em_config(kite: &Kite, base_url: &str) -> PathBuf {
    let path = kite.path("config.toml");
    write(
        &path,
        &format!(
            "[providers.electricity_maps]\nbase_url = \"{base_url}\"\ntimeout_secs = 2\nmax_retries = 0\n"
        ),
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_live_provider_answers_and_is_cached() {
    use kite_test_support::{FakeServer, Script, electricity_maps};
    let server = FakeServer::start(electricity_maps::router(Script::new())).await;
    let kite = Kite::new();
    let config = em_config(&kite, &server.base_url);
    // The fixture's past-range data is 2026-03-01T00:00Z..05:00Z.
    let args = [
        "intensity",
        "DE",
        "--from",
        "2026-03-01T00:00:00Z",
        "--to",
        "2026-03-01T06:00:00Z",
        "--format",
        "json",
    ];
    let out = tokio::task::spawn_blocking({
        let mut cmd = kite.cmd();
        cmd.arg("--config")
            .arg(&config)
            .env("KITE_ELECTRICITY_MAPS_TOKEN", electricity_maps::TOKEN)
            .args(args);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pts = v["points"].as_array().unwrap();
    assert_eq!(pts.len(), 6, "{v}");
    assert!(pts.iter().all(|p| p["source"] == "electricity_maps"));
    assert!(pts.iter().all(|p| p["fetched_at"].is_string()));
    // Offline, the cached values answer the same question.
    drop(server);
    let cached = kite.json(&[&["--offline"][..], &args[..]].concat());
    assert_eq!(cached["points"].as_array().unwrap().len(), 6);
    assert!(cached["points"][0]["source"] == "electricity_maps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_falls_back_and_says_which_key() {
    use kite_test_support::{FakeServer, Script, electricity_maps};
    let server = FakeServer::start(electricity_maps::router(Script::new())).await;
    let kite = Kite::new();
    let config = em_config(&kite, &server.base_url);
    let out = tokio::task::spawn_blocking({
        let mut cmd = kite.cmd();
        cmd.arg("--config")
            .arg(&config)
            .env("KITE_ELECTRICITY_MAPS_TOKEN", "expired-secret-42")
            .args([
                "intensity",
                "DE",
                "--from",
                "2026-03-01T00:00:00Z",
                "--to",
                "2026-03-01T02:00:00Z",
            ]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("electricity_maps: failed, falling back"),
        "{stderr}"
    );
    assert!(stderr.contains("KITE_ELECTRICITY_MAPS_TOKEN"), "{stderr}");
    assert!(!stderr.contains("expired-secret-42") && !stdout.contains("expired-secret-42"));
    assert!(stdout.contains("typical-week profile"), "{stdout}");
}

#[test]
fn import_errors_name_the_problem() {
    let kite = Kite::new();
    let cases: [(&str, &str, &[&str], &str); 4] = [
        ("empty.csv", "", &[], "empty"),
        (
            "weird.csv",
            "time,value\n2026-01-01T00:00:00Z,5\n",
            &[],
            "Accepted headers",
        ),
        (
            "naive.csv",
            "timestamp,region,gco2_per_kwh\n2026-01-01T00:00:00,FR,5\n",
            &[],
            "--assume-utc",
        ),
        (
            "noregion.csv",
            "timestamp,gco2_per_kwh\n2026-01-01T00:00:00Z,5\n",
            &[],
            "--region",
        ),
    ];
    for (name, text, extra, expect) in cases {
        let path = kite.path(name);
        write(&path, text);
        let err =
            kite.fails(&[&["intensity", "import", path.to_str().unwrap()][..], extra].concat());
        assert!(err.contains(name) && err.contains(expect), "{name}: {err}");
    }
    // The fixes work.
    let naive = kite.path("naive.csv");
    kite.ok(&[
        "intensity",
        "import",
        naive.to_str().unwrap(),
        "--assume-utc",
    ]);
    let noregion = kite.path("noregion.csv");
    kite.ok(&[
        "intensity",
        "import",
        noregion.to_str().unwrap(),
        "--region",
        "aws:eu-west-3",
    ]);
    let v = kite.json(&[
        "intensity",
        "FR",
        "--at",
        "2026-01-01T00:30:00Z",
        "--source",
        "import:noregion",
        "--format",
        "json",
    ]);
    assert_eq!(v["points"][0]["gco2_per_kwh"], 5.0);
}
