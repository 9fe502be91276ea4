//! `kite serve` end to end: the real binary, a real SQLite queue, real HTTP on 127.0.0.1 (port
//! 0; the bound address is read from the file the server writes), real job processes.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Kite;

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(kite: &Kite) -> Server {
    let addr = kite.path("jobs.sqlite3.addr");
    let _ = std::fs::remove_file(&addr);
    let child = kite
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0", "--region", "DE"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while !addr.exists() {
        assert!(
            Instant::now() < until,
            "kite serve did not write {}",
            addr.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child }
}

fn submit(kite: &Kite, flags: &[&str], cmd: &[&str]) -> Value {
    let mut args = vec!["submit", "--format", "json"];
    args.extend_from_slice(flags);
    args.push("--");
    args.extend_from_slice(cmd);
    kite.json(&args)
}

fn job(kite: &Kite, id: &str) -> Value {
    kite.json(&["job", id, "--format", "json"])
}

/// Waits up to `secs` for `id` to reach `want`, counted from the job's planned start where that
/// is later: near the top of an hour the planner may take the next, cleaner hour even within a
/// deadline a minute or two away.
fn wait_state(kite: &Kite, id: &str, want: &str, secs: u64) -> Value {
    let mut until = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = job(kite, id);
        if v["job"]["state"] == want {
            return v;
        }
        if v["job"]["plan"]["start"].is_string() {
            let now = kite_core::Clock::now(&kite_core::SystemClock).as_second();
            if let Ok(ahead) = u64::try_from(ts(&v["job"]["plan"]["start"]) - now) {
                until = until.max(Instant::now() + Duration::from_secs(ahead + secs));
            }
        }
        assert!(
            Instant::now() < until,
            "job {id} not {want} after {secs} s: {v:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn ts(v: &Value) -> i64 {
    v.as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second()
}

#[test]
fn a_job_waits_for_its_planned_start_then_runs_measured() {
    let kite = Kite::new();
    let _server = serve(&kite);
    let submitted = kite_core::Clock::now(&kite_core::SystemClock).as_second();
    let j = submit(
        &kite,
        &[
            "--deadline",
            "now+2m",
            "--duration",
            "2s",
            "--earliest",
            "now+3s",
            "--project",
            "p1",
        ],
        &["sh", "-c", "echo from-the-job; sleep 1"],
    );
    assert_eq!(j["state"], "planned", "{j:#}");
    let id = j["id"].as_str().unwrap().to_owned();
    let start = ts(&j["plan"]["start"]);
    assert!(
        start >= submitted + 2,
        "planned start {start} is before --earliest"
    );
    assert!(j["plan"]["why"].as_str().unwrap().contains("DE"));
    // Held, not started, before its time.
    assert_eq!(job(&kite, &id)["job"]["state"], "planned");
    let v = wait_state(&kite, &id, "succeeded", 30);
    assert!(
        ts(&v["job"]["started_at"]) >= start,
        "started before the plan: {v:#}"
    );
    assert_eq!(v["job"]["attempt"], 1);
    assert_eq!(v["job"]["exit_code"], 0);
    // The run was measured by kite run: its record is there, with the project.
    assert_eq!(v["run"]["project"], "p1", "{:#}", v["run"]);
    let log = kite.ok(&["job", &id, "--log"]);
    assert!(log.contains("from-the-job"), "{log}");
    let events: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"pending"));
    assert!(
        events.contains(&"planned") && events.last() == Some(&"succeeded"),
        "{events:?}"
    );
}

