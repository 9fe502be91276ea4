//! Fake procfs and powercap trees in temporary directories, written in the kernel's formats
//! (`proc(5)`, `Documentation/power/powercap/powercap.rst`), and activities for the meters.

use kite_meter::{Activity, ProcUnits};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Units of the fake trees: 100 ticks per second, 4 KiB pages.
pub const UNITS: ProcUnits = ProcUnits {
    clock_ticks_per_second: 100,
    page_size_bytes: 4096,
};

/// One process in a fake procfs.
#[derive(Debug, Clone)]
pub struct FakeProcess {
    pub pid: u32,
    pub comm: String,
    pub ppid: u32,
    /// Ticks.
    pub utime: u64,
    pub stime: u64,
    pub cutime: u64,
    pub cstime: u64,
    /// Ticks after boot.
    pub start: u64,
    /// Pages.
    pub rss: u64,
    /// Thread ids besides the main thread (`pid`).
    pub threads: Vec<u32>,
    /// The thread of the parent that forked this process (children files are per thread);
    /// `None` = the parent's main thread.
    pub forked_by_thread: Option<u32>,
}

impl FakeProcess {
    pub fn new(pid: u32, ppid: u32, comm: &str) -> Self {
        FakeProcess {
            pid,
            comm: comm.to_string(),
            ppid,
            utime: 0,
            stime: 0,
            cutime: 0,
            cstime: 0,
            start: 1000 + u64::from(pid),
            rss: 0,
            threads: Vec::new(),
            forked_by_thread: None,
        }
    }

    /// The `stat` line exactly as Linux prints it (52 fields).
    pub fn stat_line(&self) -> String {
        format!(
            "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194304 90 181 1 0 {utime} {stime} {cutime} \
             {cstime} 20 0 {threads} 0 {start} 2654208 {rss} 18446744073709551615 94363433205760 \
             94363433282489 140735417270816 0 0 0 0 0 65538 1 0 0 17 0 0 0 0 0 0 94363433311792 \
             94363433316928 94364071170048 140735417272821 140735417272886 140735417272886 \
             140735417274348 0\n",
            pid = self.pid,
            comm = self.comm,
            ppid = self.ppid,
            utime = self.utime,
            stime = self.stime,
            cutime = self.cutime,
            cstime = self.cstime,
            threads = 1 + self.threads.len(),
            start = self.start,
            rss = self.rss,
        )
    }
}

/// A fake `/proc`: machine counters plus processes; [`FakeProc::sync`] rewrites the files.
pub struct FakeProc {
    pub dir: TempDir,
    pub children_files: bool,
    pub processes: BTreeMap<u32, FakeProcess>,
    /// `cpu` line: user nice system idle iowait irq softirq steal guest guest_nice.
    pub cpu: [u64; 10],
    pub cpus: usize,
    pub mem_total_kb: u64,
    pub mem_available_kb: u64,
    pub cpuinfo_model: Option<String>,
}

