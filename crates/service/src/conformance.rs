//! The conformance suite every executor passes (local now; Slurm and Kubernetes reuse it).
//!
//! Each check takes a factory (so a check can build a second executor over the same backend,
//! as a restarted service does) and returns `Err(what failed)`. Commands are POSIX `sh`
//! one-liners with short sleeps, so the suite takes a few seconds.

use crate::executor::{ExecState, Executor, Launch};
use kite_core::{SignedDuration, Timestamp};
use std::time::{Duration, Instant};

/// Builds an executor over the backend under test (called more than once: same backend).
pub type Factory<'a> = &'a dyn Fn() -> Box<dyn Executor>;

/// How a backend's timing differs from the local executor's ([`Timing::default`]: none).
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// How far ahead of the wall clock the checks plan their starts. Zero for backends that
    /// only start when kite says so (local, Kubernetes); a few seconds for backends that start a
    /// job by themselves at its begin time (Slurm), so a submitted job is still held when a
    /// check looks at it. With a lead, a check also waits for a job to run before re-attaching.
    pub lead: Duration,
    /// Extra seconds every wait allows (e.g. a scheduler's cycle: Slurm starts jobs up to
    /// `sched_interval` after they become eligible).
    pub slack_secs: u64,
}

/// The suite's view of the clock: `now` as the caller gave it, advanced by the time the suite
/// has run, plus the lead (with no lead, exactly `now`, as before).
#[derive(Clone, Copy)]
struct Clock {
    now: Timestamp,
    began: Instant,
    timing: Timing,
}

impl Clock {
    fn start(&self) -> Timestamp {
        if self.timing.lead.is_zero() {
            return self.now;
        }
        let elapsed = SignedDuration::try_from(self.began.elapsed()).unwrap_or_default();
        let lead = SignedDuration::try_from(self.timing.lead).unwrap_or_default();
        self.now + elapsed + lead
    }
    fn secs(&self, s: u64) -> u64 {
        s + self.timing.slack_secs
    }
}

/// A launch of `sh -c script` starting now.
pub fn launch(job_id: &str, script: &str, now: Timestamp) -> Launch {
    Launch {
        job_id: job_id.into(),
        attempt: 1,
        command: vec!["sh".into(), "-c".into(), script.into()],
        region: "DE".into(),
        start: now,
        deadline: now + SignedDuration::from_hours(1),
        duration_secs: 60,
        gpus: 1,
        team: None,
        project: None,
        plan: None,
    }
}

