//! The job queue on PostgreSQL, for several kite servers against one database.
//!
//! Same semantics as [`SqliteQueue`](crate::queue::SqliteQueue): every transition is a
//! compare-and-set on the job's state plus an event row in one transaction, committed (with
//! `synchronous_commit = on`) before the call returns. The compare-and-set also checks a
//! revision number, so a change computed from a stale record is never written: two servers
//! racing to move the same job can never both succeed (the loser gets
//! [`QueueError::Conflict`], or retries when only a same-state event came in between).
//!
//! One server leads: it holds a session-level advisory lock ([`Queue::try_lead`]) and plans
//! and dispatches; the others accept submissions and serve reads. The lock dies with the
//! leader's connection, so another server takes over at its next `try_lead`.
//!
//! The `postgres` client runs its own Tokio runtime and panics when called from inside
//! another, and `kite serve` calls the queue from its runtime; so the connection lives on a
//! dedicated worker thread and callers hand it work over a channel and wait for the answer
//! (a blocking wait, as SQLite's fsync is).

use crate::job::{Event, JobRecord, State};
use crate::queue::{Queue, QueueError};
use kite_core::Timestamp;
use postgres::{Client, Config, NoTls};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The schema this kite reads and writes; a database with a newer one is refused.
pub const SCHEMA_VERSION: i32 = 1;

/// Advisory-lock key pair of the leader lease (`pg_try_advisory_lock(int4, int4)`).
const LEAD_KEY: (i32, i32) = (0x6b69_7465, 1); // "kite", 1
/// Advisory-lock key pair that serialises migrations of servers starting at once.
const MIGRATE_KEY: (i32, i32) = (0x6b69_7465, 2);
/// Gives up after this many lost races on one job (each loss means another change committed).
const MAX_RACES: usize = 100;

/// Migrations, by the version they bring the schema to. Applied in order, each in the
/// transaction that records it.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "
CREATE TABLE kite_job (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    planned_start BIGINT,
    updated_at BIGINT NOT NULL,
    rev BIGINT NOT NULL DEFAULT 0,
    record TEXT NOT NULL
);
CREATE INDEX kite_job_state ON kite_job(state, planned_start);
CREATE TABLE kite_event (
    seq BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL,
    at TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX kite_event_job ON kite_event(job_id, seq);
",
)];

/// Work for the worker thread; it answers over a channel the closure captured.
type Work = Box<dyn FnOnce(&mut Session) + Send>;

/// A job queue in a PostgreSQL database, shared by any number of kite servers.
pub struct PgQueue {
    /// The URL with its password replaced by `***`, for messages.
    shown: String,
    tx: Option<Mutex<mpsc::Sender<Work>>>,
    worker: Option<JoinHandle<()>>,
}

/// The worker thread's state: the connection (re-opened after it breaks) and whether this
/// session holds the leader lease.
struct Session {
    config: Config,
    shown: String,
    client: Option<Client>,
    leading: bool,
}

impl Session {
    fn err(&self, message: impl Into<String>) -> QueueError {
        QueueError::Db {
            path: self.shown.clone(),
            message: message.into(),
        }
    }

    fn pg(&self, e: &postgres::Error) -> QueueError {
        self.err(describe(e))
    }

    /// The connection, re-opened if the last one broke (a lost connection also lost the lease).
    fn client(&mut self) -> Result<&mut Client, QueueError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            self.leading = false;
            let client = open(&self.config, &self.shown)?;
            self.client = Some(client);
        }
        match self.client.as_mut() {
            Some(c) => Ok(c),
            None => Err(QueueError::Db {
                path: self.shown.clone(),
                message: "no connection".into(),
            }),
        }
    }

    /// Runs `f` on the connection; a read that failed because the connection broke is retried
    /// once on a new one (writes are not: their commit may have happened).
    fn run<T>(
        &mut self,
        retry: bool,
        f: &mut dyn FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, QueueError> {
        let first = f(self.client()?);
        match first {
            Ok(v) => Ok(v),
            Err(_) if retry && self.client.as_ref().is_none_or(Client::is_closed) => {
                f(self.client()?).map_err(|e| self.pg(&e))
            }
            Err(e) if retry && e.as_db_error().is_none() && e.code().is_none() => {
                // An I/O error the client has not noticed as closed yet: start afresh.
                self.client = None;
                self.leading = false;
                f(self.client()?).map_err(|e| self.pg(&e))
            }
            Err(e) => {
                let err = self.pg(&e);
                if e.as_db_error().is_none() {
                    // Broken or unusable: reconnect next time.
                    self.client = None;
                    self.leading = false;
                }
                Err(err)
            }
        }
    }
}

