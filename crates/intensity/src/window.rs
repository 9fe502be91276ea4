//! Time arithmetic shared by the providers: splitting a query window at `now` into the past part
//! (measured values) and the future part (forecasts), cutting a part into chunks no longer than
//! a provider's per-request limit, and collecting points into validated series.
//!
//! Invariant: chunks tile their window exactly, in order, each at most `max` long. Points are
//! keyed by interval start and the first value seen wins, since adjacent chunks (and "latest"
//! vs "history" endpoints) can repeat a point at their shared boundary.

use crate::provider::{ProviderError, Query};
use kite_core::{
    GramsCo2PerKwh, IntensitySeries, Point, Provenance, Resolution, SignalMeta, SignedDuration,
    TimeWindow, Timestamp,
};
use std::collections::BTreeMap;

/// The part of `window` before `now` and the part from `now` on; either may be absent.
pub(crate) fn split_at_now(
    window: TimeWindow,
    now: Timestamp,
) -> (Option<TimeWindow>, Option<TimeWindow>) {
    let past = TimeWindow::new(window.start(), window.end().min(now)).ok();
    let future = TimeWindow::new(window.start().max(now), window.end()).ok();
    (past, future)
}

/// `window` cut into consecutive pieces of at most `max` (which must be positive).
pub(crate) fn chunks(window: TimeWindow, max: SignedDuration) -> Vec<TimeWindow> {
    let mut out = Vec::new();
    let mut start = window.start();
    while start < window.end() {
        let end = start
            .checked_add(max)
            .map_or(window.end(), |e| e.min(window.end()));
        match TimeWindow::new(start, end) {
            Ok(w) => out.push(w),
            Err(_) => break, // max was not positive; never loop forever
        }
        start = end;
    }
    out
}

/// The metadata every provider attaches: its name as source, `fetched_at = now`.
pub(crate) fn meta(query: &Query, source: &str, provenance: Provenance) -> SignalMeta {
    SignalMeta {
        signal: query.signal,
        source: source.to_string(),
        fetched_at: Some(query.now),
        provenance,
    }
}

/// Values keyed by interval start, with the interval length where the provider states it.
#[derive(Debug, Default)]
pub(crate) struct PointSet {
    points: BTreeMap<Timestamp, (f64, Option<u32>)>,
}

impl PointSet {
    /// Adds a value unless one already starts at `start`.
    pub(crate) fn insert(&mut self, start: Timestamp, value: f64, duration_secs: Option<u32>) {
        self.points.entry(start).or_insert((value, duration_secs));
    }

    /// Whether a value starts at `start`.
    pub(crate) fn contains(&self, start: Timestamp) -> bool {
        self.points.contains_key(&start)
    }

    /// A series of the points overlapping `keep`, or `None` when there are none. Each point
    /// lasts its stated length, else one `resolution`, shortened if the next point starts sooner.
    pub(crate) fn into_series(
        self,
        provider: &'static str,
        meta: SignalMeta,
        zone: &kite_core::ZoneKey,
        resolution: Resolution,
        keep: TimeWindow,
    ) -> Result<Option<IntensitySeries>, ProviderError> {
        let starts: Vec<Timestamp> = self.points.keys().copied().collect();
        let mut points = Vec::new();
        for (idx, (start, (value, stated))) in self.points.into_iter().enumerate() {
            let mut secs = i64::from(stated.unwrap_or(resolution.secs()));
            if let Some(next) = starts.get(idx + 1) {
                secs = secs.min(next.as_second() - start.as_second());
            }
            let Ok(duration_secs) = u32::try_from(secs) else {
                continue;
            };
            let end = start + SignedDuration::from_secs(secs);
            if end <= keep.start() || start >= keep.end() {
                continue;
            }
            points.push(Point {
                start,
                duration_secs,
                value: GramsCo2PerKwh(value),
            });
        }
        if points.is_empty() {
            return Ok(None);
        }
        IntensitySeries::new(zone.clone(), meta, resolution, points)
            .map(Some)
            .map_err(|e| ProviderError::BadResponse {
                provider,
                detail: format!("the values do not form a valid series: {e}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn w(a: &str, b: &str) -> TimeWindow {
        TimeWindow::new(ts(a), ts(b)).unwrap()
    }

    #[test]
    fn chunks_tile_the_window() {
        let window = w("2026-01-01T00:00:00Z", "2026-01-25T06:00:00Z");
        let parts = chunks(window, SignedDuration::from_hours(24 * 10));
        assert_eq!(
            parts,
            vec![
                w("2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z"),
                w("2026-01-11T00:00:00Z", "2026-01-21T00:00:00Z"),
                w("2026-01-21T00:00:00Z", "2026-01-25T06:00:00Z"),
            ]
        );
        assert_eq!(chunks(window, SignedDuration::ZERO), vec![]);
        let short = w("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z");
        assert_eq!(chunks(short, SignedDuration::from_hours(24)), vec![short]);
    }

    #[test]
    fn split_at_now_gives_past_and_future() {
        let window = w("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
        let (past, future) = split_at_now(window, ts("2026-01-01T12:00:00Z"));
        assert_eq!(
            past,
            Some(w("2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z"))
        );
        assert_eq!(
            future,
            Some(w("2026-01-01T12:00:00Z", "2026-01-02T00:00:00Z"))
        );
        assert_eq!(split_at_now(window, ts("2025-01-01T00:00:00Z")).0, None);
        assert_eq!(split_at_now(window, ts("2027-01-01T00:00:00Z")).1, None);
    }
}
