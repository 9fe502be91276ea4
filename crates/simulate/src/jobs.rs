//! Job arrival patterns (explicit list, nightly, Poisson, Let's Wait Awhile's ML training
//! workload) and the flexibility rules that turn an arrival into a window (±window, slack, the
//! next-workday and semi-weekly deadlines).
//!
//! All times are UTC and on the trace grid: generated arrivals are drawn on it (Poisson arrivals
//! are rounded up to the next step), and an explicit arrival off the grid is refused.

use crate::error::{SimError, invalid};
use crate::scenario::{Constraint, DeadlineRule, Durations, JobsSpec, Pattern};
use crate::text::{DAY, day_start, fmt_duration, fmt_instant, weekday};
use kite_scheduler::Interruptible;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp};
use rand_pcg::Pcg64;

/// A job as generated, before a variant's flexibility is applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BaseJob {
    pub id: String,
    /// When it would start if nobody shifted it (seconds since the epoch).
    pub nominal: i64,
    /// Seconds of work.
    pub duration: i64,
    /// A deadline given explicitly in the job list.
    pub deadline: Option<i64>,
    pub power_w: f64,
}

/// A job on the grid, ready to plan. Times are step indices from the grid start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SimJob {
    pub id: String,
    /// The baseline's start.
    pub nominal: i64,
    /// The first step it may run in (and when it is planned).
    pub earliest: i64,
    /// It must have finished by the start of this step.
    pub deadline: i64,
    /// Steps of work.
    pub work: i64,
    pub power_w: f64,
    pub interruptible: Option<Interruptible>,
    /// Zone indices it may run in; the first is its home (the baseline's).
    pub regions: Vec<usize>,
}

fn off_grid(field: &str, t: i64, start: i64, step: i64) -> SimError {
    invalid(
        field,
        format!(
            "{} is not on the trace grid (steps of {} from {}); use a time on the grid",
            fmt_instant(t),
            fmt_duration(step),
            fmt_instant(start)
        ),
    )
}

/// Generates the jobs of `[jobs]`, sorted by nominal start.
pub(crate) fn base_jobs(spec: &JobsSpec, start: i64, step: i64) -> Result<Vec<BaseJob>, SimError> {
    let on_grid = |t: i64| (t - start).rem_euclid(step) == 0;
    let mut jobs = match &spec.pattern {
        Pattern::List(list) => {
            let mut out = Vec::new();
            for (i, j) in list.iter().enumerate() {
                if !on_grid(j.arrival) {
                    return Err(off_grid(
                        &format!("jobs.list[{i}].arrival"),
                        j.arrival,
                        start,
                        step,
                    ));
                }
                if let Some(d) = j.deadline
                    && d < j.arrival + j.duration
                {
                    return Err(invalid(
                        format!("jobs.list[{i}].deadline"),
                        format!(
                            "{} is before the job could finish ({} = arrival + duration); move the deadline to {} or later",
                            fmt_instant(d),
                            fmt_instant(j.arrival + j.duration),
                            fmt_instant(j.arrival + j.duration)
                        ),
                    ));
                }
                out.push(BaseJob {
                    id: j.id.clone(),
                    nominal: j.arrival,
                    duration: j.duration,
                    deadline: j.deadline,
                    power_w: j.power_w.unwrap_or(spec.power_w),
                });
            }
            out
        }
        Pattern::Nightly {
            at,
            duration,
            first_day,
            days,
        } => {
            if !on_grid(first_day + at) {
                return Err(off_grid("jobs.at", first_day + at, start, step));
            }
            (0..i64::from(*days))
                .map(|d| BaseJob {
                    id: format!(
                        "nightly-{}",
                        fmt_instant(first_day + d * DAY).get(..10).unwrap_or("")
                    ),
                    nominal: first_day + d * DAY + at,
                    duration: *duration,
                    deadline: None,
                    power_w: spec.power_w,
                })
                .collect()
        }
        Pattern::Poisson {
            rate_per_hour,
            from,
            to,
            durations,
            seed,
        } => {
            let mut rng = Pcg64::seed_from_u64(*seed);
            let gap = Exp::new(rate_per_hour / 3600.0)
                .map_err(|e| invalid("jobs.rate_per_hour", e.to_string()))?;
            let mut out = Vec::new();
            let mut t = *from as f64;
            loop {
                t += gap.sample(&mut rng);
                if t >= *to as f64 {
                    break;
                }
                // Round up to the next step of the grid.
                let secs = t.ceil() as i64;
                let nominal = start + (secs - start + step - 1).div_euclid(step) * step;
                let duration = match durations {
                    Durations::Fixed(d) => *d,
                    Durations::Between(lo, hi) => lo + rng.random_range(0..(hi - lo) / step) * step,
                };
                out.push(BaseJob {
                    id: format!("poisson-{}", out.len()),
                    nominal,
                    duration,
                    deadline: None,
                    power_w: spec.power_w,
                });
            }
            if out.is_empty() {
                return Err(invalid(
                    "jobs.rate_per_hour",
                    "drew no arrival in [jobs.from, jobs.to); raise the rate or widen the window",
                ));
            }
            out
        }
        Pattern::MlTraining {
            count,
            seed,
            first_day,
            days,
            workdays_only,
            arrivals,
            durations,
        } => {
            if !on_grid(first_day + arrivals.0) {
                return Err(off_grid(
                    "jobs.arrivals_between[0]",
                    first_day + arrivals.0,
                    start,
                    step,
                ));
            }
            let usable: Vec<i64> = (0..i64::from(*days))
                .map(|d| first_day + d * DAY)
                .filter(|d| !workdays_only || weekday(*d) <= 4)
                .collect();
            if usable.is_empty() {
                return Err(invalid(
                    "jobs.days",
                    "leaves no workday to draw arrivals on; give more days or set workdays_only = false",
                ));
            }
            let mut rng = Pcg64::seed_from_u64(*seed);
            let n_starts = (arrivals.1 - arrivals.0) / step;
            let n_durations = (durations.1 - durations.0) / step;
            let mut out: Vec<BaseJob> = (0..*count)
                .map(|_| {
                    let day = usable[rng.random_range(0..usable.len())];
                    let nominal = day + arrivals.0 + rng.random_range(0..n_starts) * step;
                    let duration = durations.0 + rng.random_range(0..n_durations) * step;
                    BaseJob {
                        id: String::new(),
                        nominal,
                        duration,
                        deadline: None,
                        power_w: spec.power_w,
                    }
                })
                .collect();
            out.sort_by_key(|j| j.nominal);
            for (i, j) in out.iter_mut().enumerate() {
                j.id = format!("ml-{i}");
            }
            out
        }
    };
    jobs.sort_by_key(|j| j.nominal);
    Ok(jobs)
}

