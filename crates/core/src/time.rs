//! Instants, resolutions and windows, and the parser for the time forms users type:
//! RFC 3339 with an offset (`2026-03-01T12:00:00Z`), a bare date (`2026-03-01`, midnight UTC),
//! and relative forms (`now`, `now+6h`, `now-2d`, `now+90m`).
//!
//! A timestamp without a zone offset is refused: guessing the zone is how series end up shifted
//! by hours. Callers that have an explicit `--assume-utc` use [`parse_time_with`].

use jiff::{SignedDuration, Timestamp};
use std::fmt;

/// Why a time, resolution or window could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text is not any accepted time form.
    #[error(
        "`{input}` is not a time: use RFC 3339 with an offset (2026-03-01T12:00:00Z), a date \
         (2026-03-01), or `now`, `now+6h`, `now-2d`"
    )]
    Unparseable {
        /// What the user wrote.
        input: String,
    },
    /// A civil date-time with no offset.
    #[error(
        "`{input}` has no UTC offset: add `Z` or `+01:00` (or pass --assume-utc if the data is UTC)"
    )]
    NoOffset {
        /// What the user wrote.
        input: String,
    },
    /// The text is not an accepted resolution.
    #[error(
        "`{input}` is not a resolution: use e.g. 5m, 15m, 30m, 1h, 1d (a positive whole number of minutes)"
    )]
    BadResolution {
        /// What the user wrote.
        input: String,
    },
    /// A window whose end is not after its start.
    #[error("the window is empty: end {end} is not after start {start}")]
    EmptyWindow {
        /// Start of the window.
        start: Timestamp,
        /// End of the window.
        end: Timestamp,
    },
}

/// The length of the interval a data point describes. Always a positive whole number of seconds
/// that divides a day or is a multiple of it, so buckets align on UTC midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resolution {
    secs: u32,
}

impl Resolution {
    /// Five minutes.
    pub const FIVE_MINUTES: Resolution = Resolution { secs: 300 };
    /// Fifteen minutes.
    pub const QUARTER_HOUR: Resolution = Resolution { secs: 900 };
    /// Thirty minutes.
    pub const HALF_HOUR: Resolution = Resolution { secs: 1800 };
    /// One hour.
    pub const HOUR: Resolution = Resolution { secs: 3600 };

    /// A resolution of `secs` seconds; `None` unless it is positive and aligns with days.
    pub fn from_secs(secs: u32) -> Option<Resolution> {
        let day: u32 = 86_400;
        let aligned = secs > 0 && (day.is_multiple_of(secs) || secs.is_multiple_of(day));
        aligned.then_some(Resolution { secs })
    }

