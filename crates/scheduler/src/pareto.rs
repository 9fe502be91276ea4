//! The Pareto front of the spatio-temporal planner across emissions, energy cost and mean
//! delay.
//!
//! [`pareto_front`] sweeps the objective's weights over a grid on the simplex (plus the
//! pure-carbon and pure-delay ends), plans once per weight vector, and keeps the plans no other
//! plan dominates. Each criterion is divided by its spread between the two ends first, so a
//! weight of 0.5 means "half the importance" whatever the units (grams, currency, hours).
//!
//! A weighted-sum sweep only finds **supported** points, those on the convex hull of the front:
//! a non-dominated plan in a dent of the front is optimal for no weights and is missed. The
//! greedy (used on large instances) is not exact either, so a point may be dominated by a plan
//! the sweep did not produce.

use crate::job::Job;
use crate::policy::Signals;
use crate::spatio_temporal::{Planner, PlannerConfig, PlannerError, SpatioTemporalPlan, Weights};
use kite_core::{GramsCo2e, Timestamp};

/// One non-dominated plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ParetoPoint {
    /// The weights that produced it (in the objective's own units).
    pub weights: Weights,
    /// Emissions of the placed jobs.
    pub carbon: GramsCo2e,
    /// Energy cost of the placed jobs (0 without prices).
    pub cost: f64,
    /// Mean delay of the placed jobs, in hours.
    pub mean_delay_hours: f64,
    /// Jobs placed.
    pub placed: usize,
    /// The plan.
    pub plan: SpatioTemporalPlan,
}

impl ParetoPoint {
    /// Whether `self` is at least as good as `other` on every criterion (more jobs placed,
    /// less carbon, cost and delay) and better on one. Differences within a relative 1e-9 are
    /// ties.
    pub fn dominates(&self, other: &ParetoPoint) -> bool {
        let le = |a: f64, b: f64| a <= b + 1e-9 * a.abs().max(b.abs()).max(1.0);
        let lt = |a: f64, b: f64| !le(b, a);
        let all = self.placed >= other.placed
            && le(self.carbon.0, other.carbon.0)
            && le(self.cost, other.cost)
            && le(self.mean_delay_hours, other.mean_delay_hours);
        let one = self.placed > other.placed
            || lt(self.carbon.0, other.carbon.0)
            || lt(self.cost, other.cost)
            || lt(self.mean_delay_hours, other.mean_delay_hours);
        all && one
    }

    fn ties(&self, other: &ParetoPoint) -> bool {
        !self.dominates(other) && !other.dominates(self) && {
            let eq = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
            self.placed == other.placed
                && eq(self.carbon.0, other.carbon.0)
                && eq(self.cost, other.cost)
                && eq(self.mean_delay_hours, other.mean_delay_hours)
        }
    }
}

/// The non-dominated plans of a weight sweep with `steps` divisions per axis (at least 1): the
/// weights `(a, b, c) / steps` with `a + b + c = steps` over (carbon, cost, delay), the cost
/// axis only when `cfg.prices` is set. `cfg.weights` is ignored; everything else in `cfg`
/// (capacity, method, bound) applies to every plan. Sorted by carbon, then cost, then delay.
pub fn pareto_front(
    jobs: &[Job],
    signals: &Signals,
    now: Timestamp,
    cfg: &PlannerConfig,
    steps: u32,
) -> Result<Vec<ParetoPoint>, PlannerError> {
    let steps = steps.max(1);
    let run = |w: Weights| -> Result<ParetoPoint, PlannerError> {
        let planner = Planner::new(PlannerConfig {
            weights: w,
            ..cfg.clone()
        })?;
        let plan = planner.plan(jobs, signals, now);
        Ok(ParetoPoint {
            weights: w,
            carbon: plan.carbon,
            cost: plan.cost,
            mean_delay_hours: plan.mean_delay_hours,
            placed: plan.plan.placements.len(),
            plan,
        })
    };
    let carbon_end = run(Weights::CARBON)?;
    let delay_end = run(Weights {
        carbon: 0.0,
        cost: 0.0,
        delay_per_hour: 1.0,
    })?;
    let with_cost = cfg.prices.is_some();
    let cost_end = if with_cost {
        Some(run(Weights {
            carbon: 0.0,
            cost: 1.0,
            delay_per_hour: 0.0,
        })?)
    } else {
        None
    };
    // Spread of each criterion between the ends, so weights compare like with like.
    let ends: Vec<&ParetoPoint> = [Some(&carbon_end), Some(&delay_end), cost_end.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    let spread = |f: &dyn Fn(&ParetoPoint) -> f64| {
        let (lo, hi) = ends
            .iter()
            .map(|p| f(p))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let s = hi - lo;
        if s > 0.0 && s.is_finite() { s } else { 1.0 }
    };
    let carbon_scale = spread(&|p| p.carbon.0);
    let cost_scale = spread(&|p| p.cost);
    let delay_scale = spread(&|p| p.mean_delay_hours * p.placed.max(1) as f64);

    let mut points = vec![carbon_end, delay_end];
    points.extend(cost_end);
    let cost_steps = if with_cost { steps } else { 0 };
    for a in 0..=steps {
        for b in 0..=cost_steps.min(steps - a) {
            let c = steps - a - b;
            // The pure ends are already in.
            if [a, b, c].iter().filter(|&&v| v == 0).count() == 2 {
                continue;
            }
            let f = |v: u32| f64::from(v) / f64::from(steps);
            points.push(run(Weights {
                carbon: f(a) / carbon_scale,
                cost: f(b) / cost_scale,
                delay_per_hour: f(c) / delay_scale,
            })?);
        }
    }
    let mut front: Vec<ParetoPoint> = Vec::new();
    for p in points {
        let beaten = front.iter().any(|q| q.dominates(&p) || q.ties(&p));
        if beaten {
            continue;
        }
        front.retain(|q| !p.dominates(q));
        front.push(p);
    }
    front.sort_by(|a, b| {
        a.carbon
            .0
            .total_cmp(&b.carbon.0)
            .then(a.cost.total_cmp(&b.cost))
            .then(a.mean_delay_hours.total_cmp(&b.mean_delay_hours))
    });
    Ok(front)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::{test_job, test_series};
    use crate::spatio_temporal::{Method, PlannerConfig};

    #[test]
    fn the_front_spans_carbon_and_delay_and_holds_no_dominated_point() {
        // Waiting pays: intensity falls over the day, so carbon and delay conflict.
        let signals: Signals = [test_series("DE", &[400.0, 300.0, 200.0, 100.0, 90.0])]
            .into_iter()
            .collect();
        let jobs = [
            test_job("a", 1, 0, 5, &["DE"]),
            test_job("b", 2, 0, 5, &["DE"]),
        ];
        let cfg = PlannerConfig {
            method: Method::Greedy,
            bound: None,
            ..PlannerConfig::carbon_only()
        };
        let front = pareto_front(&jobs, &signals, jobs[0].earliest_start, &cfg, 8).unwrap();
        assert!(front.len() >= 3, "{}", front.len());
        for (i, p) in front.iter().enumerate() {
            for (k, q) in front.iter().enumerate() {
                assert!(i == k || !q.dominates(p), "{k} dominates {i}");
            }
        }
        // The ends: least carbon has the most delay and vice versa.
        let first = front.first().unwrap();
        let last = front.last().unwrap();
        assert!(first.carbon.0 < last.carbon.0);
        assert!(first.mean_delay_hours > last.mean_delay_hours);
        assert_eq!(last.mean_delay_hours, 0.0);
    }
}