/// The message of a PostgreSQL error, with the server's text (the client's own `Display` says
/// only "db error").
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{}: {}", db.severity(), db.message());
        if let Some(d) = db.detail() {
            s.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("; hint: {h}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    s
}

/// `url` with any password replaced by `***` (URL or `key=value` form).
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => format!("{userinfo}@{host}"),
            },
            None => authority.to_owned(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let query: Vec<String> = query
                    .split('&')
                    .map(|kv| match kv.split_once('=') {
                        Some(("password", _)) => "password=***".to_owned(),
                        _ => kv.to_owned(),
                    })
                    .collect();
                format!("{path}?{}", query.join("&"))
            }
            None => tail.to_owned(),
        };
        return format!("{scheme}://{authority}{tail}");
    }
    url.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens a session: connects, turns synchronous commit on (acknowledged means on disk) and
/// checks nothing else.
fn open(config: &Config, shown: &str) -> Result<Client, QueueError> {
    let mut client = config.connect(NoTls).map_err(|e| QueueError::Db {
        path: shown.to_owned(),
        message: format!(
            "cannot connect: {}; check that PostgreSQL runs and accepts this host (listen_addresses, pg_hba.conf), and the user, password and database in the URL (TLS is not supported: use sslmode=disable or prefer, on a private network or a tunnel)",
            describe(&e)
        ),
    })?;
    client
        .batch_execute("SET synchronous_commit = on")
        .map_err(|e| QueueError::Db {
            path: shown.to_owned(),
            message: describe(&e),
        })?;
    Ok(client)
}

/// Brings the schema to [`SCHEMA_VERSION`], refusing a newer one. Servers starting at once
/// take turns (a transaction-level advisory lock).
fn migrate(client: &mut Client, shown: &str) -> Result<(), QueueError> {
    let db = |e: postgres::Error| QueueError::Db {
        path: shown.to_owned(),
        message: describe(&e),
    };
    let mut tx = client.transaction().map_err(db)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&MIGRATE_KEY.0, &MIGRATE_KEY.1],
    )
    .map_err(db)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS kite_schema (version INTEGER NOT NULL)")
        .map_err(db)?;
    let version: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM kite_schema", &[])
        .map_err(db)?
        .get(0);
    if version > SCHEMA_VERSION {
        return Err(QueueError::Db {
            path: shown.to_owned(),
            message: format!(
                "schema version {version} is newer than this kite's ({SCHEMA_VERSION}); upgrade kite (every server sharing the database needs the same or a newer version)"
            ),
        });
    }
    for (to, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > version) {
        tx.batch_execute(sql).map_err(db)?;
        tx.execute("DELETE FROM kite_schema", &[]).map_err(db)?;
        tx.execute("INSERT INTO kite_schema (version) VALUES ($1)", &[to])
            .map_err(db)?;
    }
    tx.commit().map_err(db)
}

