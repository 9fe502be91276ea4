//! Faults and piece boundaries through the real service loop ([`Service::run`]) over a real
//! SQLite queue: a backend that refuses starts (jobs stay planned with the reason and are
//! retried, never failed or started twice), and an interruptible local job stopped with SIGSTOP
//! between its pieces and continued with SIGCONT at the next one (a real process, checked in
//! `/proc`).
//!
//! The jobs are given plans directly (their windows are seconds long, which the forecast-driven
//! planner would not produce); everything from `planned` on is kite's own code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use kite_core::{SignedDuration, SystemClock, Timestamp};
use kite_scheduler::Capacity;
use kite_service::{
    ExecError, ExecState, Executor, Handle, JobRecord, Launch, LocalExecutor, State,
};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use util::{Rig, commit_running, plan_job, reasons, rig};

/// A test double of a remote backend (a Slurm or Kubernetes API) that can be taken down.
/// `lose_answer`: the start reaches the backend but the answer is lost (a timeout after the
/// request was applied), the case where a retry must not start the job again.
#[derive(Default)]
struct Remote {
    down: AtomicBool,
    lose_answer: AtomicBool,
    /// Starts the backend carried out.
    starts: AtomicU32,
    /// Keeps a started job running until cleared.
    hold: AtomicBool,
    /// Start requests received, carried out or not.
    asked: AtomicU32,
    started: Mutex<Option<Instant>>,
}

impl Remote {
    fn unreachable(&self) -> ExecError {
        ExecError::Backend {
            executor: "remote".into(),
            message: "connection refused by 127.0.0.1:6443".into(),
        }
    }
}

impl Executor for Remote {
    fn name(&self) -> &str {
        "remote"
    }
    fn submit(&self, launch: &Launch) -> Result<Handle, ExecError> {
        Ok(Handle {
            executor: "remote".into(),
            id: launch.job_id.clone(),
            data: serde_json::json!({}),
        })
    }
    fn reschedule(&self, handle: &Handle, _start: Timestamp) -> Result<Handle, ExecError> {
        Ok(handle.clone())
    }
    fn start(&self, handle: &Handle) -> Result<Handle, ExecError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(self.unreachable());
        }
        let mut started = self.started.lock().unwrap();
        if started.is_some() {
            return Err(ExecError::AlreadyStarted {
                executor: "remote".into(),
                job: handle.id.clone(),
                evidence: "it is not suspended".into(),
            });
        }
        *started = Some(Instant::now());
        self.starts.fetch_add(1, Ordering::SeqCst);
        if self.lose_answer.swap(false, Ordering::SeqCst) {
            return Err(self.unreachable());
        }
        Ok(handle.clone())
    }
    fn status(&self, _handle: &Handle) -> Result<ExecState, ExecError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(self.unreachable());
        }
        Ok(match *self.started.lock().unwrap() {
            None => ExecState::Waiting,
            Some(t)
                if t.elapsed() < Duration::from_millis(500) || self.hold.load(Ordering::SeqCst) =>
            {
                ExecState::Running
            }
            Some(_) => ExecState::Exited { code: 0 },
        })
    }
    fn cancel(&self, _handle: &Handle) -> Result<(), ExecError> {
        Ok(())
    }
}

