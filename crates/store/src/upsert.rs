//! The write path. For each series: find or create its `series` row, read the stored points
//! its new points could touch (one range scan), merge the two in memory to classify every new
//! point as inserted, updated or unchanged and to check that nothing overlaps, then write only
//! what changed. A fresh range (the common bulk-import case) skips the merge and is a run of
//! sorted multi-row `INSERT`s on one cached statement. The transaction is `IMMEDIATE`, so the
//! range read and the writes see the same data even with another writer waiting.
//!
//! Why not one `INSERT ... ON CONFLICT DO UPDATE ... WHERE value <> excluded.value` per row:
//! the merge is needed anyway for the overlap check, and once it has run every row's fate is
//! known, so the counts are exact for free, unchanged rows cost no write at all (a re-import is
//! a read), and new rows can take the cheaper multi-row plain insert.

use crate::StoreError;
use crate::UpsertReport;
use crate::schema::NO_ISSUE_TIME;
use kite_core::{IntensitySeries, Point, Provenance, Timestamp};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

pub(crate) fn upsert(
    conn: &mut Connection,
    series: &[IntensitySeries],
) -> Result<UpsertReport, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut report = UpsertReport::default();
    for s in series.iter().filter(|s| !s.is_empty()) {
        upsert_series(&tx, s, &mut report)?;
    }
    // On any error above, dropping `tx` rolls the whole batch back.
    tx.commit()?;
    Ok(report)
}

/// The columns that identify a stored series, as stored.
pub(crate) struct Identity<'a> {
    pub(crate) forecast_model: &'a str,
    pub(crate) forecast_issued_at: Option<i64>,
    pub(crate) estimation_method: &'a str,
}

pub(crate) fn identity(provenance: &Provenance) -> Identity<'_> {
    match provenance {
        Provenance::Measured => Identity {
            forecast_model: "",
            forecast_issued_at: None,
            estimation_method: "",
        },
        Provenance::Forecast { issued_at, model } => Identity {
            forecast_model: model,
            forecast_issued_at: issued_at.map(|t| t.as_second()),
            estimation_method: "",
        },
        Provenance::Estimated { method } => Identity {
            forecast_model: "",
            forecast_issued_at: None,
            estimation_method: method,
        },
    }
}

