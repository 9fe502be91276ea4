//! The durable job queue: the [`Queue`] trait and its SQLite implementation.
//!
//! The PostgreSQL backend (`queue_pg.rs`) implements the same trait for several servers sharing
//! one database; all SQL of the SQLite backend is in this file. A job row keeps the
//! columns the service filters on (state, planned start) and the rest as JSON; every change is
//! a compare-and-set on the state plus an event row, in one transaction.

use crate::job::{Event, JobRecord, State};
use kite_core::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database failed (disk full, locked, corrupt); nothing was changed.
    #[error("job queue {path}: {message}")]
    Db {
        /// The database.
        path: String,
        /// What failed.
        message: String,
    },
    /// No such job.
    #[error("no job `{0}`; `kite jobs` lists them")]
    NotFound(String),
    /// The job was not in the expected state (someone else moved it first).
    #[error("job `{id}` is {actual}, not {expected}")]
    Conflict {
        /// The job.
        id: String,
        /// The state the change expected.
        expected: State,
        /// The state found.
        actual: State,
    },
    /// The transition is not in the state machine.
    #[error("job `{id}`: {from} → {to} is not a valid transition")]
    Invalid {
        /// The job.
        id: String,
        /// From.
        from: State,
        /// To.
        to: State,
    },
}

/// A durable store of jobs and their events. Every method returns only after its change is
/// durable.
pub trait Queue: Send + Sync {
    /// Stores a new job and its `submitted` event.
    fn insert(&self, job: &JobRecord) -> Result<(), QueueError>;
    /// One job.
    fn get(&self, id: &str) -> Result<Option<JobRecord>, QueueError>;
    /// Jobs in any of `states` (all when empty), oldest first.
    fn list(&self, states: &[State]) -> Result<Vec<JobRecord>, QueueError>;
    /// Planned jobs whose planned start is at or before `now`, earliest first: what the service
    /// starts at each tick (read through the `(state, planned_start)` index, not by listing
    /// every planned job).
    fn due(&self, now: Timestamp) -> Result<Vec<JobRecord>, QueueError>;
    /// Moves `id` from `from` to `to` if it is still in `from`, applying `change` to the record
    /// and recording an event with `reason`, atomically. Returns the new record.
    fn transition(
        &self,
        id: &str,
        from: State,
        to: State,
        reason: &str,
        at: Timestamp,
        change: &mut dyn FnMut(&mut JobRecord),
    ) -> Result<JobRecord, QueueError>;
    /// A job's events, oldest first.
    fn events(&self, id: &str) -> Result<Vec<Event>, QueueError>;
    /// Number of jobs per state.
    fn counts(&self) -> Result<Vec<(State, u64)>, QueueError>;
    /// Whether this server may plan and dispatch now. Several servers can share one queue
    /// (PostgreSQL); one at a time leads, the others only accept jobs and serve reads. Call it
    /// at every tick of the service loop: the lease can move when a leader's connection dies.
    /// A queue only one server can open (SQLite) always leads.
    fn try_lead(&self) -> bool {
        true
    }
}

/// Refuses a transition the state table does not allow, before either backend touches storage.
pub(crate) fn check_transition(id: &str, from: State, to: State) -> Result<(), QueueError> {
    if from.allows(to) {
        Ok(())
    } else {
        Err(QueueError::Invalid {
            id: id.into(),
            from,
            to,
        })
    }
}

/// An event row as both backends store it (`at` RFC 3339, states by name); the error says
/// which column is unreadable.
pub(crate) fn event_from_row(
    at: &str,
    from: Option<&str>,
    to: &str,
    reason: String,
) -> Result<Event, String> {
    Ok(Event {
        at: at.parse().map_err(|e| format!("event time `{at}`: {e}"))?,
        from: from.and_then(State::parse),
        to: State::parse(to).ok_or_else(|| format!("unknown state `{to}`"))?,
        reason,
    })
}

