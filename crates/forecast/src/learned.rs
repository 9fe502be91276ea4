//! A learned forecaster: direct multi-horizon ridge regression, one small model per lead hour,
//! on lagged values, calendar features and (where visible) weather-forecast features.
//!
//! Why this shape: it must stay a pure function of its [`Input`], so it trains on every call;
//! ridge via normal equations on ~30 standardised features and ≤ 730 rows per lead is a few
//! milliseconds for all 96 leads. Direct (one model per lead) rather than recursive, so errors do
//! not compound and each lead learns how much weight recent values still deserve.
//!
//! Training rows: one per past day at the same hour of day as the issue time (origin
//! `o = issue − 24 k h`, `k = 1 … window_days`), for each lead `h` whose target `o + h` lies
//! before the issue and is not a gap. Features are computed from the history as it stood at `o`
//! (values before `o`) and from exogenous rows *issued at or before `o`*, exactly as at forecast
//! time, so the training rows mimic real issues. The regression target is the change from the
//! persistence value (same hour of day, last day before the origin), so strong regularisation
//! shrinks towards persistence rather than towards a global mean.
//!
//! Gaps: features read the gap-filled series ([`fill_gaps`]); rows whose *target* is a gap are
//! skipped.

use crate::features::{Calendar, count_known, fill_gaps};
use crate::history::{Exogenous, ExogenousRow};
use crate::model::{ForecastError, Input, Model};
use crate::{DAY, WEEK};
use jiff::Timestamp;

/// Direct multi-horizon ridge regression (see the module docs).
#[derive(Debug, Clone)]
pub struct Learned {
    /// Past days used as training origins (at most; fewer if the history is shorter). 730
    /// beat 365 on the Jan–Jun 2021 validation half-year for CISO, PJM and MISO.
    pub window_days: usize,
    /// Ridge penalty per training row on standardised features (`λ·n` is added to `XᵀX`).
    pub ridge: f64,
    /// Use exogenous (weather) features for leads whose target hour has a visible row.
    pub use_weather: bool,
    /// Only train on targets strictly before this time (a frozen training period, as in
    /// CarbonCast's protocol); `None` trains on everything before the issue.
    pub train_before: Option<Timestamp>,
    /// Fit on `ln(1 + y)` instead of `y`: errors become relative, closer to what MAPE scores.
    pub log_scale: bool,
}

impl Default for Learned {
    fn default() -> Self {
        Learned {
            window_days: 730,
            ridge: 0.1,
            use_weather: true,
            train_before: None,
            log_scale: false,
        }
    }
}

/// Lagged-value and calendar features, before any weather.
const N_BASE: usize = 18;

/// Days in the long same-hour profile: the base of leads beyond the first day.
const LONG_PROFILE_DAYS: usize = 14;
/// Fewest training rows a lead model needs; below it the weather features are dropped, and
/// below it without weather the forecast fails.
const MIN_ROWS: usize = 20;

/// Per-call view of the history and weather, indexed by hour from `history_start`.
struct Frame<'a> {
    /// Gap-filled history.
    y: Vec<f64>,
    /// The history as given, transformed like `y`; gaps stay `None`.
    raw: Vec<Option<f64>>,
    /// Epoch hour of index 0.
    epoch_hour0: i64,
    /// Weather row for each hour index in `0 .. n + horizon`, if any.
    exog: Vec<Option<&'a ExogenousRow>>,
    /// Columns of the exogenous rows, and which one is temperature (K), if any.
    n_exog: usize,
    temperature: Option<usize>,
}

