//! Signals for planning: each zone the jobs may use, over the window they may run in, from the
//! same fallback chain as `kite intensity` (live → store → embedded), merged into one series per
//! zone for the scheduler, with every source and fallback kept for the report.

use crate::error::EngineError;
use crate::service::{IntensityRequest, IntensityService, Note};
use kite_core::{
    IntensitySeries, Point, Resolution, Signal, SignalMeta, TimeWindow, Timestamp, ZoneKey,
};
use kite_scheduler::{Job, Signals};
use std::collections::BTreeMap;

/// The signals a plan is made on, and where each part came from.
#[derive(Debug, Clone)]
pub struct PlanSignals {
    /// One merged series per zone that had any data.
    pub signals: Signals,
    /// Per zone: the window asked for and the source segments that answered it.
    pub sources: Vec<ZoneSignal>,
    /// Fallbacks taken and zones with no data, prefixed with the zone.
    pub notes: Vec<Note>,
}

/// Where one zone's signal came from.
#[derive(Debug, Clone)]
pub struct ZoneSignal {
    /// The zone.
    pub zone: ZoneKey,
    /// The window fetched.
    pub window: TimeWindow,
    /// Each source segment: its span and metadata (source, kind, provenance, age).
    pub segments: Vec<(TimeWindow, SignalMeta)>,
}

/// Fetches `signal` for every zone any job may run in, over `[min start, max deadline)` of the
/// jobs using that zone. A zone with no data at all is noted, not fatal: its jobs are reported
/// unplaced by the scheduler, and the other zones are still planned.
pub async fn signals_for(
    service: &IntensityService,
    jobs: &[Job],
    signal: Signal,
    now: Timestamp,
) -> Result<PlanSignals, EngineError> {
    let mut windows: BTreeMap<ZoneKey, (Timestamp, Timestamp)> = BTreeMap::new();
    for job in jobs {
        let start = job.start_from(now);
        for zone in &job.regions {
            let w = windows.entry(zone.clone()).or_insert((start, job.deadline));
            w.0 = w.0.min(start);
            w.1 = w.1.max(job.deadline);
        }
    }
    let mut out = PlanSignals {
        signals: Signals::new(),
        sources: Vec::new(),
        notes: Vec::new(),
    };
    for (zone, (start, end)) in windows {
        let Ok(window) = TimeWindow::new(Resolution::HOUR.floor(start), end) else {
            // Every job of this zone has a deadline before it may start; the scheduler reports
            // each of them with the reason.
            continue;
        };
        let req = IntensityRequest {
            region: zone.to_string(),
            window,
            signal,
            resolution: None,
            source: None,
        };
        match service.intensity(&req).await {
            Ok(answer) => {
                for n in &answer.notes {
                    out.notes.push(Note {
                        source: format!("{zone} {}", n.source),
                        message: n.message.clone(),
                    });
                }
                for gap in &answer.gaps {
                    out.notes.push(Note {
                        source: zone.to_string(),
                        message: format!(
                            "no data from any source for [{}, {}); jobs are not placed there",
                            gap.start, gap.end
                        ),
                    });
                }
                let segments = answer
                    .segments
                    .iter()
                    .filter_map(|s| s.span().map(|w| (w, s.meta().clone())))
                    .collect();
                if let Some(series) = merge(&zone, &answer.segments) {
                    out.signals.insert(series);
                }
                out.sources.push(ZoneSignal {
                    zone,
                    window,
                    segments,
                });
            }
            Err(EngineError::NoData { reasons, .. }) => out.notes.push(Note {
                source: zone.to_string(),
                message: format!(
                    "no intensity data for {window}; jobs that may only run here are not planned:\n{reasons}"
                ),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// One series from time-ordered, non-overlapping segments. Its metadata is that of the segment
/// covering the most time; the per-segment metadata is kept in [`ZoneSignal::segments`].
fn merge(zone: &ZoneKey, segments: &[IntensitySeries]) -> Option<IntensitySeries> {
    let main = segments.iter().max_by_key(|s| {
        s.points()
            .iter()
            .map(|p| u64::from(p.duration_secs))
            .sum::<u64>()
    })?;
    let resolution = segments
        .iter()
        .map(IntensitySeries::resolution)
        .max_by_key(|r| r.secs())
        .unwrap_or(Resolution::HOUR);
    let mut points: Vec<Point> = segments
        .iter()
        .flat_map(|s| s.points().iter().copied())
        .collect();
    points.sort_by_key(|p| p.start);
    IntensitySeries::new(zone.clone(), main.meta().clone(), resolution, points).ok()
}
