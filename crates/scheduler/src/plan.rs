//! The result of planning: where and when each job runs, what it emits, and what could not be
//! placed and why.

use crate::job::JobError;
use kite_core::{GramsCo2e, IntensitySeries, KilowattHours, TimeWindow, Timestamp, Watts, ZoneKey};

/// The output of a [`Policy`](crate::Policy).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Jobs that were placed, in input order.
    pub placements: Vec<Placement>,
    /// Jobs that were not placed, in input order, with the reason.
    pub unplaced: Vec<Unplaced>,
}

impl Plan {
    /// The placement of `job_id`, if it was placed.
    pub fn placement(&self, job_id: &str) -> Option<&Placement> {
        self.placements.iter().find(|p| p.job_id == job_id)
    }
}

/// Where and when one job runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The job's id.
    pub job_id: String,
    /// The zone it runs in.
    pub region: ZoneKey,
    /// The windows it runs in, sorted and disjoint. For an interruptible job every piece after
    /// the first starts with the job's `resume_overhead`.
    pub pieces: Vec<TimeWindow>,
    /// Emissions of the pieces at the job's power over the signal.
    pub emissions: GramsCo2e,
    /// Emissions of the carbon-agnostic baseline (start as soon as allowed, first region, one
    /// piece); `None` when the signal does not cover that window.
    pub baseline_emissions: Option<GramsCo2e>,
}

/// A job that could not be placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Unplaced {
    /// The job's id.
    pub job_id: String,
    /// Why.
    pub reason: UnplacedReason,
}

/// Why a job could not be placed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnplacedReason {
    /// The job itself is not valid at `now`.
    #[error(transparent)]
    Invalid(#[from] JobError),
    /// None of the job's regions has a signal.
    #[error("no intensity signal for any of the job's regions ({})", join(.regions))]
    NoSignal {
        /// The regions asked for.
        regions: Vec<ZoneKey>,
    },
    /// Signals exist but do not cover any feasible placement between start and deadline.
    #[error(
        "the intensity signal does not cover any feasible placement in [{start}, {deadline}); fetch a forecast that covers it"
    )]
    NotCovered {
        /// max(now, earliest_start).
        start: Timestamp,
        /// The job's deadline.
        deadline: Timestamp,
    },
    /// The spatio-temporal planner found no region with capacity left in the job's window.
    #[error(
        "job `{job_id}` (demand {demand}): no capacity left in {} within [{start}, {deadline}); raise the capacity there, widen the window, or raise the job's priority",
        join(.regions)
    )]
    NoCapacity {
        /// The job.
        job_id: String,
        /// Units it needs.
        demand: u32,
        /// The regions it may use (with a signal).
        regions: Vec<ZoneKey>,
        /// max(now, earliest_start).
        start: Timestamp,
        /// The job's deadline.
        deadline: Timestamp,
    },
}

fn join(regions: &[ZoneKey]) -> String {
    regions
        .iter()
        .map(ZoneKey::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Emissions of running at `power` during `pieces`, weighting each point of `series` by the
/// time it overlaps the pieces. `None` if any part of any piece has no data: never guessed.
pub fn emissions_of(
    pieces: &[TimeWindow],
    power: Watts,
    series: &IntensitySeries,
) -> Option<GramsCo2e> {
    // One pass over the points each piece overlaps, without copying the series: the planner
    // calls this for every placement.
    let points = series.points();
    let mut total = GramsCo2e(0.0);
    for piece in pieces {
        let mut cursor = piece.start();
        let from = points.partition_point(|p| p.end() <= piece.start());
        for p in points[from..].iter().take_while(|p| p.start < piece.end()) {
            if p.start > cursor {
                return None;
            }
            let secs = piece.overlap_secs(p.start, p.end());
            let energy = KilowattHours::from(power.over_seconds(secs as f64));
            total += energy * p.value;
            cursor = cursor.max(p.end());
        }
        if cursor < piece.end() {
            return None;
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::test_series;

    #[test]
    fn emissions_are_time_weighted() {
        // 100 then 300 g/kWh, hourly; 1 kW from 00:30 to 01:30 = 0.5*100 + 0.5*300 = 200 g.
        let s = test_series("DE", &[100.0, 300.0]);
        let start = s.points()[0].start;
        let w = TimeWindow::new(
            start + kite_core::SignedDuration::from_mins(30),
            start + kite_core::SignedDuration::from_mins(90),
        )
        .unwrap();
        let e = emissions_of(&[w], Watts(1000.0), &s).unwrap();
        assert!((e.0 - 200.0).abs() < 1e-9, "{e}");
    }

    #[test]
    fn uncovered_pieces_have_no_emissions() {
        let s = test_series("DE", &[100.0]);
        let start = s.points()[0].start;
        let w = TimeWindow::new(start, start + kite_core::SignedDuration::from_hours(2)).unwrap();
        assert_eq!(emissions_of(&[w], Watts(1000.0), &s), None);
    }
}
