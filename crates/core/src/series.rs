//! A carbon-intensity time series: points that each describe an interval starting at their
//! timestamp, with explicit gaps.
//!
//! Invariants (checked by [`IntensitySeries::new`]):
//! - points are sorted by start and their intervals do not overlap;
//! - every value is finite and non-negative;
//! - every point's duration is positive and at most the series' nominal resolution.
//!
//! Missing data stays missing: nothing here interpolates. Resampling to a coarser resolution is
//! a time-weighted mean over the covered part of each bucket, and reports how many buckets were
//! only partly covered ([`ResampleReport`]).

use crate::signal::SignalMeta;
use crate::time::{Resolution, TimeWindow};
use crate::units::GramsCo2PerKwh;
use crate::zone::ZoneKey;
use jiff::{SignedDuration, Timestamp};

/// One value, valid for `[start, start + duration)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Start of the interval the value describes.
    pub start: Timestamp,
    /// Length of the interval in seconds.
    pub duration_secs: u32,
    /// The intensity over the interval.
    pub value: GramsCo2PerKwh,
}

impl Point {
    /// First instant after the interval.
    pub fn end(&self) -> Timestamp {
        self.start + SignedDuration::from_secs(i64::from(self.duration_secs))
    }
}

/// A stretch of time with no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// First instant without data.
    pub start: Timestamp,
    /// First instant with data again (or the end of the asked window).
    pub end: Timestamp,
}

/// Why points do not form a valid series.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeriesError {
    /// Two points out of order or overlapping.
    #[error("point {index} at {start} starts before the previous point ends ({previous_end})")]
    Overlap {
        /// Index of the offending point.
        index: usize,
        /// Its start.
        start: Timestamp,
        /// End of the point before it.
        previous_end: Timestamp,
    },
    /// A NaN, infinite or negative value.
    #[error("point {index} at {start} has value {value}, which is not a non-negative number")]
    BadValue {
        /// Index of the offending point.
        index: usize,
        /// Its start.
        start: Timestamp,
        /// The value.
        value: f64,
    },
    /// A duration of zero or longer than the resolution.
    #[error("point {index} at {start} lasts {duration_secs} s, outside 1..={resolution_secs} s")]
    BadDuration {
        /// Index of the offending point.
        index: usize,
        /// Its start.
        start: Timestamp,
        /// Its duration.
        duration_secs: u32,
        /// The series' resolution.
        resolution_secs: u32,
    },
    /// Resampling to a finer resolution would invent values.
    #[error(
        "the data has a resolution of {data}; {asked} is finer and would need invented values: ask for {data} or coarser"
    )]
    FinerThanData {
        /// The series' resolution.
        data: Resolution,
        /// The requested resolution.
        asked: Resolution,
    },
}

/// What resampling did, so it can be said to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResampleReport {
    /// Buckets produced.
    pub buckets: usize,
    /// Buckets whose value comes from only part of their interval because of gaps.
    pub partial_buckets: usize,
}

/// A validated intensity series for one zone and one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct IntensitySeries {
    zone: ZoneKey,
    meta: SignalMeta,
    resolution: Resolution,
    points: Vec<Point>,
}

impl IntensitySeries {
    /// Builds a series, checking the invariants in the module docs.
    pub fn new(
        zone: ZoneKey,
        meta: SignalMeta,
        resolution: Resolution,
        points: Vec<Point>,
    ) -> Result<IntensitySeries, SeriesError> {
        let mut previous_end: Option<Timestamp> = None;
        for (index, p) in points.iter().enumerate() {
            if !(p.value.0.is_finite() && p.value.0 >= 0.0) {
                return Err(SeriesError::BadValue {
                    index,
                    start: p.start,
                    value: p.value.0,
                });
            }
            if p.duration_secs == 0 || p.duration_secs > resolution.secs() {
                return Err(SeriesError::BadDuration {
                    index,
                    start: p.start,
                    duration_secs: p.duration_secs,
                    resolution_secs: resolution.secs(),
                });
            }
            if let Some(prev) = previous_end
                && p.start < prev
            {
                return Err(SeriesError::Overlap {
                    index,
                    start: p.start,
                    previous_end: prev,
                });
            }
            previous_end = Some(p.end());
        }
        Ok(IntensitySeries {
            zone,
            meta,
            resolution,
            points,
        })
    }

