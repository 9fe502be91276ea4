//! Typical-week profiles: for each of the 168 hours of a week (Monday 00:00 UTC is hour 0), the
//! median intensity at that hour over a basis period of a measured series.
//!
//! The basis is the last full calendar year (UTC) that the series spans, or, when it spans none,
//! the last 52 weeks of the series (or all of it, if shorter). The median, not the mean, so one
//! extreme week does not shape the profile. An hour of the week with no data in the basis stays a
//! gap in the profile and in every projection of it: nothing is interpolated.
//!
//! A projection is an estimate and says so: its points carry
//! `Provenance::Estimated { method: "typical-week profile, <source>, <basis>" }`.

use jiff::tz::Offset;
use kite_core::{
    GramsCo2PerKwh, IntensitySeries, Point, Provenance, Resolution, Signal, SignalMeta,
    SignedDuration, TimeWindow, Timestamp, ZoneKey, time_weighted_buckets,
};

/// Hours in a week.
pub const HOURS_PER_WEEK: usize = 168;

/// The hour of the week of `t`, with Monday 00:00 UTC as 0.
pub fn hour_of_week(t: Timestamp) -> usize {
    // The Unix epoch, 1970-01-01, was a Thursday: its midnight is hour 72 of that week.
    let hours = t.as_second().div_euclid(3600);
    (hours + 72).rem_euclid(HOURS_PER_WEEK as i64) as usize
}

/// A median-per-hour-of-week profile of one zone and signal.
#[derive(Debug, Clone, PartialEq)]
pub struct TypicalWeek {
    zone: ZoneKey,
    signal: Signal,
    source: String,
    basis: TimeWindow,
    basis_label: String,
    hours: [Option<GramsCo2PerKwh>; HOURS_PER_WEEK],
}

impl TypicalWeek {
    /// Builds the profile of a measured series. `source` names it in labels (e.g.
    /// `carboncast-lifecycle`). `None` if the series is empty.
    pub fn from_series(series: &IntensitySeries, source: &str) -> Option<TypicalWeek> {
        let span = series.span()?;
        let (basis, basis_label) = basis_window(span)?;
        let sliced = series.slice(basis);
        // Finer data is averaged to hours first, so every hour of the basis weighs the same.
        let hourly = if sliced.resolution() < Resolution::HOUR {
            sliced.resample(Resolution::HOUR).ok()?.0
        } else {
            sliced
        };
        let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); HOURS_PER_WEEK];
        for p in hourly.points() {
            if basis.contains(p.start) {
                buckets[hour_of_week(p.start)].push(p.value.0);
            }
        }
        if buckets.iter().all(Vec::is_empty) {
            return None;
        }
        let mut hours = [None; HOURS_PER_WEEK];
        for (slot, values) in hours.iter_mut().zip(buckets.iter_mut()) {
            *slot = median(values).map(GramsCo2PerKwh);
        }
        Some(TypicalWeek {
            zone: series.zone().clone(),
            signal: series.meta().signal,
            source: source.to_string(),
            basis,
            basis_label,
            hours,
        })
    }

    /// The same profile as [`TypicalWeek::from_series`] for a regular series given as decoded
    /// slots (`None` = gap), built without materialising its points: a cold `kite run` or
    /// `kite plan` builds one of these, and the points of a multi-year series would be most of
    /// kite's peak memory. The arithmetic is the same, in the same order, so results are equal.
    pub(crate) fn from_slots(
        zone: ZoneKey,
        signal: Signal,
        source: &str,
        start_secs: i64,
        step_secs: u32,
        slots: &[Option<u32>],
        to_value: impl Fn(u32) -> f64,
    ) -> Option<TypicalWeek> {
        let step = i64::from(step_secs);
        let slot_start = |i: usize| start_secs + i as i64 * step;
        let first = slots.iter().position(Option::is_some)?;
        let last = slots.iter().rposition(Option::is_some)?;
        let span = TimeWindow::new(
            Timestamp::from_second(slot_start(first)).ok()?,
            Timestamp::from_second(slot_start(last) + step).ok()?,
        )
        .ok()?;
        let (basis, basis_label) = basis_window(span)?;
        let (b0, b1) = (basis.start().as_second(), basis.end().as_second());
        let in_basis = |secs: i64| (b0..b1).contains(&secs);
        let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); HOURS_PER_WEEK];
        let mut push = |hour_start: i64, value: f64| {
            if in_basis(hour_start)
                && let Ok(t) = Timestamp::from_second(hour_start)
            {
                buckets[hour_of_week(t)].push(value);
            }
        };
        // The slots overlapping the basis, as `IntensitySeries::slice` keeps them.
        let overlapping = slots.iter().enumerate().filter_map(|(i, v)| {
            let (s, e) = (slot_start(i), slot_start(i) + step);
            v.filter(|_| e > b0 && s < b1).map(|v| (s, e, to_value(v)))
        });
        if step >= i64::from(Resolution::HOUR.secs()) {
            for (s, _, value) in overlapping {
                push(s, value);
            }
        } else {
            // Hourly means by the same code as `IntensitySeries::resample`.
            time_weighted_buckets(overlapping, Resolution::HOUR.secs(), |start, mean, _| {
                push(start, mean)
            });
        }
        if buckets.iter().all(Vec::is_empty) {
            return None;
        }
        let mut hours = [None; HOURS_PER_WEEK];
        for (slot, values) in hours.iter_mut().zip(buckets.iter_mut()) {
            *slot = median(values).map(GramsCo2PerKwh);
        }
        Some(TypicalWeek {
            zone,
            signal,
            source: source.to_string(),
            basis,
            basis_label,
            hours,
        })
    }

    /// The zone whose data the profile was built from.
    pub fn zone(&self) -> &ZoneKey {
        &self.zone
    }

    /// The signal of the profile.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The source id of the series it was built from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The period the medians were taken over.
    pub fn basis(&self) -> TimeWindow {
        self.basis
    }

    /// The basis in words: a year (`2022`) or a date range (`2023-06-08 to 2023-07-09`).
    pub fn years(&self) -> &str {
        &self.basis_label
    }

    /// The 168 medians, Monday 00:00 UTC first; `None` where the basis had no data.
    pub fn hours(&self) -> &[Option<GramsCo2PerKwh>; HOURS_PER_WEEK] {
        &self.hours
    }

    /// The profile value for the hour containing `t`.
    pub fn value_at(&self, t: Timestamp) -> Option<GramsCo2PerKwh> {
        self.hours[hour_of_week(t)]
    }

    /// `typical-week profile, <source>, <basis>`: the estimation method shown to users.
    pub fn label(&self) -> String {
        format!(
            "typical-week profile, {}, {}",
            self.source, self.basis_label
        )
    }

    /// Hourly points covering `window` (from the hour containing its start to the hour
    /// containing its end), labelled as estimates, for `zone`.
    pub fn project(&self, zone: &ZoneKey, window: TimeWindow) -> IntensitySeries {
        let meta = SignalMeta {
            signal: self.signal,
            source: format!("{} (embedded)", self.source),
            fetched_at: None,
            provenance: Provenance::Estimated {
                method: self.label(),
            },
        };
        let mut points = Vec::new();
        let mut t = Resolution::HOUR.floor(window.start());
        while t < window.end() {
            if let Some(value) = self.value_at(t) {
                points.push(Point {
                    start: t,
                    duration_secs: Resolution::HOUR.secs(),
                    value,
                });
            }
            match t.checked_add(SignedDuration::from_hours(1)) {
                Ok(next) => t = next,
                Err(_) => break,
            }
        }
        // Hourly, sorted, non-overlapping, non-negative points (medians of valid values) always
        // form a valid series; an empty one stands in should that ever change.
        IntensitySeries::new(zone.clone(), meta.clone(), Resolution::HOUR, points)
            .or_else(|_| IntensitySeries::new(zone.clone(), meta, Resolution::HOUR, Vec::new()))
            .unwrap_or_else(|e| unreachable!("an empty series is always valid: {e}"))
    }
}

