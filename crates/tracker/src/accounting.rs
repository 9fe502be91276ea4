//! The arithmetic of a run, as pure functions over intervals: no clock, no I/O, no threads, so
//! every formula is tested without sleeping.
//!
//! - Carbon is integrated per interval: each interval's energy × PUE × the grid intensity of
//!   *that* interval (the time-weighted mean of the intensity points it overlaps), never one
//!   average per run. [`intensity_over`] finds the intensity; [`operational_emissions`] sums.
//! - Several intensity series may be given, in priority order (e.g. measured, then forecast,
//!   then an estimated typical week): at every instant the first series with a point there
//!   supplies the value. Where none does, the nearest value in time fills the gap and the
//!   filled time is counted, so the record can say how much was filled.
//! - Water: [`water`]. Predictions from phases: [`predict`].

use crate::factors::Factor;
use kite_core::{
    GramsCo2PerKwh, GramsCo2e, IntensitySeries, Joules, KilowattHours, Point, Timestamp,
};

/// At most this many series are tracked separately when choosing the dominant one of an
/// interval; more are allowed, the later ones share the last slot.
const MAX_TRACKED_SERIES: usize = 8;

/// The intensity applied to one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntensityUse {
    /// Time-weighted mean over the interval (gaps filled with the nearest value); `None` only
    /// when no series has any point at all.
    pub mean: Option<GramsCo2PerKwh>,
    /// Index (in the slice given) of the series that supplied most of the interval.
    pub dominant: Option<usize>,
    /// Milliseconds of the interval no series covered, filled from the nearest value.
    pub filled_ms: i64,
}

fn point_end_ms(p: &Point) -> i64 {
    p.start.as_millisecond() + i64::from(p.duration_secs) * 1000
}

/// The point of `series` covering `t_ms`, if any.
fn covering(series: &IntensitySeries, t_ms: i64) -> Option<&Point> {
    let points = series.points();
    let idx = points.partition_point(|p| p.start.as_millisecond() <= t_ms);
    let p = points.get(idx.checked_sub(1)?)?;
    (t_ms < point_end_ms(p)).then_some(p)
}

/// Start of the first point of `series` that starts after `t_ms`.
fn next_start(series: &IntensitySeries, t_ms: i64) -> Option<i64> {
    let points = series.points();
    let idx = points.partition_point(|p| p.start.as_millisecond() <= t_ms);
    points.get(idx).map(|p| p.start.as_millisecond())
}

/// The value nearest in time to the gap `[from, to)`, preferring earlier series on ties and the
/// value before the gap over the one after it.
fn nearest(segments: &[IntensitySeries], from: i64, to: i64) -> Option<(usize, f64)> {
    let mut best: Option<(i64, usize, f64)> = None;
    for (i, s) in segments.iter().enumerate() {
        let points = s.points();
        let idx = points.partition_point(|p| p.start.as_millisecond() < to);
        // The last point starting before `to` ends at or before `from` (the gap is uncovered).
        if let Some(p) = idx.checked_sub(1).and_then(|j| points.get(j)) {
            let d = (from - point_end_ms(p)).max(0);
            if best.is_none_or(|b| d < b.0) {
                best = Some((d, i, p.value.0));
            }
        }
        if let Some(p) = points.get(idx) {
            let d = p.start.as_millisecond() - to;
            if best.is_none_or(|b| d < b.0) {
                best = Some((d, i, p.value.0));
            }
        }
    }
    best.map(|(_, i, v)| (i, v))
}

/// The intensity over `[start, end)`, from `segments` in priority order. A zero-length interval
/// gets the value at `start`.
pub fn intensity_over(
    segments: &[IntensitySeries],
    start: Timestamp,
    end: Timestamp,
) -> IntensityUse {
    intensity_over_ms(segments, start.as_millisecond(), end.as_millisecond())
}

