//! What a user asks to run: a [`Job`], its constraints, and their validation.

use kite_core::{SignedDuration, Timestamp, Watts, ZoneKey};

/// How a job may be split into pieces (checkpoint and resume).
#[derive(Debug, Clone, PartialEq)]
pub struct Interruptible {
    /// The shortest piece worth running (a piece's length includes its resume overhead).
    pub min_chunk: SignedDuration,
    /// The most pieces the job may be split into; `None` for no limit.
    pub max_pieces: Option<u32>,
    /// Extra time every piece after the first spends restoring state before doing work.
    pub resume_overhead: SignedDuration,
}

/// A unit of work to place in time and space.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Caller's identifier, echoed in the plan.
    pub id: String,
    /// How long the work takes when run without interruption.
    pub duration: SignedDuration,
    /// Average power drawn while running.
    pub power: Watts,
    /// The job may not start before this instant.
    pub earliest_start: Timestamp,
    /// The job must have finished by this instant.
    pub deadline: Timestamp,
    /// `Some` if the job may be split into pieces.
    pub interruptible: Option<Interruptible>,
    /// Zones the job may run in, in order of preference; the first is the baseline's.
    pub regions: Vec<ZoneKey>,
    /// Higher runs first when capacity is short (kept for the planner; policies ignore it).
    pub priority: i32,
    /// Owning team, for accounting.
    pub team: Option<String>,
    /// Resource units (GPUs, nodes) the job occupies in its region while it runs; at least 1.
    pub demand: u32,
}

/// Why a job cannot be planned as given. Each message names the field, the value and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    /// `duration` is zero or negative.
    #[error("job `{job_id}`: duration is {duration:#}; give a positive duration such as 1h")]
    NonPositiveDuration {
        /// The job.
        job_id: String,
        /// The value given.
        duration: SignedDuration,
    },
    /// The deadline comes before the job could finish.
    #[error(
        "job `{job_id}`: deadline {deadline} cannot be met: earliest feasible deadline is {earliest_feasible} (start {start} + duration {duration:#}); move the deadline to {earliest_feasible} or later"
    )]
    DeadlineUnreachable {
        /// The job.
        job_id: String,
        /// The deadline given.
        deadline: Timestamp,
        /// max(now, earliest_start).
        start: Timestamp,
        /// The job's duration.
        duration: SignedDuration,
        /// start + duration.
        earliest_feasible: Timestamp,
    },
    /// `regions` is empty.
    #[error("job `{job_id}`: regions is empty; list at least one zone key such as DE")]
    NoRegions {
        /// The job.
        job_id: String,
    },
    /// `power` is negative or not a number.
    #[error("job `{job_id}`: power is {power} W; give a finite, non-negative power in watts")]
    BadPower {
        /// The job.
        job_id: String,
        /// The value given.
        power: f64,
    },
    /// `interruptible.min_chunk` or `interruptible.resume_overhead` is negative.
    #[error("job `{job_id}`: interruptible.{field} is {value:#}; give zero or a positive duration")]
    NegativeInterruptibleDuration {
        /// The job.
        job_id: String,
        /// `min_chunk` or `resume_overhead`.
        field: &'static str,
        /// The value given.
        value: SignedDuration,
    },
    /// `demand` is zero.
    #[error("job `{job_id}`: demand is 0; give at least 1 resource unit (GPUs, nodes)")]
    ZeroDemand {
        /// The job.
        job_id: String,
    },
    /// `interruptible.max_pieces` is zero.
    #[error("job `{job_id}`: interruptible.max_pieces is 0; give at least 1, or leave it unset")]
    ZeroMaxPieces {
        /// The job.
        job_id: String,
    },
    /// A time computed from the job's fields is outside the representable range.
    #[error(
        "job `{job_id}`: {field} plus duration is out of range; give times between years 1 and 9999"
    )]
    OutOfRange {
        /// The job.
        job_id: String,
        /// The field the computation started from.
        field: &'static str,
    },
}

