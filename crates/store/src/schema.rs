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

use crate::error::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// `forecast_issued_at` stand-in for "unknown" in the identity index: SQLite treats NULLs as
/// distinct in unique indexes, and `i64::MIN` is outside every timestamp jiff can represent.
pub(crate) const NO_ISSUE_TIME: i64 = i64::MIN;

const MIGRATIONS: &[&str] = &[
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
