//! kite's local store: intensity observations in an embedded SQLite database.
//!
//! [`Store::upsert`] is idempotent: writing the same points twice changes nothing, and a changed
//! value (or duration) for the same series and start replaces the stored one. Each call is one
//! transaction, so a batch lands entirely or not at all. [`Store::query`] rebuilds validated
//! [`IntensitySeries`] with their [`SignalMeta`](kite_core::SignalMeta), gaps left as gaps.
//!
//! Architecture invariants:
//! - the points stored for one series never overlap (an upsert that would make them overlap is
//!   refused, see [`StoreError::Overlap`]), so every stored series reads back as a valid
//!   [`IntensitySeries`];
//! - times are stored as whole UTC epoch seconds (sub-second parts of a start are dropped);
//! - the schema version is `PRAGMA user_version`, migrated forward on open (see `schema.rs`).
//!
//! The store also keeps measured runs (`runs.rs`): [`Store::create_run`],
//! [`Store::append_intervals`], [`Store::finish_run`], [`Store::mark_interrupted`],
//! [`Store::runs`] and [`Store::run`]. The tracker writes a run incrementally, so a crash loses
//! at most the interval being measured.

mod error;
mod query;
mod runs;
mod schema;
mod upsert;

pub use error::StoreError;
pub use runs::{
    IntervalBatch, NewRun, PhasePrediction, RunDevice, RunFinish, RunInterval, RunPhase,
    RunReading, RunSignal, RunStatus, RunSummary, RunTotals, StoredRun,
};

use kite_core::{IntensitySeries, Resolution, Signal, TimeWindow, Timestamp, ZoneKey};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What an upsert did, row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpsertReport {
    /// Points that were not stored before.
    pub inserted: usize,
    /// Points stored before with another value or duration, now replaced.
    pub updated: usize,
    /// Points stored before exactly as given.
    pub unchanged: usize,
}

/// One entry of [`Store::catalog`]: what the store holds for a zone, signal, source and
/// provenance kind.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSeries {
    /// The zone.
    pub zone: ZoneKey,
    /// The signal.
    pub signal: Signal,
    /// The source label, e.g. `electricity_maps` or `import:DE`.
    pub source: String,
    /// `measured`, `forecast` or `estimated`.
    pub provenance: String,
    /// The coarsest resolution among the stored series of this entry.
    pub resolution: Resolution,
    /// Start of the first stored point.
    pub first: Timestamp,
    /// End of the last stored point.
    pub last_end: Timestamp,
    /// Number of stored points.
    pub rows: u64,
    /// The latest `fetched_at` of any upsert that carried this data; `None` if never known.
    pub last_fetched: Option<Timestamp>,
}

/// One source's measured data for a zone and signal: what [`Store::measured_extents`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredExtent {
    /// The source label.
    pub source: String,
    /// The coarsest resolution among its stored series.
    pub resolution: Resolution,
    /// Start of the first stored point.
    pub first: Timestamp,
    /// End of the last stored point.
    pub last_end: Timestamp,
}

/// How long a statement waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Switches the connection to WAL and returns the journal mode now in force.
///
/// Two processes opening a fresh file at once (`kite run` and a `kite runs` beside it) both
/// hold a shared lock while asking for the exclusive one the switch needs; SQLite answers one
/// of them `SQLITE_BUSY` at once, without calling the busy handler, to break the deadlock. So
/// that one retries until the other has finished the switch or [`BUSY_TIMEOUT`] passes.
fn wal_mode(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// A handle on the store database.
///
/// Durability: the database runs in WAL mode with `synchronous=NORMAL`. A committed upsert
/// survives the process being killed (`kill -9`) at any point; an upsert interrupted before its
/// commit leaves no trace. A power loss or OS crash may lose the last few committed
/// transactions (never corrupt the file), which is acceptable for data that can be fetched or
/// imported again.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (creating if needed, parent directory included) the store at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        // Before any other statement: switching to WAL, or meeting a writer that is closing the
        // file (its last-connection checkpoint holds an exclusive lock), must wait, not fail.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // WAL: readers never block the writer, and a commit is one sequential append.
        let mode = wal_mode(&conn).map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode}, WAL is needed (is the file on a network file system?)"
            ))));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        Store::set_up(conn, Some(path.to_path_buf()))
    }

    /// Caps this connection's page cache at `kib` KiB (the default is 64 MiB, for imports): a
    /// connection that stays open in a server to read a few aggregates needs far less.
    pub fn limit_cache(&self, kib: u32) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "cache_size", -i64::from(kib))?;
        Ok(())
    }

    /// A store that lives only as long as the handle (for tests and dry runs).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::set_up(Connection::open_in_memory()?, None)
    }

    fn set_up(mut conn: Connection, path: Option<PathBuf>) -> Result<Store, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A second process writing (a fetch while an import runs) waits instead of failing.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // 64 MiB of page cache keeps a large import's b-tree pages in memory.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.set_prepared_statement_cache_capacity(32);
        schema::migrate(&mut conn)?;
        Ok(Store { conn, path })
    }

    /// Writes `series` in one transaction: either every point lands or none does.
    ///
    /// Idempotent: re-importing or re-fetching never duplicates; a changed value or duration for
    /// the same series and start is updated. A series is identified by zone, signal, source,
    /// provenance (with forecast model and issue time, or estimation method) and resolution.
    /// Fails with [`StoreError::Overlap`] (writing nothing) if a point would overlap a stored
    /// point of the same series that starts at another time.
    pub fn upsert(&mut self, series: &[IntensitySeries]) -> Result<UpsertReport, StoreError> {
        upsert::upsert(&mut self.conn, series)
    }

    /// The stored points of `zone` and `signal` that overlap `window`, one series per
    /// (source, provenance kind), ordered by source then measured/forecast/estimated.
    /// `source` restricts the answer to source labels starting with it (`import:` matches every
    /// import; a full label matches that source). Groups with no point in the window
    /// are left out. Each series' `fetched_at` is the latest write time of the rows returned.
    ///
    /// When several stored series share a group (several forecast issues, or resolutions), the
    /// newest one wins where they share a start, and a point that would overlap an earlier kept
    /// point is dropped, so the result is always a valid series.
    pub fn query(
        &self,
        zone: &ZoneKey,
        signal: Signal,
        window: TimeWindow,
        source: Option<&str>,
    ) -> Result<Vec<IntensitySeries>, StoreError> {
        query::query(&self.conn, zone, signal, window, source)
    }

    /// The measured data of `zone` and `signal`, one entry per source: the same extents as the
    /// matching [`Store::catalog`] entries, without counting every row of the store.
    pub fn measured_extents(
        &self,
        zone: &ZoneKey,
        signal: Signal,
    ) -> Result<Vec<MeasuredExtent>, StoreError> {
        query::measured_extents(&self.conn, zone, signal)
    }

    /// What the store holds, per (zone, signal, source, provenance kind), sorted that way.
    pub fn catalog(&self) -> Result<Vec<StoredSeries>, StoreError> {
        query::catalog(&self.conn)
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}
