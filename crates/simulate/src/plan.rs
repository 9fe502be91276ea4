//! Planning one job on the grid: fast planners with the semantics of kite-scheduler's `asap`,
//! `best-window` and `lets-wait-awhile`, and an adapter that runs any
//! [`kite_scheduler::Policy`] (used for `threshold`).
//!
//! The fast planners exist because a Let's Wait Awhile reproduction plans hundreds of thousands
//! of jobs: window sums come from prefix sums (O(1) per candidate start) and the interruptible
//! greedy keeps its runs incrementally (O(n log n) per job instead of O(n²)). They must choose
//! exactly what kite-scheduler chooses; the tests below check that on random traces and jobs.

use crate::jobs::SimJob;
use kite_core::{
    GramsCo2PerKwh, IntensitySeries, Point, Provenance, Resolution, Signal, SignalMeta,
    SignedDuration, Timestamp, Watts, ZoneKey,
};
use kite_scheduler::{Interruptible, Job, Policy, Signals};

/// One zone's values on the grid (a forecast or the actual trace) with prefix sums.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// g/kWh per step; NaN where missing.
    pub values: Vec<f64>,
    /// `prefix[k]` = sum of `values[..k]`, missing counted as 0.
    prefix: Vec<f64>,
    /// `missing[k]` = number of missing steps in `values[..k]`.
    missing: Vec<u32>,
}

impl Series {
    pub(crate) fn new(values: Vec<f64>) -> Series {
        let mut prefix = Vec::with_capacity(values.len() + 1);
        let mut missing = Vec::with_capacity(values.len() + 1);
        let (mut s, mut m) = (0.0, 0u32);
        prefix.push(s);
        missing.push(m);
        for v in &values {
            if v.is_nan() {
                m += 1;
            } else {
                s += v;
            }
            prefix.push(s);
            missing.push(m);
        }
        Series {
            values,
            prefix,
            missing,
        }
    }

    pub(crate) fn len(&self) -> i64 {
        self.values.len() as i64
    }

    /// Whether every step of `[a, b)` is inside the grid and has a value.
    pub(crate) fn covered(&self, a: i64, b: i64) -> bool {
        a >= 0 && b <= self.len() && a <= b && self.missing[b as usize] == self.missing[a as usize]
    }

    fn sum(&self, a: i64, b: i64) -> f64 {
        self.prefix[b as usize] - self.prefix[a as usize]
    }

    fn value(&self, k: i64) -> f64 {
        self.values[k as usize]
    }

    /// Σ value × seconds over pieces given in seconds from the grid start (g/kWh·s).
    pub(crate) fn integral(&self, pieces: &[(i64, i64)], step: i64) -> f64 {
        let mut total = 0.0;
        for &(a, b) in pieces {
            let mut k = a.div_euclid(step);
            while k * step < b {
                let lo = a.max(k * step);
                let hi = b.min((k + 1) * step);
                if hi > lo && k >= 0 && k < self.len() {
                    total += self.value(k) * (hi - lo) as f64;
                }
                k += 1;
            }
        }
        total
    }
}

/// Where and when a job runs: a zone index and pieces in seconds from the grid start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placement {
    pub region: usize,
    pub pieces: Vec<(i64, i64)>,
}

impl Placement {
    /// End of the last piece, in seconds from the grid start.
    pub(crate) fn end(&self) -> i64 {
        self.pieces.last().map(|p| p.1).unwrap_or(0)
    }
}

/// The fast planners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fast {
    Asap,
    BestWindow,
    LetsWaitAwhile,
}

