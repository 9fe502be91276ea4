//! `asap`: start as soon as allowed in the first region; the carbon-agnostic baseline.

use crate::job::Job;
use crate::plan::Plan;
use crate::policy::{Policy, RegionChoice, Signals, asap_window, plan_each};
use kite_core::Timestamp;

/// Starts every job at `max(now, earliest_start)` in its first region, in one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Asap;

impl Policy for Asap {
    fn name(&self) -> &'static str {
        "asap"
    }

    fn plan(&self, jobs: &[Job], signal: &Signals, now: Timestamp) -> Plan {
        plan_each(jobs, signal, now, RegionChoice::First, |job, _, start| {
            asap_window(job, start).map(|w| vec![w])
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::{test_job, test_series};

    #[test]
    fn starts_at_earliest_start_in_first_region() {
        let signals: Signals = [
            test_series("DE", &[500.0, 100.0, 100.0, 100.0]),
            test_series("FR", &[10.0, 10.0, 10.0, 10.0]),
        ]
        .into_iter()
        .collect();
        let job = test_job("a", 1, 1, 4, &["DE", "FR"]);
        let plan = Asap.plan(std::slice::from_ref(&job), &signals, job.earliest_start);
        let p = plan.placement("a").unwrap();
        assert_eq!(p.region.as_str(), "DE");
        assert_eq!(p.pieces[0].start(), job.earliest_start);
        assert_eq!(Some(p.emissions), p.baseline_emissions);
        assert!((p.emissions.0 - 100.0).abs() < 1e-9);
    }
}