fn series_id(tx: &Transaction<'_>, s: &IntensitySeries) -> Result<i64, StoreError> {
    let meta = s.meta();
    let id = identity(&meta.provenance);
    let resolution = i64::from(s.resolution().secs());
    let issued = id.forecast_issued_at.unwrap_or(NO_ISSUE_TIME);
    let mut find = tx.prepare_cached(
        "SELECT id FROM series WHERE zone = ?1 AND signal = ?2 AND source = ?3
           AND provenance = ?4 AND resolution_secs = ?5 AND forecast_model = ?6
           AND ifnull(forecast_issued_at, -9223372036854775808) = ?7
           AND estimation_method = ?8",
    )?;
    let params = (
        s.zone().as_str(),
        meta.signal.as_str(),
        meta.source.as_str(),
        meta.provenance.label(),
        resolution,
        id.forecast_model,
        issued,
        id.estimation_method,
    );
    if let Some(found) = find
        .query_row(params, |row| row.get::<_, i64>(0))
        .optional()?
    {
        return Ok(found);
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO series (zone, signal, source, provenance, resolution_secs,
                             forecast_model, forecast_issued_at, estimation_method)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    insert.execute((
        s.zone().as_str(),
        meta.signal.as_str(),
        meta.source.as_str(),
        meta.provenance.label(),
        resolution,
        id.forecast_model,
        id.forecast_issued_at,
        id.estimation_method,
    ))?;
    Ok(tx.last_insert_rowid())
}

/// One side of the merge timeline: the interval before the current one.
#[derive(Clone, Copy)]
enum Side<'a> {
    New(&'a Point),
    Stored(&'a Stored),
}

/// A stored point, as read back for the merge.
struct Stored {
    start: i64,
    duration: i64,
    value: f64,
}

fn upsert_series(
    tx: &Transaction<'_>,
    s: &IntensitySeries,
    report: &mut UpsertReport,
) -> Result<(), StoreError> {
    let id = series_id(tx, s)?;
    let fetched_at = s.meta().fetched_at.map(|t| t.as_second());
    if let Some(fetched) = fetched_at {
        tx.prepare_cached(
            "UPDATE series SET last_fetched = max(ifnull(last_fetched, ?1), ?1) WHERE id = ?2",
        )?
        .execute((fetched, id))?;
    }
    let points = s.points();
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Ok(());
    };
    // Stored points are no longer than the resolution, so only those starting in
    // (first.start - resolution, last.end) can share a start with or overlap the new ones.
    let resolution = i64::from(s.resolution().secs());
    let mut stored = Vec::new();
    {
        let mut scan = tx.prepare_cached(
            "SELECT start, duration, value FROM observation
             WHERE series_id = ?1 AND start > ?2 AND start < ?3 ORDER BY start",
        )?;
        let rows = scan.query_map(
            (
                id,
                first.start.as_second() - resolution,
                last.end().as_second(),
            ),
            |row| {
                Ok(Stored {
                    start: row.get(0)?,
                    duration: row.get(1)?,
                    value: row.get(2)?,
                })
            },
        )?;
        for row in rows {
            stored.push(row?);
        }
    }

    if stored.is_empty() {
        insert_fresh(tx, id, fetched_at, points)?;
        report.inserted += points.len();
        return Ok(());
    }
    let mut insert = tx.prepare_cached(INSERT_ONE)?;
    insert.raw_bind_parameter(1, id)?;
    insert.raw_bind_parameter(5, fetched_at)?;

    let mut update = tx.prepare_cached(
        "UPDATE observation SET duration = ?3, value = ?4, fetched_at = ?5
         WHERE series_id = ?1 AND start = ?2",
    )?;
    update.raw_bind_parameter(1, id)?;
    update.raw_bind_parameter(5, fetched_at)?;
    let overlap = |p: &Point, old: &Stored| -> StoreError {
        let at = |secs: i64| Timestamp::from_second(secs).unwrap_or(p.start);
        StoreError::Overlap {
            zone: s.zone().clone(),
            signal: s.meta().signal,
            source_label: s.meta().source.clone(),
            start: p.start,
            stored_start: at(old.start),
            stored_end: at(old.start + old.duration),
        }
    };
    // Walk both sorted lists as one timeline, a new point replacing a stored one with the same
    // start. New points never overlap each other, nor stored points each other, so an overlap
    // is always between a new point and a stored one next to it.
    let mut next_stored = 0;
    let mut previous: Option<(i64, Side<'_>)> = None;
    for p in points {
        let start = p.start.as_second();
        while let Some(old) = stored.get(next_stored).filter(|old| old.start < start) {
            if let Some((end, Side::New(new))) = previous
                && old.start < end
            {
                return Err(overlap(new, old));
            }
            previous = Some((old.start + old.duration, Side::Stored(old)));
            next_stored += 1;
        }
        if let Some((end, Side::Stored(old))) = previous
            && start < end
        {
            return Err(overlap(p, old));
        }
        let duration = i64::from(p.duration_secs);
        match stored.get(next_stored).filter(|old| old.start == start) {
            Some(old) => {
                next_stored += 1;
                if old.duration == duration && old.value == p.value.0 {
                    report.unchanged += 1;
                } else {
                    write_point(&mut update, p, 2)?;
                    report.updated += 1;
                }
            }
            None => {
                write_point(&mut insert, p, 2)?;
                report.inserted += 1;
            }
        }
        previous = Some((start + duration, Side::New(p)));
    }
    if let (Some(old), Some((end, Side::New(new)))) = (stored.get(next_stored), previous)
        && old.start < end
    {
        return Err(overlap(new, old));
    }
    Ok(())
}

const INSERT_ONE: &str = "INSERT INTO observation (series_id, start, duration, value, fetched_at)
     VALUES (?1, ?2, ?3, ?4, ?5)";

/// Rows per multi-row `INSERT`: one statement step per chunk instead of per row roughly halves
/// the per-row cost of a bulk import.
const CHUNK: usize = 64;

/// `INSERT ... VALUES (?1, ?3, ?4, ?5, ?2), (?1, ?6, ?7, ?8, ?2), ...` for [`CHUNK`] rows:
/// series id and fetch time are bound once, then start, duration and value per row.
fn insert_chunk_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let rows: Vec<String> = (0..CHUNK)
            .map(|i| {
                let base = 3 + 3 * i;
                format!("(?1, ?{}, ?{}, ?{}, ?2)", base, base + 1, base + 2)
            })
            .collect();
        format!(
            "INSERT INTO observation (series_id, start, duration, value, fetched_at) VALUES {}",
            rows.join(", ")
        )
    })
}

/// Inserts sorted points known not to be stored yet.
fn insert_fresh(
    tx: &Transaction<'_>,
    id: i64,
    fetched_at: Option<i64>,
    points: &[Point],
) -> Result<(), StoreError> {
    let chunks = points.chunks_exact(CHUNK);
    let rest = chunks.remainder();
    if points.len() >= CHUNK {
        let mut many = tx.prepare_cached(insert_chunk_sql())?;
        many.raw_bind_parameter(1, id)?;
        many.raw_bind_parameter(2, fetched_at)?;
        for chunk in chunks {
            for (i, p) in chunk.iter().enumerate() {
                let base = 3 + 3 * i;
                many.raw_bind_parameter(base, p.start.as_second())?;
                many.raw_bind_parameter(base + 1, i64::from(p.duration_secs))?;
                many.raw_bind_parameter(base + 2, p.value.0)?;
            }
            many.raw_execute()?;
        }
    }
    let mut one = tx.prepare_cached(INSERT_ONE)?;
    one.raw_bind_parameter(1, id)?;
    one.raw_bind_parameter(5, fetched_at)?;
    for p in rest {
        write_point(&mut one, p, 2)?;
    }
    Ok(())
}

/// Binds start, duration and value at `first..first + 3` and runs the statement.
fn write_point(
    stmt: &mut rusqlite::Statement<'_>,
    p: &Point,
    first: usize,
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(first, p.start.as_second())?;
    stmt.raw_bind_parameter(first + 1, i64::from(p.duration_secs))?;
    stmt.raw_bind_parameter(first + 2, p.value.0)?;
    stmt.raw_execute()?;
    Ok(())
}
