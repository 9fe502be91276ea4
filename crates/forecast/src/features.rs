//! Calendar features (UTC hour, weekday, day of year, fixed-date holidays) and gap filling,
//! shared by the statistical and learned models.
//!
//! Calendar arithmetic works on epoch seconds directly (civil-from-days), because the learned
//! model evaluates it tens of thousands of times per forecast; a test checks it against jiff.

use jiff::Timestamp;

/// Calendar facts about one UTC hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day of month, 1–31.
    pub day: u32,
    /// Hour of day, 0–23 (UTC).
    pub hour: u32,
    /// Day of week, 0 = Monday … 6 = Sunday (UTC).
    pub weekday: u32,
    /// Day of year, 0-based (0 = 1 January).
    pub day_of_year: u32,
}

impl Calendar {
    /// The calendar of the UTC hour containing `t`.
    pub fn of(t: Timestamp) -> Calendar {
        Calendar::of_epoch_hour(t.as_second().div_euclid(3600))
    }

    /// The calendar of the hour starting `hour * 3600` seconds after the Unix epoch.
    pub fn of_epoch_hour(hour: i64) -> Calendar {
        let days = hour.div_euclid(24);
        let (year, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
        let weekday = (days + 3).rem_euclid(7) as u32;
        let day_of_year = (days - days_from_civil(year, 1, 1)) as u32;
        Calendar {
            year,
            month,
            day,
            hour: hour.rem_euclid(24) as u32,
            weekday,
            day_of_year,
        }
    }

    /// Saturday or Sunday.
    pub fn is_weekend(&self) -> bool {
        self.weekday >= 5
    }

    /// One of the fixed-date holidays in [`FIXED_HOLIDAYS`].
    pub fn is_fixed_holiday(&self) -> bool {
        FIXED_HOLIDAYS
            .iter()
            .any(|&(m, d)| m == self.month && d == self.day)
    }

    /// Position in the year as an angle, for `sin`/`cos` seasonality features.
    pub fn year_angle(&self) -> f64 {
        2.0 * std::f64::consts::PI * f64::from(self.day_of_year) / 365.25
    }
}

/// Fixed-date public holidays (month, day) common to the US and most of Europe, plus 4 July
/// (US) and 24/26/31 December (most of Europe). Models do not know the zone, so this is one
/// shared list; a wrong day costs one regression coefficient's worth, not a crash. Movable
/// holidays (Easter, Thanksgiving, Memorial Day, …) are not modelled.
pub const FIXED_HOLIDAYS: [(u32, u32); 6] =
    [(1, 1), (7, 4), (12, 24), (12, 25), (12, 26), (12, 31)];

/// (year, month, day) of the day `days` after 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

/// Days from 1970-01-01 to (year, month, day).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Fills every gap by linear interpolation between its neighbours; leading (trailing) gaps take
/// the first (last) known value. `None` if the series has no value at all.
///
/// Models fit on the filled series but never *score* a filled value as a target, so a long gap
/// only flattens features, it does not teach the model straight lines.
pub fn fill_gaps(values: &[Option<f64>]) -> Option<Vec<f64>> {
    let first = values.iter().position(Option::is_some)?;
    let mut out = Vec::with_capacity(values.len());
    let mut last_known: Option<(usize, f64)> = None;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(x) => {
                if let Some((j, y)) = last_known
                    && i > j + 1
                {
                    // Interpolate the gap (j, i) exclusive.
                    let step = (x - y) / (i - j) as f64;
                    for (k, slot) in out.iter_mut().enumerate().take(i).skip(j + 1) {
                        *slot = y + step * (k - j) as f64;
                    }
                }
                out.push(*x);
                last_known = Some((i, *x));
            }
            None => out.push(last_known.map_or(f64::NAN, |(_, y)| y)),
        }
    }
    // Leading gap: the first known value.
    if let Some(Some(x)) = values.get(first) {
        for slot in out.iter_mut().take(first) {
            *slot = *x;
        }
    }
    Some(out)
}

/// Number of non-gap values.
pub fn count_known(values: &[Option<f64>]) -> usize {
    values.iter().filter(|v| v.is_some()).count()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jiff::tz::TimeZone;

    #[test]
    fn calendar_matches_jiff_over_decades() {
        // Every 37 hours from 1999 to 2031 covers leap years, century rules and all weekdays.
        let start: Timestamp = "1999-01-01T00:00:00Z".parse().unwrap();
        for k in 0..8000i64 {
            let t = start + jiff::SignedDuration::from_hours(37 * k);
            let z = t.to_zoned_datetime(TimeZone::UTC);
            let c = Calendar::of(t);
            assert_eq!(c.year, i32::from(z.year()), "{t}");
            assert_eq!(c.month, z.month() as u32, "{t}");
            assert_eq!(c.day, z.day() as u32, "{t}");
            assert_eq!(c.hour, z.hour() as u32, "{t}");
            assert_eq!(c.weekday, z.weekday().to_monday_zero_offset() as u32, "{t}");
            assert_eq!(c.day_of_year, (z.day_of_year() - 1) as u32, "{t}");
        }
    }

    #[test]
    fn holidays_and_weekends() {
        let c = Calendar::of("2021-12-25T13:00:00Z".parse().unwrap());
        assert!(c.is_fixed_holiday());
        assert!(c.is_weekend()); // a Saturday
        let c = Calendar::of("2021-07-05T00:00:00Z".parse().unwrap());
        assert!(!c.is_fixed_holiday());
        assert!(!c.is_weekend());
    }

    #[test]
    fn fill_gaps_interpolates_and_extends() {
        let v = [None, Some(1.0), None, None, Some(4.0), None];
        assert_eq!(fill_gaps(&v).unwrap(), vec![1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        assert!(fill_gaps(&[None, None]).is_none());
    }
}
