//! [`ProcessSampler`]: what a process tree and the whole machine did between two calls, read from
//! procfs, as an [`Activity`] the meters attribute energy with.
//!
//! The tree is the root pid and all its descendants. It is found by following
//! `/proc/<pid>/task/<tid>/children` from the root when the kernel provides those files
//! (`CONFIG_PROC_CHILDREN`, on in the usual distribution kernels); otherwise by one scan of
//! `/proc` per sample, linking each process to its parent (`stat` field 4, `ppid`). The scan
//! reads the `stat` of the members and of pids that are new since the previous scan only (see
//! the `outside` field for why that is enough), so its cost follows the tree and the fork rate,
//! not the number of processes. Either way a sample reads each member's `stat` exactly once, and
//! nothing else per process: CPU time and resident size both come from it.
//!
//! Invariants and accounting rules:
//! - **Once in the tree, in the tree until it exits.** A member whose parent exits is reparented
//!   (to init or a subreaper) but is still followed, because the sampler seeds each discovery with
//!   every member it already knows. A process is identified by pid *and* start time (field 22), so
//!   a reused pid is never mistaken for the process that had it.
//! - **CPU time** of a process is `utime + stime` (fields 14–15, clock ticks, the whole thread
//!   group including its exited threads). A process first seen during a sample was born after the
//!   previous one, so all its CPU time counts, plus the time of any children it already reaped.
//! - **Exited processes.** When a member exits, the CPU time it used after its last sample is not
//!   in its own `stat` any more; the kernel adds it (with everything it had reaped) to the parent's
//!   `cutime + cstime` (fields 16–17) when the parent `wait`s for it. So each member's growth in
//!   `cutime + cstime` is counted, minus what the sampler had already counted for the members that
//!   disappeared below it. This also counts processes born and gone within one interval (a build's
//!   compiler runs). Two cases stay lost, by construction of procfs: a process whose exit nobody
//!   in the tree waited for (its parent ignored `SIGCHLD`, or had exited too: then init reaps it)
//!   loses the CPU time after its last sample — its earlier time stays counted; and a process
//!   born and gone within one interval that way is never seen at all. The root itself is
//!   reaped by the caller, outside the tree: `kite run` samples once more while the exited root
//!   is still a zombie (its `stat` still holds its final CPU time), then reaps it. The count never goes
//!   negative and never counts a tick twice (a property test checks both against a model).
//! - **Double forks.** A descendant whose parent exits before any sample saw the descendant
//!   (`(daemon &)` in a shell, within one interval) has already been reparented out of the tree
//!   when it is first seen, and is not followed. A caller that must follow such processes can
//!   make itself a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`) and sample its own pid.
//! - **Machine busy time** is `user + nice + system + irq + softirq` of the `cpu` line of
//!   `/proc/stat`: everything except `idle` and `iowait` (not working), `steal` (the hypervisor ran
//!   someone else) and `guest`/`guest_nice` (already included in `user`/`nice` by the kernel).
//! - **Memory** is `MemTotal − MemAvailable` from `/proc/meminfo` (kernels before 3.14 have no
//!   `MemAvailable`: `MemFree + Buffers + Cached` is used instead). Tree RSS is the sum of `stat`
//!   field 24 (`rss`, pages, the counter `statm`'s second field reports) × page size; pages
//!   shared between members count once per member, so it can exceed the memory in use.
//! - Interval lengths come from a monotonic [`Instant`], never from the wall clock.

use crate::{Activity, MeterError};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where procfs is mounted on a normal Linux system.
pub const DEFAULT_PROC_ROOT: &str = "/proc";

/// The units procfs counts in on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcUnits {
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, `USER_HZ`): the unit of `/proc/stat` and of
    /// CPU times in `/proc/<pid>/stat`. 100 on every mainstream Linux architecture.
    pub clock_ticks_per_second: u64,
    /// Bytes per page: the unit of `rss` in `/proc/<pid>/stat`. 4096 on x86-64.
    pub page_size_bytes: u64,
}