/// Plans `job` with the semantics of the kite-scheduler policy `kind` on `forecast` (one
/// series per zone). `extra` steps past the deadline are usable (the LWA compat switch).
pub(crate) fn plan_fast(
    kind: Fast,
    job: &SimJob,
    forecast: &[Series],
    step: i64,
    extra: i64,
) -> Option<Placement> {
    let deadline = job.deadline + extra;
    if kind == Fast::Asap {
        let home = *job.regions.first()?;
        let f = &forecast[home];
        let (a, b) = (job.nominal, job.nominal + job.work);
        return (b <= deadline && f.covered(a, b)).then(|| Placement {
            region: home,
            pieces: vec![(a * step, b * step)],
        });
    }
    // (score, region, pieces in nanoseconds)
    let mut best: Option<Scored> = None;
    for &r in &job.regions {
        let f = &forecast[r];
        let pieces = match (kind, &job.interruptible) {
            (Fast::LetsWaitAwhile, Some(opts)) => {
                interruptible_pieces(f, job.earliest, deadline, job.work, opts, step)
            }
            _ => None,
        }
        .or_else(|| {
            best_window_start(f, job.earliest, deadline, job.work)
                .map(|s| vec![(s * step * NS, (s + job.work) * step * NS)])
        });
        let Some(pieces) = pieces else {
            continue;
        };
        let score = kite_emissions(f, &pieces, job.power_w, step);
        if best.as_ref().is_none_or(|(b, _, _)| score < *b) {
            best = Some((score, r, pieces));
        }
    }
    best.map(|(_, region, pieces)| Placement {
        region,
        // Whole seconds; a piece ending a fraction of a second into one rounds up.
        pieces: pieces
            .iter()
            .map(|&(a, b)| (a / NS, b / NS + i64::from(b % NS != 0)))
            .collect(),
    })
}

/// Nanoseconds per second.
const NS: i64 = 1_000_000_000;

/// A candidate placement: its emissions on the forecast, its zone, its pieces in nanoseconds.
type Scored = (f64, usize, Vec<(i64, i64)>);

/// Emissions of `pieces` (nanoseconds from the grid start) on `f`, computed the way
/// kite-scheduler's `emissions_of` does (whole seconds of overlap per step, kWh × g/kWh, summed
/// in time order), so that the choice between regions is the same to the last bit.
fn kite_emissions(f: &Series, pieces: &[(i64, i64)], power_w: f64, step: i64) -> f64 {
    let mut total = 0.0;
    for &(a, b) in pieces {
        let mut k = a.div_euclid(step * NS);
        while k * step * NS < b {
            let lo = a.max(k * step * NS);
            let hi = b.min((k + 1) * step * NS);
            if hi > lo && k >= 0 && k < f.len() {
                let secs = (hi - lo) / NS;
                total += power_w * secs as f64 / 3.6e6 * f.value(k);
            }
            k += 1;
        }
    }
    total
}

/// Averages this close (relative) are ties, as in kite-scheduler's `best_windows`.
const TIE_TOLERANCE: f64 = 1e-9;

/// The earliest start in `[start, deadline - work]` whose window of `work` steps is covered and
/// has the lowest mean (ties within [`TIE_TOLERANCE`] go to the earliest).
pub(crate) fn best_window_start(f: &Series, start: i64, deadline: i64, work: i64) -> Option<i64> {
    let first = start.max(0);
    let last = deadline.min(f.len()) - work;
    let mut min = f64::INFINITY;
    for s in first..=last {
        if f.covered(s, s + work) {
            min = min.min(f.sum(s, s + work) / work as f64);
        }
    }
    if !min.is_finite() {
        return None;
    }
    let tolerance = TIE_TOLERANCE * min.abs().max(1.0);
    (first..=last)
        .find(|&s| f.covered(s, s + work) && f.sum(s, s + work) / work as f64 - min <= tolerance)
}