fn wait(rig: &Rig, id: &str, secs: u64, what: &str, ok: impl Fn(&JobRecord) -> bool) -> JobRecord {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let j = rig.control.queue.get(id).unwrap().unwrap();
        if ok(&j) {
            return j;
        }
        assert!(
            Instant::now() < until,
            "{what}: not after {secs} s; job {j:#?}\nevents {:#?}",
            rig.control.queue.events(id).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_unreachable_backend_at_start_keeps_the_job_planned_with_the_reason_and_retries_it() {
    let remote = Arc::new(Remote::default());
    remote.down.store(true, Ordering::SeqCst);
    let rig = rig(remote.clone(), Duration::from_secs(1), None);
    let now = rig.control.now();
    let job = plan_job(
        &rig,
        &["true"],
        false,
        vec![[now, now + SignedDuration::from_secs(60)]],
    );

    // Refused: back in `planned`, the reason on the job, not failed, attempt not counted.
    let j = wait(&rig, &job.id, 10, "start refused", |_| {
        remote.asked.load(Ordering::SeqCst) >= 1
    });
    let j = wait(&rig, &j.id, 5, "back to planned", |j| {
        j.state == State::Planned
            && j.reason
                .as_deref()
                .is_some_and(|r| r.contains("connection refused"))
    });
    assert_eq!(j.attempt, 0, "{j:#?}");
    assert_eq!(j.started_at, None);
    // Retried (after the pause), still refused, still queued.
    wait(&rig, &j.id, 10, "retried while down", |_| {
        remote.asked.load(Ordering::SeqCst) >= 2
    });
    assert_eq!(
        rig.control.queue.get(&job.id).unwrap().unwrap().state,
        State::Planned
    );
    assert_eq!(remote.starts.load(Ordering::SeqCst), 0);

    // The backend comes back: the next retry starts it once and it finishes.
    remote.down.store(false, Ordering::SeqCst);
    let j = wait(&rig, &job.id, 15, "succeeded", |j| {
        j.state == State::Succeeded
    });
    assert_eq!(remote.starts.load(Ordering::SeqCst), 1);
    assert_eq!(j.attempt, 1);
    let log = reasons(&rig, &job.id);
    assert!(
        log.iter()
            .any(|r| r.starts_with("running → planned: not started")
                && r.contains("connection refused")),
        "{log:#?}"
    );
}

#[test]
fn a_start_whose_answer_was_lost_is_not_repeated_and_the_job_runs() {
    let remote = Arc::new(Remote::default());
    remote.lose_answer.store(true, Ordering::SeqCst);
    let rig = rig(remote.clone(), Duration::from_secs(1), None);
    let now = rig.control.now();
    let job = plan_job(
        &rig,
        &["true"],
        false,
        vec![[now, now + SignedDuration::from_secs(60)]],
    );
    let j = wait(&rig, &job.id, 20, "succeeded", |j| {
        j.state == State::Succeeded
    });
    assert_eq!(remote.starts.load(Ordering::SeqCst), 1, "started twice");
    assert!(remote.asked.load(Ordering::SeqCst) >= 2, "never retried");
    let log = reasons(&rig, &j.id);
    assert!(
        log.iter().any(|r| r.contains("already started on remote")),
        "{log:#?}"
    );
}

/// The crash window between committing `running` and the executor's start (kite serve killed
/// in between): the job must not stay "running" forever without ever starting.
#[test]
fn a_job_committed_running_whose_start_never_reached_the_executor_is_started_once() {
    let jobs = tempfile::tempdir().unwrap();
    let marker = jobs.path().join("starts");
    let local = Arc::new(LocalExecutor::new(&jobs.path().join("run"), None).unwrap());
    let rig = rig(local, Duration::from_secs(60), None);
    let now = rig.control.now();
    let script = format!("echo started >> {}", marker.display());
    // Planned an hour ahead, so the loop does not start it on its own.
    let job = plan_job(
        &rig,
        &["sh", "-c", &script],
        false,
        vec![[
            now + SignedDuration::from_hours(1),
            now + SignedDuration::from_hours(1) + SignedDuration::from_secs(60),
        ]],
    );
    // What dispatch commits before it calls the executor; the call itself never happens.
    commit_running(&rig, &job.id, now);
    let j = wait(&rig, &job.id, 20, "succeeded", |j| {
        j.state == State::Succeeded
    });
    let starts = std::fs::read_to_string(&marker).unwrap();
    assert_eq!(starts.lines().count(), 1, "started {starts:?}");
    let log = reasons(&rig, &j.id);
    assert!(
        log.iter()
            .any(|r| r.contains("the start committed earlier had not reached it")),
        "{log:#?}"
    );
}

/// Capacity 1 GPU: the first job runs 3 s past its 1 s plan; the second, planned right after
/// the first's planned end, must wait for it instead of taking a second GPU.
#[test]
fn a_due_job_waits_while_an_overrunning_job_holds_the_capacity() {
    let jobs = tempfile::tempdir().unwrap();
    let local = Arc::new(LocalExecutor::new(jobs.path(), None).unwrap());
    let capacity = Capacity::uniform(1);
    let rig = rig(local, Duration::from_secs(60), Some(capacity));
    let now = rig.control.now();
    let at = |s: i64| now + SignedDuration::from_secs(s);
    let first = plan_job(&rig, &["sleep", "4"], false, vec![[at(0), at(1)]]);
    let second = plan_job(&rig, &["true"], false, vec![[at(2), at(3)]]);
    let f = wait(&rig, &first.id, 20, "first succeeded", |j| {
        j.state == State::Succeeded
    });
    let s = wait(&rig, &second.id, 20, "second succeeded", |j| {
        j.state == State::Succeeded
    });
    let (f_end, s_start) = (f.finished_at.unwrap(), s.started_at.unwrap());
    assert!(
        s_start >= f_end,
        "the second started at {s_start}, before the first ended at {f_end}"
    );
    let log = reasons(&rig, &second.id);
    assert!(
        log.iter()
            .any(|r| r.contains("waiting for capacity in DE: 1 of 1 GPUs")),
        "{log:#?}"
    );
}

#[test]
fn a_backend_lost_mid_run_shows_on_the_job_and_the_job_is_watched_again() {
    let remote = Arc::new(Remote::default());
    remote.hold.store(true, Ordering::SeqCst);
    let rig = rig(remote.clone(), Duration::from_secs(1), None);
    let now = rig.control.now();
    let job = plan_job(
        &rig,
        &["true"],
        false,
        vec![[now, now + SignedDuration::from_secs(60)]],
    );
    wait(&rig, &job.id, 10, "running", |j| j.state == State::Running);
    remote.down.store(true, Ordering::SeqCst);
    let j = wait(&rig, &job.id, 10, "reason shown", |j| {
        j.reason
            .as_deref()
            .is_some_and(|r| r.contains("could not be asked"))
    });
    assert_eq!(j.state, State::Running);
    // Held down past the job's end: still running (unknown), not failed or lost.
    remote.hold.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        rig.control.queue.get(&job.id).unwrap().unwrap().state,
        State::Running
    );
    remote.down.store(false, Ordering::SeqCst);
    wait(&rig, &job.id, 10, "succeeded", |j| {
        j.state == State::Succeeded
    });
    // One event for the outage, not one per tick.
    let outage = reasons(&rig, &job.id)
        .iter()
        .filter(|r| r.contains("could not be asked"))
        .count();
    assert_eq!(outage, 1);
}

fn wall() -> Timestamp {
    kite_core::Clock::now(&SystemClock)
}

/// The state letter of `pid` in /proc (`T`: stopped).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

#[test]
fn an_interruptible_local_job_is_stopped_between_its_pieces_and_continued_at_the_next() {
    let jobs = tempfile::tempdir().unwrap();
    let local = Arc::new(LocalExecutor::new(jobs.path(), None).unwrap());
    let rig = rig(local, Duration::from_secs(60), None);
    let now = rig.control.now();
    let at = |s: i64| now + SignedDuration::from_secs(s);
    // 3 s of work in 0.1 s steps (a stopped process makes no progress).
    let job = plan_job(
        &rig,
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done",
        ],
        true,
        vec![[at(0), at(2)], [at(4), at(9)]],
    );
    let j = wait(&rig, &job.id, 10, "running with a pid", |j| {
        j.handle
            .as_ref()
            .is_some_and(|h| h.data.get("pid").is_some())
    });
    let pid = u32::try_from(j.handle.unwrap().data["pid"].as_u64().unwrap()).unwrap();
    assert_ne!(proc_state(pid), Some('T'), "stopped in its first piece");

    // Stopped after the first piece ends ...
    let until = Instant::now() + Duration::from_secs(6);
    while proc_state(pid) != Some('T') {
        assert!(
            Instant::now() < until,
            "never stopped: {:#?}",
            reasons(&rig, &job.id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped_at = wall();
    assert!(stopped_at >= at(2), "stopped before its piece ended");
    // ... and stays stopped until the second one starts.
    std::thread::sleep(Duration::from_millis(800));
    if wall() < at(4) {
        assert_eq!(
            proc_state(pid),
            Some('T'),
            "continued before its next piece"
        );
    }
    while proc_state(pid) == Some('T') {
        assert!(
            wall() < at(8),
            "never continued: {:#?}",
            reasons(&rig, &job.id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(wall() >= at(4), "continued before its next piece");

    let j = wait(&rig, &job.id, 15, "succeeded", |j| j.state.is_terminal());
    assert_eq!(j.state, State::Succeeded, "{:#?}", reasons(&rig, &job.id));
    let log = reasons(&rig, &job.id);
    let suspended = log
        .iter()
        .position(|r| r.contains("suspended at the end of a piece"));
    let resumed = log
        .iter()
        .position(|r| r.contains("resumed at the start of a piece"));
    assert!(
        matches!((suspended, resumed), (Some(s), Some(r)) if s < r),
        "{log:#?}"
    );
    assert_eq!(j.attempt, 1);
}