/// The deadline of a job that would finish at `finish` if started at once (`oft` in
/// `strategy.py`), under Let's Wait Awhile's rules, in UTC with the exact time of day:
/// - next-workday: finishing on a Saturday → Monday 09:00; on a Sunday or after 17:00 → the
///   next day 09:00 (so a Friday evening gives Saturday 09:00, as in LWA); before 09:00 → 09:00
///   that day; otherwise no slack;
/// - semi-weekly: Monday after 09:00 to Thursday 09:00 → Thursday 09:00; otherwise → the next
///   Monday 09:00 (the same day on a Monday before 09:00).
pub(crate) fn rule_deadline(rule: DeadlineRule, finish: i64) -> i64 {
    let wd = weekday(finish);
    let day = day_start(finish);
    let hour = (finish - day) as f64 / 3600.0;
    let nine = day + 9 * 3600;
    match rule {
        DeadlineRule::NextWorkday => {
            if wd == 5 {
                nine + 2 * DAY
            } else if wd == 6 || hour > 17.0 {
                nine + DAY
            } else if hour < 9.0 {
                nine
            } else {
                finish
            }
        }
        DeadlineRule::SemiWeekly => {
            let to_thursday =
                (wd == 0 && hour > 9.0) || wd == 1 || wd == 2 || (wd == 3 && hour <= 9.0);
            if to_thursday {
                nine + (7 - wd + 3).rem_euclid(7) * DAY
            } else {
                nine + (7 - wd).rem_euclid(7) * DAY
            }
        }
    }
}