/// kite-scheduler's `interruptible_pieces` on the grid: take the cleanest steps of
/// `[start, deadline)` one by one (earlier on ties) until the runs they form hold `work` under
/// the job's options, then trim the runs to exactly the work from the latest backwards.
/// Runs are merged incrementally and the fit test is O(1), so this is O(n log n). Pieces are in
/// nanoseconds from the grid start (a later piece may be one nanosecond longer than the resume
/// overhead, as in kite-scheduler).
pub(crate) fn interruptible_pieces(
    f: &Series,
    start: i64,
    deadline: i64,
    work_steps: i64,
    opts: &Interruptible,
    step: i64,
) -> Option<Vec<(i64, i64)>> {
    let lo = start.max(0);
    let hi = deadline.min(f.len());
    if hi <= lo {
        return None;
    }
    let n = (hi - lo) as usize;
    let mut order: Vec<usize> = (0..n)
        .filter(|&i| !f.value(lo + i as i64).is_nan())
        .collect();
    order.sort_unstable_by(|&a, &b| {
        f.value(lo + a as i64)
            .total_cmp(&f.value(lo + b as i64))
            .then(a.cmp(&b))
    });
    // Lengths in nanoseconds, like the SignedDurations of kite-scheduler.
    let nanos = |d: SignedDuration| d.as_nanos() as i64;
    let step_ns = step * NS;
    let work = work_steps * step_ns;
    let overhead = nanos(opts.resume_overhead);
    let min_chunk = nanos(opts.min_chunk).min(work);
    let min_first = min_chunk.max(1);
    let min_later = min_chunk.max(overhead + 1);
    let mut taken = vec![false; n];
    // end_of[run start] = run end; start_of[run end] = run start (slot indices).
    let mut end_of = vec![0usize; n + 1];
    let mut start_of = vec![0usize; n + 1];
    let (mut runs, mut total, mut short_later) = (0i64, 0i64, 0i64);
    let mut first: Option<usize> = None;
    let len_ns = |a: usize, b: usize| (b - a) as i64 * step_ns;
    for &i in &order {
        taken[i] = true;
        let (mut a, mut b) = (i, i + 1);
        runs += 1;
        if i > 0 && taken[i - 1] {
            a = start_of[i];
            runs -= 1;
            short_later -= i64::from(len_ns(a, i) < min_later);
        }
        if i + 1 < n && taken[i + 1] {
            b = end_of[i + 1];
            runs -= 1;
            short_later -= i64::from(len_ns(i + 1, b) < min_later);
        }
        end_of[a] = b;
        start_of[b] = a;
        total += step_ns;
        short_later += i64::from(len_ns(a, b) < min_later);
        first = Some(first.map_or(i, |m| m.min(i)));
        let first_start = first?;
        let first_len = len_ns(first_start, end_of[first_start]);
        if opts.max_pieces.is_some_and(|m| runs > i64::from(m)) {
            continue;
        }
        let later_short = short_later - i64::from(first_len < min_later);
        if first_len < min_first || later_short > 0 {
            continue;
        }
        let capacity = total - overhead * (runs - 1);
        let excess = capacity - work;
        let trimmable = total - min_first - min_later * (runs - 1);
        if excess < 0 || trimmable < excess {
            continue;
        }
        // Fits: collect the runs in time order and trim from the latest backwards.
        let mut pieces: Vec<(usize, i64)> = Vec::with_capacity(runs as usize);
        let mut k = first_start;
        while k < n {
            if taken[k] {
                let e = end_of[k];
                pieces.push((k, len_ns(k, e)));
                k = e;
            } else {
                k += 1;
            }
        }
        let mut left = excess;
        for (idx, piece) in pieces.iter_mut().enumerate().rev() {
            let min = if idx == 0 { min_first } else { min_later };
            let give = left.min(piece.1 - min);
            piece.1 -= give;
            left -= give;
        }
        return Some(
            pieces
                .into_iter()
                .map(|(k, len)| {
                    let s = (lo + k as i64) * step_ns;
                    (s, s + len)
                })
                .collect(),
        );
    }
    None
}

