//! The ensemble: a weighted mean of the base models, weighted by their recent errors.
//!
//! At each issue time, each member's weight for forecast day `d` is its MAPE to the power
//! −[`WEIGHT_POWER`] on
//! day `d` over its last `calibration_issues` forecasts that had matured by then (issued at least
//! a horizon before; see [`crate::intervals::matured`]), renormalised over the members that
//! forecast this issue themselves. A member that fell back to a baseline at this issue, or has
//! no matured forecasts to be judged on, gets no weight (the fallback baseline is usually a member
//! already). If no member can be weighted, the members that ran are averaged equally, and the
//! output says so.
//!
//! The backtest computes the members' forecasts once and weights them per issue (it does not
//! call [`Ensemble::forecast`]); [`Ensemble::forecast`] runs the same rolling procedure over the
//! history it is given, so it is a pure function of its [`Input`] like every model.

use crate::DAY;
use crate::backtest::{RollSpec, roll};
use crate::history::HourlyHistory;
use crate::model::{ForecastError, Input, Model};

/// Floor on a member's MAPE (percent) so a perfect past does not get infinite weight.
pub const MIN_MAPE: f64 = 1e-6;

/// Weights are `MAPE^-WEIGHT_POWER`: with plain inverse MAPE (power 1) four weak baselines
/// together outweighed the best member and the ensemble lost to it on every region of the
/// Jan–Jun 2021 validation window; see docs/forecasting.md for the values tried.
pub const WEIGHT_POWER: i32 = 4;

/// Weights (summing to 1) from per-member MAPEs of one forecast day; `None` for members that
/// cannot be weighted. `None` overall if no member can.
pub fn inverse_mape_weights(mapes: &[Option<f64>]) -> Option<Vec<f64>> {
    let inv: Vec<f64> = mapes
        .iter()
        .map(|m| match m {
            Some(m) if m.is_finite() => m.max(MIN_MAPE).powi(-WEIGHT_POWER),
            _ => 0.0,
        })
        .collect();
    let total: f64 = inv.iter().sum();
    (total > 0.0).then(|| inv.iter().map(|w| w / total).collect())
}

/// The weighted forecast: lead `l` is `Σ_k weights[l / 24][k] · members[k][l]`. Members with
/// weight 0 may be `None`.
pub fn combine(
    members: &[Option<&[f64]>],
    weights_by_day: &[Vec<f64>],
    horizon: usize,
) -> Vec<f64> {
    (0..horizon)
        .map(|lead| {
            let w = &weights_by_day[(lead / DAY).min(weights_by_day.len() - 1)];
            members
                .iter()
                .zip(w)
                .filter(|(_, w)| **w > 0.0)
                .map(|(m, w)| m.map_or(0.0, |m| w * m[lead]))
                .sum()
        })
        .collect()
}

/// The ensemble as a [`Model`], over the given members.
// No derives: members are trait objects.
pub struct Ensemble {
    members: Vec<Box<dyn Model>>,
    calibration_issues: usize,
}

impl Ensemble {
    /// An ensemble of `members`, weighted over their last `calibration_issues` matured forecasts.
    pub fn new(members: Vec<Box<dyn Model>>, calibration_issues: usize) -> Ensemble {
        Ensemble {
            members,
            calibration_issues,
        }
    }

    /// The member models.
    pub fn members(&self) -> &[Box<dyn Model>] {
        &self.members
    }
}

impl std::fmt::Debug for Ensemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.members.iter().map(|m| m.name()).collect();
        f.debug_struct("Ensemble")
            .field("members", &names)
            .field("calibration_issues", &self.calibration_issues)
            .finish()
    }
}