pub(crate) fn intensity_over_ms(
    segments: &[IntensitySeries],
    start: i64,
    end: i64,
) -> IntensityUse {
    let end = end.max(start + 1);
    let mut per_series = [0i64; MAX_TRACKED_SERIES];
    let mut weighted = 0.0;
    let mut known_ms = 0i64;
    let mut filled_ms = 0i64;
    let mut cursor = start;
    while cursor < end {
        let found = segments
            .iter()
            .enumerate()
            .find_map(|(i, s)| covering(s, cursor).map(|p| (i, p)));
        let (piece_end, series, value, filled) = match found {
            Some((i, p)) => {
                // A higher-priority series may start covering before this point ends.
                let mut piece_end = end.min(point_end_ms(p));
                for s in &segments[..i] {
                    if let Some(ns) = next_start(s, cursor) {
                        piece_end = piece_end.min(ns);
                    }
                }
                (piece_end, Some(i), Some(p.value.0), false)
            }
            None => {
                let mut gap_end = end;
                for s in segments {
                    if let Some(ns) = next_start(s, cursor) {
                        gap_end = gap_end.min(ns);
                    }
                }
                match nearest(segments, cursor, gap_end) {
                    Some((i, v)) => (gap_end, Some(i), Some(v), true),
                    None => (gap_end, None, None, true),
                }
            }
        };
        let len = piece_end - cursor;
        if let (Some(i), Some(v)) = (series, value) {
            weighted += v * len as f64;
            known_ms += len;
            per_series[i.min(MAX_TRACKED_SERIES - 1)] += len;
        }
        if filled {
            filled_ms += len;
        }
        cursor = piece_end;
    }
    let mean = (known_ms > 0).then(|| GramsCo2PerKwh(weighted / known_ms as f64));
    let dominant = mean.and_then(|_| {
        per_series
            .iter()
            .enumerate()
            .filter(|(_, ms)| **ms > 0)
            .max_by_key(|(i, ms)| (**ms, std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
    });
    IntensityUse {
        mean,
        dominant,
        filled_ms,
    }
}

/// Energy used during one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyInterval {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// IT energy used in it.
    pub energy: Joules,
}

/// Operational emissions of `intervals`: Σ energy × PUE × intensity of each interval.
/// Also returns the energy for which no intensity was known at all (no series has any point).
pub fn operational_emissions(
    intervals: &[EnergyInterval],
    segments: &[IntensitySeries],
    pue: f64,
) -> (GramsCo2e, KilowattHours) {
    let mut grams = GramsCo2e(0.0);
    let mut unknown = KilowattHours(0.0);
    for i in intervals {
        let kwh = KilowattHours::from(i.energy);
        match intensity_over(segments, i.start, i.end).mean {
            Some(intensity) => grams += kwh * pue * intensity,
            None => unknown += kwh,
        }
    }
    (grams, unknown)
}

/// A run's operational water, litres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Water {
    /// On-site: IT energy × on-site WUE.
    pub onsite_litres: f64,
    /// Off-site: IT energy × PUE × water intensity of electricity generation.
    pub offsite_litres: f64,
}

impl Water {
    /// On-site plus off-site.
    pub fn total_litres(&self) -> f64 {
        self.onsite_litres + self.offsite_litres
    }
}

/// `IT energy × (WUE_on-site + PUE × water intensity off-site)`, split into its two parts.
pub fn water(
    it_energy: KilowattHours,
    pue: &Factor,
    wue_onsite: &Factor,
    water_offsite: &Factor,
) -> Water {
    Water {
        onsite_litres: it_energy.0 * wue_onsite.value,
        offsite_litres: it_energy.0 * pue.value * water_offsite.value,
    }
}

/// Where a run stood when phase `k` of `n` ended: the inputs of [`predict`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseProgress {
    /// Phases completed so far (`k`, at least 1).
    pub completed: u32,
    /// Total phases the run will have (`n`).
    pub total: u32,
    /// IT energy used by the whole run so far (setup included).
    pub energy_so_far: Joules,
    /// Operational emissions so far.
    pub emissions_so_far: GramsCo2e,
    /// Seconds since the run started.
    pub elapsed_secs: f64,
    /// IT energy of the completed phases together.
    pub phases_energy: Joules,
    /// Duration of the completed phases together, seconds.
    pub phases_secs: f64,
}

