//! The process sampler: tree discovery both ways (children files and the `stat` scan), CPU-time
//! accounting through exits, reparenting and pid reuse, machine counters, errors; and the
//! acceptance test on the real `/proc` with real child processes.

use crate::support::{FakeProc, FakeProcess, UNITS, assert_close};
use kite_meter::{Activity, MeterError, ProcessSampler};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn sampler(fake: &FakeProc, root: u32) -> ProcessSampler {
    ProcessSampler::with_units(fake.root(), root, UNITS).unwrap()
}

/// Root 100 → 101 (a name with spaces and parentheses) → 102, and an unrelated 200.
fn tree(children_files: bool) -> FakeProc {
    let mut fake = FakeProc::new(children_files);
    fake.add(FakeProcess::new(100, 1, "python"));
    fake.add(FakeProcess::new(101, 100, "my (odd) worker) x"));
    fake.add(FakeProcess::new(102, 101, "cc1"));
    fake.add(FakeProcess::new(200, 1, "unrelated"));
    fake.sync();
    fake
}

#[test]
fn tree_cpu_memory_and_machine_counters() {
    for children_files in [true, false] {
        let mut fake = tree(children_files);
        let mut s = sampler(&fake, 100);
        assert_eq!(s.uses_children_files(), children_files);

        fake.get(100).utime += 50;
        fake.get(101).stime += 30;
        fake.get(102).utime += 20;
        fake.get(200).utime += 300; // not ours
        for (pid, pages) in [(100, 1000), (101, 2000), (102, 500), (200, 9999)] {
            fake.get(pid).rss = pages;
        }
        fake.tick(400, 0);
        fake.cpu[4] += 77; // iowait: not busy
        fake.cpu[7] += 13; // steal: not busy
        fake.cpu[8] += 40; // guest: already in user
        fake.mem_available_kb -= 1024 * 1024;
        fake.sync();

        let a = s.sample().unwrap();
        assert_close(a.tree_cpu_seconds, 1.0);
        assert_close(a.busy_cpu_seconds, 4.0);
        assert_eq!(a.cpus, 4);
        assert_eq!(a.pids, vec![100, 101, 102]);
        assert_eq!(a.tree_rss_bytes, 3500 * 4096);
        assert_eq!(a.total_memory_bytes, 16 << 30);
        assert_eq!(a.used_memory_bytes, 5 << 30);
        assert!(a.seconds > 0.0);
        assert_close(a.cpu_share(), 0.25);

        // Deltas, not totals: nothing happened since.
        let b = s.sample().unwrap();
        assert_eq!(b.tree_cpu_seconds, 0.0);
        assert_eq!(b.busy_cpu_seconds, 0.0);
    }
}

#[test]
fn new_descendants_join_and_outsiders_are_read_once() {
    for children_files in [true, false] {
        let mut fake = tree(children_files);
        let mut s = sampler(&fake, 100);
        let mut late = FakeProcess::new(150, 102, "late");
        late.utime = 9;
        late.cutime = 1;
        fake.add(late);
        fake.sync();
        // Scanning reads an outsider's `stat` once: garbage there now would be an error.
        std::fs::write(fake.root().join("200/stat"), "garbage").unwrap();
        let a = s.sample().unwrap();
        assert_eq!(a.pids, vec![100, 101, 102, 150]);
        assert_close(a.tree_cpu_seconds, 0.1);
    }
}

#[test]
fn children_forked_by_other_threads_are_found() {
    let mut fake = FakeProc::new(true);
    let mut root = FakeProcess::new(100, 1, "trainer");
    root.threads = vec![105, 106];
    fake.add(root);
    let mut worker = FakeProcess::new(110, 100, "worker");
    worker.forked_by_thread = Some(106);
    fake.add(worker);
    fake.sync();
    let mut s = sampler(&fake, 100);
    fake.get(110).utime += 40;
    fake.sync();
    let a = s.sample().unwrap();
    assert_eq!(a.pids, vec![100, 110]);
    assert_close(a.tree_cpu_seconds, 0.4);
}

