//! The database schema and its migrations. The schema version lives in `PRAGMA user_version`;
//! migration `i` (0-based) takes the database from version `i` to `i + 1`, so a new migration is
//! appended, never edited. All pending migrations run in one transaction.
//!
//! Layout:
//! - `series`: one row per stored series identity: zone, signal, source, provenance kind,
//!   resolution, and the forecast model / issue time or estimation method where they apply.
//!   `last_fetched` is the latest `fetched_at` of any upsert that carried the series.
//! - `observation`: one row per point, keyed by `(series_id, start)`, clustered on that key
//!   (`WITHOUT ROWID`) so a range query is one contiguous b-tree scan. Times are UTC epoch
//!   seconds; `fetched_at` is when the stored value was written (inserted or last changed).
//! - `run` and its `run_*` children (version 2): measured runs, written incrementally by the
//!   tracker; `runs.rs` documents them. Their times are UTC epoch **milliseconds** (`*_ms`),
//!   because sampling intervals are shorter than a second.

use crate::error::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// `forecast_issued_at` stand-in for "unknown" in the identity index: SQLite treats NULLs as
/// distinct in unique indexes, and `i64::MIN` is outside every timestamp jiff can represent.
pub(crate) const NO_ISSUE_TIME: i64 = i64::MIN;

pub(crate) const MIGRATIONS: &[&str] = &[
    // Version 1.
    "CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        zone TEXT NOT NULL,
        signal TEXT NOT NULL,
        source TEXT NOT NULL,
        provenance TEXT NOT NULL CHECK (provenance IN ('measured', 'forecast', 'estimated')),
        resolution_secs INTEGER NOT NULL CHECK (resolution_secs > 0),
        forecast_model TEXT NOT NULL DEFAULT '',
        forecast_issued_at INTEGER,
        estimation_method TEXT NOT NULL DEFAULT '',
        last_fetched INTEGER
    ) STRICT;
    CREATE UNIQUE INDEX series_identity ON series (
        zone, signal, source, provenance, resolution_secs, forecast_model,
        ifnull(forecast_issued_at, -9223372036854775808), estimation_method
    );
    CREATE TABLE observation (
        series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
        start INTEGER NOT NULL,
        duration INTEGER NOT NULL CHECK (duration > 0),
        value REAL NOT NULL CHECK (value >= 0),
        fetched_at INTEGER,
        PRIMARY KEY (series_id, start)
    ) STRICT, WITHOUT ROWID;",
    // Version 2: measured runs (see `runs.rs` for the meaning of every column).
    "CREATE TABLE run (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        experiment TEXT,
        zone TEXT NOT NULL,
        pid INTEGER,
        tracker_pid INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
        ended_ms INTEGER,
        exit_code INTEGER,
        reason TEXT,
        last_end_ms INTEGER
    ) STRICT;
    CREATE INDEX run_by_status ON run (status);
    CREATE TABLE run_arg (
        run_id TEXT NOT NULL REFERENCES run (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        arg TEXT NOT NULL,
        PRIMARY KEY (run_id, idx)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE run_param (
        run_id TEXT NOT NULL REFERENCES run (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE run_device (
        run_id TEXT NOT NULL REFERENCES run (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        component TEXT NOT NULL CHECK (component IN ('cpu', 'ram', 'gpu')),
        device TEXT NOT NULL,
        method TEXT NOT NULL CHECK (method IN ('measured', 'modelled')),
        sensor TEXT NOT NULL DEFAULT '',
        method_detail TEXT NOT NULL,
        PRIMARY KEY (run_id, idx)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE run_signal (
        run_id TEXT NOT NULL REFERENCES run (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        zone TEXT NOT NULL,
        signal TEXT NOT NULL,
        source TEXT NOT NULL,
        provenance TEXT NOT NULL CHECK (provenance IN ('measured', 'forecast', 'estimated')),
        forecast_model TEXT NOT NULL DEFAULT '',
        forecast_issued_at INTEGER,
        estimation_method TEXT NOT NULL DEFAULT '',
        fetched_at INTEGER,
        PRIMARY KEY (run_id, idx)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE run_phase (
        run_id TEXT NOT NULL REFERENCES run (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        predicted_kwh REAL,
        predicted_g REAL,
        predicted_secs REAL,
        PRIMARY KEY (run_id, idx)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE run_interval (
        run_id TEXT NOT NULL REFERENCES run (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        intensity REAL CHECK (intensity >= 0),
        signal_idx INTEGER,
        filled_ms INTEGER NOT NULL DEFAULT 0,
        tree_cpu_s REAL NOT NULL DEFAULT 0,
        busy_cpu_s REAL NOT NULL DEFAULT 0,
        capacity_cpu_s REAL NOT NULL DEFAULT 0,
        tree_rss_bytes INTEGER NOT NULL DEFAULT 0,
        used_memory_bytes INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, seq),
        CHECK (end_ms >= start_ms)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE run_reading (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        device_idx INTEGER NOT NULL,
        device_j REAL NOT NULL CHECK (device_j >= 0),
        attributed_j REAL NOT NULL CHECK (attributed_j >= 0),
        PRIMARY KEY (run_id, seq, device_idx),
        FOREIGN KEY (run_id, seq) REFERENCES run_interval (run_id, seq) ON DELETE CASCADE,
        FOREIGN KEY (run_id, device_idx) REFERENCES run_device (run_id, idx)
    ) STRICT, WITHOUT ROWID;",
];

/// The schema version this build writes.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema up to [`current_version`]; refuses a database from a newer kite.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock first, so two processes opening a fresh file do not both
    // try to create the tables.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let supported = current_version();
    if found > supported {
        return Err(StoreError::NewerSchema { found, supported });
    }
    for sql in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        tx.execute_batch(sql)?;
    }
    if found != supported {
        tx.pragma_update(None, "user_version", supported)?;
    }
    tx.commit()?;
    Ok(())
}