impl PgQueue {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db` or the
    /// `key=value` form), creating or upgrading the schema. A schema from a newer kite is
    /// refused; errors name the URL with its password redacted.
    pub fn connect(url: &str) -> Result<PgQueue, QueueError> {
        let shown = redact(url);
        let mut config = Config::from_str(url).map_err(|e| QueueError::Db {
            path: shown.clone(),
            message: format!(
                "not a PostgreSQL URL ({}); write postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                describe(&e)
            ),
        })?;
        // Fail within seconds, and notice a dead peer, rather than hang the service loop.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("kite serve");

        // Connect and migrate on the worker thread too: the client must never run on a runtime
        // thread, and `connect` may be called from one.
        let (tx, rx) = mpsc::channel::<Work>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), QueueError>>();
        let worker_shown = shown.clone();
        let worker = std::thread::Builder::new()
            .name("kite-postgres".into())
            .spawn(move || {
                let mut session = Session {
                    config,
                    shown: worker_shown.clone(),
                    client: None,
                    leading: false,
                };
                let ready = session.client().and_then(|c| migrate(c, &worker_shown));
                let ok = ready.is_ok();
                let _ = ready_tx.send(ready);
                if !ok {
                    return;
                }
                // Ends when the queue is dropped; dropping the client closes the session,
                // which releases the lease.
                while let Ok(work) = rx.recv() {
                    work(&mut session);
                }
            })
            .map_err(|e| QueueError::Db {
                path: shown.clone(),
                message: format!("cannot start the database thread: {e}"),
            })?;
        let ready = ready_rx.recv().map_err(|_| QueueError::Db {
            path: shown.clone(),
            message: "the database thread stopped while connecting".into(),
        });
        let queue = PgQueue {
            shown,
            tx: Some(Mutex::new(tx)),
            worker: Some(worker),
        };
        ready??;
        Ok(queue)
    }

    /// The URL, password redacted.
    pub fn url(&self) -> &str {
        &self.shown
    }

    fn err(&self, message: impl Into<String>) -> QueueError {
        QueueError::Db {
            path: self.shown.clone(),
            message: message.into(),
        }
    }

    /// Runs `f` on the worker thread and waits for its answer.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<T, QueueError> + Send + 'static,
    ) -> Result<T, QueueError> {
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        let work: Work = Box::new(move |s| {
            let _ = reply_tx.send(f(s));
        });
        let gone = || {
            self.err(
                "the database thread stopped (a previous operation panicked); restart kite serve",
            )
        };
        {
            let tx = self.tx.as_ref().ok_or_else(gone)?;
            let tx = tx.lock().map_err(|_| gone())?;
            tx.send(work).map_err(|_| gone())?;
        }
        reply_rx.recv().map_err(|_| gone())?
    }

    /// The server process id of this queue's session (`pg_backend_pid()`), e.g. to find it in
    /// `pg_stat_activity`.
    pub fn backend_pid(&self) -> Result<i32, QueueError> {
        self.call(|s| {
            s.run(true, &mut |c| {
                Ok(c.query_one("SELECT pg_backend_pid()", &[])?.get(0))
            })
        })
    }

    /// Gives up the leader lease if held (another server takes over at its next `try_lead`).
    pub fn resign(&self) -> Result<(), QueueError> {
        self.call(|s| {
            if !s.leading {
                return Ok(());
            }
            s.leading = false;
            s.run(false, &mut |c| {
                c.execute(
                    "SELECT pg_advisory_unlock($1, $2)",
                    &[&LEAD_KEY.0, &LEAD_KEY.1],
                )
                .map(|_| ())
            })
        })
    }

    fn decode(shown: &str, text: &str) -> Result<JobRecord, QueueError> {
        serde_json::from_str(text).map_err(|e| QueueError::Db {
            path: shown.to_owned(),
            message: format!("unreadable job record: {e}"),
        })
    }

    /// The job's record and revision.
    fn fetch(&self, id: &str) -> Result<Option<(JobRecord, i64)>, QueueError> {
        let id = id.to_owned();
        let row: Option<(String, i64)> = self.call(move |s| {
            s.run(true, &mut |c| {
                Ok(
                    c.query_opt("SELECT record, rev FROM kite_job WHERE id = $1", &[&id])?
                        .map(|r| (r.get(0), r.get(1))),
                )
            })
        })?;
        row.map(|(text, rev)| Ok((Self::decode(&self.shown, &text)?, rev)))
            .transpose()
    }
}

impl Drop for PgQueue {
    fn drop(&mut self) {
        // Closing the channel ends the worker, which closes the session; wait so the lease is
        // released by the time the queue is gone.
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn insert_event(
    tx: &mut postgres::Transaction<'_>,
    id: &str,
    at: Timestamp,
    from: Option<State>,
    to: State,
    reason: &str,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO kite_event (job_id, at, from_state, to_state, reason) VALUES ($1, $2, $3, $4, $5)",
        &[&id, &at.to_string(), &from.map(State::as_str), &to.as_str(), &reason],
    )?;
    Ok(())
}

impl Queue for PgQueue {
    fn insert(&self, job: &JobRecord) -> Result<(), QueueError> {
        let record = serde_json::to_string(job).map_err(|e| self.err(e.to_string()))?;
        let job = job.clone();
        self.call(move |s| {
            s.run(false, &mut |c| {
                let mut tx = c.transaction()?;
                tx.execute(
                    "INSERT INTO kite_job (id, state, planned_start, updated_at, record) VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &job.id,
                        &job.state.as_str(),
                        &job.plan.as_ref().map(|p| p.start.as_second()),
                        &job.updated_at.as_second(),
                        &record,
                    ],
                )?;
                insert_event(&mut tx, &job.id, job.submitted_at, None, job.state, "submitted")?;
                tx.commit()
            })
        })
    }

    fn get(&self, id: &str) -> Result<Option<JobRecord>, QueueError> {
        Ok(self.fetch(id)?.map(|(job, _)| job))
    }

    fn list(&self, states: &[State]) -> Result<Vec<JobRecord>, QueueError> {
        let states: Vec<String> = states.iter().map(|s| s.as_str().to_owned()).collect();
        let rows: Vec<String> = self.call(move |s| {
            s.run(true, &mut |c| {
                let rows = if states.is_empty() {
                    c.query("SELECT record FROM kite_job ORDER BY seq", &[])?
                } else {
                    c.query(
                        "SELECT record FROM kite_job WHERE state = ANY($1) ORDER BY seq",
                        &[&states],
                    )?
                };
                Ok(rows.iter().map(|r| r.get(0)).collect())
            })
        })?;
        rows.iter().map(|t| Self::decode(&self.shown, t)).collect()
    }

    fn due(&self, now: Timestamp) -> Result<Vec<JobRecord>, QueueError> {
        let now = now.as_second();
        let rows: Vec<String> = self.call(move |s| {
            s.run(true, &mut |c| {
                let rows = c.query(
                    "SELECT record FROM kite_job WHERE state = $1 AND planned_start <= $2 \
                     ORDER BY planned_start, seq",
                    &[&State::Planned.as_str(), &now],
                )?;
                Ok(rows.iter().map(|r| r.get(0)).collect())
            })
        })?;
        rows.iter().map(|t| Self::decode(&self.shown, t)).collect()
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
        crate::queue::check_transition(id, from, to)?;
        // Optimistic: read, change here (the closure cannot go to the worker thread), then
        // write only if neither the state nor the revision moved meanwhile.
        for _ in 0..MAX_RACES {
            let (mut job, rev) = self
                .fetch(id)?
                .ok_or_else(|| QueueError::NotFound(id.into()))?;
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
            let record = serde_json::to_string(&job).map_err(|e| self.err(e.to_string()))?;
            let (id_, reason_) = (id.to_owned(), reason.to_owned());
            let planned_start = job.plan.as_ref().map(|p| p.start.as_second());
            let won = self.call(move |s| {
                s.run(false, &mut |c| {
                    let mut tx = c.transaction()?;
                    let n = tx.execute(
                        "UPDATE kite_job SET state = $3, planned_start = $4, updated_at = $5, record = $6, rev = rev + 1 \
                         WHERE id = $1 AND state = $2 AND rev = $7",
                        &[
                            &id_,
                            &from.as_str(),
                            &to.as_str(),
                            &planned_start,
                            &at.as_second(),
                            &record,
                            &rev,
                        ],
                    )?;
                    if n == 0 {
                        // Another server changed it first; nothing written.
                        tx.rollback()?;
                        return Ok(false);
                    }
                    insert_event(&mut tx, &id_, at, Some(from), to, &reason_)?;
                    tx.commit()?;
                    Ok(true)
                })
            })?;
            if won {
                return Ok(job);
            }
        }
        Err(self.err(format!(
            "job `{id}`: changed by another server {MAX_RACES} times while this one tried to move it to {to}; try again"
        )))
    }

    fn events(&self, id: &str) -> Result<Vec<Event>, QueueError> {
        type Row = (String, Option<String>, String, String);
        let id = id.to_owned();
        let rows: Vec<Row> = self.call(move |s| {
            s.run(true, &mut |c| {
                let rows = c.query(
                    "SELECT at, from_state, to_state, reason FROM kite_event WHERE job_id = $1 ORDER BY seq",
                    &[&id],
                )?;
                Ok(rows
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                    .collect())
            })
        })?;
        rows.into_iter()
            .map(
                |(at, from, to, reason): (String, Option<String>, String, String)| {
                    crate::queue::event_from_row(&at, from.as_deref(), &to, reason)
                        .map_err(|m| self.err(m))
                },
            )
            .collect()
    }

    fn counts(&self) -> Result<Vec<(State, u64)>, QueueError> {
        let rows: Vec<(String, i64)> = self.call(|s| {
            s.run(true, &mut |c| {
                let rows = c.query("SELECT state, COUNT(*) FROM kite_job GROUP BY state", &[])?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            })
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| Some((State::parse(&s)?, u64::try_from(n).ok()?)))
            .collect())
    }

    fn try_lead(&self) -> bool {
        let led = self.call(|s| {
            if s.leading {
                // Still ours? (A broken session lost it; the query then fails or says no.)
                let held = s.run(false, &mut |c| {
                    Ok(c.query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                         AND pid = pg_backend_pid() AND classid = $1::int4::oid \
                         AND objid = $2::int4::oid AND objsubid = 2 AND granted)",
                        &[&LEAD_KEY.0, &LEAD_KEY.1],
                    )?
                    .get::<_, bool>(0))
                });
                match held {
                    Ok(true) => return Ok(true),
                    Ok(false) | Err(_) => s.leading = false,
                }
            }
            let got = s.run(true, &mut |c| {
                Ok(c.query_one(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[&LEAD_KEY.0, &LEAD_KEY.1],
                )?
                .get::<_, bool>(0))
            })?;
            s.leading = got;
            Ok(got)
        });
        match led {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("not leading: {e}");
                false
            }
        }
    }
}