impl ProcUnits {
    /// The values of the running kernel, from the process's auxiliary vector (no I/O).
    pub fn of_this_machine() -> Self {
        ProcUnits {
            clock_ticks_per_second: rustix::param::clock_ticks_per_second(),
            page_size_bytes: rustix::param::page_size() as u64,
        }
    }
}

/// The fields of `/proc/<pid>/stat` the sampler uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    ppid: u32,
    /// `utime + stime`, ticks.
    self_ticks: u64,
    /// `cutime + cstime`, ticks: CPU time of reaped children.
    children_ticks: u64,
    /// Start time after boot, ticks: with the pid, the identity of a process.
    start_ticks: u64,
    rss_pages: u64,
}

/// What the sampler remembers of a member between samples.
#[derive(Debug, Clone, Copy)]
struct Member {
    ppid: u32,
    start_ticks: u64,
    self_ticks: u64,
    children_ticks: u64,
}

impl From<ProcStat> for Member {
    fn from(st: ProcStat) -> Self {
        Member {
            ppid: st.ppid,
            start_ticks: st.start_ticks,
            self_ticks: st.self_ticks,
            children_ticks: st.children_ticks,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Discovery {
    /// `/proc/<pid>/task/<tid>/children` exists.
    ChildrenFiles,
    /// One scan of `/proc/*/stat` per sample.
    Scan,
}

/// Samples the CPU time and memory of a process tree and of the machine from procfs.
#[derive(Debug)]
pub struct ProcessSampler {
    proc_root: PathBuf,
    root_pid: u32,
    root_start_ticks: u64,
    units: ProcUnits,
    discovery: Discovery,
    previous_at: Instant,
    previous_busy_ticks: u64,
    members: HashMap<u32, Member>,
    /// Scan discovery only: pids the last scan listed that are not in the tree. They are not
    /// read again while they stay listed, because a process outside the tree never moves into
    /// it: processes join the tree only by being forked by a member, and an orphan is
    /// reparented to an ancestor that is outside the tree too (else the orphan would have been
    /// a member). A new member therefore has a pid the previous scan did not list, unless its
    /// pid was freed and reused within one interval, which cyclic pid allocation makes take
    /// `pid_max` (32768 to 4194304) forks in that interval.
    outside: HashSet<u32>,
    /// Scan discovery only: the pids the current scan listed.
    listed: Vec<u32>,
    /// Reused for every file read, so a sample allocates little.
    buffer: String,
}

impl ProcessSampler {
    /// Starts following `root_pid` and its descendants, with procfs at `proc_root` (normally
    /// [`DEFAULT_PROC_ROOT`], `/proc`) and the units of the running kernel. The first
    /// [`sample`](Self::sample) covers the time since this call.
    pub fn new(proc_root: PathBuf, root_pid: u32) -> Result<Self, MeterError> {
        Self::with_units(proc_root, root_pid, ProcUnits::of_this_machine())
    }

    /// As [`new`](Self::new), with explicit units (for a procfs copied from another machine, or a
    /// fake one in tests).
    pub fn with_units(
        proc_root: PathBuf,
        root_pid: u32,
        units: ProcUnits,
    ) -> Result<Self, MeterError> {
        let mut buffer = String::new();
        let stat_path = proc_root.join(root_pid.to_string()).join("stat");
        let root = match read_stat(&stat_path, &mut buffer)? {
            Some(st) => st,
            None => {
                return Err(MeterError::ProcessNotFound {
                    pid: root_pid,
                    path: stat_path,
                });
            }
        };
        let children_file = proc_root
            .join(root_pid.to_string())
            .join("task")
            .join(root_pid.to_string())
            .join("children");
        let discovery = if children_file.exists() {
            Discovery::ChildrenFiles
        } else {
            Discovery::Scan
        };
        let mut sampler = ProcessSampler {
            proc_root,
            root_pid,
            root_start_ticks: root.start_ticks,
            units,
            discovery,
            previous_at: Instant::now(),
            previous_busy_ticks: 0,
            members: HashMap::new(),
            outside: HashSet::new(),
            listed: Vec::new(),
            buffer,
        };
        let (busy, _) = sampler.read_cpu_line()?;
        let tree = sampler.collect_tree()?;
        sampler.previous_busy_ticks = busy;
        sampler.members = tree.iter().map(|(pid, st)| (*pid, (*st).into())).collect();
        sampler.previous_at = Instant::now();
        Ok(sampler)
    }

    /// The root of the tree.
    pub fn root_pid(&self) -> u32 {
        self.root_pid
    }

    /// `true` when descendants are found through `task/*/children` files, `false` when by
    /// scanning every process's `stat`.
    pub fn uses_children_files(&self) -> bool {
        self.discovery == Discovery::ChildrenFiles
    }

    /// Finds descendants by scanning every process's `stat` from now on, even where children
    /// files exist (to check one method against the other, or on a kernel whose children files
    /// are unreliable: the kernel documents them as exact only for stopped tasks).
    pub fn force_scan(&mut self) {
        self.discovery = Discovery::Scan;
    }

    /// What happened since the previous call (or since construction). When the whole tree has
    /// exited the result has an empty `pids` and only the machine's numbers.
    pub fn sample(&mut self) -> Result<Activity, MeterError> {
        let now = Instant::now();
        let (busy_ticks, cpus) = self.read_cpu_line()?;
        let (total_memory_bytes, used_memory_bytes) = self.read_meminfo()?;
        let tree = self.collect_tree()?;

        let tree_ticks = tree_cpu_ticks(&self.members, &tree);
        let rss_pages: u64 = tree.values().map(|st| st.rss_pages).sum();
        let mut pids: Vec<u32> = tree.keys().copied().collect();
        pids.sort_unstable();

        let ticks = self.units.clock_ticks_per_second.max(1) as f64;
        let activity = Activity {
            seconds: now.duration_since(self.previous_at).as_secs_f64(),
            tree_cpu_seconds: tree_ticks as f64 / ticks,
            busy_cpu_seconds: busy_ticks.saturating_sub(self.previous_busy_ticks) as f64 / ticks,
            cpus,
            tree_rss_bytes: rss_pages.saturating_mul(self.units.page_size_bytes),
            used_memory_bytes,
            total_memory_bytes,
            pids,
        };

        self.previous_at = now;
        self.previous_busy_ticks = busy_ticks;
        self.members = tree.iter().map(|(pid, st)| (*pid, (*st).into())).collect();
        Ok(activity)
    }

    /// The current members of the tree: the root (if it is still the same process), every known
    /// member still alive, and everything below them.
    fn collect_tree(&mut self) -> Result<HashMap<u32, ProcStat>, MeterError> {
        let mut seeds: Vec<(u32, u64)> = Vec::with_capacity(self.members.len() + 1);
        seeds.push((self.root_pid, self.root_start_ticks));
        seeds.extend(
            self.members
                .iter()
                .filter(|(pid, _)| **pid != self.root_pid)
                .map(|(pid, m)| (*pid, m.start_ticks)),
        );
        let mut tree: HashMap<u32, ProcStat> = HashMap::with_capacity(seeds.len());
        let mut queue: Vec<u32> = Vec::new();
        match self.discovery {
            Discovery::ChildrenFiles => {
                for (pid, start_ticks) in seeds {
                    if let Some(st) = self.read_pid_stat(pid)?
                        && st.start_ticks == start_ticks
                    {
                        tree.insert(pid, st);
                        queue.push(pid);
                    }
                }
                let mut children = Vec::new();
                while let Some(pid) = queue.pop() {
                    children.clear();
                    self.children_of(pid, &mut children);
                    for &child in &children {
                        if tree.contains_key(&child) {
                            continue;
                        }
                        if let Some(st) = self.read_pid_stat(child)? {
                            tree.insert(child, st);
                            queue.push(child);
                        }
                    }
                }
            }
            Discovery::Scan => {
                let all = self.scan_all()?;
                let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
                for (pid, st) in &all {
                    children.entry(st.ppid).or_default().push(*pid);
                }
                for (pid, start_ticks) in seeds {
                    if let Some(st) = all.get(&pid)
                        && st.start_ticks == start_ticks
                    {
                        tree.insert(pid, *st);
                        queue.push(pid);
                    }
                }
                while let Some(pid) = queue.pop() {
                    for child in children.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
                        if let Some(st) = all.get(child)
                            && !tree.contains_key(child)
                        {
                            tree.insert(*child, *st);
                            queue.push(*child);
                        }
                    }
                }
                self.outside = self
                    .listed
                    .iter()
                    .copied()
                    .filter(|pid| !tree.contains_key(pid))
                    .collect();
            }
        }
        Ok(tree)
    }

    /// `stat` of one pid; `None` when the process is gone.
    fn read_pid_stat(&mut self, pid: u32) -> Result<Option<ProcStat>, MeterError> {
        let path = self.proc_root.join(pid.to_string()).join("stat");
        read_stat(&path, &mut self.buffer)
    }

    /// Appends the children of every thread of `pid`; a process that is gone has none.
    fn children_of(&mut self, pid: u32, out: &mut Vec<u32>) {
        let task_dir = self.proc_root.join(pid.to_string()).join("task");
        let Ok(tasks) = fs::read_dir(&task_dir) else {
            return;
        };
        for task in tasks.flatten() {
            let path = task.path().join("children");
            if read_into(&path, &mut self.buffer).is_err() {
                continue;
            }
            out.extend(
                self.buffer
                    .split_ascii_whitespace()
                    .filter_map(|s| s.parse::<u32>().ok()),
            );
        }
    }

    /// For the scan discovery: `stat` of every process that could be in the tree, that is every
    /// member and every pid the previous scan did not list (see the `outside` field).
    fn scan_all(&mut self) -> Result<HashMap<u32, ProcStat>, MeterError> {
        let entries =
            fs::read_dir(&self.proc_root).map_err(|e| MeterError::read(&self.proc_root, e))?;
        let mut all = HashMap::new();
        let mut listed = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            listed.push(pid);
            if self.outside.contains(&pid) && !self.members.contains_key(&pid) {
                continue;
            }
            if let Some(st) = self.read_pid_stat(pid)? {
                all.insert(pid, st);
            }
        }
        self.listed = listed;
        Ok(all)
    }

    /// Busy ticks of the whole machine and the number of CPUs, from `/proc/stat`.
    fn read_cpu_line(&mut self) -> Result<(u64, usize), MeterError> {
        let path = self.proc_root.join("stat");
        read_into(&path, &mut self.buffer).map_err(|e| MeterError::read(&path, e))?;
        parse_proc_stat(&self.buffer).ok_or_else(|| {
            MeterError::parse(
                &path,
                "a `cpu` line with at least 7 tick counters",
                self.buffer.lines().next().unwrap_or(""),
            )
        })
    }

    /// Total and used memory in bytes, from `/proc/meminfo`.
    fn read_meminfo(&mut self) -> Result<(u64, u64), MeterError> {
        let path = self.proc_root.join("meminfo");
        read_into(&path, &mut self.buffer).map_err(|e| MeterError::read(&path, e))?;
        parse_meminfo(&self.buffer).ok_or_else(|| {
            MeterError::parse(
                &path,
                "`MemTotal:` and `MemAvailable:` (or `MemFree:`) lines in kB",
                self.buffer.lines().next().unwrap_or(""),
            )
        })
    }
}

/// CPU ticks the tree used between `previous` and `current` (see the module doc for the rules).
fn tree_cpu_ticks(previous: &HashMap<u32, Member>, current: &HashMap<u32, ProcStat>) -> u64 {
    let same = |pid: &u32| -> Option<(&Member, &ProcStat)> {
        let m = previous.get(pid)?;
        let st = current.get(pid)?;
        (m.start_ticks == st.start_ticks).then_some((m, st))
    };

    // What was counted for members that are gone, charged to their nearest surviving ancestor
    // (the one whose `cutime + cstime` their final times flow into when it reaps them).
    let mut counted_below: HashMap<u32, u64> = HashMap::new();
    for (pid, gone) in previous {
        if same(pid).is_some() {
            continue;
        }
        let mut ancestor = gone.ppid;
        // A parent chain in a snapshot has no cycles, but bound the walk anyway.
        for _ in 0..previous.len() {
            if same(&ancestor).is_some() {
                *counted_below.entry(ancestor).or_default() +=
                    gone.self_ticks.saturating_add(gone.children_ticks);
                break;
            }
            match previous.get(&ancestor) {
                Some(parent) => ancestor = parent.ppid,
                None => break,
            }
        }
    }

    let mut ticks: u64 = 0;
    for (pid, st) in current {
        match same(pid) {
            Some((m, st)) => {
                ticks = ticks.saturating_add(st.self_ticks.saturating_sub(m.self_ticks));
                let reaped = st.children_ticks.saturating_sub(m.children_ticks);
                let already = counted_below.get(pid).copied().unwrap_or(0);
                ticks = ticks.saturating_add(reaped.saturating_sub(already));
            }
            None => {
                ticks = ticks.saturating_add(st.self_ticks.saturating_add(st.children_ticks));
            }
        }
    }
    ticks
}

/// Reads a whole file into `buffer` (cleared first).
fn read_into(path: &Path, buffer: &mut String) -> io::Result<()> {
    buffer.clear();
    fs::File::open(path)?.read_to_string(buffer)?;
    Ok(())
}

/// Reads and parses a `stat` file. A process that is gone (the file is missing, or the kernel
/// answers `ESRCH` while it exits) is `None`; a file that exists but is not a `stat` is an error,
/// because it means the proc root is not a procfs.
fn read_stat(path: &Path, buffer: &mut String) -> Result<Option<ProcStat>, MeterError> {
    match read_into(path, buffer) {
        Ok(()) => parse_pid_stat(buffer).map(Some).ok_or_else(|| {
            MeterError::parse(
                path,
                "`pid (comm) state ppid …` with at least 24 fields",
                buffer,
            )
        }),
        Err(_) => Ok(None),
    }
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may itself
/// contain spaces and parentheses, so fields are counted after the **last** `)`.
fn parse_pid_stat(text: &str) -> Option<ProcStat> {
    let after = &text[text.rfind(')')? + 1..];
    // After `)`: field 3 (state) is index 0, so field N is index N − 3.
    let mut fields = after.split_ascii_whitespace();
    let mut nth = |skip: usize| fields.nth(skip);
    let _state = nth(0)?;
    let ppid = nth(0)?.parse().ok()?; // 4
    let utime: u64 = nth(9)?.parse().ok()?; // 14
    let stime: u64 = nth(0)?.parse().ok()?; // 15
    let cutime: i64 = nth(0)?.parse().ok()?; // 16 (signed in the kernel's format)
    let cstime: i64 = nth(0)?.parse().ok()?; // 17
    let start_ticks = nth(4)?.parse().ok()?; // 22
    let _vsize = nth(0)?; // 23
    let rss: i64 = nth(0)?.parse().ok()?; // 24
    Some(ProcStat {
        ppid,
        self_ticks: utime.saturating_add(stime),
        children_ticks: (cutime.max(0) as u64).saturating_add(cstime.max(0) as u64),
        start_ticks,
        rss_pages: rss.max(0) as u64,
    })
}

/// Parses `/proc/stat`: busy ticks of the `cpu` line and the number of `cpuN` lines.
fn parse_proc_stat(text: &str) -> Option<(u64, usize)> {
    let mut busy = None;
    let mut cpus = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            continue;
        };
        if rest.starts_with(' ') {
            let v: Vec<u64> = rest
                .split_ascii_whitespace()
                .map(|f| f.parse().ok())
                .collect::<Option<_>>()?;
            if v.len() < 7 {
                return None;
            }
            // user nice system idle iowait irq softirq [steal guest guest_nice]
            busy = Some(v[0] + v[1] + v[2] + v[5] + v[6]);
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            cpus += 1;
        }
    }
    Some((busy?, cpus.max(1)))
}

