//! The local executor: jobs as processes on this machine, detached from the service.
//!
//! Each job gets a directory (`<root>/<job id>`). Submitting writes `launch.json` there and
//! starts nothing: the service holds the job and calls [`Executor::start`] at the planned time.
//! Starting writes a `spawned` marker (fsync'd) *before* spawning, so a second start is refused
//! whatever the queue says, then runs a small `sh` wrapper in its own process group (so a
//! `kill -9` of the service, or a signal to its group, does not reach the job):
//!
//! ```sh
//! echo $$ > pid.tmp && mv pid.tmp pid          # the wrapper's pid = the process group id
//! "$@" > stdout 2> stderr < /dev/null          # kite run … -- CMD, or CMD itself
//! echo $? > exit.tmp && mv exit.tmp exit       # the exit status outlives the service
//! ```
//!
//! The handle records the pid and the process start time (`/proc/PID/stat` field 22), so a
//! restarted service tells its job from an unrelated process that reused the pid. Status is
//! read from the directory and `/proc` alone: `exit` present → exited; the recorded process
//! alive → running (or suspended, state `T`); neither → lost, with the reason.

use crate::executor::{ExecError, ExecState, Executor, Handle, Launch};
use kite_core::Timestamp;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

const NAME: &str = "local";

const WRAPPER: &str = r#"echo $$ > pid.tmp && mv pid.tmp pid
"$@" > stdout 2> stderr < /dev/null
echo $? > exit.tmp && mv exit.tmp exit
"#;

/// How to measure each job: run it under `kite run` (the real binary), which measures it and,
/// with a ledger, books the run and the planned job's outcome (`--plan FILE --job ID`).
#[derive(Debug, Clone)]
pub struct KiteRun {
    /// The kite binary (`std::env::current_exe()` of `kite serve`).
    pub program: PathBuf,
    /// Global flags to pass on (`--database`, `--config`, `--offline`).
    pub global_args: Vec<String>,
    /// The ledger to book runs and outcomes in, if one is configured.
    pub ledger: Option<PathBuf>,
}

/// Runs jobs as detached local processes.
pub struct LocalExecutor {
    root: PathBuf,
    measure: Option<KiteRun>,
    /// Children this process spawned, kept only to reap them (a zombie would look alive).
    children: Mutex<HashMap<u32, Child>>,
}

impl LocalExecutor {
    /// Jobs live under `root` (created if missing); `measure: None` runs commands bare (tests of
    /// the executor itself).
    pub fn new(root: &Path, measure: Option<KiteRun>) -> Result<LocalExecutor, ExecError> {
        std::fs::create_dir_all(root).map_err(|e| {
            backend(format!(
                "cannot create the job directory {}: {e}; check the path and permissions",
                root.display()
            ))
        })?;
        Ok(LocalExecutor {
            root: root.to_path_buf(),
            measure,
            children: Mutex::new(HashMap::new()),
        })
    }

    fn dir_of(&self, handle: &Handle) -> Result<PathBuf, ExecError> {
        if handle.executor != NAME {
            return Err(ExecError::BadHandle {
                executor: NAME.into(),
                message: format!("handle of executor `{}`", handle.executor),
            });
        }
        Ok(PathBuf::from(&handle.id))
    }

    fn argv(&self, launch: &Launch, dir: &Path) -> Vec<String> {
        let Some(m) = &self.measure else {
            return launch.command.clone();
        };
        let mut a = vec![m.program.to_string_lossy().into_owned()];
        a.extend(m.global_args.iter().cloned());
        a.extend(["run", "--quiet", "--json", "--region"].map(String::from));
        a.push(launch.region.clone());
        a.push("--output-dir".into());
        a.push(dir.to_string_lossy().into_owned());
        if let Some(p) = &launch.project {
            a.extend(["--project".into(), p.clone()]);
        }
        if let Some(t) = &launch.team {
            a.extend(["--team".into(), t.clone()]);
        }
        if let Some(l) = &m.ledger {
            a.extend(["--ledger".into(), l.to_string_lossy().into_owned()]);
            if launch.plan.is_some() {
                a.extend([
                    "--plan".into(),
                    dir.join("plan.json").to_string_lossy().into_owned(),
                    "--job".into(),
                    launch.job_id.clone(),
                ]);
            }
        }
        a.push("--".into());
        a.extend(launch.command.iter().cloned());
        a
    }

    /// Waits for every child that has exited, so none stays a zombie (a job whose `exit` file
    /// is read is never asked about again; a soak of 9,000 jobs left 9,000 zombies before).
    fn reap(&self) {
        if let Ok(mut children) = self.children.lock() {
            children.retain(|_, child| !matches!(child.try_wait(), Ok(Some(_))));
        }
    }

