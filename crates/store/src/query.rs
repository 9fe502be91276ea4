//! The read path: range queries that rebuild validated series, and the catalog.
//!
//! A range query is one index-range scan per stored series on the `(series_id, start)` key; it
//! reads from `window.start - resolution` so a point that starts before the window but reaches
//! into it is returned too.

use crate::{MeasuredExtent, StoreError, StoredSeries};
use kite_core::{
    GramsCo2PerKwh, IntensitySeries, Point, Provenance, Resolution, Signal, SignalMeta, TimeWindow,
    Timestamp, ZoneKey,
};
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// A `series` row, as needed to read its points and rebuild its metadata.
struct SeriesRow {
    id: i64,
    source: String,
    provenance: String,
    resolution_secs: i64,
    forecast_model: String,
    forecast_issued_at: Option<i64>,
    estimation_method: String,
}

/// measured < forecast < estimated: the order groups are returned in.
fn kind_order(label: &str) -> u8 {
    match label {
        "measured" => 0,
        "forecast" => 1,
        _ => 2,
    }
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: what.into() }
}

fn timestamp(secs: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_second(secs).map_err(|_| corrupt(format!("time {secs} is out of range")))
}

fn resolution(secs: i64) -> Result<Resolution, StoreError> {
    u32::try_from(secs)
        .ok()
        .and_then(Resolution::from_secs)
        .ok_or_else(|| corrupt(format!("resolution of {secs} s")))
}

/// A point read back, with what the merge of several series needs.
struct Row {
    point: Point,
    fetched_at: Option<i64>,
    /// Index of the series in its group, higher is newer.
    rank: usize,
}

pub(crate) fn query(
    conn: &rusqlite::Connection,
    zone: &ZoneKey,
    signal: Signal,
    window: TimeWindow,
    source: Option<&str>,
) -> Result<Vec<IntensitySeries>, StoreError> {
    let mut find = conn.prepare_cached(
        "SELECT id, source, provenance, resolution_secs, forecast_model, forecast_issued_at,
                estimation_method
         FROM series WHERE zone = ?1 AND signal = ?2
           AND (?3 IS NULL OR substr(source, 1, length(?3)) = ?3)",
    )?;
    let found = find.query_map((zone.as_str(), signal.as_str(), source), |row| {
        Ok(SeriesRow {
            id: row.get(0)?,
            source: row.get(1)?,
            provenance: row.get(2)?,
            resolution_secs: row.get(3)?,
            forecast_model: row.get(4)?,
            forecast_issued_at: row.get(5)?,
            estimation_method: row.get(6)?,
        })
    })?;
    let mut groups: BTreeMap<(String, u8), Vec<SeriesRow>> = BTreeMap::new();
    for row in found {
        let row = row?;
        groups
            .entry((row.source.clone(), kind_order(&row.provenance)))
            .or_default()
            .push(row);
    }

    let mut scan = conn.prepare_cached(
        "SELECT start, duration, value, fetched_at FROM observation
         WHERE series_id = ?1 AND start > ?2 AND start < ?3 ORDER BY start",
    )?;
    let window_start = window.start().as_second();
    let mut out = Vec::with_capacity(groups.len());
    for (_, mut members) in groups {
        // Newest last: later forecast issues, then later-created series.
        members.sort_by_key(|m| (m.forecast_issued_at.unwrap_or(i64::MIN), m.id));
        let mut rows: Vec<Row> = Vec::new();
        for (rank, member) in members.iter().enumerate() {
            let mut it = scan.query((
                member.id,
                window_start - member.resolution_secs,
                window.end().as_second(),
            ))?;
            while let Some(r) = it.next()? {
                let start: i64 = r.get(0)?;
                let duration: i64 = r.get(1)?;
                if start + duration <= window_start {
                    continue;
                }
                let duration_secs = u32::try_from(duration)
                    .map_err(|_| corrupt(format!("duration of {duration} s")))?;
                rows.push(Row {
                    point: Point {
                        start: timestamp(start)?,
                        duration_secs,
                        value: GramsCo2PerKwh(r.get(2)?),
                    },
                    fetched_at: r.get(3)?,
                    rank,
                });
            }
        }
        if members.len() > 1 {
            rows = merge(rows);
        }
        if rows.is_empty() {
            continue;
        }
        let mut best = 0;
        let mut res = 0;
        let mut fetched_at: Option<i64> = None;
        for r in &rows {
            best = best.max(r.rank);
            res = res.max(members[r.rank].resolution_secs);
            fetched_at = fetched_at.max(r.fetched_at);
        }
        let lead = &members[best];
        let provenance = match lead.provenance.as_str() {
            "measured" => Provenance::Measured,
            "forecast" => Provenance::Forecast {
                issued_at: lead.forecast_issued_at.map(timestamp).transpose()?,
                model: lead.forecast_model.clone(),
            },
            "estimated" => Provenance::Estimated {
                method: lead.estimation_method.clone(),
            },
            other => return Err(corrupt(format!("provenance `{other}`"))),
        };
        let meta = SignalMeta {
            signal,
            source: lead.source.clone(),
            fetched_at: fetched_at.map(timestamp).transpose()?,
            provenance,
        };
        let points = rows.into_iter().map(|r| r.point).collect();
        let series = IntensitySeries::new(zone.clone(), meta, resolution(res)?, points)
            .map_err(|e| corrupt(format!("{zone} {signal} from {}: {e}", lead.source)))?;
        out.push(series);
    }
    Ok(out)
}