impl Frame<'_> {
    fn timestamp(&self, i: usize) -> Timestamp {
        Timestamp::from_second((self.epoch_hour0 + i as i64) * 3600).unwrap_or_default()
    }

    fn mean(&self, from: usize, to: usize) -> f64 {
        self.y[from..to].iter().sum::<f64>() / (to - from) as f64
    }

    /// What the regression corrects, for origin `o` and lead `h`: within the first day, the
    /// last value at the target's hour of day before `o` (persistence); beyond it, the mean of
    /// that hour over the last [`LONG_PROFILE_DAYS`] days. Ridge shrinks towards the base, and
    /// yesterday's hour says little about the same hour three days on.
    fn base(&self, o: usize, h: usize) -> f64 {
        let t = o + h;
        let lag = t - DAY * (h / DAY + 1);
        if h < DAY {
            self.y[lag]
        } else {
            self.long_profile(lag)
        }
    }

    /// Mean of the hour `lag` and the same hour on the days before it.
    fn long_profile(&self, lag: usize) -> f64 {
        (0..LONG_PROFILE_DAYS)
            .map(|k| self.y[lag - DAY * k])
            .sum::<f64>()
            / LONG_PROFILE_DAYS as f64
    }

    /// Weather columns for target `o + h` as known at origin `o`, or `None`.
    fn weather_at(&self, o: usize, i: usize) -> Option<&[f64]> {
        let row = self.exog.get(i).copied().flatten()?;
        (row.issued_at <= self.timestamp(o) && row.values.len() == self.n_exog)
            .then_some(row.values.as_slice())
    }

    /// Writes the features of (origin `o`, lead `h`) into `out`; `false` if weather was asked
    /// for and is not visible at `o`.
    fn features(&self, o: usize, h: usize, weather: bool, out: &mut Vec<f64>) -> bool {
        out.clear();
        let t = o + h;
        let lag = t - DAY * (h / DAY + 1);
        let profile = (1..=7).map(|k| self.y[lag + DAY - DAY * k]).sum::<f64>() / 7.0;
        out.extend([
            self.y[o - 1],
            self.mean(o - DAY, o),
            self.y[lag],
            self.y[t - WEEK],
            profile,
            self.mean(o - WEEK, o),
            self.long_profile(lag),
        ]);
        let cal = Calendar::of_epoch_hour(self.epoch_hour0 + t as i64);
        for d in 0..6 {
            out.push(f64::from(u8::from(cal.weekday == d)));
        }
        out.push(f64::from(u8::from(cal.is_fixed_holiday())));
        let lag_cal = Calendar::of_epoch_hour(self.epoch_hour0 + lag as i64);
        out.push(f64::from(u8::from(lag_cal.is_weekend())));
        out.push(f64::from(u8::from(lag_cal.is_fixed_holiday())));
        let a = cal.year_angle();
        out.extend([a.sin(), a.cos()]);
        debug_assert_eq!(out.len(), N_BASE);
        if weather {
            let (Some(wt), Some(wl)) = (self.weather_at(o, t), self.weather_at(o, lag)) else {
                return false;
            };
            out.extend_from_slice(wt);
            out.extend_from_slice(wl);
            if let Some(k) = self.temperature {
                // Heating and cooling degrees (K) around 18–22 °C drive electric load.
                out.push((291.15 - wt[k]).max(0.0));
                out.push((wt[k] - 295.15).max(0.0));
            }
        }
        true
    }
}

/// Weather rows aligned to the hour grid `epoch_hour0 ..` for `len` hours.
fn align_exog(exog: &Exogenous, epoch_hour0: i64, len: usize) -> Vec<Option<&ExogenousRow>> {
    let mut out = vec![None; len];
    for row in &exog.rows {
        let secs = row.target.as_second();
        if secs.rem_euclid(3600) != 0 {
            continue;
        }
        let i = secs / 3600 - epoch_hour0;
        if i >= 0 && (i as usize) < len {
            out[i as usize] = Some(row);
        }
    }
    out
}

/// Solves `a x = b` for a symmetric positive-definite `a` (`n × n`, row-major) by Cholesky;
/// `None` if `a` is not positive definite.
fn solve_spd(a: &mut [f64], b: &mut [f64], n: usize) -> Option<()> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    Some(())
}

/// A fitted ridge model on standardised features.
struct Ridge {
    mean: Vec<f64>,
    scale: Vec<f64>,
    coef: Vec<f64>,
    intercept: f64,
}

impl Ridge {
    /// Fits on rows `x` (`rows × p`, row-major) and targets `z`.
    fn fit(x: &[f64], z: &[f64], p: usize, lambda: f64) -> Option<Ridge> {
        let n = z.len();
        let mut mean = vec![0.0; p];
        for row in x.chunks_exact(p) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut scale = vec![0.0; p];
        for row in x.chunks_exact(p) {
            for ((s, v), m) in scale.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        for s in &mut scale {
            let sd = (*s / n as f64).sqrt();
            // A constant column (e.g. no holiday in the window) carries no information.
            *s = if sd > 1e-9 { 1.0 / sd } else { 0.0 };
        }
        let zbar = z.iter().sum::<f64>() / n as f64;
        let mut xtx = vec![0.0; p * p];
        let mut xtz = vec![0.0; p];
        let mut s = vec![0.0; p];
        for (row, zi) in x.chunks_exact(p).zip(z) {
            for j in 0..p {
                s[j] = (row[j] - mean[j]) * scale[j];
            }
            for j in 0..p {
                xtz[j] += s[j] * (zi - zbar);
                for k in 0..=j {
                    xtx[j * p + k] += s[j] * s[k];
                }
            }
        }
        for j in 0..p {
            for k in 0..j {
                xtx[k * p + j] = xtx[j * p + k];
            }
            xtx[j * p + j] += lambda * n as f64 + 1e-9;
        }
        solve_spd(&mut xtx, &mut xtz, p)?;
        Some(Ridge {
            mean,
            scale,
            coef: xtz,
            intercept: zbar,
        })
    }

    fn predict(&self, x: &[f64]) -> f64 {
        self.intercept
            + x.iter()
                .zip(&self.mean)
                .zip(&self.scale)
                .zip(&self.coef)
                .map(|(((v, m), s), c)| (v - m) * s * c)
                .sum::<f64>()
    }
}

impl Learned {
    /// Fits the lead-`h` model with or without weather and predicts from the issue; `None` if
    /// too few training rows or a singular system.
    fn lead_forecast(&self, f: &Frame<'_>, n: usize, h: usize, weather: bool) -> Option<f64> {
        let mut x_now = Vec::new();
        if !f.features(n, h, weather, &mut x_now) {
            return None;
        }
        let p = x_now.len();
        let mut xs = Vec::with_capacity(p * self.window_days);
        let mut zs = Vec::with_capacity(self.window_days);
        let mut row = Vec::with_capacity(p);
        for k in 1..=self.window_days {
            let Some(o) = n.checked_sub(DAY * k) else {
                break;
            };
            // The long profile reaches LONG_PROFILE_DAYS back from the origin.
            if o < DAY * LONG_PROFILE_DAYS {
                break;
            }
            let t = o + h;
            if t >= n {
                continue;
            }
            if let Some(cut) = self.train_before
                && f.timestamp(t) >= cut
            {
                continue;
            }
            let Some(target) = f.raw[t] else { continue };
            if !f.features(o, h, weather, &mut row) || row.len() != p {
                continue;
            }
            xs.extend_from_slice(&row);
            zs.push(target - f.base(o, h));
        }
        if zs.len() < MIN_ROWS.max(p) {
            return None;
        }
        let model = Ridge::fit(&xs, &zs, p, self.ridge)?;
        let v = f.base(n, h) + model.predict(&x_now);
        v.is_finite().then_some(v)
    }
}

impl Model for Learned {
    fn name(&self) -> &'static str {
        "learned"
    }