/// A prediction of the whole run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Phases completed when it was made.
    pub after_phases: u32,
    /// Predicted IT energy of the whole run.
    pub energy: KilowattHours,
    /// Predicted operational emissions of the whole run.
    pub emissions: GramsCo2e,
    /// Predicted duration of the whole run, seconds.
    pub duration_secs: f64,
}

/// carbontracker-style prediction, carbon-aware: the remaining `n - k` phases are assumed to
/// cost what the completed ones cost on average, in energy and time; their emissions use the
/// intensity over the window they are expected to run in (`remaining_intensity`, e.g. from a
/// forecast), so a run heading into a dirtier night is predicted dirtier. What was used before
/// the first phase (setup) is counted once, as measured.
pub fn predict(
    progress: &PhaseProgress,
    pue: f64,
    remaining_intensity: Option<GramsCo2PerKwh>,
) -> Prediction {
    let k = f64::from(progress.completed.max(1));
    let remaining = f64::from(progress.total.saturating_sub(progress.completed));
    let per_phase = KilowattHours::from(progress.phases_energy) / k;
    let remaining_energy = per_phase * remaining;
    let remaining_emissions = match remaining_intensity {
        Some(i) => remaining_energy * pue * i,
        // No intensity at all: carry the run's own average forward.
        None => {
            let so_far = KilowattHours::from(progress.energy_so_far);
            if so_far.0 > 0.0 {
                GramsCo2e(progress.emissions_so_far.0 * remaining_energy.0 / so_far.0)
            } else {
                GramsCo2e(0.0)
            }
        }
    };
    Prediction {
        after_phases: progress.completed,
        energy: KilowattHours::from(progress.energy_so_far) + remaining_energy,
        emissions: progress.emissions_so_far + remaining_emissions,
        duration_secs: progress.elapsed_secs + progress.phases_secs / k * remaining,
    }
}

