//! `best-window`: the Green Software Foundation Carbon Aware SDK's best-window semantics.
//!
//! Candidate windows last the job's duration, start at `max(now, earliest_start)` (even in the
//! middle of a data interval) and step by the data's resolution; a candidate must lie inside
//! `[start, deadline]` and be fully covered by data. Each is scored by its time-weighted average
//! intensity; the lowest wins. Like the SDK, [`best_windows`] returns every tie; the policy
//! takes the earliest.

use crate::job::Job;
use crate::plan::Plan;
use crate::policy::{Policy, RegionChoice, Signals, plan_each};
use kite_core::{GramsCo2PerKwh, IntensitySeries, SignedDuration, TimeWindow, Timestamp};

/// Places each job in the window of lowest average intensity, across all its regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BestWindow;

impl Policy for BestWindow {
    fn name(&self) -> &'static str {
        "best-window"
    }

    fn plan(&self, jobs: &[Job], signal: &Signals, now: Timestamp) -> Plan {
        plan_each(
            jobs,
            signal,
            now,
            RegionChoice::Cleanest,
            best_window_pieces,
        )
    }
}

/// The earliest best window of `job` in `series` from `start`, as one piece.
pub(crate) fn best_window_pieces(
    job: &Job,
    series: &IntensitySeries,
    start: Timestamp,
) -> Option<Vec<TimeWindow>> {
    best_windows(series, start, job.deadline, job.duration)
        .first()
        .map(|(w, _)| vec![*w])
}

/// Averages closer than this (relative) are ties: the same values averaged over different
/// windows may differ in the last bits.
const TIE_TOLERANCE: f64 = 1e-9;

/// Every window of `duration` in `[start, deadline]` whose average intensity is the lowest,
/// with that average, earliest first. Empty when no candidate is fully covered by data.
pub fn best_windows(
    series: &IntensitySeries,
    start: Timestamp,
    deadline: Timestamp,
    duration: SignedDuration,
) -> Vec<(TimeWindow, GramsCo2PerKwh)> {
    let Some(span) = series.span() else {
        return Vec::new();
    };
    if !duration.is_positive() {
        return Vec::new();
    }
    let step = series.resolution().duration();
    let step_secs = step.as_secs().max(1);
    // Skip the candidates that start before the data does, keeping the grid anchored at start.
    let mut s = start;
    if s < span.start() {
        let behind = span.start().duration_since(s).as_secs();
        let steps = (behind + step_secs - 1) / step_secs;
        match s.checked_add(SignedDuration::from_secs(steps.saturating_mul(step_secs))) {
            Ok(t) => s = t,
            Err(_) => return Vec::new(),
        }
    }
    let limit = deadline.min(span.end());
    let mut candidates = Vec::new();
    loop {
        let Ok(end) = s.checked_add(duration) else {
            break;
        };
        if end > limit {
            break;
        }
        if let Ok(w) = TimeWindow::new(s, end)
            && series.gaps(w).is_empty()
            && let Some((avg, _)) = series.mean_over(w)
        {
            candidates.push((w, avg));
        }
        match s.checked_add(step) {
            Ok(t) => s = t,
            Err(_) => break,
        }
    }
    let Some(min) = candidates
        .iter()
        .map(|(_, a)| a.0)
        .min_by(|a, b| a.total_cmp(b))
    else {
        return Vec::new();
    };
    let tolerance = TIE_TOLERANCE * min.abs().max(1.0);
    candidates.retain(|(_, a)| a.0 - min <= tolerance);
    candidates
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Asap;
    use crate::policy::{test_job, test_series};

    #[test]
    fn ties_return_every_equal_window_and_the_policy_takes_the_earliest() {
        let s = test_series("DE", &[300.0, 100.0, 300.0, 100.0, 300.0]);
        let job = test_job("a", 1, 0, 5, &["DE"]);
        let got = best_windows(&s, job.earliest_start, job.deadline, job.duration);
        let starts: Vec<_> = got.iter().map(|(w, _)| w.start()).collect();
        assert_eq!(starts, vec![s.points()[1].start, s.points()[3].start]);
        assert!(got.iter().all(|(_, a)| (a.0 - 100.0).abs() < 1e-9));
        let plan = BestWindow.plan(
            std::slice::from_ref(&job),
            &[s.clone()].into_iter().collect(),
            job.earliest_start,
        );
        assert_eq!(
            plan.placement("a").unwrap().pieces[0].start(),
            s.points()[1].start
        );
    }

    #[test]
    fn first_window_starts_mid_interval_and_windows_are_time_weighted() {
        let s = test_series("DE", &[100.0, 400.0, 400.0, 400.0]);
        let start = s.points()[0].start + SignedDuration::from_mins(30);
        let got = best_windows(
            &s,
            start,
            s.span().unwrap().end(),
            SignedDuration::from_hours(1),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.start(), start);
        assert!((got[0].1.0 - 250.0).abs() < 1e-9);
    }

    #[test]
    fn windows_must_be_covered_and_before_the_deadline() {
        let s = test_series("DE", &[500.0, 400.0, 10.0]);
        // Deadline at 02:00 excludes the 10 g/kWh hour.
        let job = test_job("a", 1, 0, 2, &["DE"]);
        let got = best_windows(&s, job.earliest_start, job.deadline, job.duration);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.start(), s.points()[1].start);
        // A window running past the data is never a candidate.
        let long = best_windows(
            &s,
            job.earliest_start,
            s.span().unwrap().end(),
            SignedDuration::from_hours(4),
        );
        assert!(long.is_empty());
    }

    #[test]
    fn unmeetable_deadline_is_unplaced_while_others_are_planned() {
        let s = test_series("DE", &[300.0, 100.0, 300.0]);
        let ok = test_job("ok", 1, 0, 3, &["DE"]);
        let late = test_job("late", 2, 2, 3, &["DE"]);
        let signals: Signals = [s].into_iter().collect();
        let plan = BestWindow.plan(&[late, ok.clone()], &signals, ok.earliest_start);
        assert!(plan.placement("ok").is_some());
        assert_eq!(plan.unplaced.len(), 1);
        assert_eq!(plan.unplaced[0].job_id, "late");
        assert!(
            plan.unplaced[0]
                .reason
                .to_string()
                .contains("cannot be met")
        );
        let asap = Asap.plan(std::slice::from_ref(&ok), &signals, ok.earliest_start);
        assert!(plan.placement("ok").unwrap().emissions <= asap.placement("ok").unwrap().emissions);
    }

    #[test]
    fn picks_the_cleanest_region() {
        let signals: Signals = [
            test_series("DE", &[300.0, 200.0]),
            test_series("FR", &[50.0, 60.0]),
        ]
        .into_iter()
        .collect();
        let job = test_job("a", 1, 0, 2, &["DE", "FR"]);
        let p = BestWindow.plan(std::slice::from_ref(&job), &signals, job.earliest_start);
        let p = p.placement("a").unwrap();
        assert_eq!(p.region.as_str(), "FR");
        assert!((p.baseline_emissions.unwrap().0 - 300.0).abs() < 1e-9);
    }
}
