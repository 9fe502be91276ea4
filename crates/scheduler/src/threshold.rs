//! `threshold`: start in the first slot clean enough, else as late as the deadline allows.

use crate::job::Job;
use crate::plan::Plan;
use crate::policy::{Policy, RegionChoice, Signals, plan_each};
use kite_core::{GramsCo2PerKwh, IntensitySeries, TimeWindow, Timestamp};

/// Starts each job at the first candidate start (the allowed start, then each data point's
/// start) whose intensity is at most `threshold`; if none, at the latest feasible start
/// (`deadline - duration`). The chosen window must be covered by data. Considers every region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// The highest intensity at which a job may start.
    pub threshold: GramsCo2PerKwh,
}

impl Policy for Threshold {
    fn name(&self) -> &'static str {
        "threshold"
    }

    fn plan(&self, jobs: &[Job], signal: &Signals, now: Timestamp) -> Plan {
        plan_each(
            jobs,
            signal,
            now,
            RegionChoice::Cleanest,
            |job, series, start| threshold_pieces(job, series, start, self.threshold),
        )
    }
}

fn covered_window(job: &Job, series: &IntensitySeries, s: Timestamp) -> Option<TimeWindow> {
    let end = s.checked_add(job.duration).ok()?;
    if end > job.deadline {
        return None;
    }
    let w = TimeWindow::new(s, end).ok()?;
    series.gaps(w).is_empty().then_some(w)
}

fn threshold_pieces(
    job: &Job,
    series: &IntensitySeries,
    start: Timestamp,
    threshold: GramsCo2PerKwh,
) -> Option<Vec<TimeWindow>> {
    let later_starts = series
        .points()
        .iter()
        .map(|p| p.start)
        .filter(|&t| t > start);
    for s in std::iter::once(start).chain(later_starts) {
        if s.checked_add(job.duration)
            .is_ok_and(|end| end > job.deadline)
        {
            break;
        }
        let clean = series.at(s).is_some_and(|p| p.value <= threshold);
        if clean && let Some(w) = covered_window(job, series, s) {
            return Some(vec![w]);
        }
    }
    let latest = job.deadline.checked_sub(job.duration).ok()?.max(start);
    covered_window(job, series, latest).map(|w| vec![w])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::{test_job, test_series};
    use kite_core::SignedDuration;

    #[test]
    fn starts_at_first_clean_slot() {
        let s = test_series("DE", &[500.0, 400.0, 150.0, 100.0, 500.0]);
        let job = test_job("a", 1, 0, 5, &["DE"]);
        let plan = Threshold {
            threshold: GramsCo2PerKwh(200.0),
        }
        .plan(
            std::slice::from_ref(&job),
            &[s.clone()].into_iter().collect(),
            job.earliest_start,
        );
        assert_eq!(
            plan.placement("a").unwrap().pieces[0].start(),
            s.points()[2].start
        );
    }

    #[test]
    fn without_a_clean_slot_starts_as_late_as_possible() {
        let s = test_series("DE", &[500.0, 400.0, 300.0, 350.0]);
        let job = test_job("a", 1, 0, 4, &["DE"]);
        let plan = Threshold {
            threshold: GramsCo2PerKwh(200.0),
        }
        .plan(
            std::slice::from_ref(&job),
            &[s].into_iter().collect(),
            job.earliest_start,
        );
        let w = plan.placement("a").unwrap().pieces[0];
        assert_eq!(w.end(), job.deadline);
        assert_eq!(w.duration(), SignedDuration::from_hours(1));
    }
}