    /// Builds a series from `(start, value)` pairs on a regular grid: each point lasts one
    /// resolution, or less if the next point starts sooner.
    pub fn from_regular(
        zone: ZoneKey,
        meta: SignalMeta,
        resolution: Resolution,
        values: impl IntoIterator<Item = (Timestamp, f64)>,
    ) -> Result<IntensitySeries, SeriesError> {
        let raw: Vec<(Timestamp, f64)> = values.into_iter().collect();
        let res = i64::from(resolution.secs());
        let mut points = Vec::with_capacity(raw.len());
        for (i, &(start, value)) in raw.iter().enumerate() {
            let step = raw
                .get(i + 1)
                .map(|next| next.0.as_second() - start.as_second())
                .unwrap_or(res);
            let duration = step.clamp(1, res);
            points.push(Point {
                start,
                duration_secs: u32::try_from(duration).unwrap_or(resolution.secs()),
                value: GramsCo2PerKwh(value),
            });
        }
        IntensitySeries::new(zone, meta, resolution, points)
    }

    /// The zone.
    pub fn zone(&self) -> &ZoneKey {
        &self.zone
    }

    /// Where the values came from.
    pub fn meta(&self) -> &SignalMeta {
        &self.meta
    }

    /// The nominal resolution (the longest interval a point may describe).
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// The points, sorted.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// From the first point's start to the last point's end.
    pub fn span(&self) -> Option<TimeWindow> {
        let first = self.points.first()?;
        let last = self.points.last()?;
        TimeWindow::new(first.start, last.end()).ok()
    }

    /// The point whose interval contains `t`, if any.
    pub fn at(&self, t: Timestamp) -> Option<&Point> {
        let idx = self.points.partition_point(|p| p.start <= t);
        let p = self.points.get(idx.checked_sub(1)?)?;
        (t < p.end()).then_some(p)
    }

    /// The points whose intervals overlap `window`, with the same metadata.
    pub fn slice(&self, window: TimeWindow) -> IntensitySeries {
        let from = self.points.partition_point(|p| p.end() <= window.start());
        let to = self.points.partition_point(|p| p.start < window.end());
        IntensitySeries {
            zone: self.zone.clone(),
            meta: self.meta.clone(),
            resolution: self.resolution,
            points: self.points[from..to.max(from)].to_vec(),
        }
    }

    /// Replaces the metadata (e.g. to mark values as estimated when they stand in for others).
    pub fn with_meta(mut self, meta: SignalMeta) -> IntensitySeries {
        self.meta = meta;
        self
    }

    /// The parts of `window` that no point covers.
    pub fn gaps(&self, window: TimeWindow) -> Vec<Gap> {
        let mut gaps = Vec::new();
        let mut cursor = window.start();
        for p in self.slice(window).points() {
            if p.start > cursor {
                gaps.push(Gap {
                    start: cursor,
                    end: p.start.min(window.end()),
                });
            }
            cursor = cursor.max(p.end());
        }
        if cursor < window.end() {
            gaps.push(Gap {
                start: cursor,
                end: window.end(),
            });
        }
        gaps
    }

    /// The time-weighted mean over the covered part of `window`, and the covered fraction.
    pub fn mean_over(&self, window: TimeWindow) -> Option<(GramsCo2PerKwh, f64)> {
        let mut weighted = 0.0;
        let mut covered = 0i64;
        for p in self.slice(window).points() {
            let secs = window.overlap_secs(p.start, p.end());
            weighted += p.value.0 * secs as f64;
            covered += secs;
        }
        if covered == 0 {
            return None;
        }
        let fraction = covered as f64 / window.duration().as_secs() as f64;
        Some((GramsCo2PerKwh(weighted / covered as f64), fraction))
    }

