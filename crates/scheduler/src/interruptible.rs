//! `lets-wait-awhile`: run interruptible jobs in the cleanest slots before the deadline
//! (after Wiesner et al., "Let's Wait Awhile", Middleware '21).
//!
//! Slots are the data points clipped to `[start, deadline)`. Slots are taken cleanest first
//! (earlier on ties); after each, adjacent taken slots merge into runs, and the runs are checked:
//! at most `max_pieces` runs, each at least `min_chunk` long (capped at the job's duration) and
//! every run after the first longer than `resume_overhead`, and enough time for the work once
//! each later run has paid its overhead. The first set that fits is trimmed to exactly the work
//! (from the latest run backwards). This is greedy, not optimal. When no set fits, or the job is
//! not interruptible, the job falls back to [`BestWindow`](crate::BestWindow).

use crate::best_window::best_window_pieces;
use crate::job::{Interruptible, Job};
use crate::plan::Plan;
use crate::policy::{Policy, RegionChoice, Signals, plan_each};
use kite_core::{IntensitySeries, SignedDuration, TimeWindow, Timestamp};

/// Splits interruptible jobs over the cleanest slots; other jobs get the best window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LetsWaitAwhile;

impl Policy for LetsWaitAwhile {
    fn name(&self) -> &'static str {
        "lets-wait-awhile"
    }

    fn plan(&self, jobs: &[Job], signal: &Signals, now: Timestamp) -> Plan {
        plan_each(
            jobs,
            signal,
            now,
            RegionChoice::Cleanest,
            |job, series, start| {
                job.interruptible
                    .as_ref()
                    .and_then(|i| {
                        interruptible_pieces(series, start, job.deadline, job.duration, i)
                    })
                    .or_else(|| best_window_pieces(job, series, start))
            },
        )
    }
}

/// Pieces in `[start, deadline)` whose work (length minus `resume_overhead` for every piece
/// after the first) is exactly `work`, honouring `opts`; `None` when the greedy search finds
/// none. See the module docs.
pub fn interruptible_pieces(
    series: &IntensitySeries,
    start: Timestamp,
    deadline: Timestamp,
    work: SignedDuration,
    opts: &Interruptible,
) -> Option<Vec<TimeWindow>> {
    let range = TimeWindow::new(start, deadline).ok()?;
    let offset = |t: Timestamp| i64::try_from(t.duration_since(start).as_nanos()).ok();
    let slots: Vec<Slot> = series
        .slice(range)
        .points()
        .iter()
        .filter_map(|p| {
            let lo = p.start.max(start);
            let hi = p.end().min(deadline);
            (hi > lo).then_some(())?;
            Some(Slot {
                lo: offset(lo)?,
                hi: offset(hi)?,
                key: p.value.0,
            })
        })
        .collect();
    let rules = SplitRules::of(opts)?;
    let work = i64::try_from(work.as_nanos()).ok()?;
    cleanest_split(&slots, work, &rules)?
        .into_iter()
        .map(|(lo, hi)| {
            let lo = start.checked_add(SignedDuration::from_nanos(lo)).ok()?;
            let hi = start.checked_add(SignedDuration::from_nanos(hi)).ok()?;
            TimeWindow::new(lo, hi).ok()
        })
        .collect()
}

/// A stretch of time a piece may use, in nanoseconds from an origin, with its sort key
/// (intensity, or the planner's cost rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Slot {
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    pub(crate) key: f64,
}

/// [`Interruptible`] in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SplitRules {
    pub(crate) min_chunk: i64,
    pub(crate) max_pieces: Option<u32>,
    pub(crate) resume_overhead: i64,
}

impl SplitRules {
    /// `None` when a duration does not fit in i64 nanoseconds (about 292 years).
    pub(crate) fn of(opts: &Interruptible) -> Option<SplitRules> {
        Some(SplitRules {
            min_chunk: i64::try_from(opts.min_chunk.as_nanos()).ok()?,
            max_pieces: opts.max_pieces,
            resume_overhead: i64::try_from(opts.resume_overhead.as_nanos()).ok()?,
        })
    }
}

/// The greedy of the module docs over `slots` (sorted by `lo`, disjoint): takes slots by
/// ascending key (earlier on ties) until the runs they form can hold `work`, then trims.
/// Returns the pieces as `(lo, hi)`. Shared by [`interruptible_pieces`] and the
/// spatio-temporal planner, which passes only the slots with capacity left.
pub(crate) fn cleanest_split(
    slots: &[Slot],
    work: i64,
    rules: &SplitRules,
) -> Option<Vec<(i64, i64)>> {
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by(|&a, &b| slots[a].key.total_cmp(&slots[b].key).then(a.cmp(&b)));
    let mut taken = vec![false; slots.len()];
    let mut total: i64 = 0;
    for idx in order {
        taken[idx] = true;
        total = total.saturating_add(slots[idx].hi - slots[idx].lo);
        // Runs can only hold the work once the slots taken add up to it; skipping the check
        // before that changes nothing and keeps the search near-linear.
        if total < work {
            continue;
        }
        let runs = runs_of(slots, &taken);
        if let Some(pieces) = fit(&runs, work, rules) {
            return Some(pieces);
        }
    }
    None
}

