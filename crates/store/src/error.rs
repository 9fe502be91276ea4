//! The store's error type. Messages are written for users: they say what happened and, where
//! there is one, what to do about it.

use kite_core::{Signal, Timestamp, ZoneKey};
use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The directory that should hold the database could not be created.
    #[error("cannot create the directory {} for the store: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite could not open (or set up) the database file.
    #[error("cannot open the store at {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer kite with a schema this one does not know.
    #[error(
        "the store has schema version {found}, but this kite understands up to version \
         {supported}: upgrade kite, or point it at another store file"
    )]
    NewerSchema {
        /// The version found in `PRAGMA user_version`.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A point would overlap a stored point of the same series with a different start.
    /// The store never deletes data to make room, so the whole upsert is refused.
    #[error(
        "{zone} {signal} from `{source_label}`: the new point at {start} overlaps the stored \
         point {stored_start}..{stored_end}; the two data sets disagree on the time grid. \
         Import the new data under another --source label, or remove the old data first"
    )]
    Overlap {
        /// The zone.
        zone: ZoneKey,
        /// The signal.
        signal: Signal,
        /// The data source label.
        source_label: String,
        /// Start of the new point.
        start: Timestamp,
        /// Start of the stored point it collides with.
        stored_start: Timestamp,
        /// End of the stored point it collides with.
        stored_end: Timestamp,
    },
    /// A row in the database cannot be turned back into core types (a damaged or hand-edited
    /// database).
    #[error("the store holds data kite cannot read ({what}); the database may be damaged")]
    Corrupt {
        /// What could not be read.
        what: String,
    },
    /// A run with this id is already stored (see [`Store::create_run`](crate::Store::create_run)).
    #[error("a run with id `{id}` is already in the store: give the new run another id")]
    RunExists {
        /// The run id.
        id: String,
    },
    /// No stored run has this id.
    #[error("no run with id `{id}` in the store: check the id against the list of stored runs")]
    RunNotFound {
        /// The run id.
        id: String,
    },
    /// The run already finished as succeeded or failed; a finished run is never rewritten.
    #[error("run `{id}` already finished ({status}); its record is final and is not rewritten")]
    RunFinished {
        /// The run id.
        id: String,
        /// The stored status.
        status: String,
    },
    /// Any other SQLite error (disk full, database locked by another writer, ...).
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}
