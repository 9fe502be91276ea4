//! The PostgreSQL queue against a real PostgreSQL server (started per test on 127.0.0.1 from the
//! Debian `postgresql` package; see `kite_test_support::postgres`): the same behaviour as the
//! SQLite queue (one conformance function run on both), two servers racing on one job, the
//! leader lease, durability across a crash, migrations and connection errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kite_core::{Clock, SystemClock, Timestamp};
use kite_service::queue_pg::redact;
use kite_service::{
    JobRecord, JobRequest, PgQueue, PlanInfo, Queue, QueueError, SqliteQueue, State,
};
use kite_test_support::postgres::{PASSWORD, Postgres};
use std::sync::{Arc, Barrier};

fn now() -> Timestamp {
    Timestamp::from_second(SystemClock.now().as_second()).unwrap()
}

fn job(id: &str, at: Timestamp) -> JobRecord {
    JobRecord {
        id: id.into(),
        submitted_at: at,
        request: JobRequest {
            command: vec!["true".into()],
            duration_secs: 60,
            deadline: at + kite_core::SignedDuration::from_hours(24),
            earliest_start: at,
            interruptible: false,
            regions: vec!["DE".into()],
            gpus: 1,
            team: Some("ml".into()),
            project: None,
            power_w: Some(300.0),
        },
        state: State::Pending,
        reason: Some("accepted; waiting to be planned".into()),
        updated_at: at,
        plan: None,
        executor: "local".into(),
        handle: None,
        attempt: 0,
        started_at: None,
        finished_at: None,
        exit_code: None,
    }
}

fn plan(at: Timestamp) -> PlanInfo {
    PlanInfo {
        policy: "best-window".into(),
        planned_at: at,
        region: "DE".into(),
        start: at + kite_core::SignedDuration::from_hours(2),
        end: at + kite_core::SignedDuration::from_hours(3),
        pieces: vec![],
        energy_kwh: 0.3,
        emissions_g: 42.0,
        run_now_emissions_g: Some(84.0),
        saved_percent: Some(50.0),
        why: "lower intensity".into(),
    }
}

