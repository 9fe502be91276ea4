//! The service: accepting jobs ([`Control`], shared with the HTTP handlers) and the loop that
//! plans, starts, watches and reconciles them ([`Service`]).
//!
//! Ordering rules that make `kill -9` safe at any moment:
//! - a job is committed (`pending`) before the submission is answered;
//! - `running` (with the attempt number) is committed *before* the executor is asked to start,
//!   so a crash in between reads as `lost` on restart, never as a job to start again;
//! - a start the backend refused or never received (`ExecError::Backend`) moves the job back to
//!   `planned` and is retried; a retry answered `AlreadyStarted` keeps it `running`;
//! - executors keep what they need to be found again in the persisted [`Handle`](crate::executor::Handle).

use crate::executor::{ExecError, ExecState, Executor, Launch};
use crate::job::{JobRecord, JobRequest, State};
use crate::planner::{Held, Planner};
use crate::queue::{Queue, QueueError};
use kite_core::{Clock, SignedDuration, SystemClock, Timestamp};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Messages from the handlers to the loop.
#[derive(Debug)]
pub enum Msg {
    /// A job was committed; reply once a planning round has seen it.
    Submitted(oneshot::Sender<()>),
    /// Something changed (a cancel): replan.
    Changed,
}

/// Executors by name, and which one runs jobs of each region.
#[derive(Clone)]
pub struct Executors {
    by_name: BTreeMap<String, Arc<dyn Executor>>,
    default: String,
    by_region: BTreeMap<String, String>,
}

impl Executors {
    /// One executor, used for every region.
    pub fn single(executor: Arc<dyn Executor>) -> Executors {
        let name = executor.name().to_owned();
        Executors {
            by_name: BTreeMap::from([(name.clone(), executor)]),
            default: name,
            by_region: BTreeMap::new(),
        }
    }

    /// Adds an executor for the given zones (a Slurm cluster or Kubernetes pool per region).
    pub fn with(mut self, executor: Arc<dyn Executor>, zones: &[String]) -> Executors {
        let name = executor.name().to_owned();
        for z in zones {
            self.by_region.insert(z.clone(), name.clone());
        }
        self.by_name.insert(name, executor);
        self
    }

    /// The executor of a zone.
    pub fn for_region(&self, zone: &str) -> &str {
        self.by_region.get(zone).unwrap_or(&self.default)
    }

    /// An executor by name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Executor>> {
        self.by_name.get(name)
    }
}

/// What handlers need: the queue, the executors, and a line to the loop.
pub struct Control {
    /// The durable queue.
    pub queue: Arc<dyn Queue>,
    /// The executors.
    pub executors: Executors,
    /// Wakes the loop.
    pub tx: mpsc::Sender<Msg>,
}

impl Control {
    /// The current time, whole seconds (plans are read by people).
    pub fn now(&self) -> Timestamp {
        let t = SystemClock.now();
        Timestamp::from_second(t.as_second()).unwrap_or(t)
    }

    /// Commits a validated request as a `pending` job; returns once it is durable.
    pub fn accept(&self, request: JobRequest) -> Result<JobRecord, QueueError> {
        let now = self.now();
        let job = JobRecord {
            id: crate::job::new_id(SystemClock.now()),
            submitted_at: now,
            executor: self
                .executors
                .for_region(request.regions.first().map_or("", String::as_str))
                .to_owned(),
            request,
            state: State::Pending,
            reason: Some("accepted; waiting to be planned".into()),
            updated_at: now,
            plan: None,
            handle: None,
            attempt: 0,
            started_at: None,
            finished_at: None,
            exit_code: None,
        };
        self.queue.insert(&job)?;
        Ok(job)
    }

