//! [`TrackerError`]: why a run could not be started, stopped, rebuilt or written out. Messages
//! name the field or file, the value, and the fix.

use std::path::PathBuf;

/// Everything that can go wrong in the tracker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// A configuration value is out of range.
    #[error("invalid tracker setting `{field}` = {value}: {fix}")]
    InvalidConfig {
        /// The field, e.g. `interval`.
        field: &'static str,
        /// The value given, as text.
        value: String,
        /// What is accepted.
        fix: &'static str,
    },
    /// No meter could start, so there is nothing to measure with.
    #[error(
        "no energy meter could start: {errors}. Use a meter that works here (e.g. the power model)"
    )]
    NoMeter {
        /// Every meter's error, joined.
        errors: String,
    },
    /// The store refused a write or a read.
    #[error(transparent)]
    Store(#[from] kite_store::StoreError),
    /// The sampling thread could not be started.
    #[error("cannot start the sampling thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The sampling thread died; the run's persisted intervals are kept in the store.
    #[error(
        "the sampling thread stopped unexpectedly; the intervals persisted so far are in the \
         store and the run will be marked interrupted on the next start"
    )]
    ThreadDied,
    /// Reading or writing an `emissions.csv` file failed.
    #[error("cannot write {}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A stored run cannot be turned back into a record.
    #[error("stored run `{run_id}` cannot be read back: {what}")]
    StoredRun {
        /// The run.
        run_id: String,
        /// What is wrong with it.
        what: String,
    },
}
