//! The Slurm executor against a real Slurm 22.05 on localhost: two clusters (`eu`, `us`) with
//! slurmdbd + MariaDB, brought up by `scripts/slurm-localhost.sh` in a temp dir and torn down on
//! drop (also when the test fails). One test function, and a host-wide file lock, because the
//! daemons listen on fixed ports (16900-16905 unless KITE_SLURM_PORT says otherwise).
//!
//! Needs root and the Debian packages `slurm-wlm slurmctld slurmd slurm-client munge
//! mariadb-server slurmdbd` (scripts/test.sh installs them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kite_core::{Clock, SignedDuration, SystemClock, Timestamp};
use kite_service::conformance::{self, Timing};
use kite_service::{ExecError, ExecState, Executor, Handle, Launch, SlurmConfig, SlurmExecutor};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CLUSTERS: &str = "eu us";

/// A running localhost Slurm; `down` on drop.
struct Slurm {
    dir: tempfile::TempDir,
    script: PathBuf,
    _lock: std::fs::File,
}

impl Slurm {
    fn up() -> Self {
        // Serialises runs on this host (the daemons use fixed ports).
        let lock =
            std::fs::File::create(std::env::temp_dir().join("kite-slurm-test.lock")).unwrap();
        lock.lock().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/slurm-localhost.sh");
        let dir = tempfile::tempdir().unwrap();
        let s = Self {
            dir,
            script,
            _lock: lock,
        };
        let out = s.run("up");
        assert!(
            out.status.success(),
            "scripts/slurm-localhost.sh up failed (needs root and the packages slurm-wlm slurmctld slurmd \
             slurm-client munge mariadb-server slurmdbd; scripts/test.sh installs them):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        s
    }

    fn run(&self, what: &str) -> std::process::Output {
        Command::new("bash")
            .arg(&self.script)
            .arg(what)
            .env("KITE_SLURM_DIR", self.dir.path())
            .env("KITE_SLURM_CLUSTERS", CLUSTERS)
            .output()
            .unwrap()
    }

    fn conf(&self, cluster: &str) -> PathBuf {
        self.dir.path().join(cluster).join("slurm.conf")
    }

    fn executor(&self, cluster: &str, zone: &str) -> SlurmExecutor {
        let mut cfg = SlurmConfig::new(&format!("slurm-{cluster}"), cluster);
        cfg.slurm_conf = Some(self.conf(cluster));
        cfg.zones = vec![zone.into()];
        // The test clusters have no GPU GRES; jobs asking for GPUs would be refused.
        cfg.gres = false;
        SlurmExecutor::new(cfg).unwrap()
    }

    /// A Slurm client command as an operator would type it (`TZ=UTC`, this cluster's conf).
    fn cmd(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .env("SLURM_CONF", self.conf("eu"))
            .env("TZ", "UTC")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        let out = self.run("down");
        if !out.status.success() {
            eprintln!(
                "slurm-localhost.sh down: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn utc(t: Timestamp) -> String {
    let t = Timestamp::from_second(t.as_second() + i64::from(t.subsec_nanosecond() > 0)).unwrap();
    t.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

fn launch(id: &str, script: &str, region: &str, start: Timestamp) -> Launch {
    Launch {
        job_id: id.into(),
        attempt: 1,
        command: vec!["sh".into(), "-c".into(), script.into()],
        region: region.into(),
        start,
        deadline: start + SignedDuration::from_hours(1),
        duration_secs: 60,
        gpus: 0,
        team: None,
        project: None,
        plan: None,
    }
}

/// `state|reason|start` of a job in a cluster's queue, found by its name (ids repeat across clusters).
fn queued(s: &Slurm, cluster: &str, name: &str) -> Option<String> {
    let out = s.cmd(
        "squeue",
        &[
            "-M", cluster, "-h", "-t", "all", "-n", name, "-o", "%T|%r|%S",
        ],
    );
    out.lines().next().map(str::to_owned)
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < until, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_exit(ex: &SlurmExecutor, h: &Handle, secs: u64) -> ExecState {
    let mut last = ExecState::Waiting;
    wait_until(&format!("job {} to end", h.id), secs, || {
        last = ex.status(h).unwrap();
        !matches!(last, ExecState::Waiting | ExecState::Running)
    });
    last
}

#[test]
fn slurm_executor_on_two_localhost_clusters() {
    let total = Instant::now();
    let slurm = Slurm::up();
    let up = total.elapsed();
    eprintln!("slurm fixture up (2 clusters + slurmdbd + MariaDB): {up:.2?}");

    // (1) The shared conformance suite. Slurm starts a job by itself at its begin time, so the
    // suite plans its starts a few seconds ahead (a submitted job is still held when a check
    // looks) and allows for the scheduler's 2 s cycle.
    let t = Instant::now();
    let conf = slurm.conf("eu");
    let factory = move || -> Box<dyn Executor> {
        let mut cfg = SlurmConfig::new("slurm-eu", "eu");
        cfg.slurm_conf = Some(conf.clone());
        cfg.gres = false;
        Box::new(SlurmExecutor::new(cfg).unwrap())
    };
    let timing = Timing {
        lead: Duration::from_secs(4),
        slack_secs: 4,
    };
    let failures = conformance::run_all_with(&factory, SystemClock.now(), "c", timing);
    assert!(failures.is_empty(), "{failures:#?}");
    eprintln!("conformance suite: {:.2?}", t.elapsed());

    // (2) Two kite zones on two clusters: Slurm holds each job until its planned begin time in
    // its planned cluster; one moves, one is cancelled, the rest complete.
    let t = Instant::now();
    let eu = slurm.executor("eu", "DE");
    let us = slurm.executor("us", "FR");
    let now = SystemClock.now();
    let at = |s: i64| now + SignedDuration::from_secs(s);
    let a = eu.submit(&launch("a", "true", "DE", at(5))).unwrap();
    let b = us.submit(&launch("b", "echo b", "FR", at(5))).unwrap();
    let c = eu.submit(&launch("c", "true", "DE", at(5))).unwrap();
    let d = us.submit(&launch("d", "true", "FR", at(60))).unwrap();
    for (cluster, other, name, begin) in [
        ("eu", "us", "kite-a", at(5)),
        ("us", "eu", "kite-b", at(5)),
        ("eu", "us", "kite-c", at(5)),
        ("us", "eu", "kite-d", at(60)),
    ] {
        // Right after submission the reason may still be `None` until the first scheduling pass.
        let want = format!("PENDING|BeginTime|{}", utc(begin));
        wait_until(&format!("{name} held in {cluster}"), 3, || {
            queued(&slurm, cluster, name).as_deref() == Some(want.as_str())
        });
        assert_eq!(
            queued(&slurm, other, name),
            None,
            "{name} must not be in {other}"
        );
    }
    for (ex, h) in [(&eu, &a), (&us, &b), (&eu, &c), (&us, &d)] {
        assert_eq!(ex.status(h).unwrap(), ExecState::Waiting);
    }

    // A replan moves c by 4 s: Slurm's StartTime follows.
    let moved = at(9);
    let c = eu.reschedule(&c, moved).unwrap();
    let want = format!("PENDING|BeginTime|{}", utc(moved));
    wait_until("c's StartTime to move", 3, || {
        queued(&slurm, "eu", "kite-c").as_deref() == Some(want.as_str())
    });
    // A handle of the us cluster is refused by the eu executor (job ids repeat across clusters).
    assert!(matches!(eu.cancel(&d), Err(ExecError::BadHandle { .. })));
    us.cancel(&d).unwrap();
    assert_eq!(us.status(&d).unwrap(), ExecState::Cancelled);

    // Slurm starts each job by itself at its begin time; the service's start (at the planned
    // time, a moment later) only marks it.
    let begun = |ex: &SlurmExecutor, h: &Handle| {
        wait_until(&format!("Slurm to start job {}", h.id), 15, || {
            ex.status(h).unwrap() != ExecState::Waiting
        });
        ex.start(h).unwrap();
    };
    begun(&eu, &a);
    begun(&us, &b);
    // c is still held until its new time.
    if SystemClock.now() < moved - SignedDuration::from_secs(1) {
        assert_eq!(eu.status(&c).unwrap(), ExecState::Waiting);
    }
    begun(&eu, &c);
    for (ex, h) in [(&eu, &a), (&us, &b), (&eu, &c)] {
        assert_eq!(wait_exit(ex, h, 10), ExecState::Exited { code: 0 });
    }

    // sacct: COMPLETED in the planned cluster, not before the planned begin; no energy without RAPL.
    for (ex, h, cluster, begin) in [
        (&eu, &a, "eu", at(5)),
        (&us, &b, "us", at(5)),
        (&eu, &c, "eu", moved),
    ] {
        let acct = ex.accounting(h).unwrap().expect("sacct has the job");
        assert_eq!(acct.state, "COMPLETED", "{h:?}");
        assert_eq!(acct.exit_code, "0:0");
        assert!(
            acct.start >= utc(begin),
            "{} started at {} before {}",
            h.id,
            acct.start,
            utc(begin)
        );
        assert_eq!(
            acct.consumed_energy_joules, None,
            "the test clusters have no energy plugin (no RAPL/IPMI here), so sacct leaves ConsumedEnergy empty"
        );
        let by_name = slurm.cmd(
            "sacct",
            &[
                "-M",
                cluster,
                "-X",
                "-P",
                "-n",
                "--name",
                &format!("kite-{}", h.data["job"].as_str().unwrap()),
                "-o",
                "JobID,State",
            ],
        );
        assert_eq!(
            by_name.trim(),
            format!("{}|COMPLETED", h.id),
            "in cluster {cluster}"
        );
    }
    let d_acct = us
        .accounting(&d)
        .unwrap()
        .expect("sacct has the cancelled job");
    assert_eq!(d_acct.state, "CANCELLED");
    eprintln!("two-cluster scenario: {:.2?}", t.elapsed());

    // (3) slurmctld down: the executor says so as a backend error (the service retries).
    let down = slurm.run("down");
    assert!(down.status.success());
    let mut cfg = SlurmConfig::new("slurm-eu", "eu");
    cfg.slurm_conf = Some(slurm.conf("eu"));
    cfg.gres = false;
    cfg.command_timeout_secs = 5;
    let dead = SlurmExecutor::new(cfg).unwrap();
    let t = Instant::now();
    match dead.submit(&launch("z", "true", "DE", SystemClock.now())) {
        Err(ExecError::Backend { message, .. }) => {
            eprintln!("backend down: {message} ({:.2?})", t.elapsed())
        }
        other => panic!("expected a backend error with Slurm down, got {other:?}"),
    }
    eprintln!("total: {:.2?}", total.elapsed());
}