    /// Cancels a job that has not finished. The state is committed first; the executor is told
    /// after (a held local job then refuses to start; a running one is sent SIGTERM).
    pub fn cancel(&self, id: &str) -> Result<JobRecord, QueueError> {
        loop {
            let job = self
                .queue
                .get(id)?
                .ok_or_else(|| QueueError::NotFound(id.into()))?;
            if job.state.is_terminal() {
                return Err(QueueError::Invalid {
                    id: id.into(),
                    from: job.state,
                    to: State::Cancelled,
                });
            }
            match self.queue.transition(
                id,
                job.state,
                State::Cancelled,
                "cancelled by request",
                self.now(),
                &mut |j| j.finished_at = Some(self.now()),
            ) {
                Ok(done) => {
                    if let (Some(h), Some(ex)) = (&done.handle, self.executors.get(&done.executor))
                        && let Err(e) = ex.cancel(h)
                    {
                        tracing::warn!("cancel {id}: {e}");
                    }
                    let _ = self.tx.try_send(Msg::Changed);
                    return Ok(done);
                }
                // Moved under us (e.g. just started): try again from its new state.
                Err(QueueError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// How the reason of a job whose start the backend refused begins (the job is back in
/// `planned` and is tried again).
const START_REFUSED: &str = "not started: the executor refused the start";

/// How the reason of a running job begins while its executor cannot say how it is doing.
const WATCH_FAILED: &str = "state unknown: the executor could not be asked";

/// The longest pause before a refused start is tried again (shorter when replanning is).
const START_RETRY_MAX: Duration = Duration::from_secs(30);

/// What a running or about-to-start job occupies from `now` on: the rest of its planned pieces,
/// or (without a plan of pieces) its duration from its start. A job running past its expected
/// end still holds its GPUs for a minute (the next replan after it ends frees them).
fn holdings(job: &JobRecord, now: Timestamp) -> Vec<Held> {
    let Some(plan) = &job.plan else {
        return Vec::new();
    };
    let units = job.request.gpus.max(1);
    let hold = |a: Timestamp, b: Timestamp| Held {
        region: plan.region.clone(),
        window: [a.max(now), b],
        units,
    };
    let mut out: Vec<Held> = if job.request.interruptible && plan.pieces.len() > 1 {
        plan.pieces
            .iter()
            .filter(|[_, b]| *b > now)
            .map(|[a, b]| hold(*a, *b))
            .collect()
    } else {
        let start = job.started_at.unwrap_or(plan.start);
        let end = start + SignedDuration::from_secs(job.request.duration_secs);
        vec![hold(start, end)]
    };
    if out.iter().all(|h| h.window[1] <= now) {
        out = vec![hold(now, now + SignedDuration::from_secs(60))];
    }
    out
}

/// How the reason of a due job held back by an overrunning job begins.
const WAITING_FOR_CAPACITY: &str = "waiting for capacity";

/// The capacity of `zone` at `at` (the smallest override covering it), if limited.
fn limit_at(capacity: &kite_scheduler::Capacity, zone: &str, at: Timestamp) -> Option<u32> {
    let key = kite_core::ZoneKey::new(zone).ok()?;
    let base = capacity.of_region(&key)?;
    Some(
        capacity
            .overrides(&key)
            .iter()
            .filter(|(w, _)| w.start() <= at && at < w.end())
            .map(|(_, u)| *u)
            .fold(base, u32::min),
    )
}

/// Which jobs a planning round covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Pending jobs only, in the capacity the planned ones leave.
    New,
    /// Every job not yet started (and not about to).
    All,
}

/// Suspend or resume.
type Act = fn(&dyn Executor, &crate::executor::Handle) -> Result<(), ExecError>;

/// The planning and execution loop.
pub struct Service {
    /// Shared with the handlers.
    pub control: Arc<Control>,
    /// The planner.
    pub planner: Planner,
    /// How often to replan with a refreshed forecast.
    pub replan_every: Duration,
    /// How often to look at running and due jobs.
    pub tick: Duration,
}

impl Service {
    fn q(&self) -> &dyn Queue {
        self.control.queue.as_ref()
    }

    fn now(&self) -> Timestamp {
        self.control.now()
    }

    /// Shows `reason` on `job` without changing its state, once per distinct reason (not at
    /// every tick).
    fn note_reason(&self, job: &JobRecord, reason: &str, at: Timestamp) {
        if job.reason.as_deref() != Some(reason) {
            let _ = self
                .q()
                .transition(&job.id, job.state, job.state, reason, at, &mut |_| {});
        }
    }

    fn note(&self, e: impl std::fmt::Display) {
        tracing::warn!("{e}");
    }

    /// After a restart: reconciles every `running` job with its executor (finished while the
    /// service was down → recorded; still running → re-attached; gone → lost). Returns what it
    /// did, one line per job.
    pub fn reconcile(&self) -> Vec<String> {
        let mut out = Vec::new();
        let Ok(running) = self.q().list(&[State::Running]) else {
            return out;
        };
        for job in running {
            let line = match self.observe(&job, true) {
                Ok(Some(s)) => format!("{}: {s}", job.id),
                Ok(None) => format!("{}: re-attached", job.id),
                Err(e) => format!("{}: {e}", job.id),
            };
            out.push(line);
        }
        out
    }

    /// Looks at one running job; returns the terminal state it was moved to, if any.
    fn observe(&self, job: &JobRecord, after_restart: bool) -> Result<Option<State>, String> {
        let ex = self
            .control
            .executors
            .get(&job.executor)
            .ok_or_else(|| format!("no executor `{}` configured", job.executor))?;
        let status = match &job.handle {
            Some(h) => ex.status(h).map_err(|e| e.to_string())?,
            None => ExecState::Lost {
                reason: "the start was committed but the executor never returned a handle (the service stopped while starting it); not restarted".into(),
            },
        };
        let when = if after_restart {
            " (while kite serve was down)"
        } else {
            ""
        };
        let now = self.now();
        let (to, reason, code) = match status {
            ExecState::Exited { code } if code == 0 => (
                State::Succeeded,
                format!("exited with status 0{when}"),
                Some(code),
            ),
            ExecState::Exited { code } => (
                State::Failed,
                format!(
                    "exited with status {code}{when}{}",
                    match code {
                        127 => ": command not found",
                        126 => ": command could not be executed",
                        _ => "",
                    }
                ),
                Some(code),
            ),
            ExecState::Cancelled => (
                State::Cancelled,
                format!("cancelled in the executor{when}"),
                None,
            ),
            ExecState::Lost { reason } => (State::Lost, reason, None),
            // `running` is committed but the backend still holds the job: the service stopped
            // (or the call failed) between the commit and the start. Start it now; every
            // executor refuses a second start, so this cannot run it twice.
            ExecState::Waiting if job.handle.is_some() => {
                let Some(h) = &job.handle else {
                    return Ok(None);
                };
                match ex.start(h) {
                    Ok(h) => {
                        self.q()
                            .transition(
                                &job.id,
                                State::Running,
                                State::Running,
                                &format!(
                                    "started on {}: the start committed earlier had not reached it{when}",
                                    ex.name()
                                ),
                                now,
                                &mut |j| j.handle = Some(h.clone()),
                            )
                            .map_err(|e| e.to_string())?;
                    }
                    Err(ExecError::AlreadyStarted { .. }) => {}
                    Err(e) => return Err(e.to_string()),
                }
                return Ok(None);
            }
            ExecState::Running | ExecState::Suspended | ExecState::Waiting => {
                if after_restart {
                    self.q()
                        .transition(
                            &job.id,
                            State::Running,
                            State::Running,
                            "re-attached after a restart of kite serve",
                            now,
                            &mut |_| {},
                        )
                        .map_err(|e| e.to_string())?;
                } else {
                    self.pieces(job, &status);
                }
                return Ok(None);
            }
        };
        self.q()
            .transition(&job.id, State::Running, to, &reason, now, &mut |j| {
                j.exit_code = code;
                j.finished_at = Some(now);
            })
            .map_err(|e| e.to_string())?;
        Ok(Some(to))
    }

    /// Suspends an interruptible job between its pieces and resumes it at the next one.
    fn pieces(&self, job: &JobRecord, status: &ExecState) {
        let (Some(plan), Some(h)) = (&job.plan, &job.handle) else {
            return;
        };
        if !job.request.interruptible || plan.pieces.len() < 2 {
            return;
        }
        let Some(ex) = self.control.executors.get(&job.executor) else {
            return;
        };
        let now = self.now();
        let inside = plan.pieces.iter().any(|[a, b]| *a <= now && now < *b);
        let after_last = plan.pieces.last().is_some_and(|[_, b]| now >= *b);
        let (act, reason): (Act, &str) = match status {
            ExecState::Running if !inside && !after_last => {
                (|e, h| e.suspend(h), "suspended at the end of a piece")
            }
            ExecState::Suspended if inside || after_last => {
                (|e, h| e.resume(h), "resumed at the start of a piece")
            }
            _ => return,
        };
        match act(ex.as_ref(), h) {
            Ok(()) => {
                let _ = self.q().transition(
                    &job.id,
                    State::Running,
                    State::Running,
                    reason,
                    now,
                    &mut |_| {},
                );
            }
            Err(e) => self.note(e),
        }
    }

    /// Moves each running job on; returns whether any finished (capacity freed).
    fn poll(&self) -> bool {
        let Ok(running) = self.q().list(&[State::Running]) else {
            return false;
        };
        let mut freed = false;
        for job in running {
            let unwatched = job
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with(WATCH_FAILED));
            match self.observe(&job, false) {
                Ok(Some(_)) => freed = true,
                Ok(None) if unwatched => {
                    let _ = self.q().transition(
                        &job.id,
                        State::Running,
                        State::Running,
                        "the executor answers again; watching it",
                        self.now(),
                        &mut |_| {},
                    );
                }
                Ok(None) => {}
                Err(e) => {
                    self.note(format!("{}: {e}", job.id));
                    // Visible on the job, once per distinct error (not at every tick).
                    let reason = format!("{WATCH_FAILED} (asked again at each tick): {e}");
                    self.note_reason(&job, &reason, self.now());
                }
            }
        }
        freed
    }

    /// Starts every planned job whose time has come.
    fn dispatch(&self) {
        let now = self.now();
        let Ok(due) = self.q().due(now) else {
            return;
        };
        if due.is_empty() {
            return;
        }
        // Where capacity is limited: GPUs in use now. A job running past its planned end still
        // holds its GPUs, which the plans of the jobs due now did not count on.
        let mut in_use: HashMap<String, u32> = HashMap::new();
        if self.planner.limited() {
            for j in self.q().list(&[State::Running]).unwrap_or_default() {
                if let Some(p) = &j.plan {
                    *in_use.entry(p.region.clone()).or_default() += j.request.gpus.max(1);
                }
            }
        }
        for job in due {
            let Some(plan) = &job.plan else { continue };
            if plan.start > now {
                continue;
            }
            if now + SignedDuration::from_secs(job.request.duration_secs) > job.request.deadline {
                let _ = self.q().transition(
                    &job.id,
                    State::Planned,
                    State::MissedDeadline,
                    &format!(
                        "its planned start {} passed and it can no longer finish by {}",
                        plan.start, job.request.deadline
                    ),
                    now,
                    &mut |j| j.finished_at = Some(now),
                );
                continue;
            }
            let Some(ex) = self.control.executors.get(&job.executor).cloned() else {
                continue;
            };
            if !self.retry_due(&job, now) {
                continue;
            }
            let need = job.request.gpus.max(1);
            if let Some(limit) = limit_at(self.planner.capacity(), &plan.region, now) {
                let used = in_use.get(&plan.region).copied().unwrap_or(0);
                if used + need > limit {
                    let reason = format!(
                        "{WAITING_FOR_CAPACITY} in {}: {used} of {limit} GPUs are held by running jobs (one ran past its planned end); it starts when they finish or the next replan moves it",
                        plan.region
                    );
                    self.note_reason(&job, &reason, now);
                    continue;
                }
            }
            let attempt = job.attempt + 1;
            // Committed before the executor acts: never started twice.
            let committed = self.q().transition(
                &job.id,
                State::Planned,
                State::Running,
                &format!("starting (attempt {attempt}), planned for {}", plan.start),
                now,
                &mut |j| {
                    j.attempt = attempt;
                    j.started_at = Some(now);
                },
            );
            let Ok(job) = committed else { continue };
            *in_use.entry(plan.region.clone()).or_default() += need;
            let Some(handle) = job.handle.clone() else {
                continue;
            };
            match ex.start(&handle) {
                Ok(h) => {
                    let pid = h
                        .data
                        .get("pid")
                        .map(|p| format!(" (pid {p})"))
                        .unwrap_or_default();
                    let _ = self.q().transition(
                        &job.id,
                        State::Running,
                        State::Running,
                        &format!("started on {}{pid}", ex.name()),
                        self.now(),
                        &mut |j| j.handle = Some(h.clone()),
                    );
                }
                // It did start (an earlier try reached the backend before the answer was
                // lost): it is running, and is not started again.
                Err(ExecError::AlreadyStarted { evidence, .. }) => {
                    let _ = self.q().transition(
                        &job.id,
                        State::Running,
                        State::Running,
                        &format!("already started on {} ({evidence}); watching it", ex.name()),
                        self.now(),
                        &mut |_| {},
                    );
                }
                // Unreachable or refused: the backend did not start it. Back to `planned`, so
                // the next tick (after a pause) tries again; the deadline bounds the retries.
                Err(e @ ExecError::Backend { .. }) => {
                    let _ = self.q().transition(
                        &job.id,
                        State::Running,
                        State::Planned,
                        &format!("{START_REFUSED}, retried shortly: {e}"),
                        self.now(),
                        &mut |j| {
                            j.attempt = attempt - 1;
                            j.started_at = None;
                        },
                    );
                }
                Err(e) => {
                    let _ = self.q().transition(
                        &job.id,
                        State::Running,
                        State::Failed,
                        &format!("could not be started: {e}"),
                        self.now(),
                        &mut |j| j.finished_at = Some(now),
                    );
                }
            }
        }
    }

    /// Whether a job whose start the backend refused has waited long enough to be tried again.
    fn retry_due(&self, job: &JobRecord, now: Timestamp) -> bool {
        if !job
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with(START_REFUSED))
        {
            return true;
        }
        let pause = SignedDuration::try_from(self.replan_every.min(START_RETRY_MAX))
            .unwrap_or(SignedDuration::from_secs(30));
        now >= job.updated_at + pause
    }

    /// Plans jobs not yet started; hands new placements to executors, moves changed ones.
    /// [`Scope::New`] plans only pending jobs, around the capacity planned jobs hold;
    /// [`Scope::All`] replans every job not about to start.
    async fn replan(&self, scope: Scope) {
        let states: &[State] = match scope {
            Scope::New => &[State::Pending],
            Scope::All => &[State::Pending, State::Planned],
        };
        let Ok(jobs) = self.q().list(states) else {
            return;
        };
        if jobs.is_empty() {
            return;
        }
        let now = self.now();
        let mut open = Vec::new();
        // GPUs taken by running jobs, and by jobs about to start (their plans stay as they are).
        // Only where capacity is limited does what others hold matter (and is worth reading).
        let mut held: Vec<Held> = Vec::new();
        if self.planner.limited() {
            let holders: &[State] = match scope {
                Scope::New => &[State::Running, State::Planned],
                Scope::All => &[State::Running],
            };
            held = (self.q().list(holders).unwrap_or_default().iter())
                .flat_map(|j| holdings(j, now))
                .collect();
        }
        for job in jobs {
            let dur = SignedDuration::from_secs(job.request.duration_secs);
            if now + dur > job.request.deadline {
                let _ = self.q().transition(
                    &job.id,
                    job.state,
                    State::MissedDeadline,
                    &format!(
                        "not started by {}, so it cannot finish by its deadline {}",
                        job.request.deadline - dur,
                        job.request.deadline
                    ),
                    now,
                    &mut |j| j.finished_at = Some(now),
                );
                continue;
            }
            // About to start: leave its plan alone.
            if job
                .plan
                .as_ref()
                .is_some_and(|p| p.start <= now + SignedDuration::from_secs(2))
            {
                held.extend(holdings(&job, now));
                continue;
            }
            open.push(job);
        }
        if open.is_empty() {
            return;
        }
        let round = match self.planner.plan_around(&open, &held, now).await {
            Ok(r) => r,
            Err(e) => {
                self.note(format!(
                    "planning failed; jobs stay queued and are retried: {e}"
                ));
                return;
            }
        };
        for job in open {
            if let Some(plan) = round.placed.get(&job.id) {
                self.place(&job, plan.clone());
            } else if let Some(reason) = round.unplaced.get(&job.id)
                && job.state == State::Pending
                && job.reason.as_deref() != Some(reason)
            {
                let _ = self.q().transition(
                    &job.id,
                    State::Pending,
                    State::Pending,
                    &format!("not planned yet (retried at each replan): {reason}"),
                    now,
                    &mut |_| {},
                );
            }
        }
    }

    fn place(&self, job: &JobRecord, plan: crate::job::PlanInfo) {
        let now = self.now();
        let Some(ex) = self.control.executors.get(&job.executor).cloned() else {
            self.note(format!("{}: no executor `{}`", job.id, job.executor));
            return;
        };
        match (&job.state, &job.handle, &job.plan) {
            (State::Planned, Some(h), Some(old)) => {
                if old.start == plan.start && old.region == plan.region {
                    return;
                }
                match ex.reschedule(h, plan.start) {
                    Ok(h) => {
                        let reason = format!(
                            "replanned: start moved from {} to {} ({})",
                            old.start, plan.start, plan.region
                        );
                        let _ = self.q().transition(
                            &job.id,
                            State::Planned,
                            State::Planned,
                            &reason,
                            now,
                            &mut |j| {
                                j.plan = Some(plan.clone());
                                j.handle = Some(h.clone());
                            },
                        );
                    }
                    Err(e) => self.note(format!("{}: {e}", job.id)),
                }
            }
            _ => {
                let launch = Launch {
                    job_id: job.id.clone(),
                    attempt: job.attempt + 1,
                    command: job.request.command.clone(),
                    region: plan.region.clone(),
                    start: plan.start,
                    deadline: job.request.deadline,
                    duration_secs: job.request.duration_secs,
                    gpus: job.request.gpus,
                    team: job.request.team.clone(),
                    project: job.request.project.clone(),
                    plan: Some(plan.clone()),
                };
                match ex.submit(&launch) {
                    Ok(h) => {
                        let reason =
                            format!("planned: {} at {}; {}", plan.region, plan.start, plan.why);
                        let _ = self.q().transition(
                            &job.id,
                            job.state,
                            State::Planned,
                            &reason,
                            now,
                            &mut |j| {
                                j.plan = Some(plan.clone());
                                j.handle = Some(h.clone());
                            },
                        );
                    }
                    Err(e) => {
                        let _ = self.q().transition(
                            &job.id,
                            job.state,
                            job.state,
                            &format!("executor refused it, retried at the next replan: {e}"),
                            now,
                            &mut |_| {},
                        );
                    }
                }
            }
        }
    }

    /// Runs until the process ends: replans on arrivals, on capacity changes and every
    /// `replan_every`; starts due jobs; watches running ones.
    pub async fn run(&self, mut rx: mpsc::Receiver<Msg>) {
        let mut last_replan: Option<tokio::time::Instant> = None;
        // The caller reconciled before starting the loop if it led then.
        let mut leading = self.q().try_lead();
        // Pending jobs already replanned once: jobs other servers accepted into a shared queue
        // are planned when first seen, not at every tick.
        let mut seen_pending: std::collections::HashSet<String> = Default::default();
        loop {
            let mut waiters = Vec::new();
            // Something that may change existing plans (a cancel, capacity freed, the lead
            // taken over): replan everything. New jobs alone are planned around the others.
            let mut changed = false;
            let mut arrived = false;
            tokio::select! {
                m = rx.recv() => match m {
                    Some(Msg::Submitted(w)) => waiters.push(w),
                    Some(Msg::Changed) => changed = true,
                    None => return,
                },
                () = tokio::time::sleep(self.tick) => {}
            }
            while let Ok(m) = rx.try_recv() {
                match m {
                    Msg::Submitted(w) => waiters.push(w),
                    Msg::Changed => changed = true,
                }
            }
            // Several servers may share one queue (PostgreSQL): only the lease holder plans and
            // dispatches; the others accept jobs (already committed) and serve reads.
            if !self.q().try_lead() {
                leading = false;
                for w in waiters {
                    let _ = w.send(());
                }
                continue;
            }
            if !leading {
                // The lease just moved here: take over what the previous leader left running.
                for line in self.reconcile() {
                    tracing::warn!("took the lead; reconciled {line}");
                }
                leading = true;
                changed = true;
            }
            if let Ok(pending) = self.q().list(&[State::Pending]) {
                // Forget jobs that left `pending`, so the set stays as small as the backlog.
                let ids: std::collections::HashSet<String> =
                    pending.into_iter().map(|j| j.id).collect();
                seen_pending.retain(|id| ids.contains(id));
                for id in ids {
                    arrived |= seen_pending.insert(id);
                }
            }
            // A finished job frees capacity others may use; without limits it changes nothing.
            changed |= self.poll() && self.planner.limited();
            self.dispatch();
            let due = last_replan.is_none_or(|t| t.elapsed() >= self.replan_every);
            if changed || due {
                self.replan(Scope::All).await;
                last_replan = Some(tokio::time::Instant::now());
                self.dispatch();
            } else if arrived || !waiters.is_empty() {
                self.replan(Scope::New).await;
                self.dispatch();
            }
            for w in waiters {
                let _ = w.send(());
            }
        }
    }
}
