//! The real service loop ([`Service::run`]) for the tests that drive it: a SQLite queue in a temp
//! dir, one executor for every region, the loop ticking fast on its own runtime, and the commits
//! a planning round and dispatch make, for tests that give jobs their plans directly.
#![allow(dead_code, clippy::unwrap_used)]

use kite_core::{Signal, SignedDuration, SystemClock, Timestamp};
use kite_engine::IntensityService;
use kite_scheduler::Capacity;
use kite_service::{
    Control, Executor, Executors, JobRecord, JobRequest, Launch, PlanInfo, Planner, Queue, Service,
    SqliteQueue, State,
};
use std::sync::Arc;
use std::time::Duration;

/// The service loop over a SQLite queue; stops when dropped.
pub struct Rig {
    _dir: tempfile::TempDir,
    pub control: Arc<Control>,
    loop_task: tokio::task::JoinHandle<()>,
    _rt: tokio::runtime::Runtime,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.loop_task.abort();
    }
}

/// A queue in a temp dir, `executor` for every region, and the service loop running with a fast
/// tick, `replan_every` (the pause before a refused start is tried again) and a capacity limit
/// per region if given.
pub fn rig(executor: Arc<dyn Executor>, replan_every: Duration, capacity: Option<Capacity>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let queue: Arc<dyn Queue> = Arc::new(SqliteQueue::open(&dir.path().join("q.sqlite3")).unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let control = Arc::new(Control {
        queue,
        executors: Executors::single(executor),
        tx,
    });
    // No intensity source: the tests plan their jobs themselves, and the loop never replans a
    // job whose start has come.
    let intensity = IntensityService::new(
        Vec::new(),
        Err("not used".into()),
        Vec::new(),
        Arc::new(SystemClock),
    );
    let service = Service {
        control: control.clone(),
        planner: Planner::new(
            Arc::new(intensity),
            Signal::AVERAGE_LIFECYCLE,
            capacity.clone().unwrap_or_else(Capacity::unlimited),
            capacity.is_some(),
        ),
        replan_every,
        tick: Duration::from_millis(50),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let loop_task = rt.spawn(async move { service.run(rx).await });
    Rig {
        _dir: dir,
        control,
        loop_task,
        _rt: rt,
    }
}

/// Accepts a job in DE through [`Control::accept`], hands it to its executor and commits
/// `planned` with `pieces` (what a planning round does, with windows of seconds); its deadline
/// is 10 minutes from now.
pub fn plan_job(
    rig: &Rig,
    command: &[&str],
    interruptible: bool,
    pieces: Vec<[Timestamp; 2]>,
) -> JobRecord {
    let deadline = rig.control.now() + SignedDuration::from_secs(600);
    plan_job_until(rig, command, interruptible, pieces, deadline)
}

/// [`plan_job`] with a `deadline`.
pub fn plan_job_until(
    rig: &Rig,
    command: &[&str],
    interruptible: bool,
    pieces: Vec<[Timestamp; 2]>,
    deadline: Timestamp,
) -> JobRecord {
    let now = rig.control.now();
    let secs: i64 = pieces.iter().map(|[a, b]| (*b - *a).as_secs()).sum();
    let job = rig
        .control
        .accept(JobRequest {
            command: command.iter().map(|s| s.to_string()).collect(),
            duration_secs: secs,
            deadline,
            earliest_start: now,
            interruptible,
            regions: vec!["DE".into()],
            gpus: 0,
            team: None,
            project: None,
            power_w: None,
        })
        .unwrap();
    let plan = PlanInfo {
        policy: "test".into(),
        planned_at: now,
        region: "DE".into(),
        start: pieces[0][0],
        end: pieces[pieces.len() - 1][1],
        pieces,
        energy_kwh: 0.0,
        emissions_g: 0.0,
        run_now_emissions_g: None,
        saved_percent: None,
        why: "pieces given by the test".into(),
    };
    let ex = rig.control.executors.get(&job.executor).unwrap().clone();
    let handle = ex
        .submit(&Launch {
            job_id: job.id.clone(),
            attempt: 1,
            command: job.request.command.clone(),
            region: "DE".into(),
            start: plan.start,
            deadline: job.request.deadline,
            duration_secs: secs,
            gpus: 0,
            team: None,
            project: None,
            plan: Some(plan.clone()),
        })
        .unwrap();
    rig.control
        .queue
        .transition(
            &job.id,
            State::Pending,
            State::Planned,
            "planned by the test",
            now,
            &mut |j| {
                j.plan = Some(plan.clone());
                j.handle = Some(handle.clone());
            },
        )
        .unwrap()
}

/// Commits `running` (attempt 1) as dispatch does before it asks the executor to start: the
/// state kite serve is left in when it is killed between the two.
pub fn commit_running(rig: &Rig, id: &str, now: Timestamp) {
    rig.control
        .queue
        .transition(
            id,
            State::Planned,
            State::Running,
            "starting (attempt 1)",
            now,
            &mut |j| {
                j.attempt = 1;
                j.started_at = Some(now);
            },
        )
        .unwrap();
}

/// The job's events, `from → to: reason`.
pub fn reasons(rig: &Rig, id: &str) -> Vec<String> {
    rig.control
        .queue
        .events(id)
        .unwrap()
        .into_iter()
        .map(|e| {
            format!(
                "{} → {}: {}",
                e.from.map_or("-", |s| s.as_str()),
                e.to,
                e.reason
            )
        })
        .collect()
}
