//! End-to-end tests of `kite monitor`: the real binary in a temporary directory, real HTTP on
//! 127.0.0.1, real processes to watch, and a fake RAPL powercap tree whose counters the test
//! advances.

// Tests fail loudly on any unexpected error; that is what unwrap is for here.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::Kite;

/// Starts `kite monitor ARGS` in the background; stderr goes to a file for diagnosis.
fn monitor(kite: &Kite, args: &[&str], env: &[(&str, &Path)]) -> Running {
    let stderr_path = kite.path("monitor.stderr");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let mut cmd = kite.cmd();
    cmd.arg("monitor")
        .args(args)
        .stdout(Stdio::null())
        .stderr(stderr);
    for (key, value) in env {
        cmd.env(key, value);
    }
    Running {
        child: cmd.spawn().unwrap(),
        stderr_path,
    }
}

/// A child process killed when the test ends, however it ends.
struct Running {
    child: Child,
    stderr_path: PathBuf,
}

impl Running {
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process to watch; killed and reaped when dropped.
struct Watched(Child);

impl Watched {
    /// A shell spinning on one CPU.
    fn busy() -> Watched {
        Watched(
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .unwrap(),
        )
    }

    /// A process that sleeps until killed.
    fn idle() -> Watched {
        Watched(Command::new("sleep").arg("1000").spawn().unwrap())
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over a plain TCP connection: `(status, body)`, or `None` while nothing listens.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// The value of the first sample of `name` whose labels include every one of `labels`
/// (each written as in the exposition, e.g. `component="cpu"`).
fn value(body: &str, name: &str, labels: &[&str]) -> Option<f64> {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            let metric = line.split(['{', ' ']).next().unwrap_or("");
            metric == name && labels.iter().all(|l| line.contains(l))
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

/// Scrapes `/metrics` until `ready` holds, for at most 30 s; the body that satisfied it.
fn scrape_until(monitor: &Running, port: u16, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Some((200, body)) = get(port, "/metrics") {
            if ready(&body) {
                return body;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "timed out waiting for {what}\nlast /metrics:\n{last}\nstderr:\n{}",
        monitor.stderr()
    );
}

#[test]
fn jsonl_writes_one_object_per_interval_with_a_labelled_estimate() {
    let kite = Kite::new();
    let out = kite.run(&[
        "monitor",
        "--jsonl",
        "--count",
        "3",
        "--interval",
        "100ms",
        "--meter",
        "model",
        "--region",
        "DE",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["time"].as_str().unwrap().ends_with('Z'), "{v}");
        let seconds = v["interval_seconds"].as_f64().unwrap();
        assert!((0.05..2.0).contains(&seconds), "{v}");
        let cpu = v["host"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["component"] == "cpu")
            .unwrap();
        assert_eq!(cpu["method"], "modelled");
        assert!(cpu["watts"].as_f64().unwrap() >= 0.0, "{v}");
        assert!(cpu["joules"].as_f64().unwrap() >= 0.0, "{v}");
        let intensity = &v["intensity"];
        assert_eq!(intensity["zone"], "DE");
        assert_eq!(intensity["provenance"], "estimated");
        assert_eq!(intensity["signal"], "average-lifecycle");
        assert!(
            intensity["provenance_detail"]
                .as_str()
                .unwrap()
                .contains("typical-week"),
            "{v}"
        );
        assert!(intensity["gco2_per_kwh"].as_f64().unwrap() > 0.0, "{v}");
        assert!(v["grams_co2e"].as_f64().unwrap() >= 0.0, "{v}");
        assert_eq!(v["processes"], Value::Array(Vec::new()));
    }
}

#[test]
fn without_a_region_there_is_no_intensity_and_it_says_so_once() {
    let kite = Kite::new();
    let out = kite.run(&[
        "monitor",
        "--jsonl",
        "--count",
        "2",
        "--interval",
        "50ms",
        "--meter",
        "model",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("no region").count(), 1, "{stderr}");
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["intensity"], Value::Null);
        assert_eq!(v["grams_co2e"], Value::Null);
    }
}

#[test]
fn a_closed_stdout_ends_the_monitor_quietly() {
    let kite = Kite::new();
    let mut child = kite
        .cmd()
        .args([
            "monitor",
            "--jsonl",
            "--interval",
            "20ms",
            "--meter",
            "model",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    serde_json::from_str::<Value>(&first).unwrap();
    // The reader is gone now; the next line hits a broken pipe.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("kite monitor did not stop after its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn prometheus_endpoint_exports_host_process_and_grid_metrics() {
    let kite = Kite::new();
    let busy = Watched::busy();
    let mut idle = Watched::idle();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut monitor = monitor(
        &kite,
        &[
            "--listen",
            &listen,
            "--interval",
            "100ms",
            "--meter",
            "model",
            "--region",
            "DE",
            "--pid",
            &busy.pid(),
            "--pid",
            &idle.pid(),
        ],
        &[],
    );
    let busy_cpu = format!("pid=\"{}\"", busy.pid());
    let first = scrape_until(&monitor, port, "a busy process's power", |body| {
        value(
            body,
            "kite_process_power_watts",
            &[&busy_cpu, r#"component="cpu""#],
        )
        .is_some_and(|w| w > 0.0)
    });

    for (name, labels) in [
        (
            "kite_energy_joules_total",
            &[r#"component="cpu""#, "device=", r#"method="modelled""#][..],
        ),
        (
            "kite_energy_joules_total",
            &[r#"component="ram""#, r#"method="modelled""#][..],
        ),
        ("kite_power_watts", &[r#"component="cpu""#, "device="][..]),
        (
            "kite_process_energy_joules_total",
            &[&busy_cpu, r#"comm="sh""#, r#"component="cpu""#][..],
        ),
        (
            "kite_process_power_watts",
            &[&busy_cpu, r#"component="ram""#][..],
        ),
        ("kite_process_up", &[&busy_cpu, r#"comm="sh""#][..]),
        (
            "kite_grid_intensity_gco2_per_kwh",
            &[
                r#"zone="DE""#,
                r#"signal="average-lifecycle""#,
                r#"provenance="estimated""#,
                "source=",
            ][..],
        ),
        ("kite_emissions_grams_total", &[r#"zone="DE""#][..]),
        ("kite_sample_duration_seconds", &[][..]),
        ("kite_build_info", &["version="][..]),
    ] {
        assert!(
            value(&first, name, labels).is_some(),
            "{name} {labels:?} missing from:\n{first}"
        );
    }
    assert!(
        first.contains("# TYPE kite_energy_joules counter"),
        "{first}"
    );
    assert!(first.contains("# TYPE kite_power_watts gauge"), "{first}");
    assert!(first.ends_with("# EOF\n"), "{first}");
    assert_eq!(
        value(&first, "kite_process_up", &[&busy_cpu]),
        Some(1.0),
        "{first}"
    );
    let grid = value(
        &first,
        "kite_grid_intensity_gco2_per_kwh",
        &[r#"zone="DE""#],
    )
    .unwrap();
    assert!(grid > 0.0, "{first}");
    let overhead = value(&first, "kite_sample_duration_seconds", &[]).unwrap();
    assert!((0.0..1.0).contains(&overhead), "{first}");

    // Energy and emissions are counters: they grow between scrapes.
    let cpu = [r#"component="cpu""#];
    let energy = |body: &str| value(body, "kite_energy_joules_total", &cpu).unwrap();
    let emitted = |body: &str| value(body, "kite_emissions_grams_total", &[]).unwrap();
    let second = scrape_until(&monitor, port, "the host energy to grow", |body| {
        energy(body) > energy(&first) && emitted(body) > emitted(&first)
    });
    let busy_energy = |body: &str| {
        value(
            body,
            "kite_process_energy_joules_total",
            &[&busy_cpu, r#"component="cpu""#],
        )
        .unwrap()
    };
    assert!(busy_energy(&second) > 0.0, "{second}");
    assert!(busy_energy(&second) <= energy(&second) + 1e-9, "{second}");

    // A watched process that exits keeps its counters and is marked down.
    let idle_pid = format!("pid=\"{}\"", idle.pid());
    idle.kill();
    let gone = scrape_until(&monitor, port, "the exited process to be down", |body| {
        value(body, "kite_process_up", &[&idle_pid]) == Some(0.0)
    });
    assert!(
        value(
            &gone,
            "kite_process_energy_joules_total",
            &[&idle_pid, r#"component="cpu""#]
        )
        .is_some(),
        "{gone}"
    );
    let (status, health) = get(port, "/healthz").unwrap();
    assert_eq!((status, health.trim()), (200, "ok"));

    // SIGTERM stops it cleanly.
    let rc = Command::new("kill")
        .args(["-TERM", &monitor.pid().to_string()])
        .status()
        .unwrap();
    assert!(rc.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = monitor.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = monitor.stderr();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert_eq!(stderr.matches("have exited").count(), 1, "{stderr}");
}

/// Writes a counter the way the kernel presents it: the whole value at once (write, then rename).
fn write_counter(dir: &Path, zone: &str, energy_uj: u64) {
    let tmp = dir.join(format!("{zone}.tmp"));
    std::fs::write(&tmp, format!("{energy_uj}\n")).unwrap();
    std::fs::rename(&tmp, dir.join(zone).join("energy_uj")).unwrap();
}

fn fake_zone(root: &Path, zone: &str, name: &str, energy_uj: u64) {
    let dir = root.join(zone);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("name"), format!("{name}\n")).unwrap();
    std::fs::write(dir.join("energy_uj"), format!("{energy_uj}\n")).unwrap();
    std::fs::write(dir.join("max_energy_range_uj"), "262143328850\n").unwrap();
    std::fs::write(dir.join("enabled"), "1\n").unwrap();
}

#[test]
fn rapl_counters_are_measured_and_count_exactly_what_they_advanced() {
    let kite = Kite::new();
    let powercap = kite.path("powercap");
    fake_zone(&powercap, "intel-rapl:0", "package-0", 1_000_000);
    fake_zone(&powercap, "intel-rapl:0:0", "core", 500_000);
    fake_zone(&powercap, "intel-rapl:0:1", "dram", 2_000_000);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let monitor = monitor(
        &kite,
        &[
            "--listen",
            &listen,
            "--interval",
            "100ms",
            "--meter",
            "rapl",
        ],
        &[("KITE_POWERCAP_ROOT", &powercap)],
    );
    let package = [
        r#"component="cpu""#,
        r#"device="package-0""#,
        r#"method="measured""#,
    ];
    let dram = [
        r#"component="ram""#,
        r#"device="dram-0""#,
        r#"method="measured""#,
    ];
    let first = scrape_until(&monitor, port, "the first RAPL sample", |body| {
        value(body, "kite_energy_joules_total", &package).is_some()
    });
    // Nothing advanced yet, and nothing is modelled or invented.
    assert_eq!(
        value(&first, "kite_energy_joules_total", &package),
        Some(0.0)
    );
    assert_eq!(value(&first, "kite_energy_joules_total", &dram), Some(0.0));
    assert!(!first.contains("modelled"), "{first}");
    // No region: no grid metrics.
    assert!(
        !first.contains("kite_grid_intensity_gco2_per_kwh{"),
        "{first}"
    );

    write_counter(&powercap, "intel-rapl:0", 1_000_000 + 5_000_000);
    write_counter(&powercap, "intel-rapl:0:1", 2_000_000 + 250_000);
    let advanced = scrape_until(&monitor, port, "the counters to advance", |body| {
        value(body, "kite_energy_joules_total", &package).is_some_and(|j| j > 0.0)
            && value(body, "kite_energy_joules_total", &dram).is_some_and(|j| j > 0.0)
    });
    let package_joules = value(&advanced, "kite_energy_joules_total", &package).unwrap();
    let dram_joules = value(&advanced, "kite_energy_joules_total", &dram).unwrap();
    assert!((package_joules - 5.0).abs() < 1e-9, "{advanced}");
    assert!((dram_joules - 0.25).abs() < 1e-9, "{advanced}");
    // The core sub-zone is part of the package and never reported on its own.
    assert!(!advanced.contains("core"), "{advanced}");
    assert!(
        value(&advanced, "kite_power_watts", &package).is_some(),
        "{advanced}"
    );
}

#[test]
fn a_port_in_use_is_refused_with_the_fix() {
    let kite = Kite::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let stderr = kite.fails(&[
        "monitor", "--listen", &addr, "--meter", "model", "--count", "1",
    ]);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("--listen 127.0.0.1:PORT"), "{stderr}");
}

#[test]
fn bad_flags_are_refused_before_anything_runs() {
    let kite = Kite::new();
    let stderr = kite.fails(&["monitor", "--jsonl", "--interval", "1ms"]);
    assert!(stderr.contains("10ms..60s"), "{stderr}");
    let stderr = kite.fails(&["monitor", "--jsonl", "--count", "0"]);
    assert!(stderr.contains("--count"), "{stderr}");
    let stderr = kite.fails(&["monitor", "--jsonl", "--count", "1", "--region", "Atlantis"]);
    assert!(stderr.contains("Atlantis"), "{stderr}");
    // A pid that cannot exist (above the kernel's 2^22 limit).
    let stderr = kite.fails(&[
        "monitor", "--jsonl", "--count", "1", "--meter", "model", "--pid", "4194305",
    ]);
    assert!(stderr.contains("--pid 4194305"), "{stderr}");
    // A machine without RAPL (an empty powercap tree, whatever this machine has).
    let out = kite
        .cmd()
        .env("KITE_POWERCAP_ROOT", kite.path("no-powercap"))
        .args(["monitor", "--jsonl", "--count", "1", "--meter", "rapl"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--meter rapl"), "{stderr}");
}
