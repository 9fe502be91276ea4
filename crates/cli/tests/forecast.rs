//! `kite forecast` and `kite forecast backtest` end to end: the real binary, the embedded
//! CarbonCast history, and measured data imported into a real store.

#![allow(clippy::unwrap_used)]

mod support;

use kite_core::{Clock, SystemClock};
use serde_json::Value;
use support::{Kite, write};

/// A daily cycle around 300 g/kWh, as measured data ending at the last full hour before now.
fn import_recent_daily_cycle(kite: &Kite, zone: &str, days: i64) -> i64 {
    let now = SystemClock.now().as_second();
    let end = now - now.rem_euclid(3600);
    let mut csv = String::from("timestamp,region,gco2_per_kwh\n");
    for h in (0..days * 24).rev() {
        let t = end - (h + 1) * 3600;
        let hour = t.rem_euclid(86_400) / 3600;
        let v = 300.0 + 100.0 * (2.0 * std::f64::consts::PI * hour as f64 / 24.0).sin();
        let ts = kite_core::Timestamp::from_second(t).unwrap();
        csv.push_str(&format!(
            "{},{zone},{v:.2}\n",
            ts.strftime("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    let path = kite.path("recent.csv");
    write(&path, &csv);
    kite.ok(&["intensity", "import", path.to_str().unwrap()]);
    end
}

fn expected(t: i64) -> f64 {
    let hour = t.rem_euclid(86_400) / 3600;
    300.0 + 100.0 * (2.0 * std::f64::consts::PI * hour as f64 / 24.0).sin()
}

#[test]
fn offline_the_forecast_starts_where_the_embedded_history_ends_and_says_so() {
    let kite = Kite::new();
    let out = kite.run(&[
        "forecast",
        "CISO",
        "--signal",
        "average-direct",
        "--hours",
        "24",
        "--model",
        "climatology",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["zone"], "US-CAL-CISO");
    assert_eq!(v["offline_history"], true);
    assert!(
        v["history"].as_str().unwrap().starts_with("embedded:"),
        "{v}"
    );
    let f = &v["forecast"];
    assert_eq!(f["model"], "climatology");
    let point = f["point"].as_array().unwrap();
    let p10 = f["p10"].as_array().unwrap();
    let p90 = f["p90"].as_array().unwrap();
    assert_eq!(point.len(), 24);
    for i in 0..24 {
        let (lo, x, hi) = (
            p10[i].as_f64().unwrap(),
            point[i].as_f64().unwrap(),
            p90[i].as_f64().unwrap(),
        );
        assert!(x > 0.0 && lo <= hi, "hour {i}: {lo} {x} {hi}");
    }
    let err = support::stderr(&out);
    assert!(err.contains("not now"), "{err}");
}

#[test]
fn measured_data_in_the_store_is_forecast_from_its_end() {
    let kite = Kite::new();
    let end = import_recent_daily_cycle(&kite, "FR", 45);
    let v = kite.json(&[
        "forecast",
        "FR",
        "--hours",
        "48",
        "--history",
        "store",
        "--format",
        "json",
    ]);
    assert!(v["history"].as_str().unwrap().starts_with("store:"), "{v}");
    assert_eq!(v["offline_history"], false);
    let f = &v["forecast"];
    let issued = kite_core::Timestamp::from_second(end).unwrap();
    assert_eq!(f["issue_at"].as_str().unwrap(), issued.to_string());
    // The cycle repeats exactly, so every model and the ensemble should follow it closely.
    for (i, x) in f["point"].as_array().unwrap().iter().enumerate() {
        let want = expected(end + i as i64 * 3600);
        let got = x.as_f64().unwrap();
        assert!(
            (got - want).abs() < 0.05 * want,
            "hour {i}: {got} vs {want}"
        );
    }
}

#[test]
fn the_scheduler_consumes_kites_forecast_where_no_provider_covers_the_future() {
    let kite = Kite::new();
    import_recent_daily_cycle(&kite, "FR", 45);
    let v = kite.json(&[
        "intensity",
        "FR",
        "--from",
        "now",
        "--to",
        "now+24h",
        "--format",
        "json",
    ]);
    let sources: Vec<&str> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.iter().any(|s| s.starts_with("kite forecast")),
        "{sources:?}"
    );
    let plan = kite.json(&[
        "plan",
        "--duration",
        "2h",
        "--deadline",
        "now+20h",
        "--region",
        "FR",
        "--format",
        "json",
    ]);
    let signals = plan["signals"].as_array().unwrap();
    assert!(
        signals.iter().any(|s| {
            s["source"].as_str().unwrap().starts_with("kite forecast")
                && s["provenance"].as_str().unwrap().contains("forecast")
        }),
        "{signals:?}"
    );
    // The plan picks the trough of the cycle (hour 18 UTC), which a typical week would not know.
    let start = plan["jobs"][0]["start"].as_str().unwrap();
    let t: kite_core::Timestamp = start.parse().unwrap();
    let hour = t.as_second().rem_euclid(86_400) / 3600;
    assert!((16..=19).contains(&hour), "start {start}");
}

#[test]
fn backtest_reports_each_forecast_day_as_csv_json_and_a_chart() {
    let kite = Kite::new();
    let chart = kite.path("bt.svg");
    let csv = kite.ok(&[
        "forecast",
        "backtest",
        "--region",
        "CISO",
        "--signal",
        "average-direct",
        "--source",
        "carboncast",
        "--from",
        "2021-07-01",
        "--to",
        "2021-07-14",
        "--model",
        "persistence,seasonal-naive",
        "--format",
        "csv",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 8, "{csv}");
    for r in &rows {
        let mape: f64 = r[2].parse().unwrap();
        assert!(mape > 0.5 && mape < 60.0, "{r:?}");
        assert_eq!(r[6], "336", "14 issues × 24 h per day: {r:?}");
    }
    // Persistence degrades with the lead; its day 1 beats its day 4 on this trace.
    let p1: f64 = rows[0][2].parse().unwrap();
    let p4: f64 = rows[3][2].parse().unwrap();
    assert!(p1 < p4, "{csv}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("seasonal-naive day 4"));
    let json = kite.json(&[
        "forecast",
        "backtest",
        "--region",
        "CISO",
        "--signal",
        "average-direct",
        "--source",
        "carboncast",
        "--from",
        "2021-07-01",
        "--to",
        "2021-07-14",
        "--model",
        "persistence",
        "--format",
        "json",
    ]);
    assert_eq!(json["issues"], 14);
    let day1 = &json["models"][0]["days"][0];
    assert_eq!(day1["day"], 1);
    assert!((day1["mape"].as_f64().unwrap() - rows[0][2].parse::<f64>().unwrap()).abs() < 1e-3);
}

#[test]
fn bad_input_names_the_flag_the_value_and_the_fix() {
    let kite = Kite::new();
    let err = kite.fails(&["forecast", "CISO", "--model", "prophet"]);
    assert!(
        err.contains("prophet") && err.contains("persistence"),
        "{err}"
    );
    let err = kite.fails(&["forecast", "CISO", "--hours", "0"]);
    assert!(err.contains("--hours 0") && err.contains("96"), "{err}");
    let err = kite.fails(&["forecast", "CISO", "--hours", "200"]);
    assert!(err.contains("--hours 200"), "{err}");
    let err = kite.fails(&["forecast", "CISO", "--history", "cloud"]);
    assert!(err.contains("--history `cloud`"), "{err}");
    let err = kite.fails(&["forecast", "XX-NOWHERE"]);
    assert!(err.to_lowercase().contains("xx-nowhere"), "{err}");
    let err = kite.fails(&["forecast", "FR", "--history", "store"]);
    assert!(err.contains("kite intensity import"), "{err}");
    let bt = |extra: &[&str]| {
        let mut a = vec![
            "forecast",
            "backtest",
            "--region",
            "CISO",
            "--from",
            "2021-07-10",
            "--to",
            "2021-07-12",
        ];
        a.extend_from_slice(extra);
        kite.fails(&a)
    };
    let err = bt(&["--issue-at", "00:30"]);
    assert!(err.contains("--issue-at `00:30`"), "{err}");
    let err = bt(&["--horizon", "lots"]);
    assert!(err.contains("--horizon `lots`"), "{err}");
    let err = bt(&["--model", "nope"]);
    assert!(err.contains("nope") && err.contains("climatology"), "{err}");
    let err = kite.fails(&[
        "forecast",
        "backtest",
        "--region",
        "CISO",
        "--from",
        "2021-07-12",
        "--to",
        "2021-07-10",
    ]);
    assert!(err.contains("--to 2021-07-10 is before --from"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_providers_forecast_is_shown_beside_kites_and_labelled() {
    use kite_test_support::{FakeServer, Reply, Script, electricity_maps};
    let kite = Kite::new();
    let end = import_recent_daily_cycle(&kite, "DE", 45);
    // Electricity Maps' documented forecast shape, for the 24 hours from the end of the data.
    let points: Vec<String> = (0..24)
        .map(|i| {
            let t = kite_core::Timestamp::from_second(end + i * 3600).unwrap();
            format!(
                r#"{{"carbonIntensity": {}, "datetime": "{}"}}"#,
                200 + i,
                t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            )
        })
        .collect();
    let updated = kite_core::Timestamp::from_second(end).unwrap();
    let body = format!(
        r#"{{"zone": "DE", "forecast": [{}], "updatedAt": "{}"}}"#,
        points.join(", "),
        updated.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    );
    let script = Script::new();
    script.times("/v3/carbon-intensity/forecast", 5, Reply::Body(body));
    let server = FakeServer::start(electricity_maps::router(script)).await;
    let config = kite.path("config.toml");
    write(
        &config,
        &format!(
            "[providers.electricity_maps]\nbase_url = \"{}\"\ntimeout_secs = 2\nmax_retries = 0\n",
            server.base_url
        ),
    );
    let out = tokio::task::spawn_blocking({
        let mut cmd = kite.cmd();
        cmd.arg("--config")
            .arg(&config)
            .env("KITE_ELECTRICITY_MAPS_TOKEN", electricity_maps::TOKEN)
            .args(["forecast", "DE", "--hours", "24", "--format", "json"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["history"].as_str().unwrap().starts_with("store:"), "{v}");
    let provider = v["provider"].as_array().unwrap();
    // The hours still ahead of now come from the provider's forecast, labelled with its name.
    assert!(!provider.is_empty(), "{v}");
    for p in provider {
        assert_eq!(p["source"], "electricity_maps");
        let t: kite_core::Timestamp = p["start"].as_str().unwrap().parse().unwrap();
        let i = (t.as_second() - end) / 3600;
        assert_eq!(p["gco2_per_kwh"].as_f64().unwrap(), (200 + i) as f64);
    }
    // kite's own forecast is still there, labelled as kite's.
    assert_eq!(v["forecast"]["point"].as_array().unwrap().len(), 24);
    assert!(v["source"].as_str().unwrap().starts_with("kite forecast"));
}

#[test]
fn the_help_names_every_registered_model() {
    let kite = Kite::new();
    let help = kite.ok(&["forecast", "--help"]).replace('\n', " ");
    let backtest = kite
        .ok(&["forecast", "backtest", "--help"])
        .replace('\n', " ");
    for m in kite_forecast::model_names() {
        if m != "ensemble" {
            assert!(help.contains(m), "{m} missing from:\n{help}");
        }
        assert!(backtest.contains(m), "{m} missing from:\n{backtest}");
    }
}