#[test]
fn bad_submissions_tokens_and_cancels_are_answered_precisely() {
    let kite = Kite::new();
    let _server = serve(&kite);
    // An infeasible deadline is refused with the earliest one that can be met.
    let out = kite.run(&[
        "submit",
        "--deadline",
        "now+5s",
        "--duration",
        "1h",
        "--",
        "true",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("field `deadline`") && err.contains("at or after"),
        "{err}"
    );
    // Malformed fields are named.
    for (flags, field) in [
        (
            vec!["--deadline", "now+1h", "--duration", "soon"],
            "duration",
        ),
        (
            vec!["--deadline", "tomorrowish", "--duration", "1m"],
            "deadline",
        ),
        (
            vec![
                "--deadline",
                "now+1h",
                "--duration",
                "1m",
                "--region",
                "ATLANTIS",
            ],
            "regions",
        ),
        (
            vec!["--deadline", "now+1h", "--duration", "1m", "--gpus", "0"],
            "gpus",
        ),
    ] {
        let mut args = vec!["submit"];
        args.extend(flags);
        args.extend(["--", "true"]);
        let out = kite.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(&format!("field `{field}`")),
            "{args:?}: {err}"
        );
    }
    // A wrong token is refused for reads and writes.
    let out = kite.run(&["jobs", "--token", "wrong"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("bearer token is wrong"));
    let out = kite.run(&[
        "submit",
        "--token",
        "wrong",
        "--deadline",
        "now+1h",
        "--duration",
        "1m",
        "--",
        "true",
    ]);
    assert!(!out.status.success());
    // The token file is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(kite.path("jobs.sqlite3.token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Cancel a held job: it never runs.
    let j = submit(
        &kite,
        &[
            "--deadline",
            "now+3h",
            "--duration",
            "1m",
            "--earliest",
            "now+1h",
        ],
        &["touch", "ran"],
    );
    let id = j["id"].as_str().unwrap();
    assert!(kite.ok(&["cancel", id]).contains("cancelled"));
    assert_eq!(job(&kite, id)["job"]["state"], "cancelled");
    let out = kite.run(&["cancel", id]);
    assert!(!out.status.success(), "cancelling twice must fail");
    assert!(!kite.path("ran").exists());
}

#[test]
fn kill_9_of_the_server_loses_nothing_and_starts_nothing_twice() {
    let kite = Kite::new();
    let mut server = serve(&kite);
    let marker = kite.path("starts");
    let script = format!("echo x >> {}; sleep 4", marker.display());
    let running = submit(
        &kite,
        &["--deadline", "now+2m", "--duration", "5s"],
        &["sh", "-c", &script],
    );
    let queued = submit(
        &kite,
        &[
            "--deadline",
            "now+3h",
            "--duration",
            "1m",
            "--earliest",
            "now+1h",
        ],
        &["true"],
    );
    let (r, q) = (
        running["id"].as_str().unwrap().to_owned(),
        queued["id"].as_str().unwrap().to_owned(),
    );
    wait_state(&kite, &r, "running", 20);
    // kill -9 while one job runs and another waits.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);
    std::thread::sleep(Duration::from_millis(500));
    let _server = serve(&kite);
    assert_eq!(
        job(&kite, &q)["job"]["state"],
        "planned",
        "the queued job survives"
    );
    let v = wait_state(&kite, &r, "succeeded", 30);
    assert_eq!(v["job"]["attempt"], 1);
    let reasons: Vec<String> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("re-attached")),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.iter().filter(|r| r.starts_with("starting")).count(),
        1,
        "{reasons:?}"
    );
    let starts = std::fs::read_to_string(&marker).unwrap();
    assert_eq!(starts.lines().count(), 1, "the job ran more than once");
    // A job killed while the server was down is recorded as lost, not restarted.
    let gone = submit(
        &kite,
        &["--deadline", "now+2m", "--duration", "30s"],
        &["sleep", "30"],
    );
    let g = gone["id"].as_str().unwrap().to_owned();
    let v = wait_state(&kite, &g, "running", 20);
    let pid = v["job"]["handle"]["data"]["pid"].as_i64().unwrap();
    drop(_server);
    let killed = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    let _server = serve(&kite);
    let v = wait_state(&kite, &g, "lost", 10);
    assert!(
        v["job"]["reason"]
            .as_str()
            .unwrap()
            .contains("without writing an exit status"),
        "{v:#}"
    );
}