    /// Resamples to a coarser (or equal) resolution with buckets aligned on UTC midnight.
    /// Each bucket is the time-weighted mean of what covers it; empty buckets stay gaps.
    pub fn resample(
        &self,
        to: Resolution,
    ) -> Result<(IntensitySeries, ResampleReport), SeriesError> {
        if to < self.resolution {
            return Err(SeriesError::FinerThanData {
                data: self.resolution,
                asked: to,
            });
        }
        let mut out: Vec<Point> = Vec::new();
        let mut report = ResampleReport::default();
        let intervals = self
            .points
            .iter()
            .map(|p| (p.start.as_second(), p.end().as_second(), p.value.0));
        time_weighted_buckets(intervals, to.secs(), |start, mean, covered| {
            if let Ok(start) = Timestamp::from_second(start) {
                out.push(Point {
                    start,
                    duration_secs: to.secs(),
                    value: GramsCo2PerKwh(mean),
                });
                report.buckets += 1;
                if covered < i64::from(to.secs()) {
                    report.partial_buckets += 1;
                }
            }
        });
        let series = IntensitySeries {
            zone: self.zone.clone(),
            meta: self.meta.clone(),
            resolution: to,
            points: out,
        };
        Ok((series, report))
    }
}

/// The time-weighted mean of each `bucket_secs` bucket (aligned to the Unix epoch) that
/// `intervals` touch: each `(start, end, value)` interval, in seconds and in time order, adds
/// `value × overlap` to every bucket it overlaps. `emit(bucket start, mean, covered seconds)` is
/// called once per bucket with coverage, in order; a bucket with gaps is averaged over its covered
/// part only. The one implementation behind [`IntensitySeries::resample`] and anything that must
/// give the same numbers without building a series first.
pub fn time_weighted_buckets(
    intervals: impl IntoIterator<Item = (i64, i64, f64)>,
    bucket_secs: u32,
    mut emit: impl FnMut(i64, f64, i64),
) {
    let bucket_secs = i64::from(bucket_secs.max(1));
    // The current bucket: (start, weighted sum, covered seconds).
    let mut acc: Option<(i64, f64, i64)> = None;
    let mut flush = |(start, weighted, covered): (i64, f64, i64)| {
        if covered > 0 {
            emit(start, weighted / covered as f64, covered);
        }
    };
    for (mut s, e, value) in intervals {
        // An interval straddles bucket boundaries only if it is not aligned; split it.
        while s < e {
            let bucket = s.div_euclid(bucket_secs) * bucket_secs;
            let part_end = e.min(bucket + bucket_secs);
            match acc {
                Some(a) if a.0 == bucket => {
                    acc = Some((a.0, a.1 + value * (part_end - s) as f64, a.2 + part_end - s))
                }
                _ => {
                    if let Some(a) = acc.take() {
                        flush(a);
                    }
                    acc = Some((bucket, value * (part_end - s) as f64, part_end - s));
                }
            }
            s = part_end;
        }
    }
    if let Some(a) = acc {
        flush(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{Provenance, Signal};
    use proptest::prelude::*;

    fn meta() -> SignalMeta {
        SignalMeta {
            signal: Signal::AVERAGE_LIFECYCLE,
            source: "test".into(),
            fetched_at: None,
            provenance: Provenance::Measured,
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn quarter_hours(values: &[Option<f64>]) -> IntensitySeries {
        let t0 = ts("2026-01-01T00:00:00Z").as_second();
        let pts = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.map(|v| Point {
                    start: Timestamp::from_second(t0 + 900 * i as i64).unwrap(),
                    duration_secs: 900,
                    value: GramsCo2PerKwh(v),
                })
            })
            .collect();
        IntensitySeries::new(
            ZoneKey::new("DE").unwrap(),
            meta(),
            Resolution::QUARTER_HOUR,
            pts,
        )
        .unwrap()
    }

    #[test]
    fn resample_is_time_weighted_and_keeps_gaps() {
        let s = quarter_hours(&[
            Some(100.0),
            Some(200.0),
            Some(300.0),
            Some(400.0),
            None,
            None,
            None,
            None,
            Some(50.0),
            None,
            None,
            Some(150.0),
        ]);
        let (h, report) = s.resample(Resolution::HOUR).unwrap();
        let values: Vec<f64> = h.points().iter().map(|p| p.value.0).collect();
        assert_eq!(values, vec![250.0, 100.0], "the empty hour stays a gap");
        assert_eq!(h.points()[1].start, ts("2026-01-01T02:00:00Z"));
        assert_eq!(report.partial_buckets, 1);
        assert!(matches!(
            h.resample(Resolution::QUARTER_HOUR),
            Err(SeriesError::FinerThanData { .. })
        ));
    }

    #[test]
    fn gaps_and_lookup() {
        let s = quarter_hours(&[Some(1.0), None, Some(3.0)]);
        let w = TimeWindow::new(ts("2026-01-01T00:00:00Z"), ts("2026-01-01T01:00:00Z")).unwrap();
        let gaps = s.gaps(w);
        assert_eq!(
            gaps,
            vec![
                Gap {
                    start: ts("2026-01-01T00:15:00Z"),
                    end: ts("2026-01-01T00:30:00Z")
                },
                Gap {
                    start: ts("2026-01-01T00:45:00Z"),
                    end: ts("2026-01-01T01:00:00Z")
                },
            ]
        );
        assert_eq!(s.at(ts("2026-01-01T00:35:00Z")).unwrap().value.0, 3.0);
        assert!(s.at(ts("2026-01-01T00:20:00Z")).is_none());
        let (mean, coverage) = s.mean_over(w).unwrap();
        assert_eq!(mean.0, 2.0);
        assert_eq!(coverage, 0.5);
    }

    #[test]
    fn invariants_are_enforced() {
        let zone = ZoneKey::new("DE").unwrap();
        let p = |start: &str, d: u32, v: f64| Point {
            start: ts(start),
            duration_secs: d,
            value: GramsCo2PerKwh(v),
        };
        let overlapping = vec![
            p("2026-01-01T00:00:00Z", 3600, 1.0),
            p("2026-01-01T00:30:00Z", 3600, 1.0),
        ];
        assert!(matches!(
            IntensitySeries::new(zone.clone(), meta(), Resolution::HOUR, overlapping),
            Err(SeriesError::Overlap { index: 1, .. })
        ));
        let negative = vec![p("2026-01-01T00:00:00Z", 3600, -1.0)];
        assert!(IntensitySeries::new(zone.clone(), meta(), Resolution::HOUR, negative).is_err());
        let too_long = vec![p("2026-01-01T00:00:00Z", 7200, 1.0)];
        assert!(IntensitySeries::new(zone, meta(), Resolution::HOUR, too_long).is_err());
    }

    #[test]
    fn from_regular_shortens_points_before_a_closer_neighbour() {
        let t = |s: &str| ts(s);
        let s = IntensitySeries::from_regular(
            ZoneKey::new("GB").unwrap(),
            meta(),
            Resolution::HALF_HOUR,
            vec![
                (t("2020-01-01T00:00:00Z"), 1.0),
                (t("2020-01-01T00:15:00Z"), 2.0),
                (t("2020-01-01T00:30:00Z"), 3.0),
                (t("2020-01-01T02:00:00Z"), 4.0),
            ],
        )
        .unwrap();
        let d: Vec<u32> = s.points().iter().map(|p| p.duration_secs).collect();
        assert_eq!(d, vec![900, 900, 1800, 1800]);
    }

    proptest! {
        #[test]
        fn resampling_preserves_the_time_weighted_mean(
            values in proptest::collection::vec(proptest::option::of(0.0f64..2000.0), 1..200)
        ) {
            let s = quarter_hours(&values);
            prop_assume!(!s.is_empty());
            let (h, _) = s.resample(Resolution::HOUR).unwrap();
            let span = TimeWindow::new(
                ts("2026-01-01T00:00:00Z"),
                ts("2026-01-01T00:00:00Z") + SignedDuration::from_hours(60),
            ).unwrap();
            let (m1, _) = s.mean_over(span).unwrap();
            // The hourly mean weighted by each bucket's covered seconds equals the original mean.
            let mut weighted = 0.0;
            let mut covered = 0.0;
            for p in h.points() {
                let w = TimeWindow::new(p.start, p.end()).unwrap();
                let (_, frac) = s.mean_over(w).unwrap();
                weighted += p.value.0 * frac;
                covered += frac;
            }
            prop_assert!((weighted / covered - m1.0).abs() < 1e-6);
            // Every bucket value lies within the range of the input.
            let max = values.iter().flatten().cloned().fold(0.0, f64::max);
            prop_assert!(h.points().iter().all(|p| p.value.0 <= max + 1e-9));
        }
    }
}