    /// Whether the recorded process is alive: `Some('R'|'S'|'T'…)` with its state letter.
    fn alive(&self, pid: u32, start_ticks: Option<u64>) -> Option<char> {
        if let Ok(mut children) = self.children.lock()
            && let Some(child) = children.get_mut(&pid)
            && let Ok(Some(_)) = child.try_wait()
        {
            children.remove(&pid);
            return None;
        }
        let (state, ticks) = proc_stat(pid)?;
        if state == 'Z' || state == 'X' {
            return None;
        }
        match start_ticks {
            Some(t) if t != ticks => None,
            _ => Some(state),
        }
    }
}

fn backend(message: String) -> ExecError {
    ExecError::Backend {
        executor: NAME.into(),
        message,
    }
}

/// State letter and start time (clock ticks since boot) of a process, from `/proc/PID/stat`.
pub fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields resume after the last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Field 22 overall; `rest` starts at field 3.
    let ticks = fields.get(19)?.parse().ok()?;
    Some((state, ticks))
}

fn write_durable(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

fn read_exit(dir: &Path) -> Option<i32> {
    std::fs::read_to_string(dir.join("exit"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

fn handle_pid(handle: &Handle, dir: &Path) -> Option<(u32, Option<u64>)> {
    let from_handle = handle.data.get("pid").and_then(serde_json::Value::as_u64);
    let ticks = handle
        .data
        .get("start_ticks")
        .and_then(serde_json::Value::as_u64);
    match from_handle {
        Some(p) => Some((u32::try_from(p).ok()?, ticks)),
        None => std::fs::read_to_string(dir.join("pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map(|p| (p, None)),
    }
}

/// Pids whose parent is `parent` (the wrapper's child: `kite run`, or the bare command).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|t| {
                    let rest = t[t.rfind(')')? + 1..].to_owned();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

fn signal_group(pid: u32, sig: Signal) -> Result<(), ExecError> {
    let pgid = Pid::from_raw(i32::try_from(pid).map_err(|_| backend(format!("pid {pid}")))?);
    killpg(pgid, sig).map_err(|e| backend(format!("cannot send {sig} to process group {pid}: {e}")))
}

impl Executor for LocalExecutor {
    fn name(&self) -> &str {
        NAME
    }

    fn submit(&self, launch: &Launch) -> Result<Handle, ExecError> {
        let dir = self.root.join(&launch.job_id);
        std::fs::create_dir_all(&dir).map_err(|e| {
            backend(format!(
                "cannot create {}: {e}; check disk space and permissions",
                dir.display()
            ))
        })?;
        let argv = self.argv(launch, &dir);
        let plan = launch.plan.as_ref().map(|p| {
            serde_json::json!({"jobs": [{
                "id": launch.job_id, "region": p.region, "start": p.start,
                "energy_kwh": p.energy_kwh, "run_now_emissions_g": p.run_now_emissions_g,
            }]})
        });
        let launch_json = serde_json::json!({
            "job": launch.job_id, "attempt": launch.attempt, "argv": argv,
            "start": launch.start, "region": launch.region,
        });
        let write = |name: &str, v: &serde_json::Value| {
            write_durable(&dir.join(name), &format!("{v:#}\n"))
                .map_err(|e| backend(format!("cannot write {}/{name}: {e}", dir.display())))
        };
        write("launch.json", &launch_json)?;
        if let Some(p) = &plan {
            write("plan.json", p)?;
        }
        Ok(Handle {
            executor: NAME.into(),
            id: dir.to_string_lossy().into_owned(),
            data: serde_json::json!({"start": launch.start}),
        })
    }

    fn reschedule(&self, handle: &Handle, start: Timestamp) -> Result<Handle, ExecError> {
        let dir = self.dir_of(handle)?;
        if dir.join("spawned").exists() {
            return Err(ExecError::AlreadyStarted {
                executor: NAME.into(),
                job: handle.id.clone(),
                evidence: "its `spawned` marker exists".into(),
            });
        }
        let mut h = handle.clone();
        h.data["start"] = serde_json::json!(start);
        Ok(h)
    }

    fn start(&self, handle: &Handle) -> Result<Handle, ExecError> {
        let dir = self.dir_of(handle)?;
        for marker in ["spawned", "cancelled"] {
            if dir.join(marker).exists() {
                return Err(ExecError::AlreadyStarted {
                    executor: NAME.into(),
                    job: handle.id.clone(),
                    evidence: format!("its `{marker}` marker exists"),
                });
            }
        }
        let launch: serde_json::Value = std::fs::read_to_string(dir.join("launch.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| {
                backend(format!(
                    "{}/launch.json is missing or unreadable; resubmit the job",
                    dir.display()
                ))
            })?;
        let argv: Vec<String> = launch["argv"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if argv.is_empty() {
            return Err(backend(format!(
                "{}/launch.json has no command",
                dir.display()
            )));
        }
        write_durable(&dir.join("spawned"), "")
            .map_err(|e| backend(format!("cannot write {}/spawned: {e}", dir.display())))?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(WRAPPER)
            .arg("kite-job")
            .args(&argv)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: signals to the service's group never reach the job, and
            // suspend/resume/cancel address the job's whole tree at once.
            .process_group(0)
            .spawn()
            .map_err(|e| backend(format!("cannot start `sh` for {}: {e}", handle.id)))?;
        let pid = child.id();
        let ticks = proc_stat(pid).map(|(_, t)| t);
        if let Ok(mut c) = self.children.lock() {
            c.insert(pid, child);
        }
        let mut h = handle.clone();
        h.data["pid"] = serde_json::json!(pid);
        h.data["start_ticks"] = serde_json::json!(ticks);
        Ok(h)
    }

    fn status(&self, handle: &Handle) -> Result<ExecState, ExecError> {
        let dir = self.dir_of(handle)?;
        self.reap();
        if let Some(code) = read_exit(&dir) {
            return Ok(ExecState::Exited { code });
        }
        if !dir.join("spawned").exists() {
            return Ok(if dir.join("cancelled").exists() {
                ExecState::Cancelled
            } else {
                ExecState::Waiting
            });
        }
        let Some((pid, ticks)) = handle_pid(handle, &dir) else {
            return Ok(ExecState::Lost {
                reason: "the start was committed but no process was recorded (the service stopped while starting it); not restarted".into(),
            });
        };
        match self.alive(pid, ticks) {
            Some('T') => Ok(ExecState::Suspended),
            Some(_) => Ok(ExecState::Running),
            // The wrapper writes `exit` before it exits: look again before calling it lost.
            None => Ok(match read_exit(&dir) {
                Some(code) => ExecState::Exited { code },
                None => ExecState::Lost {
                    reason: format!(
                        "process {pid} ended without writing an exit status (killed, or the machine restarted); see {}/stderr",
                        dir.display()
                    ),
                },
            }),
        }
    }

    fn cancel(&self, handle: &Handle) -> Result<(), ExecError> {
        let dir = self.dir_of(handle)?;
        if !dir.join("spawned").exists() {
            return write_durable(&dir.join("cancelled"), "")
                .map_err(|e| backend(format!("cannot write {}/cancelled: {e}", dir.display())));
        }
        let Some((pid, ticks)) = handle_pid(handle, &dir) else {
            return Ok(());
        };
        if self.alive(pid, ticks).is_none() {
            return Ok(());
        }
        // A stopped job must run to act on SIGTERM.
        let _ = signal_group(pid, Signal::SIGCONT);
        // SIGTERM to the wrapper's child (`kite run` forwards it to the command and records the
        // run); the wrapper itself lives on to write the exit status.
        // Just after a start the wrapper may not have forked its child yet: look for a second.
        let mut kids = children_of(pid);
        for _ in 0..20 {
            if !kids.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            kids = children_of(pid);
        }
        if kids.is_empty() {
            return signal_group(pid, Signal::SIGTERM);
        }
        for k in kids {
            if let Ok(k) = i32::try_from(k) {
                let _ = kill(Pid::from_raw(k), Signal::SIGTERM);
            }
        }
        Ok(())
    }

    fn suspend(&self, handle: &Handle) -> Result<(), ExecError> {
        let dir = self.dir_of(handle)?;
        let (pid, _) = handle_pid(handle, &dir)
            .ok_or_else(|| backend(format!("{} has not started", handle.id)))?;
        signal_group(pid, Signal::SIGSTOP)
    }

    fn resume(&self, handle: &Handle) -> Result<(), ExecError> {
        let dir = self.dir_of(handle)?;
        let (pid, _) = handle_pid(handle, &dir)
            .ok_or_else(|| backend(format!("{} has not started", handle.id)))?;
        signal_group(pid, Signal::SIGCONT)
    }

    fn log(&self, handle: &Handle) -> Result<String, ExecError> {
        let dir = self.dir_of(handle)?;
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap_or_default();
        Ok(format!(
            "==> stdout <==\n{}==> stderr <==\n{}",
            read("stdout"),
            read("stderr")
        ))
    }

    fn run_record(&self, handle: &Handle) -> Option<serde_json::Value> {
        self.measure.as_ref()?;
        let dir = self.dir_of(handle).ok()?;
        let text = std::fs::read_to_string(dir.join("stdout")).ok()?;
        trailing_json(&text)
    }
}

/// The last JSON object in `text` that starts a line (`kite run --json` prints its record after
/// whatever the command wrote to the same stdout).
fn trailing_json(text: &str) -> Option<serde_json::Value> {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices("\n{").map(|(i, _)| i + 1))
        .filter(|&i| text[i..].starts_with('{'))
        .collect();
    starts
        .into_iter()
        .rev()
        .find_map(|i| serde_json::from_str(text[i..].trim_end()).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_record_is_found_after_the_command_output() {
        let v = trailing_json("hello\n{not json\n{\n  \"a\": 1\n}\n").unwrap();
        assert_eq!(v["a"], 1);
        assert!(trailing_json("no json").is_none());
    }

    #[test]
    fn our_own_process_reads_as_alive() {
        let (state, _) = proc_stat(std::process::id()).unwrap();
        assert!(state != 'Z');
    }
}
