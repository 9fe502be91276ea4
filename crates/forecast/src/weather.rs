//! Loader for CarbonCast's aggregated GFS weather-forecast features
//! (`<R>_weather_forecast.csv[.gz]`) into [`Exogenous`] rows with an explicit issue time.
//!
//! The files hold one row per *target* hour and do not say when each value was forecast. So the
//! issue time is a documented assumption, [`IssueRule`], passed in by the caller. The default,
//! [`IssueRule::CONSERVATIVE`], treats the row for target day D as known at 00:00 UTC of day D:
//! a forecast issued at D 00:00 sees the weather for day D only (its day 1), never days 2–4.
//! (If the file's rows came from the GFS run of the day before, they were known even earlier, so
//! this rule can only hide information, not leak it — unless they came from a run *on* day D,
//! which nobody can rule out from the file alone; see `tests/data/README.md`.)
//!
//! Format: header `datetime,forecast_avg_wind_speed_wMean,forecast_avg_temperature_wMean,
//! forecast_avg_dewpoint_wMean,forecast_avg_dswrf_wMean,forecast_avg_precipitation_wMean`;
//! datetimes like `2019-1-1 0:00:00+00:00` or `2019-01-01 0:00` (UTC). CarbonCast pads the end of
//! some files with all-zero rows (a temperature of 0 K); those rows are skipped.

use crate::history::{Exogenous, ExogenousRow};
use jiff::{SignedDuration, Timestamp};
use std::io::Read;
use std::path::Path;

/// Feature names, in file column order, as they appear in [`Exogenous::names`].
pub const WEATHER_FEATURES: [&str; 5] = [
    "wind_speed",
    "temperature",
    "dewpoint",
    "dswrf",
    "precipitation",
];

/// The CSV columns the loader expects, in order after `datetime`.
const COLUMNS: [&str; 5] = [
    "forecast_avg_wind_speed_wMean",
    "forecast_avg_temperature_wMean",
    "forecast_avg_dewpoint_wMean",
    "forecast_avg_dswrf_wMean",
    "forecast_avg_precipitation_wMean",
];

/// When a weather row became known: the row for target day D (UTC) counts as issued at
/// `00:00 UTC of day D − hours_before_target_day` … expressed in hours, so
/// `hours_before_target_day = 0` is D 00:00 and `24` is D−1 00:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueRule {
    /// Hours between the assumed issue time and the start (00:00 UTC) of the row's target day.
    pub hours_before_target_day: i64,
}

impl IssueRule {
    /// Day D's rows known at D 00:00: a 00:00 forecast sees only its day 1. The default.
    pub const CONSERVATIVE: IssueRule = IssueRule {
        hours_before_target_day: 0,
    };
    /// Day D's rows known at D−1 00:00 (a 00:00 run used the next day): days 1–2 visible.
    pub const DAY_BEFORE: IssueRule = IssueRule {
        hours_before_target_day: 24,
    };

    /// The issue time this rule gives a row for the hour starting `target`.
    pub fn issued_at(&self, target: Timestamp) -> Timestamp {
        let day_start = target.as_second().div_euclid(86_400) * 86_400;
        let day_start = Timestamp::from_second(day_start).unwrap_or(target);
        day_start - SignedDuration::from_hours(self.hours_before_target_day)
    }

    /// Label for [`Exogenous::source`].
    fn describe(&self) -> String {
        format!(
            "issue time assumed {} h before 00:00 UTC of each target day",
            self.hours_before_target_day
        )
    }
}

impl Default for IssueRule {
    fn default() -> Self {
        IssueRule::CONSERVATIVE
    }
}