impl FakeProc {
    /// An idle 4-CPU machine with 16 GiB, 4 GiB of it in use, and an init process.
    pub fn new(children_files: bool) -> Self {
        let mut fake = FakeProc {
            dir: TempDir::new().unwrap(),
            children_files,
            processes: BTreeMap::new(),
            cpu: [0; 10],
            cpus: 4,
            mem_total_kb: 16 * 1024 * 1024,
            mem_available_kb: 12 * 1024 * 1024,
            cpuinfo_model: Some("AMD EPYC".to_string()),
        };
        fake.add(FakeProcess::new(1, 0, "init"));
        fake.sync();
        fake
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn add(&mut self, p: FakeProcess) {
        self.processes.insert(p.pid, p);
    }

    pub fn get(&mut self, pid: u32) -> &mut FakeProcess {
        self.processes.get_mut(&pid).unwrap()
    }

    /// Busy ticks (user) and idle ticks to add to the machine.
    pub fn tick(&mut self, busy: u64, idle: u64) {
        self.cpu[0] += busy;
        self.cpu[3] += idle;
    }

    /// Rewrites every file from the model above; processes removed from `processes` vanish.
    pub fn sync(&self) {
        let root = self.dir.path();
        for entry in fs::read_dir(root).unwrap().flatten() {
            if entry.file_name().to_str().unwrap().parse::<u32>().is_ok() {
                fs::remove_dir_all(entry.path()).unwrap();
            }
        }
        let c = self.cpu;
        let mut stat = format!(
            "cpu  {} {} {} {} {} {} {} {} {} {}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
        );
        for i in 0..self.cpus {
            let n = self.cpus as u64;
            stat.push_str(&format!(
                "cpu{i} {} 0 {} {} 0 0 0 0 0 0\n",
                c[0] / n,
                c[2] / n,
                c[3] / n
            ));
        }
        stat.push_str("intr 12345 0 0\nctxt 67890\nbtime 1700000000\nprocesses 4242\n");
        stat.push_str("procs_running 1\nprocs_blocked 0\nsoftirq 1 2 3 4 5 6 7 8 9 10 11\n");
        fs::write(root.join("stat"), stat).unwrap();
        fs::write(
            root.join("meminfo"),
            format!(
                "MemTotal:       {} kB\nMemFree:         1000 kB\nMemAvailable:   {} kB\n\
                 Buffers:          100 kB\nCached:          2000 kB\nSwapCached:        0 kB\n",
                self.mem_total_kb, self.mem_available_kb
            ),
        )
        .unwrap();
        let mut cpuinfo = String::new();
        for i in 0..self.cpus {
            cpuinfo.push_str(&format!(
                "processor\t: {i}\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n"
            ));
            if let Some(model) = &self.cpuinfo_model {
                cpuinfo.push_str(&format!("model name\t: {model}\n"));
            }
            cpuinfo.push_str("physical id\t: 0\nsiblings\t: 4\ncore id\t\t: 0\n\n");
        }
        fs::write(root.join("cpuinfo"), cpuinfo).unwrap();

        for p in self.processes.values() {
            let dir = root.join(p.pid.to_string());
            fs::create_dir_all(dir.join("task")).unwrap();
            fs::write(dir.join("stat"), p.stat_line()).unwrap();
            fs::write(
                dir.join("statm"),
                format!("{} {} 100 5 0 123 0\n", p.rss * 2, p.rss),
            )
            .unwrap();
            let mut tids = vec![p.pid];
            tids.extend(&p.threads);
            for tid in tids {
                let task = dir.join("task").join(tid.to_string());
                fs::create_dir_all(&task).unwrap();
                if self.children_files {
                    let children: Vec<String> = self
                        .processes
                        .values()
                        .filter(|c| c.ppid == p.pid && c.forked_by_thread.unwrap_or(p.pid) == tid)
                        .map(|c| c.pid.to_string())
                        .collect();
                    // The kernel prints each child followed by a space.
                    let text: String = children.iter().map(|c| format!("{c} ")).collect();
                    fs::write(task.join("children"), text).unwrap();
                }
            }
        }
    }
}

/// A fake `/sys/class/powercap`.
pub struct FakePowercap {
    pub dir: TempDir,
}

impl FakePowercap {
    pub fn new() -> Self {
        FakePowercap {
            dir: TempDir::new().unwrap(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes zone `zone` (e.g. `intel-rapl:0`) with its `name`, counter and range.
    pub fn zone(&self, zone: &str, name: &str, energy_uj: u64, max_energy_range_uj: u64) {
        let dir = self.dir.path().join(zone);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("name"), format!("{name}\n")).unwrap();
        fs::write(dir.join("energy_uj"), format!("{energy_uj}\n")).unwrap();
        fs::write(
            dir.join("max_energy_range_uj"),
            format!("{max_energy_range_uj}\n"),
        )
        .unwrap();
        fs::write(dir.join("enabled"), "1\n").unwrap();
    }

    pub fn set_energy(&self, zone: &str, energy_uj: u64) {
        fs::write(
            self.dir.path().join(zone).join("energy_uj"),
            format!("{energy_uj}\n"),
        )
        .unwrap();
    }

    pub fn energy(&self, zone: &str) -> u64 {
        fs::read_to_string(self.dir.path().join(zone).join("energy_uj"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// A typical one-socket server: package-0 with core and dram sub-zones.
    pub fn server() -> Self {
        let fake = FakePowercap::new();
        fake.zone("intel-rapl:0", "package-0", 1_000_000, 262_143_328_850);
        fake.zone("intel-rapl:0:0", "core", 500_000, 262_143_328_850);
        fake.zone("intel-rapl:0:1", "dram", 200_000, 65_712_999_613);
        fake
    }
}

/// An activity over `seconds` on a machine with `cpus` CPUs.
pub fn activity(seconds: f64, cpus: usize, busy: f64, tree: f64) -> Activity {
    Activity {
        seconds,
        tree_cpu_seconds: tree,
        busy_cpu_seconds: busy,
        cpus,
        tree_rss_bytes: 2 << 30,
        used_memory_bytes: 8 << 30,
        total_memory_bytes: 16 << 30,
        pids: vec![100, 101],
    }
}

/// Approximate equality for floating-point results.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "expected {expected}, got {actual}"
    );
}