    /// Parses `5m`, `15m`, `1h`, `1d`, `90s`.
    pub fn parse(input: &str) -> Result<Resolution, TimeError> {
        let bad = || TimeError::BadResolution {
            input: input.to_string(),
        };
        let s = input.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (num, unit) = s.split_at(split);
        let n: u32 = num.parse().map_err(|_| bad())?;
        let mult = match unit {
            "s" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        n.checked_mul(mult)
            .and_then(Resolution::from_secs)
            .ok_or_else(bad)
    }

    /// Length in seconds.
    pub fn secs(self) -> u32 {
        self.secs
    }

    /// Length as a duration.
    pub fn duration(self) -> SignedDuration {
        SignedDuration::from_secs(i64::from(self.secs))
    }

    /// The start of the interval of this resolution containing `t` (intervals align on the Unix
    /// epoch, hence on UTC midnight).
    pub fn floor(self, t: Timestamp) -> Timestamp {
        let s = t.as_second();
        let r = i64::from(self.secs);
        let floored = s.div_euclid(r) * r;
        Timestamp::from_second(floored).unwrap_or(t)
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.secs;
        if s.is_multiple_of(86_400) {
            write!(f, "{}d", s / 86_400)
        } else if s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// A half-open interval `[start, end)` of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeWindow {
    start: Timestamp,
    end: Timestamp,
}

impl TimeWindow {
    /// A window from `start` up to (not including) `end`; refuses empty windows.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<TimeWindow, TimeError> {
        if end <= start {
            return Err(TimeError::EmptyWindow { start, end });
        }
        Ok(TimeWindow { start, end })
    }

    /// First instant inside the window.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// First instant after the window.
    pub fn end(&self) -> Timestamp {
        self.end
    }

    /// Length of the window.
    pub fn duration(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }

    /// Whether `t` lies in `[start, end)`.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    /// Seconds that `[a, b)` shares with this window (zero when disjoint).
    pub fn overlap_secs(&self, a: Timestamp, b: Timestamp) -> i64 {
        let lo = self.start.max(a);
        let hi = self.end.min(b);
        if hi > lo {
            hi.duration_since(lo).as_secs()
        } else {
            0
        }
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// Parses a user-facing time; `now` anchors the relative forms. Offsets are required.
pub fn parse_time(input: &str, now: Timestamp) -> Result<Timestamp, TimeError> {
    parse_time_with(input, now, false)
}

/// Like [`parse_time`], but with `assume_utc` a civil date-time without offset is taken as UTC.
pub fn parse_time_with(
    input: &str,
    now: Timestamp,
    assume_utc: bool,
) -> Result<Timestamp, TimeError> {
    let s = input.trim();
    let unparseable = || TimeError::Unparseable {
        input: input.to_string(),
    };
    if let Some(rest) = s.strip_prefix("now") {
        if rest.is_empty() {
            return Ok(now);
        }
        let (sign, amount) = match rest.as_bytes()[0] {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return Err(unparseable()),
        };
        let secs = parse_offset_secs(amount).ok_or_else(unparseable)?;
        let delta = SignedDuration::from_secs(secs.checked_mul(sign).ok_or_else(unparseable)?);
        return now.checked_add(delta).map_err(|_| unparseable());
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts);
    }
    let is_bare_date = s.len() == 10 && !s.contains(['T', 't', ' ']);
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        // A bare date is the start of that day in UTC: unambiguous, and what users mean by it.
        if !is_bare_date && !assume_utc {
            return Err(TimeError::NoOffset {
                input: input.to_string(),
            });
        }
        return jiff::tz::Offset::UTC
            .to_timestamp(dt)
            .map_err(|_| unparseable());
    }
    Err(unparseable())
}

/// `20h`, `90m`, `2d`, `1w`, `30s`: a whole number and one unit (s, m or min, h, d, w). Any
/// number is allowed, unlike a [`Resolution`], which must divide a day.
fn parse_offset_secs(amount: &str) -> Option<i64> {
    let split = amount.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = amount.split_at(split);
    let n: i64 = number.parse().ok()?;
    let unit_secs = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(unit_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_offsets_take_any_whole_number_of_units() {
        let now = ts("2026-11-23T10:00:00Z");
        for (input, want) in [
            ("now+20h", "2026-11-24T06:00:00Z"),
            ("now+30h", "2026-11-24T16:00:00Z"),
            ("now-7m", "2026-11-23T09:53:00Z"),
            ("now+90min", "2026-11-23T11:30:00Z"),
            ("now+3d", "2026-11-26T10:00:00Z"),
            ("now+1w", "2026-11-30T10:00:00Z"),
            ("now+45s", "2026-11-23T10:00:45Z"),
        ] {
            assert_eq!(parse_time(input, now).unwrap(), ts(want), "{input}");
        }
        for bad in ["now+", "now+h", "now+5", "now+5y", "now+1.5h", "now*2h"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn relative_and_absolute_forms() {
        let now = ts("2026-11-23T10:17:00Z");
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(
            parse_time("now+6h", now).unwrap(),
            ts("2026-11-23T16:17:00Z")
        );
        assert_eq!(
            parse_time("now-2d", now).unwrap(),
            ts("2026-11-21T10:17:00Z")
        );
        assert_eq!(
            parse_time("2021-07-01T00:00:00+02:00", now).unwrap(),
            ts("2021-06-30T22:00:00Z")
        );
        assert_eq!(
            parse_time("2021-07-01", now).unwrap(),
            ts("2021-07-01T00:00:00Z")
        );
    }

    #[test]
    fn missing_offset_is_refused_unless_assumed() {
        let now = ts("2026-11-23T10:17:00Z");
        let err = parse_time("2021-07-01T05:00:00", now).unwrap_err();
        assert!(matches!(err, TimeError::NoOffset { .. }));
        assert!(err.to_string().contains("--assume-utc"));
        assert_eq!(
            parse_time_with("2021-07-01T05:00:00", now, true).unwrap(),
            ts("2021-07-01T05:00:00Z")
        );
        assert!(matches!(
            parse_time("yesterday", now),
            Err(TimeError::Unparseable { .. })
        ));
        assert!(parse_time("now*3", now).is_err());
    }

    #[test]
    fn resolutions_parse_align_and_print() {
        assert_eq!(Resolution::parse("15m").unwrap(), Resolution::QUARTER_HOUR);
        assert_eq!(Resolution::parse("1h").unwrap().to_string(), "1h");
        assert_eq!(Resolution::parse("90m").unwrap().to_string(), "90m");
        assert!(
            Resolution::parse("7m").is_err(),
            "7 min does not divide a day"
        );
        assert!(Resolution::parse("0h").is_err());
        assert!(Resolution::parse("h").is_err());
        let t = ts("2026-11-23T10:17:00Z");
        assert_eq!(Resolution::HOUR.floor(t), ts("2026-11-23T10:00:00Z"));
        assert_eq!(
            Resolution::QUARTER_HOUR.floor(t),
            ts("2026-11-23T10:15:00Z")
        );
    }

    #[test]
    fn windows_are_half_open() {
        let w = TimeWindow::new(ts("2026-01-01T00:00:00Z"), ts("2026-01-01T01:00:00Z")).unwrap();
        assert!(w.contains(ts("2026-01-01T00:00:00Z")));
        assert!(!w.contains(ts("2026-01-01T01:00:00Z")));
        assert_eq!(
            w.overlap_secs(ts("2026-01-01T00:30:00Z"), ts("2026-01-01T02:00:00Z")),
            1800
        );
        assert!(TimeWindow::new(w.end(), w.start()).is_err());
    }
}