/// Why a weather file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WeatherError {
    /// The file could not be opened or read.
    #[error("cannot read weather file {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A malformed line.
    #[error("weather file {file}, line {line}, field `{field}`: {message}")]
    Parse {
        /// The file.
        file: String,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// The column name.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// Reads a CarbonCast weather file, gzip-compressed if its name ends in `.gz`.
pub fn load_carboncast_weather(path: &Path, rule: IssueRule) -> Result<Exogenous, WeatherError> {
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|source| WeatherError::Io {
        file: file.clone(),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "gz") {
        parse_carboncast_weather(flate2::read::GzDecoder::new(f), &file, rule)
    } else {
        parse_carboncast_weather(f, &file, rule)
    }
}

/// Parses CarbonCast weather CSV text from `reader`; `file` names it in errors.
pub fn parse_carboncast_weather(
    reader: impl Read,
    file: &str,
    rule: IssueRule,
) -> Result<Exogenous, WeatherError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let perr = |line: u64, field: &str, message: String| WeatherError::Parse {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message,
    };
    let headers = csv
        .headers()
        .map_err(|e| perr(1, "header", e.to_string()))?
        .clone();
    let expected: Vec<&str> = std::iter::once("datetime").chain(COLUMNS).collect();
    for (i, want) in expected.iter().enumerate() {
        if headers.get(i) != Some(*want) {
            return Err(perr(
                1,
                want,
                format!(
                    "column {} is `{}`, expected `{want}` (header must be `{}`)",
                    i + 1,
                    headers.get(i).unwrap_or(""),
                    expected.join(",")
                ),
            ));
        }
    }
    let mut rows: Vec<ExogenousRow> = Vec::new();
    for record in csv.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            perr(line, "record", e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let dt = record.get(0).unwrap_or("");
        let target = parse_datetime(dt).map_err(|m| perr(line, "datetime", m))?;
        let mut values = Vec::with_capacity(COLUMNS.len());
        for (i, name) in COLUMNS.iter().enumerate() {
            let raw = record.get(i + 1).unwrap_or("");
            let v: f64 = raw.parse().map_err(|_| {
                perr(
                    line,
                    name,
                    format!("`{raw}` is not a number; every feature must be a decimal number"),
                )
            })?;
            if !v.is_finite() {
                return Err(perr(line, name, format!("`{raw}` is not finite")));
            }
            values.push(v);
        }
        // CarbonCast pads file ends with all-zero rows; 0 K is no temperature, so skip them.
        if values[1] <= 0.0 {
            continue;
        }
        rows.push(ExogenousRow {
            target,
            issued_at: rule.issued_at(target),
            values,
        });
    }
    // Files are in order, but keep the invariant (sorted, one row per target) for any input:
    // on a repeated target the later line wins.
    rows.sort_by_key(|r| r.target);
    let mut dedup: Vec<ExogenousRow> = Vec::with_capacity(rows.len());
    for r in rows {
        match dedup.last_mut() {
            Some(last) if last.target == r.target => *last = r,
            _ => dedup.push(r),
        }
    }
    Ok(Exogenous {
        names: WEATHER_FEATURES.iter().map(|s| (*s).to_string()).collect(),
        rows: dedup,
        source: format!(
            "CarbonCast aggregated GFS weather forecasts ({file}); {}",
            rule.describe()
        ),
    })
}

/// Parses `Y-M-D H:MM[:SS][+HH:MM|Z]` (UTC unless an offset is given).
fn parse_datetime(s: &str) -> Result<Timestamp, String> {
    let bad = |why: &str| {
        format!("`{s}` is not a datetime ({why}); expected e.g. `2019-1-1 0:00:00+00:00`")
    };
    let (date, rest) = s
        .split_once([' ', 'T'])
        .ok_or_else(|| bad("no space between date and time"))?;
    let mut d = date.split('-');
    let num = |p: Option<&str>, what: &str| -> Result<i64, String> {
        p.and_then(|x| x.parse::<i64>().ok())
            .ok_or_else(|| bad(&format!("bad {what}")))
    };
    let (y, mo, da) = (
        num(d.next(), "year")?,
        num(d.next(), "month")?,
        num(d.next(), "day")?,
    );
    // Split off a UTC offset.
    let (time, offset_secs) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let mut parts = off[1..].split(':');
        let oh = num(parts.next(), "offset hours")?;
        let om = parts
            .next()
            .map_or(Ok(0), |m| num(Some(m), "offset minutes"))?;
        (t, sign * (oh * 3600 + om * 60))
    } else {
        (rest, 0)
    };
    let mut t = time.split(':');
    let (h, mi) = (num(t.next(), "hour")?, num(t.next(), "minute")?);
    let sec = t.next().map_or(Ok(0), |x| num(Some(x), "second"))?;
    let to_i8 = |v: i64| i8::try_from(v).map_err(|_| bad("field out of range"));
    let to_i16 = |v: i64| i16::try_from(v).map_err(|_| bad("year out of range"));
    let civil = jiff::civil::DateTime::new(
        to_i16(y)?,
        to_i8(mo)?,
        to_i8(da)?,
        to_i8(h)?,
        to_i8(mi)?,
        to_i8(sec)?,
        0,
    )
    .map_err(|e| bad(&e.to_string()))?;
    let ts = civil
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map_err(|e| bad(&e.to_string()))?
        .timestamp();
    Ok(ts - SignedDuration::from_secs(offset_secs))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_both_datetime_styles() {
        let a = parse_datetime("2019-1-1 0:00:00+00:00").unwrap();
        let b = parse_datetime("2019-01-01 0:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2019-01-01T00:00:00Z");
        let c = parse_datetime("2019-01-01 5:00:00+02:00").unwrap();
        assert_eq!(c.to_string(), "2019-01-01T03:00:00Z");
        assert!(parse_datetime("2019-13-01 0:00").is_err());
        assert!(parse_datetime("yesterday").is_err());
    }

    #[test]
    fn issue_rules() {
        let t: Timestamp = "2021-07-02T17:00:00Z".parse().unwrap();
        assert_eq!(
            IssueRule::CONSERVATIVE.issued_at(t).to_string(),
            "2021-07-02T00:00:00Z"
        );
        assert_eq!(
            IssueRule::DAY_BEFORE.issued_at(t).to_string(),
            "2021-07-01T00:00:00Z"
        );
    }
}