impl Model for Ensemble {
    fn name(&self) -> &'static str {
        "ensemble"
    }
    fn describe(&self) -> &'static str {
        "weighted mean of the models, weights = MAPE^-4 per lead day over recent matured forecasts"
    }
    fn min_history_hours(&self) -> usize {
        self.members
            .iter()
            .map(|m| m.min_history_hours())
            .min()
            .unwrap_or(DAY)
    }
    fn max_horizon_hours(&self) -> usize {
        self.members
            .iter()
            .map(|m| m.max_horizon_hours())
            .max()
            .unwrap_or(0)
    }
    fn forecast(&self, input: &Input<'_>) -> Result<Vec<f64>, ForecastError> {
        let history = HourlyHistory {
            start: input.history_start,
            values: input.history.to_vec(),
        };
        let members: Vec<&dyn Model> = self.members.iter().map(|m| m.as_ref()).collect();
        let spec = RollSpec::serving(input.issue_at, input.horizon, self.calibration_issues, 1);
        let run = roll(&history, input.exogenous, &spec, &members, true);
        let ens = run
            .runs
            .last()
            .and_then(|r| r.out.last())
            .and_then(|o| o.as_ref());
        ens.map(|o| o.point.clone())
            .ok_or_else(|| ForecastError::Fit {
                model: "ensemble".into(),
                reason: run
                    .runs
                    .last()
                    .and_then(|r| r.errors.last().cloned().flatten())
                    .unwrap_or_else(|| "no member could forecast".into()),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn weights_are_inverse_mape_to_the_power_renormalised() {
        let w = inverse_mape_weights(&[Some(10.0), Some(5.0), None]).unwrap();
        // Half the error, 2^4 = 16 times the weight.
        assert!((w[0] - 1.0 / 17.0).abs() < 1e-12 && (w[1] - 16.0 / 17.0).abs() < 1e-12);
        assert_eq!(w[2], 0.0);
        assert!(inverse_mape_weights(&[None, Some(f64::NAN)]).is_none());
        let w = inverse_mape_weights(&[Some(0.0), Some(10.0)]).unwrap();
        assert!(
            w[0] > 0.999_999,
            "a perfect member dominates but stays finite"
        );
    }

    #[test]
    fn the_ensemble_model_mixes_its_members() {
        use crate::baseline::{Climatology, Persistence};
        // Six weeks: a daily cycle whose level drifts from day to day.
        let history: Vec<Option<f64>> = (0..42 * 24)
            .map(|i: usize| {
                let (d, h) = ((i / 24) as f64, (i % 24) as f64);
                Some(200.0 + 50.0 * (h / 4.0).sin() + 40.0 * (d * 1.3).sin())
            })
            .collect();
        let start: jiff::Timestamp = "2021-01-04T00:00:00Z".parse().unwrap();
        let input = Input {
            history_start: start,
            history: &history,
            issue_at: start + jiff::SignedDuration::from_hours(history.len() as i64),
            horizon: 48,
            exogenous: None,
        };
        let e = Ensemble::new(vec![Box::new(Persistence), Box::new(Climatology)], 7);
        let f = e.forecast(&input).unwrap();
        let p = Persistence.forecast(&input).unwrap();
        let c = Climatology.forecast(&input).unwrap();
        for l in 0..48 {
            let (lo, hi) = (p[l].min(c[l]), p[l].max(c[l]));
            assert!(
                lo - 1e-9 <= f[l] && f[l] <= hi + 1e-9,
                "lead {l}: {} not in [{lo}, {hi}]",
                f[l]
            );
        }
        assert!(f != p && f != c, "both members have weight");
        assert_eq!(
            format!("{e:?}"),
            "Ensemble { members: [\"persistence\", \"climatology\"], calibration_issues: 7 }"
        );
    }

    #[test]
    fn combine_uses_each_day_s_weights() {
        let a = vec![100.0; 48];
        let b = vec![200.0; 48];
        let w = vec![vec![0.5, 0.5], vec![1.0, 0.0]];
        let f = combine(&[Some(&a), Some(&b)], &w, 48);
        assert_eq!(f[0], 150.0);
        assert_eq!(f[30], 100.0);
        let f = combine(&[Some(&a), None], &[vec![1.0, 0.0]], 2);
        assert_eq!(f, vec![100.0, 100.0]);
    }
}