/// The median of `values` (the mean of the two middle values for an even count).
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn year_start(year: i16) -> Option<Timestamp> {
    let dt = jiff::civil::date(year, 1, 1).at(0, 0, 0, 0);
    Offset::UTC.to_timestamp(dt).ok()
}

/// The last full UTC calendar year inside `span`, if any.
pub fn last_full_year(span: TimeWindow) -> Option<i16> {
    let last = Offset::UTC.to_datetime(span.end()).year();
    let first = Offset::UTC.to_datetime(span.start()).year();
    (first..last).rev().find(|&y| {
        matches!(
            (year_start(y), year_start(y + 1)),
            (Some(a), Some(b)) if span.start() <= a && b <= span.end()
        )
    })
}

/// The basis period of a series spanning `span`, and its label.
fn basis_window(span: TimeWindow) -> Option<(TimeWindow, String)> {
    if let Some(year) = last_full_year(span) {
        let window = TimeWindow::new(year_start(year)?, year_start(year + 1)?).ok()?;
        return Some((window, year.to_string()));
    }
    let weeks = SignedDuration::from_hours(52 * 168);
    let start = span.end().checked_sub(weeks).ok()?.max(span.start());
    let window = TimeWindow::new(start, span.end()).ok()?;
    let last_day = span.end().checked_sub(SignedDuration::from_secs(1)).ok()?;
    let label = format!(
        "{} to {}",
        Offset::UTC.to_datetime(start).date(),
        Offset::UTC.to_datetime(last_day).date()
    );
    Some((window, label))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn hourly(zone: &str, start: &str, values: &[Option<f64>]) -> IntensitySeries {
        let t0 = ts(start).as_second();
        let meta = SignalMeta {
            signal: Signal::AVERAGE_LIFECYCLE,
            source: "synthetic".into(),
            fetched_at: None,
            provenance: Provenance::Measured,
        };
        IntensitySeries::from_regular(
            ZoneKey::new(zone).unwrap(),
            meta,
            Resolution::HOUR,
            values.iter().enumerate().filter_map(|(i, v)| {
                v.map(|v| (Timestamp::from_second(t0 + 3600 * i as i64).unwrap(), v))
            }),
        )
        .unwrap()
    }

    #[test]
    fn hour_of_week_starts_monday_midnight_utc() {
        assert_eq!(hour_of_week(ts("2024-01-01T00:00:00Z")), 0, "a Monday");
        assert_eq!(hour_of_week(ts("2024-01-01T00:59:59Z")), 0);
        assert_eq!(hour_of_week(ts("2024-01-02T01:00:00Z")), 25);
        assert_eq!(hour_of_week(ts("2024-01-07T23:00:00Z")), 167, "a Sunday");
        assert_eq!(
            hour_of_week(ts("1969-12-29T00:00:00Z")),
            0,
            "before the epoch"
        );
    }

    #[test]
    fn profile_is_the_median_not_the_mean() {
        // Five weeks inside 2023 (no full year, so the basis is the whole span). Hour 0 of the
        // week sees 100, 100, 100, 100, 1000: mean 280, median 100.
        let mut values = vec![Some(50.0); 5 * 168];
        for week in 0..5 {
            values[week * 168] = Some(if week == 3 { 1000.0 } else { 100.0 });
        }
        // Hour 1 sees 10, 20, 30, 40 once the fifth week's value is removed: median 25.
        for (week, v) in [10.0, 20.0, 30.0, 40.0].iter().enumerate() {
            values[week * 168 + 1] = Some(*v);
        }
        values[4 * 168 + 1] = None;
        // Hour 2 never has data.
        for week in 0..5 {
            values[week * 168 + 2] = None;
        }
        let s = hourly("DE", "2023-01-02T00:00:00Z", &values);
        let week = TypicalWeek::from_series(&s, "synthetic").unwrap();
        assert_eq!(week.hours()[0], Some(GramsCo2PerKwh(100.0)));
        assert_eq!(week.hours()[1], Some(GramsCo2PerKwh(25.0)));
        assert_eq!(week.hours()[2], None);
        assert_eq!(week.hours()[3], Some(GramsCo2PerKwh(50.0)));
        assert_eq!(week.years(), "2023-01-02 to 2023-02-05");
    }

    #[test]
    fn a_full_year_is_preferred_as_basis() {
        // 2021-12-30 .. 2023-01-02: 2022 is the only full year; values in 2022 are 200, elsewhere 900.
        let start = ts("2021-12-30T00:00:00Z");
        let n = (ts("2023-01-02T00:00:00Z").as_second() - start.as_second()) / 3600;
        let y2022 = (ts("2022-01-01T00:00:00Z"), ts("2023-01-01T00:00:00Z"));
        let values: Vec<Option<f64>> = (0..n)
            .map(|i| {
                let t = Timestamp::from_second(start.as_second() + i * 3600).unwrap();
                Some(if t >= y2022.0 && t < y2022.1 {
                    200.0
                } else {
                    900.0
                })
            })
            .collect();
        let s = hourly("ES", "2021-12-30T00:00:00Z", &values);
        let week = TypicalWeek::from_series(&s, "synthetic").unwrap();
        assert_eq!(week.years(), "2022");
        assert!(
            week.hours()
                .iter()
                .all(|h| *h == Some(GramsCo2PerKwh(200.0)))
        );
        assert_eq!(week.label(), "typical-week profile, synthetic, 2022");
    }

    #[test]
    fn projection_is_hourly_estimated_and_covers_the_window() {
        let values: Vec<Option<f64>> = (0..168).map(|h| Some(h as f64)).collect();
        let s = hourly("DE", "2024-01-01T00:00:00Z", &values);
        let week = TypicalWeek::from_series(&s, "synthetic").unwrap();
        let zone = ZoneKey::new("GB").unwrap();
        // An unaligned window over a Sunday-to-Monday boundary.
        let window =
            TimeWindow::new(ts("2026-03-01T22:30:00Z"), ts("2026-03-02T02:10:00Z")).unwrap();
        let p = week.project(&zone, window);
        assert_eq!(p.zone(), &zone);
        assert_eq!(p.resolution(), Resolution::HOUR);
        let starts: Vec<Timestamp> = p.points().iter().map(|x| x.start).collect();
        assert_eq!(
            starts,
            vec![
                ts("2026-03-01T22:00:00Z"),
                ts("2026-03-01T23:00:00Z"),
                ts("2026-03-02T00:00:00Z"),
                ts("2026-03-02T01:00:00Z"),
                ts("2026-03-02T02:00:00Z"),
            ]
        );
        let values: Vec<f64> = p.points().iter().map(|x| x.value.0).collect();
        assert_eq!(values, vec![166.0, 167.0, 0.0, 1.0, 2.0]);
        assert!(p.gaps(window).is_empty());
        assert_eq!(p.meta().provenance.label(), "estimated");
        assert_eq!(
            p.meta().provenance,
            Provenance::Estimated {
                method: "typical-week profile, synthetic, 2024-01-01 to 2024-01-07".into()
            }
        );
        assert_eq!(p.meta().source, "synthetic (embedded)");
        assert_eq!(p.meta().fetched_at, None);
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