/// The embedded queue: one SQLite file in WAL mode with `synchronous=FULL`.
pub struct SqliteQueue {
    path: PathBuf,
    conn: Mutex<Connection>,
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS job (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    planned_start INTEGER,
    updated_at INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_state ON job(state, planned_start);
CREATE TABLE IF NOT EXISTS event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    at TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_job ON event(job_id, seq);
";

impl SqliteQueue {
    /// Opens (creating if needed) the queue at `path`. A queue from a newer kite is refused.
    pub fn open(path: &Path) -> Result<SqliteQueue, QueueError> {
        let db = |e: rusqlite::Error| QueueError::Db {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| QueueError::Db {
                path: path.display().to_string(),
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        let conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)?;
        if version > SCHEMA_VERSION {
            return Err(QueueError::Db {
                path: path.display().to_string(),
                message: format!(
                    "schema version {version} is newer than this kite's ({SCHEMA_VERSION}); upgrade kite"
                ),
            });
        }
        conn.execute_batch(SCHEMA).map_err(db)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(db)?;
        Ok(SqliteQueue {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> QueueError {
        QueueError::Db {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, QueueError>,
    ) -> Result<T, QueueError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| self.err("a previous operation panicked; restart kite serve"))?;
        f(&mut conn)
    }

    fn decode(&self, text: &str) -> Result<JobRecord, QueueError> {
        serde_json::from_str(text).map_err(|e| self.err(format!("unreadable job record: {e}")))
    }
}

fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    at: Timestamp,
    from: Option<State>,
    to: State,
    reason: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO event (job_id, at, from_state, to_state, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            at.to_string(),
            from.map(State::as_str),
            to.as_str(),
            reason
        ],
    )?;
    Ok(())
}

impl Queue for SqliteQueue {
    fn insert(&self, job: &JobRecord) -> Result<(), QueueError> {
        let record = serde_json::to_string(job).map_err(|e| self.err(e))?;
        self.with(|conn| {
            let tx = conn.transaction().map_err(|e| self.err(e))?;
            tx.execute(
                "INSERT INTO job (id, state, planned_start, updated_at, record) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    job.id,
                    job.state.as_str(),
                    job.plan.as_ref().map(|p| p.start.as_second()),
                    job.updated_at.as_second(),
                    record
                ],
            )
            .map_err(|e| self.err(e))?;
            insert_event(&tx, &job.id, job.submitted_at, None, job.state, "submitted")
                .map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))
        })
    }

    fn get(&self, id: &str) -> Result<Option<JobRecord>, QueueError> {
        let text: Option<String> = self.with(|conn| {
            conn.query_row("SELECT record FROM job WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))
        })?;
        text.map(|t| self.decode(&t)).transpose()
    }

    fn list(&self, states: &[State]) -> Result<Vec<JobRecord>, QueueError> {
        // Filtered in SQL (the `job_state` index): the service lists pending and planned jobs
        // at every tick, and must not read every finished job's record to do so.
        let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let sql = if names.is_empty() {
            "SELECT record FROM job ORDER BY seq".to_owned()
        } else {
            format!(
                "SELECT record FROM job WHERE state IN ({}) ORDER BY seq",
                vec!["?"; names.len()].join(", ")
            )
        };
        let rows: Vec<String> = self.with(|conn| {
            let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(&names), |r| r.get(0))
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
        })?;
        rows.iter().map(|r| self.decode(r)).collect()
    }

    fn due(&self, now: Timestamp) -> Result<Vec<JobRecord>, QueueError> {
        let rows: Vec<String> = self.with(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT record FROM job WHERE state = ?1 AND planned_start <= ?2 \
                     ORDER BY planned_start, seq",
                )
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map(
                    rusqlite::params![State::Planned.as_str(), now.as_second()],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
        })?;
        rows.iter().map(|r| self.decode(r)).collect()
    }

    fn transition(
        &self,
        id: &str,
        from: State,
        to: State,
        reason: &str,
        at: Timestamp,
        change: &mut dyn FnMut(&mut JobRecord),
    ) -> Result<JobRecord, QueueError> {
        check_transition(id, from, to)?;
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| self.err(e))?;
            let text: String = tx
                .query_row("SELECT record FROM job WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))?
                .ok_or_else(|| QueueError::NotFound(id.into()))?;
            let mut job = self.decode(&text)?;
            if job.state != from {
                return Err(QueueError::Conflict {
                    id: id.into(),
                    expected: from,
                    actual: job.state,
                });
            }
            change(&mut job);
            job.state = to;
            job.updated_at = at;
            job.reason = Some(reason.to_owned());
            let record = serde_json::to_string(&job).map_err(|e| self.err(e))?;
            tx.execute(
                "UPDATE job SET state = ?2, planned_start = ?3, updated_at = ?4, record = ?5 WHERE id = ?1",
                params![
                    id,
                    to.as_str(),
                    job.plan.as_ref().map(|p| p.start.as_second()),
                    at.as_second(),
                    record
                ],
            )
            .map_err(|e| self.err(e))?;
            insert_event(&tx, id, at, Some(from), to, reason).map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))?;
            Ok(job)
        })
    }

    fn events(&self, id: &str) -> Result<Vec<Event>, QueueError> {
        type Row = (String, Option<String>, String, String);
        let rows: Vec<Row> = self.with(|conn| {
            let mut stmt = conn
                .prepare("SELECT at, from_state, to_state, reason FROM event WHERE job_id = ?1 ORDER BY seq")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
        })?;
        rows.into_iter()
            .map(|(at, from, to, reason)| {
                event_from_row(&at, from.as_deref(), &to, reason).map_err(|m| self.err(m))
            })
            .collect()
    }

    fn counts(&self) -> Result<Vec<(State, u64)>, QueueError> {
        let rows: Vec<(String, i64)> = self.with(|conn| {
            let mut stmt = conn
                .prepare("SELECT state, COUNT(*) FROM job GROUP BY state")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| Some((State::parse(&s)?, u64::try_from(n).ok()?)))
            .collect())
    }
}