fn wait_for(
    ex: &dyn Executor,
    h: &crate::executor::Handle,
    want: impl Fn(&ExecState) -> bool,
    secs: u64,
) -> Result<ExecState, String> {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = ex.status(h).map_err(|e| e.to_string())?;
        if want(&s) {
            return Ok(s);
        }
        if Instant::now() > until {
            return Err(format!("still {s:?} after {secs} s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs every check; returns the failures (empty: conformant).
pub fn run_all(factory: Factory<'_>, now: Timestamp, prefix: &str) -> Vec<String> {
    run_all_with(factory, now, prefix, Timing::default())
}

/// [`run_all`] for a backend with its own [`Timing`].
pub fn run_all_with(
    factory: Factory<'_>,
    now: Timestamp,
    prefix: &str,
    timing: Timing,
) -> Vec<String> {
    let clock = Clock {
        now,
        began: Instant::now(),
        timing,
    };
    type Check = fn(Factory<'_>, Clock, &str) -> Result<(), String>;
    let checks: [(&str, Check); 6] = [
        ("held until started, then exit status 0", held_then_runs),
        ("a failing command reports its status", failing_status),
        ("never started twice", never_twice),
        ("cancel of a held and a running job", cancel),
        ("a new executor re-attaches from the handle", reattach),
        ("reschedule before the start; refused after", reschedule),
    ];
    checks
        .iter()
        .filter_map(|(name, check)| {
            check(factory, clock, &format!("{prefix}-{}", name.len()))
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect()
}

fn held_then_runs(f: Factory<'_>, c: Clock, id: &str) -> Result<(), String> {
    let ex = f();
    let h = ex
        .submit(&launch(&format!("{id}-ok"), "echo hello", c.start()))
        .map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(200));
    let s = ex.status(&h).map_err(|e| e.to_string())?;
    if s != ExecState::Waiting {
        return Err(format!("a submitted job must wait for start, is {s:?}"));
    }
    let h = ex.start(&h).map_err(|e| e.to_string())?;
    let s = wait_for(
        ex.as_ref(),
        &h,
        |s| matches!(s, ExecState::Exited { .. }),
        c.secs(10),
    )?;
    if s != (ExecState::Exited { code: 0 }) {
        return Err(format!("expected exit 0, got {s:?}"));
    }
    Ok(())
}

fn failing_status(f: Factory<'_>, c: Clock, id: &str) -> Result<(), String> {
    let ex = f();
    let h = ex
        .submit(&launch(&format!("{id}-fail"), "exit 3", c.start()))
        .map_err(|e| e.to_string())?;
    let h = ex.start(&h).map_err(|e| e.to_string())?;
    match wait_for(
        ex.as_ref(),
        &h,
        |s| matches!(s, ExecState::Exited { .. }),
        c.secs(10),
    )? {
        ExecState::Exited { code: 3 } => Ok(()),
        s => Err(format!("expected exit 3, got {s:?}")),
    }
}

fn never_twice(f: Factory<'_>, c: Clock, id: &str) -> Result<(), String> {
    let ex = f();
    let h = ex
        .submit(&launch(&format!("{id}-once"), "sleep 1", c.start()))
        .map_err(|e| e.to_string())?;
    let started = ex.start(&h).map_err(|e| e.to_string())?;
    if ex.start(&h).is_ok() || f().start(&started).is_ok() {
        return Err("a second start was accepted".into());
    }
    wait_for(
        ex.as_ref(),
        &started,
        |s| matches!(s, ExecState::Exited { .. }),
        c.secs(10),
    )
    .map(|_| ())
}

fn cancel(f: Factory<'_>, c: Clock, id: &str) -> Result<(), String> {
    let ex = f();
    let held = ex
        .submit(&launch(&format!("{id}-held"), "echo never", c.start()))
        .map_err(|e| e.to_string())?;
    ex.cancel(&held).map_err(|e| e.to_string())?;
    if ex.start(&held).is_ok() {
        return Err("a cancelled job was started".into());
    }
    let h = ex
        .submit(&launch(&format!("{id}-run"), "sleep 30", c.start()))
        .map_err(|e| e.to_string())?;
    let h = ex.start(&h).map_err(|e| e.to_string())?;
    wait_for(ex.as_ref(), &h, |s| *s == ExecState::Running, c.secs(5))?;
    let t = Instant::now();
    ex.cancel(&h).map_err(|e| e.to_string())?;
    let s = wait_for(
        ex.as_ref(),
        &h,
        |s| !matches!(s, ExecState::Running | ExecState::Waiting),
        c.secs(10),
    )?;
    if t.elapsed() > Duration::from_secs(9) {
        return Err(format!("cancel took {:?}", t.elapsed()));
    }
    match s {
        ExecState::Exited { code } if code != 0 => Ok(()),
        ExecState::Cancelled => Ok(()),
        s => Err(format!("a cancelled running job ended as {s:?}")),
    }
}

fn reattach(f: Factory<'_>, c: Clock, id: &str) -> Result<(), String> {
    let h = {
        let ex = f();
        let h = ex
            .submit(&launch(&format!("{id}-re"), "sleep 1; exit 5", c.start()))
            .map_err(|e| e.to_string())?;
        let h = ex.start(&h).map_err(|e| e.to_string())?;
        if !c.timing.lead.is_zero() {
            // A backend that starts jobs itself: let it, then re-attach to a running job.
            wait_for(ex.as_ref(), &h, |s| *s == ExecState::Running, c.secs(5))?;
        }
        h
    };
    // As a restarted service: a fresh executor with only the persisted handle.
    let ex = f();
    let s = ex.status(&h).map_err(|e| e.to_string())?;
    if s != ExecState::Running {
        return Err(format!("a fresh executor sees the running job as {s:?}"));
    }
    match wait_for(
        ex.as_ref(),
        &h,
        |s| matches!(s, ExecState::Exited { .. } | ExecState::Lost { .. }),
        c.secs(10),
    )? {
        ExecState::Exited { code: 5 } => Ok(()),
        s => Err(format!(
            "expected exit 5 seen by the fresh executor, got {s:?}"
        )),
    }
}

fn reschedule(f: Factory<'_>, c: Clock, id: &str) -> Result<(), String> {
    let ex = f();
    let h = ex
        .submit(&launch(&format!("{id}-move"), "true", c.start()))
        .map_err(|e| e.to_string())?;
    let h = ex
        .reschedule(&h, c.start() + SignedDuration::from_mins(5))
        .map_err(|e| e.to_string())?;
    if ex.status(&h).map_err(|e| e.to_string())? != ExecState::Waiting {
        return Err("a rescheduled job must still wait".into());
    }
    let h = ex.start(&h).map_err(|e| e.to_string())?;
    if ex.reschedule(&h, c.start()).is_ok() {
        return Err("a started job was rescheduled".into());
    }
    wait_for(
        ex.as_ref(),
        &h,
        |s| matches!(s, ExecState::Exited { .. }),
        c.secs(10),
    )
    .map(|_| ())
}