/// Merges the points of several series of one group: the newest series wins where two share a
/// start, and a point that starts before the previous kept point ends is dropped.
fn merge(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by_key(|r| (r.point.start, Reverse(r.rank)));
    let mut kept: Vec<Row> = Vec::with_capacity(rows.len());
    for r in rows {
        if kept.last().is_some_and(|k| r.point.start < k.point.end()) {
            continue;
        }
        kept.push(r);
    }
    kept
}

/// Per source: the measured data of one zone and signal, from the `series_identity` index and
/// the observations' primary key only (no row counts, unlike [`catalog`]).
pub(crate) fn measured_extents(
    conn: &rusqlite::Connection,
    zone: &ZoneKey,
    signal: Signal,
) -> Result<Vec<MeasuredExtent>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.source, max(s.resolution_secs),
                min((SELECT min(start) FROM observation o WHERE o.series_id = s.id)),
                max((SELECT start + duration FROM observation o WHERE o.series_id = s.id
                     ORDER BY start DESC LIMIT 1))
         FROM series s
         WHERE s.zone = ?1 AND s.signal = ?2 AND s.provenance = 'measured'
           AND EXISTS (SELECT 1 FROM observation o WHERE o.series_id = s.id)
         GROUP BY s.source
         ORDER BY s.source",
    )?;
    let mut rows = stmt.query((zone.as_str(), signal.as_str()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(MeasuredExtent {
            source: r.get(0)?,
            resolution: resolution(r.get(1)?)?,
            first: timestamp(r.get(2)?)?,
            last_end: timestamp(r.get(3)?)?,
        });
    }
    Ok(out)
}

pub(crate) fn catalog(conn: &rusqlite::Connection) -> Result<Vec<StoredSeries>, StoreError> {
    // min/last use the primary key; only the count walks the rows.
    let mut stmt = conn.prepare_cached(
        "SELECT s.zone, s.signal, s.source, s.provenance, s.resolution_secs, s.last_fetched,
                (SELECT min(start) FROM observation o WHERE o.series_id = s.id),
                (SELECT start + duration FROM observation o WHERE o.series_id = s.id
                 ORDER BY start DESC LIMIT 1),
                (SELECT count(*) FROM observation o WHERE o.series_id = s.id)
         FROM series s",
    )?;
    let mut rows = stmt.query(())?;
    let mut entries: BTreeMap<(ZoneKey, Signal, String, u8), StoredSeries> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let (Some(first), Some(last_end)) = (r.get::<_, Option<i64>>(6)?, r.get(7)?) else {
            continue; // a series row without points
        };
        let zone_text: String = r.get(0)?;
        let zone = ZoneKey::new(&zone_text).map_err(|e| corrupt(e.to_string()))?;
        let signal_text: String = r.get(1)?;
        let signal = Signal::parse(&signal_text)
            .ok_or_else(|| corrupt(format!("signal `{signal_text}`")))?;
        let source: String = r.get(2)?;
        let provenance: String = r.get(3)?;
        let res = resolution(r.get(4)?)?;
        let last_fetched = r.get::<_, Option<i64>>(5)?.map(timestamp).transpose()?;
        let count: i64 = r.get(8)?;
        let entry = StoredSeries {
            zone: zone.clone(),
            signal,
            source: source.clone(),
            provenance: provenance.clone(),
            resolution: res,
            first: timestamp(first)?,
            last_end: timestamp(last_end)?,
            rows: u64::try_from(count).unwrap_or(0),
            last_fetched,
        };
        let key = (zone, signal, source, kind_order(&provenance));
        match entries.get_mut(&key) {
            None => {
                entries.insert(key, entry);
            }
            Some(e) => {
                e.resolution = e.resolution.max(entry.resolution);
                e.first = e.first.min(entry.first);
                e.last_end = e.last_end.max(entry.last_end);
                e.rows += entry.rows;
                e.last_fetched = e.last_fetched.max(entry.last_fetched);
            }
        }
    }
    Ok(entries.into_values().collect())
}