/// The queue contract, on any backend: round trips, events, filters, compare-and-set,
/// invalid transitions, counts. `p` prefixes ids so backends can share nothing by accident.
fn queue_conformance(q: &dyn Queue, p: &str) {
    let t0 = now();
    let a = job(&format!("{p}A"), t0);
    let b = job(&format!("{p}B"), t0);
    q.insert(&a).unwrap();
    q.insert(&b).unwrap();
    assert_eq!(q.get(&a.id).unwrap(), Some(a.clone()), "insert then get");
    assert_eq!(q.get(&format!("{p}nope")).unwrap(), None);
    assert!(q.insert(&a).is_err(), "a duplicate id is refused");

    let ev = q.events(&a.id).unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].from, ev[0].to), (None, State::Pending));
    assert_eq!(ev[0].reason, "submitted");
    assert_eq!(ev[0].at, t0);

    // Planned, with the change applied and the reason and time recorded.
    let t1 = t0 + kite_core::SignedDuration::from_secs(5);
    let planned = q
        .transition(
            &a.id,
            State::Pending,
            State::Planned,
            "planned: DE",
            t1,
            &mut |j| j.plan = Some(plan(t0)),
        )
        .unwrap();
    assert_eq!(planned.state, State::Planned);
    assert_eq!(planned.plan, Some(plan(t0)));
    assert_eq!(planned.updated_at, t1);
    assert_eq!(planned.reason.as_deref(), Some("planned: DE"));
    assert_eq!(
        q.get(&a.id).unwrap(),
        Some(planned.clone()),
        "committed as returned"
    );

    // Compare-and-set: the state moved, so the same change again conflicts and writes nothing.
    match q.transition(
        &a.id,
        State::Pending,
        State::Planned,
        "again",
        t1,
        &mut |_| {},
    ) {
        Err(QueueError::Conflict {
            expected, actual, ..
        }) => assert_eq!((expected, actual), (State::Pending, State::Planned)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Not in the state machine: refused before touching the database.
    assert!(matches!(
        q.transition(
            &a.id,
            State::Planned,
            State::Succeeded,
            "x",
            t1,
            &mut |_| {}
        ),
        Err(QueueError::Invalid { .. })
    ));
    assert!(matches!(
        q.transition(
            &format!("{p}nope"),
            State::Pending,
            State::Planned,
            "x",
            t1,
            &mut |_| {}
        ),
        Err(QueueError::NotFound(_))
    ));
    assert_eq!(
        q.events(&a.id).unwrap().len(),
        2,
        "failed changes record nothing"
    );

    // Self-transition: an event, same state.
    q.transition(
        &a.id,
        State::Planned,
        State::Planned,
        "replanned",
        t1,
        &mut |_| {},
    )
    .unwrap();
    let run = q
        .transition(
            &a.id,
            State::Planned,
            State::Running,
            "starting",
            t1,
            &mut |j| {
                j.attempt += 1;
                j.started_at = Some(t1);
            },
        )
        .unwrap();
    assert_eq!(run.attempt, 1);
    q.transition(
        &a.id,
        State::Running,
        State::Succeeded,
        "exited 0",
        t1,
        &mut |j| j.exit_code = Some(0),
    )
    .unwrap();
    for to in State::ALL {
        assert!(
            q.transition(&a.id, State::Succeeded, to, "x", t1, &mut |_| {})
                .is_err(),
            "nothing leaves a terminal state ({to})"
        );
    }
    let ev: Vec<_> = q
        .events(&a.id)
        .unwrap()
        .into_iter()
        .map(|e| (e.from, e.to, e.reason))
        .collect();
    assert_eq!(
        ev,
        vec![
            (None, State::Pending, "submitted".into()),
            (Some(State::Pending), State::Planned, "planned: DE".into()),
            (Some(State::Planned), State::Planned, "replanned".into()),
            (Some(State::Planned), State::Running, "starting".into()),
            (Some(State::Running), State::Succeeded, "exited 0".into()),
        ]
    );

    // Lists: oldest first, filtered by state.
    let ids = |v: Vec<JobRecord>| v.into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(ids(q.list(&[]).unwrap()), vec![a.id.clone(), b.id.clone()]);
    assert_eq!(ids(q.list(&[State::Pending]).unwrap()), vec![b.id.clone()]);
    assert_eq!(
        ids(q.list(&[State::Succeeded, State::Pending]).unwrap()),
        vec![a.id.clone(), b.id.clone()]
    );
    assert!(q.list(&[State::Running]).unwrap().is_empty());
    let mut counts = q.counts().unwrap();
    counts.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(counts, vec![(State::Pending, 1), (State::Succeeded, 1)]);
}

/// Waits up to 10 s for `f` to hold.
fn eventually(mut f: impl FnMut() -> bool, what: &str) {
    let t = std::time::Instant::now();
    while !f() {
        assert!(t.elapsed().as_secs() < 10, "{what}: not within 10 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn fresh_db(pg: &Postgres, name: &str) -> String {
    pg.create_db(name).unwrap();
    pg.url(name)
}

#[test]
fn the_sqlite_queue_passes_the_queue_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let q = SqliteQueue::open(&dir.path().join("jobs.sqlite3")).unwrap();
    queue_conformance(&q, "s");
    assert!(q.try_lead(), "an SQLite queue always leads");
}

#[test]
fn the_postgres_queue_passes_the_queue_conformance_suite() {
    let pg = Postgres::start();
    eprintln!("PostgreSQL started in {:?}", pg.startup);
    let q = PgQueue::connect(&fresh_db(&pg, "conf")).unwrap();
    queue_conformance(&q, "p");
    // Another connection (another server) sees exactly the same.
    let other = PgQueue::connect(&pg.url("conf")).unwrap();
    assert_eq!(other.list(&[]).unwrap(), q.list(&[]).unwrap());
}

#[test]
fn two_servers_racing_on_one_job_exactly_one_wins() {
    let pg = Postgres::start();
    let url = fresh_db(&pg, "race");
    let a = Arc::new(PgQueue::connect(&url).unwrap());
    let b = Arc::new(PgQueue::connect(&url).unwrap());
    let t0 = now();
    const JOBS: usize = 30;
    for i in 0..JOBS {
        let j = job(&format!("J{i:03}"), t0);
        a.insert(&j).unwrap();
        a.transition(
            &j.id,
            State::Pending,
            State::Planned,
            "planned",
            t0,
            &mut |j| j.plan = Some(plan(t0)),
        )
        .unwrap();
    }
    // Both "servers" try to start every job at the same moment.
    let barrier = Arc::new(Barrier::new(2));
    let racer = |q: Arc<PgQueue>, name: &'static str| {
        let barrier = barrier.clone();
        std::thread::spawn(move || {
            let mut won = Vec::new();
            for i in 0..JOBS {
                barrier.wait();
                let r = q.transition(
                    &format!("J{i:03}"),
                    State::Planned,
                    State::Running,
                    &format!("started by {name}"),
                    t0,
                    &mut |j| j.attempt += 1,
                );
                match r {
                    Ok(_) => won.push(i),
                    Err(QueueError::Conflict { actual, .. }) => {
                        assert_eq!(actual, State::Running)
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            won
        })
    };
    let (wa, wb) = (racer(a.clone(), "a"), racer(b.clone(), "b"));
    let (wa, wb) = (wa.join().unwrap(), wb.join().unwrap());
    assert_eq!(wa.len() + wb.len(), JOBS, "every job started exactly once");
    for i in 0..JOBS {
        let id = format!("J{i:03}");
        assert!(
            wa.contains(&i) != wb.contains(&i),
            "{id}: exactly one winner"
        );
        let j = b.get(&id).unwrap().unwrap();
        assert_eq!((j.state, j.attempt), (State::Running, 1), "{id}");
        let starts = a
            .events(&id)
            .unwrap()
            .into_iter()
            .filter(|e| e.to == State::Running)
            .count();
        assert_eq!(starts, 1, "{id}: one start event");
    }

    // Same-state changes from both servers at once: none is lost (the revision check makes the
    // loser re-read and re-apply its change).
    let barrier = Arc::new(Barrier::new(2));
    let bump = |q: Arc<PgQueue>| {
        let barrier = barrier.clone();
        std::thread::spawn(move || {
            barrier.wait();
            for _ in 0..20 {
                q.transition(
                    "J000",
                    State::Running,
                    State::Running,
                    "tick",
                    t0,
                    &mut |j| j.attempt += 1,
                )
                .unwrap();
            }
        })
    };
    let (x, y) = (bump(a.clone()), bump(b.clone()));
    x.join().unwrap();
    y.join().unwrap();
    assert_eq!(a.get("J000").unwrap().unwrap().attempt, 41);
    assert_eq!(
        a.events("J000")
            .unwrap()
            .iter()
            .filter(|e| e.reason == "tick")
            .count(),
        40
    );
}

#[test]
fn one_server_leads_and_the_lease_moves_when_its_connection_dies() {
    let pg = Postgres::start();
    let url = fresh_db(&pg, "lease");
    let a = PgQueue::connect(&url).unwrap();
    let b = PgQueue::connect(&url).unwrap();
    let c = PgQueue::connect(&url).unwrap();
    assert!(a.try_lead(), "the first to ask leads");
    assert!(!b.try_lead() && !c.try_lead(), "only one leads");
    assert!(a.try_lead(), "the leader keeps leading");
    assert!(!b.try_lead());

    // Kill the leader's session (as a crash or network cut would): the lease is free.
    let pid = a.backend_pid().unwrap();
    assert_eq!(
        pg.sql("lease", &format!("SELECT pg_terminate_backend({pid})"))
            .unwrap(),
        "t"
    );
    eventually(|| b.try_lead(), "the killed leader's lease is taken over");
    assert!(!c.try_lead(), "still only one");
    assert!(!a.try_lead(), "the old leader reconnects as a follower");
    // ...and still serves: its session was replaced.
    a.insert(&job("after-kill", now())).unwrap();
    assert!(b.get("after-kill").unwrap().is_some());
    assert_ne!(a.backend_pid().unwrap(), pid);

    // A leader that stops (drop closes its session) hands over too; so does resigning.
    // (The server ends the closed session a moment after the client hung up.)
    drop(b);
    eventually(|| c.try_lead(), "the dropped leader's lease is taken over");
    c.resign().unwrap();
    assert!(a.try_lead());
    assert!(!c.try_lead());
    let holders = pg
        .sql(
            "lease",
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted",
        )
        .unwrap();
    assert_eq!(holders, "1", "one lock, held once");
}

#[test]
fn an_acknowledged_insert_survives_a_crash_of_the_database() {
    let mut pg = Postgres::start();
    let url = fresh_db(&pg, "durable");
    let q = PgQueue::connect(&url).unwrap();
    let j = job("durable-1", now());
    q.insert(&j).unwrap();
    q.transition(
        &j.id,
        State::Pending,
        State::Planned,
        "planned",
        now(),
        &mut |r| r.plan = Some(plan(now())),
    )
    .unwrap();
    // Visible from a fresh connection at once...
    let fresh = PgQueue::connect(&url).unwrap();
    assert_eq!(fresh.get(&j.id).unwrap().unwrap().state, State::Planned);
    drop(fresh);
    // ...and after the server is killed without a checkpoint (recovered from the WAL).
    pg.crash_and_restart().unwrap();
    let fresh = PgQueue::connect(&url).unwrap();
    let got = fresh.get(&j.id).unwrap().unwrap();
    assert_eq!(got.state, State::Planned);
    assert_eq!(fresh.events(&j.id).unwrap().len(), 2);
    // The old handle reconnects by itself for reads.
    assert_eq!(q.get(&j.id).unwrap().unwrap().state, State::Planned);
}

#[test]
fn migrations_run_once_and_a_newer_schema_is_refused() {
    let pg = Postgres::start();
    let url = fresh_db(&pg, "schema");
    // Two servers starting at once both migrate safely.
    let (x, y) = (url.clone(), url.clone());
    let t1 = std::thread::spawn(move || PgQueue::connect(&x).map(|_| ()));
    let t2 = std::thread::spawn(move || PgQueue::connect(&y).map(|_| ()));
    t1.join().unwrap().unwrap();
    t2.join().unwrap().unwrap();
    assert_eq!(
        pg.sql(
            "schema",
            "SELECT string_agg(version::text, ',') FROM kite_schema"
        )
        .unwrap(),
        "1"
    );
    pg.sql("schema", "UPDATE kite_schema SET version = 99")
        .unwrap();
    let e = PgQueue::connect(&url)
        .err()
        .expect("a newer schema is refused")
        .to_string();
    assert!(e.contains("schema version 99 is newer"), "{e}");
    assert!(e.contains("upgrade kite"), "{e}");
    assert!(!e.contains(PASSWORD), "password redacted: {e}");
}

#[test]
fn connection_failures_name_the_url_without_its_password_and_the_fix() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://kite:{PASSWORD}@127.0.0.1:{port}/kite");
    let e = PgQueue::connect(&url).err().expect("refused").to_string();
    assert!(
        e.contains(&format!("postgres://kite:***@127.0.0.1:{port}/kite")),
        "{e}"
    );
    assert!(!e.contains(PASSWORD), "{e}");
    assert!(
        e.contains("cannot connect") && e.contains("pg_hba.conf"),
        "{e}"
    );

    let e = PgQueue::connect("postgres://[bad")
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("not a PostgreSQL URL"), "{e}");

    // A wrong password, against a real server.
    let pg = Postgres::start();
    let bad = pg.url("postgres").replace(PASSWORD, "wrong-password");
    let e = PgQueue::connect(&bad).err().expect("refused").to_string();
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(!e.contains("wrong-password"), "{e}");
}

#[test]
fn passwords_are_redacted_in_both_url_forms() {
    assert_eq!(
        redact("postgres://u:s3cret@db.example:5432/kite?sslmode=disable&password=x"),
        "postgres://u:***@db.example:5432/kite?sslmode=disable&password=***"
    );
    assert_eq!(redact("postgresql://u@h/db"), "postgresql://u@h/db");
    assert_eq!(
        redact("host=h user=u password=s3cret dbname=kite"),
        "host=h user=u password=*** dbname=kite"
    );
}

/// `kite serve` calls the queue from inside its Tokio runtime (current-thread); the `postgres`
/// client would panic there if it ran on that thread.
#[tokio::test]
async fn the_queue_works_from_inside_a_tokio_runtime() {
    let pg = Postgres::start();
    let url = fresh_db(&pg, "rt");
    let q = PgQueue::connect(&url).unwrap();
    let j = job("rt-1", now());
    q.insert(&j).unwrap();
    assert_eq!(q.get(&j.id).unwrap(), Some(j.clone()));
    assert!(q.try_lead());
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    q.transition(
        &j.id,
        State::Pending,
        State::Cancelled,
        "cancelled",
        now(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(q.counts().unwrap(), vec![(State::Cancelled, 1)]);
    drop(q);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_works_from_a_multi_thread_runtime() {
    let pg = Postgres::start();
    let url = fresh_db(&pg, "mt");
    let q = Arc::new(PgQueue::connect(&url).unwrap());
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let q = q.clone();
            tokio::spawn(async move { q.insert(&job(&format!("mt-{i}"), now())).unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(q.list(&[State::Pending]).unwrap().len(), 4);
}