impl Job {
    /// A job with the usual defaults: not interruptible, priority 0, no team, demand 1.
    ///
    /// Prefer this over a struct literal outside this crate, so that adding a field later does
    /// not break callers; set other fields on the returned value.
    pub fn new(
        id: impl Into<String>,
        duration: SignedDuration,
        power: Watts,
        earliest_start: Timestamp,
        deadline: Timestamp,
        regions: Vec<ZoneKey>,
    ) -> Job {
        Job {
            id: id.into(),
            duration,
            power,
            earliest_start,
            deadline,
            interruptible: None,
            regions,
            priority: 0,
            team: None,
            demand: 1,
        }
    }

    /// The first instant the job may start at: `max(now, earliest_start)`.
    pub fn start_from(&self, now: Timestamp) -> Timestamp {
        now.max(self.earliest_start)
    }

    /// Checks that the job can be planned at `now`.
    pub fn validate(&self, now: Timestamp) -> Result<(), JobError> {
        let job_id = self.id.clone();
        if !self.duration.is_positive() {
            return Err(JobError::NonPositiveDuration {
                job_id,
                duration: self.duration,
            });
        }
        if !(self.power.0.is_finite() && self.power.0 >= 0.0) {
            return Err(JobError::BadPower {
                job_id,
                power: self.power.0,
            });
        }
        if self.regions.is_empty() {
            return Err(JobError::NoRegions { job_id });
        }
        if self.demand == 0 {
            return Err(JobError::ZeroDemand { job_id });
        }
        if let Some(i) = &self.interruptible {
            for (field, value) in [
                ("min_chunk", i.min_chunk),
                ("resume_overhead", i.resume_overhead),
            ] {
                if value.is_negative() {
                    return Err(JobError::NegativeInterruptibleDuration {
                        job_id,
                        field,
                        value,
                    });
                }
            }
            if i.max_pieces == Some(0) {
                return Err(JobError::ZeroMaxPieces { job_id });
            }
        }
        let start = self.start_from(now);
        let earliest_feasible =
            start
                .checked_add(self.duration)
                .map_err(|_| JobError::OutOfRange {
                    job_id: job_id.clone(),
                    field: "earliest_start",
                })?;
        if self.deadline < earliest_feasible {
            return Err(JobError::DeadlineUnreachable {
                job_id,
                deadline: self.deadline,
                start,
                duration: self.duration,
                earliest_feasible,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn job() -> Job {
        Job::new(
            "train",
            SignedDuration::from_hours(2),
            Watts(300.0),
            "2025-01-01T00:00:00Z".parse().unwrap(),
            "2025-01-01T06:00:00Z".parse().unwrap(),
            vec![ZoneKey::new("DE").unwrap()],
        )
    }

    #[test]
    fn new_sets_the_documented_defaults() {
        let j = job();
        assert_eq!(j.interruptible, None);
        assert_eq!(j.priority, 0);
        assert_eq!(j.team, None);
        assert_eq!(j.demand, 1);
    }

    #[test]
    fn zero_demand_names_field_and_fix() {
        let j = Job { demand: 0, ..job() };
        let msg = j.validate(j.earliest_start).unwrap_err().to_string();
        assert!(msg.contains("demand is 0"), "{msg}");
        assert!(msg.contains("give at least 1"), "{msg}");
    }

    #[test]
    fn a_sound_job_validates() {
        let j = job();
        assert_eq!(j.validate(j.earliest_start), Ok(()));
    }

    #[test]
    fn zero_duration_names_field_and_fix() {
        let j = Job {
            duration: SignedDuration::ZERO,
            ..job()
        };
        let e = j.validate(j.earliest_start).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("duration is 0s"), "{msg}");
        assert!(msg.contains("give a positive duration"), "{msg}");
    }

    #[test]
    fn unreachable_deadline_says_the_earliest_feasible_one() {
        let j = job();
        let now: Timestamp = "2025-01-01T05:00:00Z".parse().unwrap();
        let msg = j.validate(now).unwrap_err().to_string();
        assert!(
            msg.contains("cannot be met: earliest feasible deadline is 2025-01-01T07:00:00Z"),
            "{msg}"
        );
    }
}