#[test]
fn exited_children_are_accounted_through_the_parents_cutime() {
    for children_files in [true, false] {
        let mut fake = tree(children_files);
        let mut s = sampler(&fake, 100);

        // 101 and 102 run a little more, exit, and are reaped: 102 by 101, 101 by 100.
        // Their last-seen times were 0; final: 101 used 12 ticks, 102 used 8.
        fake.processes.remove(&102);
        fake.processes.remove(&101);
        fake.get(100).cutime += 12 + 8;
        // A compiler run born and gone within the interval, reaped by 100: never seen.
        fake.get(100).cstime += 25;
        fake.get(100).utime += 5;
        fake.sync();
        let a = s.sample().unwrap();
        assert_close(a.tree_cpu_seconds, 0.5);
        assert_eq!(a.pids, vec![100]);

        // Time counted before an exit is not counted again when it reaches cutime.
        let mut fake = tree(children_files);
        let mut s = sampler(&fake, 100);
        fake.get(101).utime += 30;
        fake.sync();
        assert_close(s.sample().unwrap().tree_cpu_seconds, 0.3);
        fake.processes.remove(&102);
        fake.processes.remove(&101);
        fake.get(100).cutime += 30 + 4; // 101's 30 seen ticks plus 4 after the last sample
        fake.sync();
        assert_close(s.sample().unwrap().tree_cpu_seconds, 0.04);
    }
}

#[test]
fn an_exit_nobody_in_the_tree_waits_for_keeps_what_was_seen() {
    let mut fake = tree(false);
    let mut s = sampler(&fake, 100);
    fake.get(102).utime += 10;
    fake.sync();
    assert_close(s.sample().unwrap().tree_cpu_seconds, 0.1);
    // 102 exits; 101 ignores SIGCHLD, so no cutime grows: its last 2 ticks are lost, the 10
    // seen before stay counted, and nothing goes negative.
    fake.processes.remove(&102);
    fake.get(101).utime += 7;
    fake.sync();
    assert_close(s.sample().unwrap().tree_cpu_seconds, 0.07);
}

#[test]
fn orphans_stay_in_the_tree_and_reused_pids_do_not_join_it() {
    for children_files in [true, false] {
        let mut fake = tree(children_files);
        let mut s = sampler(&fake, 100);
        // 101 exits (reaped by 100, nothing new used); 102 is reparented to init.
        fake.processes.remove(&101);
        fake.get(102).ppid = 1;
        fake.get(102).utime += 60;
        fake.sync();
        let a = s.sample().unwrap();
        assert_eq!(a.pids, vec![100, 102]);
        assert_close(a.tree_cpu_seconds, 0.6);

        // 102 exits and its pid is reused by an unrelated process under init.
        fake.processes.remove(&102);
        let mut stranger = FakeProcess::new(102, 1, "stranger");
        stranger.start = 999_999;
        stranger.utime = 500;
        fake.add(stranger);
        fake.sync();
        let b = s.sample().unwrap();
        assert_eq!(b.pids, vec![100]);
        assert_eq!(b.tree_cpu_seconds, 0.0);
    }
}

#[test]
fn a_tree_whose_root_exited_is_empty_not_an_error() {
    let mut fake = tree(true);
    let mut s = sampler(&fake, 100);
    fake.processes.remove(&100);
    fake.processes.remove(&101);
    fake.processes.remove(&102);
    fake.tick(100, 300);
    fake.sync();
    let a = s.sample().unwrap();
    assert!(a.pids.is_empty());
    assert_eq!(a.tree_cpu_seconds, 0.0);
    assert_close(a.busy_cpu_seconds, 1.0);
}

#[test]
fn errors_name_the_file() {
    let fake = tree(false);
    match ProcessSampler::with_units(fake.root(), 4242, UNITS) {
        Err(e @ MeterError::ProcessNotFound { pid: 4242, .. }) => {
            assert!(e.to_string().contains("4242/stat"), "{e}");
        }
        other => panic!("expected ProcessNotFound, got {other:?}"),
    }

    std::fs::write(
        fake.root().join("100/stat"),
        "garbage without parentheses\n",
    )
    .unwrap();
    match ProcessSampler::with_units(fake.root(), 100, UNITS) {
        Err(e @ MeterError::Parse { .. }) => assert!(e.to_string().contains("100/stat"), "{e}"),
        other => panic!("expected a parse error, got {other:?}"),
    }

    let fake = tree(false);
    let mut s = sampler(&fake, 100);
    std::fs::write(fake.root().join("meminfo"), "nothing useful\n").unwrap();
    match s.sample() {
        Err(e @ MeterError::Parse { .. }) => assert!(e.to_string().contains("meminfo"), "{e}"),
        other => panic!("expected a parse error, got {other:?}"),
    }
    std::fs::remove_file(fake.root().join("stat")).unwrap();
    match s.sample() {
        Err(e @ MeterError::Read { .. }) => assert!(e.to_string().contains("stat"), "{e}"),
        other => panic!("expected a read error, got {other:?}"),
    }
}