/// Parses `/proc/meminfo` into (total, used) bytes.
fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let (mut total, mut available, mut free, mut buffers, mut cached) =
        (None, None, None, None, None);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "MemTotal" => &mut total,
            "MemAvailable" => &mut available,
            "MemFree" => &mut free,
            "Buffers" => &mut buffers,
            "Cached" => &mut cached,
            _ => continue,
        };
        let kib: u64 = rest.split_ascii_whitespace().next()?.parse().ok()?;
        *slot = Some(kib.saturating_mul(1024));
    }
    let total = total?;
    let available = match available {
        Some(a) => a,
        None => free? + buffers.unwrap_or(0) + cached.unwrap_or(0),
    };
    Some((total, total.saturating_sub(available)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_parsed_after_the_last_parenthesis() {
        let text = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194304 90 181 1 0 250 50 7 3 20 0 1 0 \
                    245309 2654208 395 18446744073709551615 1 2 3\n";
        let st = parse_pid_stat(text).unwrap();
        assert_eq!(
            st,
            ProcStat {
                ppid: 17,
                self_ticks: 300,
                children_ticks: 10,
                start_ticks: 245_309,
                rss_pages: 395,
            }
        );
        assert!(parse_pid_stat("12 (x) S 1 2 3").is_none());
        assert!(parse_pid_stat("no parenthesis").is_none());
    }

    #[test]
    fn busy_time_excludes_idle_iowait_steal_and_guest() {
        let text = "cpu  100 10 50 1000 20 5 5 7 30 3\ncpu0 50 5 25 500 10 2 3 3 15 1\n\
                    cpu1 50 5 25 500 10 3 2 4 15 2\nintr 1 2 3\n";
        assert_eq!(parse_proc_stat(text), Some((170, 2)));
        assert_eq!(parse_proc_stat("intr 1\n"), None);
    }

    #[test]
    fn meminfo_without_memavailable_uses_free_buffers_cached() {
        let text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n";
        assert_eq!(parse_meminfo(text), Some((1_024_000, 614_400)));
    }

    fn member(ppid: u32, self_ticks: u64, children_ticks: u64) -> Member {
        Member {
            ppid,
            start_ticks: 1,
            self_ticks,
            children_ticks,
        }
    }

    fn stat(ppid: u32, self_ticks: u64, children_ticks: u64) -> ProcStat {
        ProcStat {
            ppid,
            self_ticks,
            children_ticks,
            start_ticks: 1,
            rss_pages: 0,
        }
    }

    #[test]
    fn a_reaped_child_counts_its_final_ticks_once() {
        // Root 10 with child 11 (grandchild 12). 11 and 12 exit; 10 reaps 11, which had reaped 12.
        let previous = HashMap::from([
            (10, member(1, 100, 0)),
            (11, member(10, 40, 0)),
            (12, member(11, 30, 0)),
        ]);
        // 12 used 5 more ticks, 11 used 2 more: 11's cutime = 35, 10's cutime = 42 + 35 = 77.
        let current = HashMap::from([(10, stat(1, 101, 77))]);
        // 1 (root) + 77 − (40 + 30) already counted = 8.
        assert_eq!(tree_cpu_ticks(&previous, &current), 8);
    }

    #[test]
    fn an_unreaped_exit_never_makes_the_count_negative() {
        // 11 exits and is reaped by init (10 ignored SIGCHLD): 10's cutime does not grow.
        let previous = HashMap::from([(10, member(1, 100, 0)), (11, member(10, 40, 0))]);
        let current = HashMap::from([(10, stat(1, 110, 0))]);
        assert_eq!(tree_cpu_ticks(&previous, &current), 10);
    }

    #[test]
    fn a_new_member_counts_everything_it_used() {
        let previous = HashMap::from([(10, member(1, 100, 0))]);
        let current = HashMap::from([(10, stat(1, 100, 0)), (11, stat(10, 25, 5))]);
        assert_eq!(tree_cpu_ticks(&previous, &current), 30);
    }

    /// A process in the model of the property test below.
    #[derive(Debug, Clone)]
    struct Modelled {
        ppid: u32,
        self_ticks: u64,
        children_ticks: u64,
    }

    #[derive(Debug, Clone)]
    enum Event {
        /// A live process forks.
        Spawn(usize),
        /// A live process runs for some ticks.
        Run(usize, u64),
        /// A live leaf (not the root) exits; its parent waits for it (`true`) or ignores
        /// `SIGCHLD` (`false`).
        Exit(usize, bool),
    }

    fn event() -> impl proptest::strategy::Strategy<Value = Event> {
        use proptest::prelude::*;
        prop_oneof![
            any::<usize>().prop_map(Event::Spawn),
            (any::<usize>(), 0u64..500).prop_map(|(i, t)| Event::Run(i, t)),
            (any::<usize>(), proptest::bool::weighted(0.8)).prop_map(|(i, w)| Event::Exit(i, w)),
        ]
    }

    proptest::proptest! {
        /// Model-based: random forks, runs and exits between samples. The count never exceeds
        /// the CPU time really used, and equals it whenever every exit was waited for.
        #[test]
        fn accounting_matches_a_model(
            intervals in proptest::collection::vec(proptest::collection::vec(event(), 0..12), 1..12)
        ) {
            let mut live: HashMap<u32, Modelled> = HashMap::from([(
                1,
                Modelled { ppid: 0, self_ticks: 0, children_ticks: 0 },
            )]);
            let mut next_pid = 2;
            let snapshot = |live: &HashMap<u32, Modelled>| -> HashMap<u32, ProcStat> {
                live.iter()
                    .map(|(pid, p)| {
                        (*pid, ProcStat {
                            ppid: p.ppid,
                            self_ticks: p.self_ticks,
                            children_ticks: p.children_ticks,
                            start_ticks: u64::from(*pid),
                            rss_pages: 0,
                        })
                    })
                    .collect()
            };
            let mut members: HashMap<u32, Member> =
                snapshot(&live).into_iter().map(|(pid, st)| (pid, st.into())).collect();
            let (mut counted, mut used) = (0u64, 0u64);
            let mut all_waited = true;
            for events in intervals {
                for e in events {
                    let mut pids: Vec<u32> = live.keys().copied().collect();
                    pids.sort_unstable();
                    match e {
                        Event::Spawn(i) => {
                            let parent = pids[i % pids.len()];
                            live.insert(next_pid, Modelled { ppid: parent, self_ticks: 0, children_ticks: 0 });
                            next_pid += 1;
                        }
                        Event::Run(i, ticks) => {
                            live.get_mut(&pids[i % pids.len()]).unwrap().self_ticks += ticks;
                            used += ticks;
                        }
                        Event::Exit(i, waited) => {
                            let leaves: Vec<u32> = pids
                                .iter()
                                .copied()
                                .filter(|p| *p != 1 && !live.values().any(|c| c.ppid == *p))
                                .collect();
                            if leaves.is_empty() {
                                continue;
                            }
                            let gone = live.remove(&leaves[i % leaves.len()]).unwrap();
                            if waited {
                                live.get_mut(&gone.ppid).unwrap().children_ticks +=
                                    gone.self_ticks + gone.children_ticks;
                            } else {
                                all_waited = false;
                            }
                        }
                    }
                }
                let current = snapshot(&live);
                counted += tree_cpu_ticks(&members, &current);
                members = current.into_iter().map(|(pid, st)| (pid, st.into())).collect();
                proptest::prop_assert!(counted <= used, "counted {counted} > used {used}");
                if all_waited {
                    proptest::prop_assert_eq!(counted, used);
                }
            }
        }
    }

    #[test]
    fn a_reused_pid_is_a_new_process() {
        let previous = HashMap::from([(10, member(1, 100, 0)), (11, member(10, 40, 0))]);
        let mut reused = stat(10, 3, 0);
        reused.start_ticks = 99;
        // Old 11 gone (reaped by 10: cutime +45), new 11 used 3 ticks.
        let current = HashMap::from([(10, stat(1, 100, 45)), (11, reused)]);
        assert_eq!(tree_cpu_ticks(&previous, &current), 5 + 3);
    }
}
