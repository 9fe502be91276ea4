//! The local executor passes the shared executor conformance suite (real processes).
#![allow(clippy::unwrap_used)]

use kite_core::{Clock, SystemClock};
use kite_service::{Executor, LocalExecutor, conformance};

#[test]
fn the_local_executor_is_conformant() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let factory =
        move || -> Box<dyn Executor> { Box::new(LocalExecutor::new(&root, None).unwrap()) };
    let failures = conformance::run_all(&factory, SystemClock.now(), "t");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A finished job's process is reaped: once its exit status is read, it is not left a zombie
/// child of the service (a 10-minute soak of `kite serve` left one per job before).
#[test]
fn finished_local_jobs_leave_no_zombies() {
    use kite_service::ExecState;
    let dir = tempfile::tempdir().unwrap();
    let ex = LocalExecutor::new(dir.path(), None).unwrap();
    let now = SystemClock.now();
    let mut handles = Vec::new();
    for i in 0..5 {
        let h = ex
            .submit(&conformance::launch(&format!("z{i}"), "true", now))
            .unwrap();
        handles.push(ex.start(&h).unwrap());
    }
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for h in &handles {
        while !matches!(ex.status(h).unwrap(), ExecState::Exited { code: 0 }) {
            assert!(std::time::Instant::now() < until, "job did not finish");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    // The wrapper writes `exit` just before it exits: give the last ones a moment, and ask
    // once more, as the service's next tick would.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = ex.status(&handles[0]).unwrap();
    for h in &handles {
        let pid = h.data["pid"].as_u64().unwrap();
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().next())
                    .map(String::from)
            });
        assert_ne!(state.as_deref(), Some("Z"), "job process {pid} is a zombie");
    }
}