    fn describe(&self) -> &'static str {
        "ridge regression per lead hour on lags, calendar (weekday, fixed-date holidays, season) \
         and visible weather forecasts, retrained on the last two years"
    }

    fn min_history_hours(&self) -> usize {
        // Two weeks for the lag features (the long profile) plus three weeks of training origins.
        5 * WEEK
    }

    fn forecast(&self, input: &Input<'_>) -> Result<Vec<f64>, ForecastError> {
        let name = self.name();
        if input.horizon > self.max_horizon_hours() {
            return Err(ForecastError::HorizonTooLong {
                model: name.to_string(),
                max_hours: self.max_horizon_hours(),
                asked_hours: input.horizon,
            });
        }
        let n = input.history.len();
        let known = count_known(input.history);
        if n < self.min_history_hours() || known * 2 < self.min_history_hours() {
            return Err(ForecastError::TooLittleHistory {
                model: name.to_string(),
                needed_hours: self.min_history_hours(),
                had_hours: known,
            });
        }
        let tf = |v: f64| {
            if self.log_scale {
                v.max(0.0).ln_1p()
            } else {
                v
            }
        };
        let raw: Vec<Option<f64>> = input.history.iter().map(|v| v.map(tf)).collect();
        let y = fill_gaps(&raw).ok_or_else(|| ForecastError::Fit {
            model: name.to_string(),
            reason: "the history has no values".to_string(),
        })?;
        let epoch_hour0 = input.history_start.as_second().div_euclid(3600);
        let len = n + input.horizon;
        let (exog, n_exog, temperature) = match input.exogenous.filter(|_| self.use_weather) {
            Some(e) => (
                align_exog(e, epoch_hour0, len),
                e.names.len(),
                e.names.iter().position(|s| s == "temperature"),
            ),
            None => (vec![None; len], 0, None),
        };
        let frame = Frame {
            y,
            raw,
            epoch_hour0,
            exog,
            n_exog,
            temperature,
        };
        let mut out = Vec::with_capacity(input.horizon);
        for h in 0..input.horizon {
            let with_weather = if n_exog > 0 {
                self.lead_forecast(&frame, n, h, true)
            } else {
                None
            };
            let v = with_weather
                .or_else(|| self.lead_forecast(&frame, n, h, false))
                .ok_or_else(|| ForecastError::Fit {
                    model: name.to_string(),
                    reason: format!(
                        "lead {h} h: fewer than {MIN_ROWS} usable training days (targets before \
                         the issue, not gaps, not after `train_before`) or a singular system"
                    ),
                })?;
            let v = if self.log_scale { v.exp_m1() } else { v };
            out.push(v.max(0.0));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // [[4,2],[2,3]] x = [10, 8] → x = [1.75, 1.5]
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![10.0, 8.0];
        solve_spd(&mut a, &mut b, 2).unwrap();
        assert!((b[0] - 1.75).abs() < 1e-12 && (b[1] - 1.5).abs() < 1e-12);
        let mut a = vec![1.0, 2.0, 2.0, 1.0];
        assert!(solve_spd(&mut a, &mut [1.0, 1.0], 2).is_none());
    }

    #[test]
    fn ridge_recovers_a_linear_law() {
        // z = 3 x0 − 2 x1 + 5, no noise, tiny penalty.
        let mut x = Vec::new();
        let mut z = Vec::new();
        for i in 0..50 {
            let (a, b) = (f64::from(i).sin(), f64::from(i * 7 % 11));
            x.extend([a, b]);
            z.push(3.0 * a - 2.0 * b + 5.0);
        }
        let m = Ridge::fit(&x, &z, 2, 1e-10).unwrap();
        assert!((m.predict(&[0.5, 4.0]) - (1.5 - 8.0 + 5.0)).abs() < 1e-6);
    }
}