/// Applies a variant's flexibility: the job's window on the grid starting at `start`.
pub(crate) fn constrain(
    job: &BaseJob,
    constraint: Option<Constraint>,
    interruptible: Option<&Interruptible>,
    regions: &[usize],
    start: i64,
    step: i64,
) -> SimJob {
    let finish = job.nominal + job.duration;
    let (earliest, deadline) = match (constraint, job.deadline) {
        (Some(Constraint::Window(w)), _) => (job.nominal - w, finish + w),
        (Some(Constraint::Slack(s)), _) => (job.nominal, finish + s),
        (Some(Constraint::Rule(rule)), _) => (job.nominal, rule_deadline(rule, finish)),
        (None, Some(d)) => (job.nominal, d),
        // Validation guarantees a deadline; without one the job cannot move.
        (None, None) => (job.nominal, finish),
    };
    let slot = |t: i64| (t - start).div_euclid(step);
    SimJob {
        id: job.id.clone(),
        nominal: slot(job.nominal),
        earliest: slot(earliest),
        deadline: slot(deadline),
        work: job.duration / step,
        power_w: job.power_w,
        interruptible: interruptible.cloned(),
        regions: regions.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::text::instant;

    fn t(s: &str) -> i64 {
        instant(s).unwrap().as_second()
    }

    #[test]
    fn next_workday_follows_lets_wait_awhile() {
        let nw = |s: &str| fmt_instant(rule_deadline(DeadlineRule::NextWorkday, t(s)));
        // Wednesday 12:00: inside working hours, no slack.
        assert_eq!(nw("2020-01-08T12:00:00Z"), "2020-01-08T12:00:00Z");
        // 17:00 is still inside; 17:30 is not.
        assert_eq!(nw("2020-01-08T17:00:00Z"), "2020-01-08T17:00:00Z");
        assert_eq!(nw("2020-01-08T17:30:00Z"), "2020-01-09T09:00:00Z");
        assert_eq!(nw("2020-01-08T08:30:00Z"), "2020-01-08T09:00:00Z");
        // Friday evening gives Saturday 09:00, as LWA's code does.
        assert_eq!(nw("2020-01-10T18:00:00Z"), "2020-01-11T09:00:00Z");
        assert_eq!(nw("2020-01-11T03:00:00Z"), "2020-01-13T09:00:00Z");
        assert_eq!(nw("2020-01-12T23:30:00Z"), "2020-01-13T09:00:00Z");
    }

    #[test]
    fn semi_weekly_is_monday_or_thursday_nine() {
        let sw = |s: &str| fmt_instant(rule_deadline(DeadlineRule::SemiWeekly, t(s)));
        assert_eq!(sw("2020-01-06T09:00:00Z"), "2020-01-06T09:00:00Z"); // Monday 09:00
        assert_eq!(sw("2020-01-06T09:30:00Z"), "2020-01-09T09:00:00Z"); // Monday after 9
        assert_eq!(sw("2020-01-08T23:00:00Z"), "2020-01-09T09:00:00Z"); // Wednesday
        assert_eq!(sw("2020-01-09T09:00:00Z"), "2020-01-09T09:00:00Z"); // Thursday 09:00
        assert_eq!(sw("2020-01-09T09:30:00Z"), "2020-01-13T09:00:00Z"); // Thursday after 9
        assert_eq!(sw("2020-01-12T10:00:00Z"), "2020-01-13T09:00:00Z"); // Sunday
    }

    #[test]
    fn ml_training_draws_on_workdays_and_the_grid() {
        let spec = JobsSpec {
            pattern: Pattern::MlTraining {
                count: 500,
                seed: 3,
                first_day: t("2020-01-01"),
                days: 28,
                workdays_only: true,
                arrivals: (9 * 3600, 17 * 3600),
                durations: (4 * 3600, 90 * 3600),
            },
            power_w: 1000.0,
        };
        let jobs = base_jobs(&spec, t("2020-01-01"), 1800).unwrap();
        assert_eq!(jobs.len(), 500);
        assert!(jobs.windows(2).all(|w| w[0].nominal <= w[1].nominal));
        for j in &jobs {
            assert!(weekday(j.nominal) <= 4, "{}", fmt_instant(j.nominal));
            let tod = j.nominal - day_start(j.nominal);
            assert!((9 * 3600..17 * 3600).contains(&tod));
            assert_eq!(tod % 1800, 0);
            assert!((4 * 3600..90 * 3600).contains(&j.duration));
            assert_eq!(j.duration % 1800, 0);
        }
        // Both ends of the ranges are reached with 500 draws from 16 starts.
        assert!(
            jobs.iter()
                .any(|j| j.nominal - day_start(j.nominal) == 9 * 3600)
        );
        assert!(
            jobs.iter()
                .any(|j| j.nominal - day_start(j.nominal) == 16 * 3600 + 1800)
        );
    }

    #[test]
    fn a_window_opens_both_ways_around_the_nominal_start() {
        let job = BaseJob {
            id: "a".into(),
            nominal: t("2020-01-02T01:00:00Z"),
            duration: 1800,
            deadline: None,
            power_w: 1.0,
        };
        let start = t("2020-01-01");
        let j = constrain(
            &job,
            Some(Constraint::Window(4 * 1800)),
            None,
            &[0],
            start,
            1800,
        );
        assert_eq!(j.nominal, 48 + 2);
        assert_eq!(j.earliest, 48 + 2 - 4);
        assert_eq!(j.deadline, 48 + 2 + 1 + 4);
        assert_eq!(j.work, 1);
    }
}