/// `(predicted - actual) / actual`, in percent; `None` when the actual value is zero.
pub fn error_percent(predicted: f64, actual: f64) -> Option<f64> {
    (actual != 0.0).then(|| (predicted - actual) / actual * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kite_core::{Provenance, Resolution, Signal, SignalMeta, ZoneKey};

    const H: i64 = 3600;
    const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(T0 + secs).unwrap()
    }

    fn series(source: &str, values: &[(i64, f64)]) -> IntensitySeries {
        IntensitySeries::from_regular(
            ZoneKey::new("DE").unwrap(),
            SignalMeta {
                signal: Signal::AVERAGE_LIFECYCLE,
                source: source.into(),
                fetched_at: None,
                provenance: Provenance::Measured,
            },
            Resolution::HOUR,
            values.iter().map(|&(s, v)| (at(s), v)),
        )
        .unwrap()
    }

    #[test]
    fn carbon_follows_the_intensity_of_each_interval() {
        // Hour 0 at 100 g/kWh, hour 1 at 500 g/kWh. The job uses 1 kWh in the first hour and
        // 3 kWh in the second: 100 + 1500 = 1600 g, not 4 kWh × the mean 300 = 1200 g.
        let s = series("em", &[(0, 100.0), (H, 500.0)]);
        let kwh = |x: f64| Joules::from(KilowattHours(x));
        let mut intervals = Vec::new();
        for minute in 0..120 {
            let per_minute = if minute < 60 {
                kwh(1.0) / 60.0
            } else {
                kwh(3.0) / 60.0
            };
            intervals.push(EnergyInterval {
                start: at(minute * 60),
                end: at(minute * 60 + 60),
                energy: per_minute,
            });
        }
        let (g, unknown) = operational_emissions(&intervals, std::slice::from_ref(&s), 1.0);
        assert!((g.0 - 1600.0).abs() < 1e-6, "{g}");
        assert_eq!(unknown, KilowattHours(0.0));
        // PUE scales it.
        let (g, _) = operational_emissions(&intervals, std::slice::from_ref(&s), 1.5);
        assert!((g.0 - 2400.0).abs() < 1e-6);
        // One interval straddling the change gets the time-weighted mean of the two hours.
        let one = [EnergyInterval {
            start: at(H - 900),
            end: at(H + 2700),
            energy: kwh(1.0),
        }];
        let (g, _) = operational_emissions(&one, &[s], 1.0);
        assert!((g.0 - (0.25 * 100.0 + 0.75 * 500.0)).abs() < 1e-6);
    }

    #[test]
    fn earlier_series_win_and_gaps_are_filled_and_counted() {
        let measured = series("measured", &[(0, 100.0)]);
        let forecast = series("forecast", &[(0, 900.0), (H, 200.0), (2 * H, 300.0)]);
        let both = [measured, forecast];
        let u = intensity_over(&both, at(1800), at(H + 1800));
        assert_eq!(u.mean.unwrap().0, 150.0);
        assert_eq!(u.filled_ms, 0);
        assert_eq!(u.dominant, Some(0), "a tie goes to the earlier series");
        // Beyond every series: the nearest value (the last one) fills, and is counted.
        let u = intensity_over(&both, at(4 * H), at(4 * H + 60));
        assert_eq!(u.mean.unwrap().0, 300.0);
        assert_eq!(u.filled_ms, 60_000);
        // A gap inside a series takes the nearer neighbour.
        let gappy = series("g", &[(0, 10.0), (5 * H, 50.0)]);
        let s = std::slice::from_ref(&gappy);
        assert_eq!(
            intensity_over(s, at(H + 60), at(H + 120)).mean.unwrap().0,
            10.0
        );
        assert_eq!(
            intensity_over(s, at(5 * H - 120), at(5 * H - 60))
                .mean
                .unwrap()
                .0,
            50.0
        );
        // Nothing at all.
        let none = intensity_over(&[], at(0), at(60));
        assert_eq!(none.mean, None);
        assert_eq!(none.filled_ms, 60_000);
    }

    #[test]
    fn water_has_an_onsite_and_an_offsite_part() {
        let w = water(
            KilowattHours(10.0),
            &Factor::new(1.2, "t"),
            &Factor::new(0.5, "t"),
            &Factor::new(3.0, "t"),
        );
        assert!((w.onsite_litres - 5.0).abs() < 1e-12);
        assert!((w.offsite_litres - 36.0).abs() < 1e-12);
        assert!((w.total_litres() - 41.0).abs() < 1e-12);
    }

    #[test]
    fn prediction_extrapolates_the_remaining_phases() {
        // 10 Wh of setup, then 2 phases of 100 Wh and 60 s each, of 10 in total.
        let wh = |x: f64| Joules(x * 3600.0);
        let progress = PhaseProgress {
            completed: 2,
            total: 10,
            energy_so_far: wh(210.0),
            emissions_so_far: GramsCo2e(0.21 * 400.0),
            elapsed_secs: 125.0,
            phases_energy: wh(200.0),
            phases_secs: 120.0,
        };
        let p = predict(&progress, 1.0, Some(GramsCo2PerKwh(100.0)));
        assert!((p.energy.0 - 1.01).abs() < 1e-9, "{}", p.energy);
        assert!((p.duration_secs - (125.0 + 8.0 * 60.0)).abs() < 1e-9);
        assert!((p.emissions.0 - (84.0 + 0.8 * 100.0)).abs() < 1e-9);
        // Without any intensity, the run's own average carries forward.
        let p = predict(&progress, 1.0, None);
        assert!((p.emissions.0 - 400.0 * 1.01).abs() < 1e-9);
        assert!((error_percent(110.0, 100.0).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(error_percent(1.0, 0.0), None);
    }
}
