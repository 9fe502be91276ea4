//! End-to-end tests of `kite run` and `kite runs`: the real binary measuring real child
//! processes, in a temporary directory with its own database, as a user on a fresh machine.

// Tests fail loudly on any unexpected error; that is what unwrap is for here.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod support;

use support::{Kite, stderr};

#[test]
fn exit_codes_pass_through_and_every_run_is_recorded() {
    let kite = Kite::new();
    let out = kite.run(&[
        "run", "--region", "DE", "--quiet", "--", "sh", "-c", "exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = kite.run(&[
        "run",
        "--region",
        "DE",
        "--quiet",
        "--",
        "sh",
        "-c",
        "kill -TERM $$",
    ]);
    assert_eq!(out.status.code(), Some(128 + 15), "{}", stderr(&out));
    let out = kite.run(&["run", "--region", "DE", "--quiet", "--", "true"]);
    assert_eq!(out.status.code(), Some(0));
    let runs = kite.runs();
    let statuses: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["succeeded", "interrupted", "failed"],
        "newest first"
    );
    // Three CodeCarbon rows under one header, byte-exact.
    let csv = std::fs::read_to_string(kite.path("emissions.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), kite_tracker::codecarbon::HEADER);
    assert_eq!(lines.count(), 3);
}

#[test]
fn a_missing_command_exits_127_and_bad_input_stops_before_the_command_runs() {
    let kite = Kite::new();
    let out = kite.run(&["run", "--region", "DE", "--", "no-such-program-kite"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("command not found: `no-such-program-kite`"),
        "{}",
        stderr(&out)
    );

    let marker = kite.path("ran");
    let touch = ["sh", "-c", "touch ran"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run"], "no region"),
        (vec!["run", "--region", "germny"], "did you mean DE"),
        (vec!["run", "--region", "DE", "--interval", "5ms"], "10ms"),
        (vec!["run", "--region", "DE", "--pue", "0.5"], "--pue"),
        (
            vec!["run", "--region", "DE", "--output-dir", "kite.sqlite3/sub"],
            "--output-dir",
        ),
    ];
    std::fs::write(kite.path("kite.sqlite3"), "").unwrap_or(());
    for (args, expect) in cases {
        let mut all = args.clone();
        all.push("--");
        all.extend(touch);
        let out = kite.run(&all);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(expect), "{args:?}: {}", stderr(&out));
        assert!(
            !marker.exists(),
            "{args:?} must fail before running the command"
        );
    }
    let out = kite.run(&["run", "--meter", "bogus", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "clap rejects unknown values");
}

#[test]
fn the_json_record_says_what_was_measured_and_what_was_modelled() {
    let kite = Kite::new();
    let out = kite.run(&[
        "run",
        "--region",
        "aws:eu-central-1",
        "--quiet",
        "--json",
        "--interval",
        "100ms",
        "--project",
        "demo",
        "--",
        "sh",
        "-c",
        "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["status"], "succeeded");
    assert_eq!(r["zone"], "DE");
    assert_eq!(r["project"], "demo");
    assert_eq!(r["cloud"][0], "aws");
    assert_eq!(
        r["pue"]["value"], 1.135,
        "AWS's published PUE for a cloud region"
    );
    let devices = r["devices"].as_array().unwrap();
    let cpu = devices.iter().find(|d| d["component"] == "cpu").unwrap();
    assert_eq!(cpu["method"], "modelled", "no RAPL on this machine");
    assert!(cpu["energy_kwh"].as_f64().unwrap() > 0.0);
    assert!(
        cpu["attributed_energy_kwh"].as_f64().unwrap()
            <= cpu["device_energy_kwh"].as_f64().unwrap()
    );
    let seg = &r["intensity_segments"][0];
    assert!(
        seg["provenance"]
            .as_str()
            .unwrap()
            .starts_with("estimated (typical-week profile")
    );
    let total = r["operational_gco2e"].as_f64().unwrap() + r["embodied_gco2e"].as_f64().unwrap();
    assert!((r["total_gco2e"].as_f64().unwrap() - total).abs() < 1e-12);
    assert!(r["water_litres"].as_f64().unwrap() > 0.0);
    assert!(r["overhead"]["cpu_seconds"].as_f64().unwrap() >= 0.0);
    assert!(r["overhead"]["peak_rss_kib"].as_i64().unwrap() > 0);
    assert!(stderr(&out).contains("modelled"), "the summary says so too");
}

/// Replaces a file atomically, so the meter never reads a half-written counter.
fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn rapl_counters_are_measured_when_present() {
    let kite = Kite::new();
    let zone = kite.path("powercap/intel-rapl:0");
    std::fs::create_dir_all(&zone).unwrap();
    std::fs::write(zone.join("name"), "package-0\n").unwrap();
    std::fs::write(zone.join("max_energy_range_uj"), "262143328850\n").unwrap();
    std::fs::write(zone.join("enabled"), "1\n").unwrap();
    write_atomic(&zone.join("energy_uj"), "1000\n");
    let mut child = kite
        .cmd()
        .env("KITE_POWERCAP_ROOT", kite.path("powercap"))
        .args([
            "run",
            "--region",
            "DE",
            "--meter",
            "rapl",
            "--quiet",
            "--json",
            "--interval",
            "100ms",
            "--",
            "sh",
            "-c",
            "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The package uses 20 J every 100 ms (200 W) while the command runs.
    let mut energy = 1000u64;
    while child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(100));
        energy += 20_000_000;
        write_atomic(&zone.join("energy_uj"), &format!("{energy}\n"));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cpu = &r["devices"][0];
    assert_eq!(cpu["method"], "measured", "{cpu}");
    assert_eq!(cpu["device"], "package-0");
    let device_j = cpu["device_energy_kwh"].as_f64().unwrap() * 3.6e6;
    let written_j = (energy - 1000) as f64 / 1e6;
    assert!(
        device_j > 0.0 && device_j <= written_j + 1e-6,
        "{device_j} J of {written_j} J written"
    );
    assert!(r["measured_fraction"].as_f64().unwrap() > 0.99);
}

#[test]
fn sigterm_to_kite_reaches_the_command_and_the_run_is_recorded() {
    let kite = Kite::new();
    let started = Instant::now();
    let child = kite
        .cmd()
        .args(["run", "--region", "DE", "--quiet", "--", "sleep", "30"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run is stored, then ask kite (not the child) to stop.
    while kite.runs().as_array().unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "sleep 30 was stopped"
    );
    assert_eq!(out.status.code(), Some(128 + 15), "{}", stderr(&out));
    let run = &kite.runs()[0];
    assert_eq!(run["status"], "interrupted");
    assert!(run["reason"].as_str().unwrap().contains("SIGTERM"), "{run}");
}

#[test]
fn kill_9_of_kite_leaves_an_interrupted_run_not_a_lost_one() {
    let kite = Kite::new();
    let started = Instant::now();
    let mut child = kite
        .cmd()
        .args(["run", "--region", "DE", "--quiet", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    while kite.runs().as_array().unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(50));
    }
    let kite_pid = child.id();
    let children = std::fs::read_to_string(format!("/proc/{kite_pid}/task/{kite_pid}/children"))
        .unwrap_or_default();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for pid in children.split_whitespace() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid.parse().unwrap()),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let run = &kite.runs()[0];
    assert_eq!(run["status"], "interrupted", "{run}");
    assert_eq!(run["command"][0], "sleep");
}

#[test]
fn pue_comes_from_the_flag_then_the_config_file_and_says_which() {
    let kite = Kite::new();
    let config = kite.path("config.toml");
    std::fs::write(&config, "pue = 1.4\n").unwrap();
    let pue = |extra: &[&str]| -> Value {
        let mut args = vec![
            "--config",
            config.to_str().unwrap(),
            "run",
            "--region",
            "DE",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--quiet", "--json", "--", "true"]);
        let out = kite.run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["pue"].clone()
    };
    let from_file = pue(&[]);
    assert_eq!(from_file["value"], 1.4);
    assert!(
        from_file["source"]
            .as_str()
            .unwrap()
            .contains("config.toml"),
        "{from_file}"
    );
    let from_flag = pue(&["--pue", "1.25"]);
    assert_eq!(from_flag["value"], 1.25);
    assert_eq!(from_flag["source"], "--pue");
}

#[test]
fn a_command_shorter_than_one_interval_is_still_charged_its_cpu_time() {
    // With a 10 s interval the only samples are at the start and after the command exits. Its
    // CPU time must be read before kite reaps it: reaping moves it into kite's own `cutime`.
    let kite = Kite::new();
    let out = kite.run(&[
        "run",
        "--region",
        "DE",
        "--quiet",
        "--json",
        "--interval",
        "10s",
        "--",
        "sh",
        "-c",
        "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let devices = r["devices"].as_array().unwrap();
    let cpu = devices.iter().find(|d| d["component"] == "cpu").unwrap();
    let device = cpu["device_energy_kwh"].as_f64().unwrap();
    let attributed = cpu["attributed_energy_kwh"].as_f64().unwrap();
    // A busy loop on one of the machine's CPUs: a large share of its busy time, even with other
    // tests running beside it; 0 if the final CPU time were lost.
    assert!(
        attributed > 0.1 * device && attributed <= device,
        "{attributed} kWh of {device} kWh"
    );
}
