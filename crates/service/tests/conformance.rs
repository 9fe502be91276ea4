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