/// Kills and reaps a child when the test ends, even on failure.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(script: &str) -> Reaped {
    // Quiet: the shell reports the loops `ulimit` kills.
    let child = Command::new("sh")
        .args(["-c", script])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Reaped(child)
}

/// Sums of several samples.
#[derive(Debug, Default)]
struct Totals {
    tree: f64,
    busy: f64,
    most_pids: usize,
}

impl Totals {
    fn add(&mut self, a: &Activity) {
        self.tree += a.tree_cpu_seconds;
        self.busy += a.busy_cpu_seconds;
        self.most_pids = self.most_pids.max(a.pids.len());
    }

    fn share(&self) -> f64 {
        if self.busy > 0.0 {
            self.tree / self.busy
        } else {
            0.0
        }
    }
}

/// The acceptance test: on the real `/proc`, a busy-looping child gets a larger CPU
/// share than a sleeping one. Samples until the busy child has had half a second of CPU, so a
/// loaded machine slows the test down instead of failing it.
#[test]
fn real_proc_busy_child_outranks_sleeping_child() {
    for scan in [false, true] {
        busy_vs_sleeping(scan);
    }
}

fn busy_vs_sleeping(scan: bool) {
    let busy = spawn("while :; do :; done");
    let sleeping = spawn("exec sleep 60");
    let mut busy_sampler = ProcessSampler::new("/proc".into(), busy.0.id()).unwrap();
    let mut sleeping_sampler = ProcessSampler::new("/proc".into(), sleeping.0.id()).unwrap();
    if scan {
        busy_sampler.force_scan();
        sleeping_sampler.force_scan();
    }
    let (mut b, mut s) = (Totals::default(), Totals::default());
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.tree < 0.5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let a = busy_sampler.sample().unwrap();
        assert_eq!(a.pids, vec![busy.0.id()]);
        assert!(a.cpus >= 1 && a.total_memory_bytes > 0 && a.used_memory_bytes > 0);
        assert!(a.tree_rss_bytes > 0, "{a:?}");
        b.add(&a);
        s.add(&sleeping_sampler.sample().unwrap());
    }
    assert!(b.tree >= 0.5, "scan {scan}: busy child {b:?}");
    assert!(s.tree < 0.05, "scan {scan}: sleeping child {s:?}");
    assert!(b.busy >= b.tree * 0.9, "scan {scan}: {b:?}");
    assert!(
        b.share() > s.share(),
        "scan {scan}: busy {b:?} vs sleeping {s:?}"
    );
}

/// Descendants and exits on the real `/proc`, with CPU time the kernel bounds: a grandchild and
/// a child each burn one CPU-second (`ulimit -t 1`) and are killed and reaped between or during
/// samples. The sampler's total must match the kernel's own count for the tree at the end: the
/// root's `utime + stime + cutime + cstime` once it has waited for everything.
#[test]
fn real_proc_counts_grandchildren_and_reaped_children() {
    for scan in [false, true] {
        grandchildren_and_reaped_children(scan);
    }
}

fn grandchildren_and_reaped_children(scan: bool) {
    // The first sleep lets the sampler take its baseline before any loop runs.
    let root = spawn(
        "sleep 0.5; \
         ( sh -c 'ulimit -t 1; while :; do :; done'; true ) & \
         ( ulimit -t 1; while :; do :; done ); \
         wait; exec sleep 60",
    );
    let pid = root.0.id();
    let mut sampler = ProcessSampler::new("/proc".into(), pid).unwrap();
    let before = kernel_tree_ticks(pid);
    if scan {
        sampler.force_scan();
    }
    let mut totals = Totals::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        std::thread::sleep(Duration::from_millis(150));
        totals.add(&sampler.sample().unwrap());
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        if comm.trim() == "sleep" || Instant::now() > deadline {
            break;
        }
    }
    totals.add(&sampler.sample().unwrap());
    let kernel = (kernel_tree_ticks(pid) - before) as f64 / 100.0;
    assert!(kernel > 1.5, "the loops ran: {kernel} s");
    assert!(
        totals.most_pids >= 3,
        "root, subshell, grandchild: {totals:?}"
    );
    // Within two ticks per process of the kernel's figure.
    assert!(
        (totals.tree - kernel).abs() <= 0.08,
        "scan {scan}: sampler {totals:?}, kernel {kernel} s"
    );
}

/// `utime + stime + cutime + cstime` of a process, in ticks (100 per second on Linux).
fn kernel_tree_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<u64> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().unwrap())
        .collect();
    fields.iter().sum()
}
