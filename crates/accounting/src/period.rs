//! Reporting periods: `2026` (a year), `2026-Q4`, `2026-10` (a month), `2026-10-05` (a day),
//! or `FROM..TO` with dates or RFC 3339 times. All UTC, half-open `[start, end)`.

use crate::statement::Period;
use jiff::civil::Date;
use jiff::{Timestamp, tz::TimeZone};

/// A period that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "period `{input}`: {problem}; write 2026, 2026-Q4, 2026-10, 2026-10-05 or FROM..TO (dates or RFC 3339 times, UTC)"
)]
pub struct PeriodError {
    /// What was given.
    pub input: String,
    /// What is wrong.
    pub problem: String,
}

fn midnight(d: Date) -> Option<Timestamp> {
    d.to_zoned_datetime(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

fn parse_point(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    s.parse::<Date>().ok().and_then(midnight)
}

impl Period {
    /// Parses a period label.
    pub fn parse(input: &str) -> Result<Period, PeriodError> {
        let s = input.trim();
        let bad = |problem: &str| PeriodError {
            input: input.to_string(),
            problem: problem.to_string(),
        };
        let (start, end) = if let Some((a, b)) = s.split_once("..") {
            let a = parse_point(a.trim()).ok_or_else(|| bad("the start is not a date or time"))?;
            let b = parse_point(b.trim()).ok_or_else(|| bad("the end is not a date or time"))?;
            (a, b)
        } else if let Some((y, q)) = s.split_once("-Q").or_else(|| s.split_once("-q")) {
            let y: i16 = y.parse().map_err(|_| bad("the year is not a number"))?;
            let q: i8 = q.parse().map_err(|_| bad("the quarter is not 1-4"))?;
            if !(1..=4).contains(&q) {
                return Err(bad("the quarter is not 1-4"));
            }
            let d = Date::new(y, (q - 1) * 3 + 1, 1).map_err(|e| bad(&e.to_string()))?;
            let e = d
                .checked_add(jiff::Span::new().months(3))
                .map_err(|e| bad(&e.to_string()))?;
            (
                midnight(d).ok_or_else(|| bad("out of range"))?,
                midnight(e).ok_or_else(|| bad("out of range"))?,
            )
        } else {
            let parts: Vec<&str> = s.split('-').collect();
            let num = |x: &str| x.parse::<i16>().map_err(|_| bad("not a number"));
            let (d, span) = match parts.as_slice() {
                [y] if y.len() == 4 => (
                    Date::new(num(y)?, 1, 1).map_err(|e| bad(&e.to_string()))?,
                    jiff::Span::new().years(1),
                ),
                [y, m] if y.len() == 4 => (
                    Date::new(num(y)?, num(m)? as i8, 1).map_err(|e| bad(&e.to_string()))?,
                    jiff::Span::new().months(1),
                ),
                [y, m, dd] if y.len() == 4 => (
                    Date::new(num(y)?, num(m)? as i8, num(dd)? as i8)
                        .map_err(|e| bad(&e.to_string()))?,
                    jiff::Span::new().days(1),
                ),
                _ => return Err(bad("unrecognised form")),
            };
            let e = d.checked_add(span).map_err(|e| bad(&e.to_string()))?;
            (
                midnight(d).ok_or_else(|| bad("out of range"))?,
                midnight(e).ok_or_else(|| bad("out of range"))?,
            )
        };
        if start >= end {
            return Err(bad("the end is not after the start"));
        }
        Ok(Period {
            start,
            end,
            label: s.to_string(),
        })
    }

    /// A period from two times, labelled `FROM..TO`.
    pub fn between(start: Timestamp, end: Timestamp) -> Period {
        Period {
            start,
            end,
            label: format!("{start}..{end}"),
        }
    }

    /// Length, seconds.
    pub fn seconds(&self) -> f64 {
        (self.end.as_millisecond() - self.start.as_millisecond()) as f64 / 1000.0
    }

    /// Seconds of `[a, b)` inside the period.
    pub fn overlap_secs(&self, a: Timestamp, b: Timestamp) -> f64 {
        let s = self.start.max(a).as_millisecond();
        let e = self.end.min(b).as_millisecond();
        ((e - s).max(0)) as f64 / 1000.0
    }

    /// Whether `t` is inside.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    /// The period `k` steps away, a step being the period's own calendar length when its label
    /// is a year, quarter, month or day (`2025` → `2024` for `k = -1`), else its length in
    /// seconds.
    pub fn shifted(&self, k: i32) -> Option<Period> {
        let label = self.label.as_str();
        let calendar = if label.contains("..") {
            None
        } else if label.contains("-Q") || label.contains("-q") {
            Some(jiff::Span::new().months(3 * i64::from(k)))
        } else {
            match label.split('-').count() {
                1 => Some(jiff::Span::new().years(i64::from(k))),
                2 => Some(jiff::Span::new().months(i64::from(k))),
                3 => Some(jiff::Span::new().days(i64::from(k))),
                _ => None,
            }
        };
        let (start, end) = match calendar {
            Some(span) => {
                let s = self
                    .start
                    .to_zoned_datetime(TimeZone::UTC)
                    .checked_add(span)
                    .ok()?;
                let e = self
                    .end
                    .to_zoned_datetime(TimeZone::UTC)
                    .checked_add(span)
                    .ok()?;
                (s.timestamp(), e.timestamp())
            }
            None => {
                let len = self.end.as_millisecond() - self.start.as_millisecond();
                let d = jiff::SignedDuration::from_millis(len * i64::from(k));
                (
                    self.start.checked_add(d).ok()?,
                    self.end.checked_add(d).ok()?,
                )
            }
        };
        let label = match calendar {
            Some(_) => {
                let z = start.to_zoned_datetime(TimeZone::UTC);
                match label.split('-').count() {
                    _ if label.contains("-Q") || label.contains("-q") => {
                        format!("{:04}-Q{}", z.year(), (z.month() - 1) / 3 + 1)
                    }
                    1 => format!("{:04}", z.year()),
                    2 => format!("{:04}-{:02}", z.year(), z.month()),
                    _ => format!("{:04}-{:02}-{:02}", z.year(), z.month(), z.day()),
                }
            }
            None => format!("{start}..{end}"),
        };
        Some(Period { start, end, label })
    }

    /// The calendar months (UTC) the period touches, each clipped to the period.
    pub fn months(&self) -> Vec<Period> {
        let mut out = Vec::new();
        let z = self.start.to_zoned_datetime(TimeZone::UTC);
        let Ok(mut first) = Date::new(z.year(), z.month(), 1) else {
            return out;
        };
        while let Some(m_start) = midnight(first) {
            if m_start >= self.end {
                break;
            }
            let Ok(next) = first.checked_add(jiff::Span::new().months(1)) else {
                break;
            };
            let Some(m_end) = midnight(next) else { break };
            out.push(Period {
                start: m_start.max(self.start),
                end: m_end.min(self.end),
                label: format!("{:04}-{:02}", first.year(), first.month()),
            });
            first = next;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let p = Period::parse("2026-10").unwrap();
        assert_eq!(p.start.to_string(), "2026-10-01T00:00:00Z");
        assert_eq!(p.end.to_string(), "2026-11-01T00:00:00Z");
        let p = Period::parse("2026").unwrap();
        assert_eq!(p.end.to_string(), "2027-01-01T00:00:00Z");
        assert_eq!(p.months().len(), 12);
        let p = Period::parse("2026-Q4").unwrap();
        assert_eq!(p.start.to_string(), "2026-10-01T00:00:00Z");
        assert_eq!(p.end.to_string(), "2027-01-01T00:00:00Z");
        let p = Period::parse("2026-10-05..2026-10-07T12:00:00Z").unwrap();
        assert_eq!(p.seconds(), 2.5 * 86400.0);
        assert!(Period::parse("2026-13").is_err());
        assert!(Period::parse("2026-10-05..2026-10-01").is_err());
        assert!(Period::parse("last year").is_err());
        let p = Period::parse("2025").unwrap().shifted(-1).unwrap();
        assert_eq!(
            (p.label.as_str(), p.start.to_string().as_str()),
            ("2024", "2024-01-01T00:00:00Z")
        );
        let p = Period::parse("2026-Q1").unwrap().shifted(-1).unwrap();
        assert_eq!(p.label, "2025-Q4");
        let p = Period::parse("2026-03").unwrap().shifted(1).unwrap();
        assert_eq!(
            (p.label.as_str(), p.end.to_string().as_str()),
            ("2026-04", "2026-05-01T00:00:00Z")
        );
    }
}
