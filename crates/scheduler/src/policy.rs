//! The [`Policy`] extension point, the [`Signals`] it reads, and the per-job driver every policy
//! shares (validation, region choice, emissions, baseline).

use crate::job::Job;
use crate::plan::{Placement, Plan, Unplaced, UnplacedReason, emissions_of};
use kite_core::{GramsCo2PerKwh, IntensitySeries, TimeWindow, Timestamp, ZoneKey};
use std::collections::BTreeMap;

/// A scheduling policy: a pure function of the jobs, the signals and `now`.
pub trait Policy: Send + Sync {
    /// Short stable name, e.g. `best-window`.
    fn name(&self) -> &'static str;
    /// Places every job it can; the others go to [`Plan::unplaced`] with the reason.
    fn plan(&self, jobs: &[Job], signal: &Signals, now: Timestamp) -> Plan;
}

/// Every policy, in a fixed order; `threshold` configures [`Threshold`](crate::Threshold).
pub fn all_policies(threshold: GramsCo2PerKwh) -> Vec<Box<dyn Policy>> {
    vec![
        Box::new(crate::Asap),
        Box::new(crate::Threshold { threshold }),
        Box::new(crate::BestWindow),
        Box::new(crate::LetsWaitAwhile),
        Box::new(crate::SpatioTemporal::carbon_only()),
    ]
}

/// The intensity series (forecast or actual) of each zone a plan may use.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    by_zone: BTreeMap<ZoneKey, IntensitySeries>,
}

impl Signals {
    /// No signals.
    pub fn new() -> Signals {
        Signals::default()
    }

    /// Adds (or replaces) the series of its zone.
    pub fn insert(&mut self, series: IntensitySeries) {
        self.by_zone.insert(series.zone().clone(), series);
    }

    /// The series of `zone`, if any.
    pub fn get(&self, zone: &ZoneKey) -> Option<&IntensitySeries> {
        self.by_zone.get(zone)
    }
}

impl FromIterator<IntensitySeries> for Signals {
    fn from_iter<I: IntoIterator<Item = IntensitySeries>>(iter: I) -> Signals {
        let mut s = Signals::new();
        for series in iter {
            s.insert(series);
        }
        s
    }
}

/// Which of a job's regions a policy considers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegionChoice {
    /// Only the first region (the baseline's).
    First,
    /// Every region with a signal; the lowest emissions win, the earlier region on ties.
    Cleanest,
}

/// The single window `[start, start + duration)`.
pub(crate) fn asap_window(job: &Job, start: Timestamp) -> Option<TimeWindow> {
    TimeWindow::new(start, start.checked_add(job.duration).ok()?).ok()
}

/// Plans each job on its own: validates it, asks `place` for pieces in each considered region,
/// keeps the covered placement with the lowest emissions, and adds the asap baseline.
/// `place` gets the job, a region's series and the first allowed start.
pub(crate) fn plan_each(
    jobs: &[Job],
    signals: &Signals,
    now: Timestamp,
    choice: RegionChoice,
    place: impl Fn(&Job, &IntensitySeries, Timestamp) -> Option<Vec<TimeWindow>>,
) -> Plan {
    let mut plan = Plan::default();
    for job in jobs {
        match plan_one(job, signals, now, choice, &place) {
            Ok(p) => plan.placements.push(p),
            Err(reason) => plan.unplaced.push(Unplaced {
                job_id: job.id.clone(),
                reason,
            }),
        }
    }
    plan
}

fn plan_one(
    job: &Job,
    signals: &Signals,
    now: Timestamp,
    choice: RegionChoice,
    place: &impl Fn(&Job, &IntensitySeries, Timestamp) -> Option<Vec<TimeWindow>>,
) -> Result<Placement, UnplacedReason> {
    job.validate(now)?;
    let start = job.start_from(now);
    let regions = match choice {
        RegionChoice::First => &job.regions[..job.regions.len().min(1)],
        RegionChoice::Cleanest => &job.regions[..],
    };
    let mut any_signal = false;
    let mut best: Option<(ZoneKey, Vec<TimeWindow>, kite_core::GramsCo2e)> = None;
    for region in regions {
        let Some(series) = signals.get(region) else {
            continue;
        };
        any_signal = true;
        let Some(pieces) = place(job, series, start) else {
            continue;
        };
        let Some(emissions) = emissions_of(&pieces, job.power, series) else {
            continue;
        };
        if best.as_ref().is_none_or(|b| emissions < b.2) {
            best = Some((region.clone(), pieces, emissions));
        }
    }
    let Some((region, pieces, emissions)) = best else {
        return Err(if any_signal {
            UnplacedReason::NotCovered {
                start,
                deadline: job.deadline,
            }
        } else {
            UnplacedReason::NoSignal {
                regions: regions.to_vec(),
            }
        });
    };
    let baseline_emissions = job
        .regions
        .first()
        .and_then(|r| signals.get(r))
        .zip(asap_window(job, start))
        .and_then(|(series, w)| emissions_of(&[w], job.power, series));
    Ok(Placement {
        job_id: job.id.clone(),
        region,
        pieces,
        emissions,
        baseline_emissions,
    })
}

/// Test helper: an hourly measured series for `zone` starting 2025-01-01T00:00Z.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn test_series(zone: &str, values: &[f64]) -> IntensitySeries {
    use kite_core::{Provenance, Resolution, Signal, SignalMeta, SignedDuration};
    let t0: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
    IntensitySeries::from_regular(
        ZoneKey::new(zone).unwrap(),
        SignalMeta {
            signal: Signal::AVERAGE_LIFECYCLE,
            source: "test".into(),
            fetched_at: None,
            provenance: Provenance::Measured,
        },
        Resolution::HOUR,
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (t0 + SignedDuration::from_hours(i as i64), *v)),
    )
    .unwrap()
}

/// Test helper: a non-interruptible job of `hours` in `regions`, allowed in
/// `[t0 + earliest_h, t0 + deadline_h)` where t0 is 2025-01-01T00:00Z.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn test_job(
    id: &str,
    hours: i64,
    earliest_h: i64,
    deadline_h: i64,
    regions: &[&str],
) -> Job {
    use kite_core::{SignedDuration, Watts};
    let t0: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
    Job {
        id: id.into(),
        duration: SignedDuration::from_hours(hours),
        power: Watts(1000.0),
        earliest_start: t0 + SignedDuration::from_hours(earliest_h),
        deadline: t0 + SignedDuration::from_hours(deadline_h),
        interruptible: None,
        regions: regions.iter().map(|r| ZoneKey::new(r).unwrap()).collect(),
        priority: 0,
        team: None,
        demand: 1,
    }
}