#[test]
fn the_config_files_serve_section_sets_listen_regions_and_executors_and_bad_ones_are_named() {
    let kite = Kite::new();
    // A misspelt executor kind stops kite serve before it listens, naming the key and the fix.
    std::fs::write(
        kite.path("bad.toml"),
        "[serve]\nlisten = \"127.0.0.1:0\"\n[[serve.executor]]\nkind = \"nomad\"\n",
    )
    .unwrap();
    let err = kite.fails(&["--config", "bad.toml", "serve"]);
    assert!(
        err.contains("executor[0].kind") && err.contains("nomad") && err.contains("local"),
        "{err}"
    );
    std::fs::write(
        kite.path("zones.toml"),
        "[serve]\nlisten = \"127.0.0.1:0\"\n[[serve.executor]]\nkind = \"local\"\nzones = [\"atlantis\"]\n",
    )
    .unwrap();
    let err = kite.fails(&["--config", "zones.toml", "serve"]);
    assert!(err.contains("zones") && err.contains("atlantis"), "{err}");

    // A good section: no flags at all; the server listens where the file says and runs a job
    // of the file's default region on the local executor.
    std::fs::write(
        kite.path("serve.toml"),
        "[serve]\nlisten = \"127.0.0.1:0\"\nregions = [\"DE\"]\nreplan_every = \"1m\"\n\
         [[serve.executor]]\nkind = \"local\"\nzones = [\"DE\"]\n",
    )
    .unwrap();
    let addr = kite.path("jobs.sqlite3.addr");
    let child = kite
        .cmd()
        .args(["--config", "serve.toml", "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server { child };
    let until = Instant::now() + Duration::from_secs(20);
    while !addr.exists() {
        assert!(
            Instant::now() < until,
            "kite serve did not start from the config file"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let j = submit(
        &kite,
        &["--deadline", "now+40s", "--duration", "10s"],
        &["sh", "-c", "echo from-config"],
    );
    let id = j["id"].as_str().unwrap().to_owned();
    assert_eq!(j["plan"]["region"], "DE", "{j:#}");
    let done = wait_state(&kite, &id, "succeeded", 60);
    assert_eq!(done["job"]["handle"]["executor"], "local", "{done:#}");
    let log = kite.ok(&["job", &id, "--log"]);
    assert!(log.contains("from-config"), "{log}");
}

/// Starts `kite serve` on a shared queue URL; its address and token files sit beside its own
/// database (`jobs.pg.addr`, `jobs.pg.token`). `flag` is `--queue`, or `--database` (the same
/// URL given where a user may first look for it).
fn serve_pg(kite: &Kite, url: &str, flag: &str) -> Server {
    let addr = kite.path("jobs.pg.addr");
    let _ = std::fs::remove_file(&addr);
    let child = kite
        .cmd()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--region",
            "DE",
            flag,
            url,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while !addr.exists() {
        assert!(Instant::now() < until, "kite serve on {url} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child }
}

/// The client flags that reach the server started by `serve_pg` for `kite`.
fn via(kite: &Kite) -> [String; 4] {
    let addr = std::fs::read_to_string(kite.path("jobs.pg.addr")).unwrap();
    let token = std::fs::read_to_string(kite.path("jobs.pg.token")).unwrap();
    [
        "--server".into(),
        addr.trim().to_owned(),
        "--token".into(),
        token.trim().to_owned(),
    ]
}

#[test]
fn two_servers_share_one_postgresql_queue_and_the_follower_takes_over() {
    let pg = kite_test_support::postgres::Postgres::start();
    let url = pg.url("postgres");
    let (a, b) = (Kite::new(), Kite::new());
    let mut server_a = serve_pg(&a, &url, "--queue");
    // Let the first server take the lease before the second starts.
    std::thread::sleep(Duration::from_millis(500));
    let _server_b = serve_pg(&b, &url, "--database");

    // A job submitted to the follower is accepted, planned by the leader, and runs once.
    let marker = a.path("ran");
    let mut args: Vec<String> = vec!["submit".into(), "--format".into(), "json".into()];
    args.extend(via(&b));
    args.extend(["--deadline", "now+1m", "--duration", "5s", "--", "sh", "-c"].map(String::from));
    args.push(format!("echo shared >> {}", marker.display()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let j = b.json(&args);
    let id = j["id"].as_str().unwrap().to_owned();
    let state = |k: &Kite, id: &str| -> Value {
        let mut args = vec![
            "job".to_owned(),
            id.to_owned(),
            "--format".into(),
            "json".into(),
        ];
        args.extend(via(k));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        k.json(&args)
    };
    // The job must end by its deadline, a minute out, which the plan may use in full near the
    // top of an hour (a cleaner next hour): wait that long and a margin.
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        // Both servers read the same queue. The job may move on between two reads, so b's read
        // must equal one of the two reads of a around it.
        let before = state(&a, &id);
        let seen_b = state(&b, &id);
        let seen_a = state(&a, &id);
        assert!(
            [&before["job"]["state"], &seen_a["job"]["state"]].contains(&&seen_b["job"]["state"]),
            "a read {} then {}, b read {} in between",
            before["job"]["state"],
            seen_a["job"]["state"],
            seen_b["job"]["state"]
        );
        if seen_a["job"]["state"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < until, "not run by the leader: {seen_a:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The leader (a) ran it on its host, once.
    let ran = std::fs::read_to_string(&marker).unwrap();
    assert_eq!(ran, "shared\n", "ran exactly once");
    assert!(
        a.path(&format!("jobs.jobs/{id}")).exists(),
        "the leader ran it"
    );

    // The leader stops: the follower takes the lease and runs the next job.
    let _ = server_a.child.kill();
    let _ = server_a.child.wait();
    let mut args: Vec<String> = vec!["submit".into(), "--format".into(), "json".into()];
    args.extend(via(&b));
    args.extend(
        [
            "--deadline",
            "now+1m",
            "--duration",
            "5s",
            "--",
            "sh",
            "-c",
            "echo next >> ran",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let id2 = b.json(&args)["id"].as_str().unwrap().to_owned();
    // As above: the deadline a minute out, and a margin (the follower also waits for the lease).
    let until = Instant::now() + Duration::from_secs(90);
    while state(&b, &id2)["job"]["state"] != "succeeded" {
        assert!(Instant::now() < until, "the follower did not take over");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        b.path(&format!("jobs.jobs/{id2}")).exists(),
        "the new leader ran it"
    );
}

/// `kite serve` with extra flags; `env` goes to the server (e.g. KITE_QUEUE).
fn serve_with(kite: &Kite, flags: &[&str], env: &[(&str, &std::path::Path)]) -> Server {
    let addr = env
        .iter()
        .find(|(k, _)| *k == "KITE_QUEUE")
        .map_or_else(|| kite.path("jobs.sqlite3"), |(_, p)| p.to_path_buf())
        .with_extension("sqlite3.addr");
    let _ = std::fs::remove_file(&addr);
    let mut cmd = kite.cmd();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--region", "DE"])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while !addr.exists() {
        assert!(
            Instant::now() < until,
            "kite serve did not write {}",
            addr.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child }
}

#[test]
fn gpus_held_by_a_running_job_are_not_planned_twice() {
    let kite = Kite::new();
    let _server = serve_with(&kite, &["--capacity", "DE=1"], &[]);
    // A tight deadline: A starts at once, on DE's only GPU.
    let a = submit(
        &kite,
        &["--deadline", "now+45s", "--duration", "20s", "--gpus", "1"],
        &["sleep", "20"],
    );
    let a_id = a["id"].as_str().unwrap().to_owned();
    let a = wait_state(&kite, &a_id, "running", 30);
    let a_end = ts(&a["job"]["started_at"]) + 20;
    // B, submitted while A runs, would start now if A's GPU were forgotten.
    let b = submit(
        &kite,
        &["--deadline", "now+2m", "--duration", "10s", "--gpus", "1"],
        &["true"],
    );
    let b_id = b["id"].as_str().unwrap().to_owned();
    match b["state"].as_str() {
        Some("planned") => {
            let b_start = ts(&b["plan"]["start"]);
            assert!(
                b_start >= a_end,
                "B planned at {b_start}, before A (running on DE's only GPU) ends at {a_end}: {b:#}"
            );
        }
        // No room before its deadline once A's GPU is counted: it waits, with the reason.
        Some("pending") => assert!(b["reason"].as_str().is_some(), "{b:#}"),
        _ => panic!("B should wait for A's GPU: {b:#}"),
    }
    std::thread::sleep(Duration::from_secs(2));
    let now = kite_core::Clock::now(&kite_core::SystemClock).as_second();
    let b = job(&kite, &b_id);
    if now < a_end {
        assert_ne!(b["job"]["state"], "running", "B runs beside A: {b:#}");
        assert_ne!(b["job"]["state"], "succeeded", "B ran beside A: {b:#}");
    }
    kite.ok(&["cancel", &a_id]);
}

/// A tmpfs mounted for one test, unmounted when dropped (even when the test fails).
struct SmallDisk(std::path::PathBuf);

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_refuses_the_submission_cleanly_and_keeps_earlier_jobs() {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!(
            "SKIPPED a_full_disk_refuses_the_submission_cleanly_and_keeps_earlier_jobs: mounting a small tmpfs needs root (CI runs as root)"
        );
        return;
    }
    let kite = Kite::new();
    let small = kite.path("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount -t tmpfs failed as root");
    let _disk = SmallDisk(small.clone());
    let queue = small.join("jobs.sqlite3");
    let _server = serve_with(&kite, &[], &[("KITE_QUEUE", &queue)]);
    let q = |args: &[&str]| {
        let mut c = kite.cmd();
        c.env("KITE_QUEUE", &queue).args(args);
        c.output().unwrap()
    };
    let submit_q = || {
        q(&[
            "submit",
            "--format",
            "json",
            "--deadline",
            "now+3h",
            "--duration",
            "1h",
            "--earliest",
            "now+1h",
            "--",
            "true",
        ])
    };
    let mut earlier = Vec::new();
    for _ in 0..2 {
        let out = submit_q();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        earlier.push(v["id"].as_str().unwrap().to_owned());
    }
    // Fill the disk.
    {
        use std::io::Write;
        let mut f = std::fs::File::create(small.join("filler")).unwrap();
        let block = vec![0u8; 16 * 1024];
        while f.write_all(&block).and_then(|()| f.sync_all()).is_ok() {}
    }
    // Submissions now fail, cleanly (the queue's log may have had a little room left).
    let mut refused = None;
    for _ in 0..200 {
        let out = submit_q();
        if out.status.success() {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            earlier.push(v["id"].as_str().unwrap().to_owned());
        } else {
            refused = Some(String::from_utf8_lossy(&out.stderr).into_owned());
            break;
        }
    }
    let refused = refused.expect("no submission failed on a full disk");
    assert!(
        refused.contains("full") && refused.contains("earlier jobs are intact"),
        "{refused}"
    );
    // Space again: every earlier job is there, and the service takes new ones.
    std::fs::remove_file(small.join("filler")).unwrap();
    let out = q(&["jobs", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    for id in &earlier {
        assert!(listed.contains(id.as_str()), "job {id} lost: {listed}");
    }
    let out = submit_q();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn job_files_are_checked_whole_before_any_job_is_sent() {
    let kite = Kite::new();
    let _server = serve(&kite);
    // Malformed: the third line has a misspelt field; nothing may be submitted.
    let bad = kite.path("bad.jsonl");
    std::fs::write(
        &bad,
        concat!(
            r#"{"command": ["true"], "duration": "1m", "deadline": "now+3h", "earliest_start": "now+1h"}"#,
            "\n\n",
            r#"{"command": ["true"], "duration": "1m", "deadline": "now+3h"}"#,
            "\n",
            r#"{"command": ["true"], "duration": "1m", "dedline": "now+3h"}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = kite.run(&["submit", "--file", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("line 4") && err.contains("dedline"),
        "names the line and the field: {err}"
    );
    let listed = kite.json(&["jobs", "--format", "json"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed:#}");
    // Not JSON at all, an empty command: refused with the fix.
    std::fs::write(&bad, "command = 'true'\n").unwrap();
    let out = kite.run(&["submit", "--file", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    std::fs::write(
        &bad,
        r#"[{"command": [], "duration": "1m", "deadline": "now+3h"}]"#,
    )
    .unwrap();
    let err = String::from_utf8_lossy(
        &kite
            .run(&["submit", "--file", bad.to_str().unwrap()])
            .stderr,
    )
    .into_owned();
    assert!(err.contains("job 1: field `command` is empty"), "{err}");
    // A good array: every job is accepted and planned.
    let good = kite.path("good.json");
    std::fs::write(
        &good,
        r#"[{"command": ["true"], "duration": "1m", "deadline": "now+3h", "earliest_start": "now+1h", "team": "a"},
            {"command": ["true"], "duration": "2m", "deadline": "now+4h", "earliest_start": "now+1h", "team": "b"}]"#,
    )
    .unwrap();
    let jobs = kite.json(&[
        "submit",
        "--file",
        good.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["request"]["team"], "a");
    assert_eq!(jobs[1]["request"]["duration_secs"], 120);
    assert!(jobs.iter().all(|j| j["state"] == "planned"), "{jobs:#?}");
}