/// Maximal runs of taken, touching slots.
fn runs_of(slots: &[Slot], taken: &[bool]) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for (slot, _) in slots.iter().zip(taken).filter(|(_, t)| **t) {
        match runs.last_mut() {
            Some(last) if last.1 == slot.lo => last.1 = slot.hi,
            _ => runs.push((slot.lo, slot.hi)),
        }
    }
    runs
}

/// Trims `runs` to exactly `work`, or `None` if they cannot hold it under `rules`.
fn fit(runs: &[(i64, i64)], work: i64, rules: &SplitRules) -> Option<Vec<(i64, i64)>> {
    let n = runs.len();
    if n == 0 || rules.max_pieces.is_some_and(|m| n > m as usize) {
        return None;
    }
    let overhead = rules.resume_overhead;
    let min_chunk = rules.min_chunk.min(work);
    let mut lens: Vec<i64> = runs.iter().map(|(lo, hi)| hi - lo).collect();
    let mins: Vec<i64> = (0..n)
        .map(|i| {
            let floor = if i == 0 {
                1
            } else {
                overhead.saturating_add(1)
            };
            min_chunk.max(floor)
        })
        .collect();
    if lens.iter().zip(&mins).any(|(l, m)| l < m) {
        return None;
    }
    let total_overhead = overhead.checked_mul(i64::try_from(n - 1).ok()?)?;
    let capacity = lens
        .iter()
        .try_fold(0i64, |acc, l| acc.checked_add(*l))?
        .checked_sub(total_overhead)?;
    let mut excess = capacity.checked_sub(work)?;
    if excess < 0 {
        return None;
    }
    for i in (0..n).rev() {
        let give = excess.min(lens[i] - mins[i]);
        lens[i] -= give;
        excess -= give;
    }
    if excess != 0 {
        return None;
    }
    Some(
        runs.iter()
            .zip(&lens)
            .map(|((lo, _), len)| (*lo, lo + len))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::{test_job, test_series};

    fn opts(min_chunk_h: i64, overhead_m: i64) -> Interruptible {
        Interruptible {
            min_chunk: SignedDuration::from_hours(min_chunk_h),
            max_pieces: None,
            resume_overhead: SignedDuration::from_mins(overhead_m),
        }
    }

    #[test]
    fn takes_the_cleanest_slots() {
        let s = test_series("DE", &[100.0, 500.0, 500.0, 90.0, 500.0]);
        let mut job = test_job("a", 2, 0, 5, &["DE"]);
        job.interruptible = Some(opts(1, 0));
        let plan = LetsWaitAwhile.plan(
            std::slice::from_ref(&job),
            &[s.clone()].into_iter().collect(),
            job.earliest_start,
        );
        let p = plan.placement("a").unwrap();
        let starts: Vec<_> = p.pieces.iter().map(|w| w.start()).collect();
        assert_eq!(starts, vec![s.points()[0].start, s.points()[3].start]);
        assert!((p.emissions.0 - 190.0).abs() < 1e-9);
    }

    #[test]
    fn resume_overhead_is_added_to_later_pieces() {
        let s = test_series("DE", &[100.0, 500.0, 500.0, 90.0, 90.0, 500.0]);
        let got = interruptible_pieces(
            &s,
            s.points()[0].start,
            s.span().unwrap().end(),
            SignedDuration::from_hours(2),
            &opts(0, 30),
        )
        .unwrap();
        // Cleanest: hours 3 and 4 (one run, no overhead) hold the 2 h of work.
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].start(), s.points()[3].start);
        let got = interruptible_pieces(
            &s,
            s.points()[0].start,
            s.span().unwrap().end(),
            SignedDuration::from_mins(150),
            &opts(0, 30),
        )
        .unwrap();
        let total: i64 = got.iter().map(|w| w.duration().as_secs()).sum();
        assert_eq!(got.len(), 2);
        assert_eq!(total, 150 * 60 + 30 * 60);
    }

    #[test]
    fn min_chunk_forbids_short_pieces() {
        let s = test_series("DE", &[10.0, 500.0, 10.0, 500.0, 500.0]);
        let mut job = test_job("a", 2, 0, 5, &["DE"]);
        job.interruptible = Some(opts(2, 0));
        let plan = LetsWaitAwhile.plan(
            std::slice::from_ref(&job),
            &[s].into_iter().collect(),
            job.earliest_start,
        );
        let p = plan.placement("a").unwrap();
        assert!(
            p.pieces
                .iter()
                .all(|w| w.duration() >= SignedDuration::from_hours(2))
        );
    }

    #[test]
    fn non_interruptible_jobs_get_the_best_window() {
        let s = test_series("DE", &[100.0, 500.0, 90.0, 500.0]);
        let job = test_job("a", 1, 0, 4, &["DE"]);
        let plan = LetsWaitAwhile.plan(
            std::slice::from_ref(&job),
            &[s.clone()].into_iter().collect(),
            job.earliest_start,
        );
        assert_eq!(
            plan.placement("a").unwrap().pieces,
            vec![TimeWindow::new(s.points()[2].start, s.points()[3].start).unwrap()]
        );
    }
}