/// Runs a kite-scheduler policy on one job: builds the signals from `forecast` over the job's
/// window, plans at its earliest start, and maps the placement back onto the grid.
pub(crate) fn plan_with_policy(
    policy: &dyn Policy,
    job: &SimJob,
    zones: &[ZoneKey],
    forecast: &[Series],
    grid_start: i64,
    step: i64,
    extra: i64,
) -> Option<Placement> {
    let ts = |k: i64| Timestamp::from_second(grid_start + k * step).ok();
    let resolution = Resolution::from_secs(u32::try_from(step).ok()?)?;
    let deadline = job.deadline + extra;
    let mut signals = Signals::new();
    for &r in &job.regions {
        let f = &forecast[r];
        let points: Vec<Point> = (job.earliest.max(0)..deadline.min(f.len()))
            .filter(|&k| !f.value(k).is_nan())
            .filter_map(|k| {
                Some(Point {
                    start: ts(k)?,
                    duration_secs: resolution.secs(),
                    value: GramsCo2PerKwh(f.value(k).max(0.0)),
                })
            })
            .collect();
        let meta = SignalMeta {
            signal: Signal::AVERAGE_LIFECYCLE,
            source: "kite-simulate".into(),
            fetched_at: None,
            provenance: Provenance::Forecast {
                issued_at: ts(job.earliest),
                model: "simulated".into(),
            },
        };
        signals.insert(IntensitySeries::new(zones[r].clone(), meta, resolution, points).ok()?);
    }
    let mut sched_job = Job::new(
        job.id.clone(),
        SignedDuration::from_secs(job.work * step),
        Watts(job.power_w),
        ts(job.earliest)?,
        ts(deadline)?,
        job.regions.iter().map(|&r| zones[r].clone()).collect(),
    );
    sched_job.interruptible = job.interruptible.clone();
    let plan = policy.plan(
        std::slice::from_ref(&sched_job),
        &signals,
        ts(job.earliest)?,
    );
    let placed = plan.placements.first()?;
    let region = zones.iter().position(|z| z == &placed.region)?;
    let pieces = placed
        .pieces
        .iter()
        .map(|w| {
            // Whole seconds, rounding a fractional end up (as the fast planners do).
            let secs =
                |t: Timestamp| t.as_second() + i64::from(t.subsec_nanosecond() > 0) - grid_start;
            (secs(w.start()), secs(w.end()))
        })
        .collect();
    Some(Placement { region, pieces })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kite_scheduler::{BestWindow, LetsWaitAwhile};
    use rand::{RngExt, SeedableRng};

    const STEP: i64 = 1800;

    fn zones() -> Vec<ZoneKey> {
        vec![ZoneKey::new("DE").unwrap(), ZoneKey::new("GB").unwrap()]
    }

    /// Random traces with a few ties (values on a coarse lattice) and a few missing steps.
    fn random_case(rng: &mut rand_pcg::Pcg64) -> (Vec<Series>, SimJob) {
        let n = rng.random_range(4..40i64);
        let series = (0..2)
            .map(|_| {
                Series::new(
                    (0..n)
                        .map(|_| {
                            if rng.random_range(0..30) == 0 {
                                f64::NAN
                            } else {
                                f64::from(rng.random_range(0..12u32)) * 25.0
                            }
                        })
                        .collect(),
                )
            })
            .collect();
        let work = rng.random_range(1..6i64);
        let earliest = rng.random_range(0..n / 2);
        let deadline = (earliest + work + rng.random_range(0..n)).min(n);
        let interruptible = rng.random_bool(0.8).then(|| Interruptible {
            min_chunk: SignedDuration::from_mins(rng.random_range(0..4i64) * 20),
            max_pieces: rng.random_bool(0.3).then(|| rng.random_range(1..4u32)),
            resume_overhead: SignedDuration::from_mins(rng.random_range(0..3i64) * 20),
        });
        let regions = if rng.random_bool(0.5) {
            vec![0]
        } else {
            vec![0, 1]
        };
        let job = SimJob {
            id: "j".into(),
            nominal: earliest,
            earliest,
            deadline,
            work,
            power_w: 1000.0,
            interruptible,
            regions,
        };
        (series, job)
    }

    #[test]
    fn fast_planners_choose_what_kite_scheduler_chooses() {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let zones = zones();
        let (mut compared, mut split) = (0, 0);
        for _ in 0..3000 {
            let (series, job) = random_case(&mut rng);
            for (fast, policy) in [
                (Fast::BestWindow, &BestWindow as &dyn Policy),
                (Fast::LetsWaitAwhile, &LetsWaitAwhile as &dyn Policy),
            ] {
                let got = plan_fast(fast, &job, &series, STEP, 0);
                let want = plan_with_policy(policy, &job, &zones, &series, 0, STEP, 0);
                assert_eq!(got, want, "{fast:?} on {job:?}\n{series:?}");
                compared += usize::from(want.is_some());
                split += usize::from(want.is_some_and(|p| p.pieces.len() > 1));
            }
        }
        // The cases exercise placements, splits and failures, not just one of them.
        assert!(
            compared > 3000 && split > 300,
            "{compared} placed, {split} split"
        );
    }

    #[test]
    fn best_window_prefers_the_earliest_of_equal_windows() {
        let f = Series::new(vec![300.0, 100.0, 300.0, 100.0, 300.0]);
        assert_eq!(best_window_start(&f, 0, 5, 1), Some(1));
        assert_eq!(best_window_start(&f, 2, 5, 1), Some(3));
        assert_eq!(best_window_start(&f, 0, 5, 2), Some(0));
    }

    #[test]
    fn missing_steps_are_never_used() {
        let f = Series::new(vec![10.0, f64::NAN, 10.0, 500.0, 500.0]);
        assert_eq!(best_window_start(&f, 0, 5, 2), Some(2));
        let opts = Interruptible {
            min_chunk: SignedDuration::ZERO,
            max_pieces: None,
            resume_overhead: SignedDuration::ZERO,
        };
        let got = interruptible_pieces(&f, 0, 5, 2, &opts, STEP).unwrap();
        assert_eq!(got, vec![(0, STEP * NS), (2 * STEP * NS, 3 * STEP * NS)]);
    }
}
