//! Hourly history and exogenous features, with the truncation rules that keep forecasts honest.

use jiff::{SignedDuration, Timestamp};
use kite_core::{IntensitySeries, Resolution, time_weighted_buckets};
use std::borrow::Cow;

/// An hourly series on a regular grid, gaps as `None`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HourlyHistory {
    /// Start of the first hour (on the hour, UTC).
    pub start: Timestamp,
    /// One value per hour.
    pub values: Vec<Option<f64>>,
}

impl HourlyHistory {
    /// End of the last hour.
    pub fn end(&self) -> Timestamp {
        self.start + SignedDuration::from_hours(self.values.len() as i64)
    }

    /// Index of the hour starting at `t`, if `t` is on this grid (may be past the end).
    pub fn index_of(&self, t: Timestamp) -> Option<usize> {
        let secs = t.as_second() - self.start.as_second();
        (secs >= 0 && secs % 3600 == 0).then_some((secs / 3600) as usize)
    }

    /// The values strictly before `t` (all of them if `t` is past the end).
    pub fn before(&self, t: Timestamp) -> &[Option<f64>] {
        let secs = (t.as_second() - self.start.as_second()).max(0);
        let n = usize::try_from(secs / 3600)
            .unwrap_or(0)
            .min(self.values.len());
        &self.values[..n]
    }

    /// Exactly the hours from [`HourlyHistory::start`] up to `t` (exclusive): the prefix a
    /// forecast issued at `t` may see. Hours between the end of the data and `t` are gaps, so the
    /// result always ends at `t` (empty if `t` is not after the start).
    pub fn until(&self, t: Timestamp) -> Cow<'_, [Option<f64>]> {
        let secs = (t.as_second() - self.start.as_second()).max(0);
        let n = usize::try_from(secs / 3600).unwrap_or(0);
        if n <= self.values.len() {
            Cow::Borrowed(&self.values[..n])
        } else {
            let mut v = self.values.clone();
            v.resize(n, None);
            Cow::Owned(v)
        }
    }

    /// The value of the hour starting at `t` (`None` for a gap, or off the grid or the data).
    pub fn value_at(&self, t: Timestamp) -> Option<f64> {
        self.index_of(t)
            .and_then(|i| self.values.get(i).copied().flatten())
    }

    /// `hours` values from the hour starting at `from` on (gaps and hours outside the data are
    /// `None`): the actuals a forecast issued at `from` is scored against.
    pub fn window(&self, from: Timestamp, hours: usize) -> Vec<Option<f64>> {
        let offset = (from.as_second() - self.start.as_second()).div_euclid(3600);
        (0..hours as i64)
            .map(|h| {
                usize::try_from(offset + h)
                    .ok()
                    .and_then(|i| self.values.get(i).copied().flatten())
            })
            .collect()
    }

    /// Hours without a value.
    pub fn gap_hours(&self) -> usize {
        self.values.iter().filter(|v| v.is_none()).count()
    }

    /// The hourly history of `series`: hourly data is taken as is, finer data (5, 15, 30 min)
    /// is averaged into UTC hours, time-weighted over the covered part of each hour, exactly as
    /// [`IntensitySeries::resample`] does. Hours with no data are gaps (`None`); nothing is
    /// interpolated. The grid runs from the first to the last hour with data.
    pub fn from_series(series: &IntensitySeries) -> Result<HourlyHistory, HistoryError> {
        if series.resolution() > Resolution::HOUR {
            return Err(HistoryError::CoarserThanHourly {
                zone: series.zone().to_string(),
                resolution: series.resolution(),
            });
        }
        let mut hours: Vec<(i64, f64)> = Vec::with_capacity(series.len());
        let intervals = series
            .points()
            .iter()
            .map(|p| (p.start.as_second(), p.end().as_second(), p.value.0));
        time_weighted_buckets(intervals, 3600, |start, mean, _covered| {
            hours.push((start, mean));
        });
        let (Some(&(first, _)), Some(&(last, _))) = (hours.first(), hours.last()) else {
            return Err(HistoryError::Empty {
                zone: series.zone().to_string(),
            });
        };
        let start = Timestamp::from_second(first).map_err(|_| HistoryError::Empty {
            zone: series.zone().to_string(),
        })?;
        let mut values = vec![None; ((last - first) / 3600 + 1) as usize];
        for (s, v) in hours {
            values[((s - first) / 3600) as usize] = Some(v);
        }
        Ok(HourlyHistory { start, values })
    }
}

/// Why an [`IntensitySeries`] could not become an [`HourlyHistory`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistoryError {
    /// No values at all.
    #[error(
        "the intensity series for {zone} has no values, so there is nothing to forecast from: \
         widen the history window or pick a zone with data"
    )]
    Empty {
        /// Zone key.
        zone: String,
    },
    /// Daily (or coarser) data cannot give hourly forecasts without inventing the daily shape.
    #[error(
        "the intensity series for {zone} has a resolution of {resolution}; forecasting needs \
         hourly or finer data: use an hourly source for this zone"
    )]
    CoarserThanHourly {
        /// Zone key.
        zone: String,
        /// The series' resolution.
        resolution: Resolution,
    },
}

/// One row of exogenous features: forecasts for the hour starting `target`, issued at `issued_at`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExogenousRow {
    /// Start of the hour the features describe.
    pub target: Timestamp,
    /// When the values were (or could first have been) known.
    pub issued_at: Timestamp,
    /// One value per name in [`Exogenous::names`].
    pub values: Vec<f64>,
}

/// Exogenous features for one zone (e.g. aggregated GFS weather forecasts), sorted by target.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Exogenous {
    /// Feature names, e.g. `wind_speed`, `temperature`.
    pub names: Vec<String>,
    /// Rows sorted by `target`, at most one per target.
    pub rows: Vec<ExogenousRow>,
    /// Where the features come from and how their issue times were set.
    pub source: String,
}

impl Exogenous {
    /// Only the rows issued at or before `issue_at`: what a forecaster could have had then.
    pub fn visible_at(&self, issue_at: Timestamp) -> Exogenous {
        Exogenous {
            names: self.names.clone(),
            rows: self
                .rows
                .iter()
                .filter(|r| r.issued_at <= issue_at)
                .cloned()
                .collect(),
            source: self.source.clone(),
        }
    }

    /// The row for the hour starting `target`, if any.
    pub fn at(&self, target: Timestamp) -> Option<&ExogenousRow> {
        self.rows
            .binary_search_by(|r| r.target.cmp(&target))
            .ok()
            .map(|i| &self.rows[i])
    }
}
