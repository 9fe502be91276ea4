//! Timestamp parsing for the import hot path. The fixed shape `YYYY-MM-DDTHH:MM:SSZ` (and the
//! naive `YYYY-MM-DD HH:MM:SS` of formats whose header declares UTC) is read by hand with a
//! civil-to-epoch conversion; anything else (offsets, fractions, leap seconds, odd spacing)
//! falls back to jiff, which is the reference the fast path is tested against.

use jiff::Timestamp;

/// Why a timestamp field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TsError {
    /// Not a timestamp at all.
    Bad,
    /// A civil date-time without an offset, and UTC may not be assumed.
    NoOffset,
    /// A fraction of a second.
    SubSecond,
}

/// Parses a timestamp field. `naive_is_utc`: a date-time without offset is taken as UTC.
pub(crate) fn parse(field: &[u8], naive_is_utc: bool) -> Result<Timestamp, TsError> {
    let fast = match field.len() {
        20 if matches!(field[19], b'Z' | b'z') => civil_seconds(&field[..19]),
        19 if naive_is_utc => civil_seconds(field),
        _ => None,
    };
    match fast {
        Some(secs) => Timestamp::from_second(secs).map_err(|_| TsError::Bad),
        None => parse_slow(field, naive_is_utc),
    }
}

fn parse_slow(field: &[u8], naive_is_utc: bool) -> Result<Timestamp, TsError> {
    let text = std::str::from_utf8(field).map_err(|_| TsError::Bad)?;
    if let Ok(ts) = text.parse::<Timestamp>() {
        return if ts.subsec_nanosecond() == 0 {
            Ok(ts)
        } else {
            Err(TsError::SubSecond)
        };
    }
    let civil = text
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| TsError::Bad)?;
    if civil.subsec_nanosecond() != 0 {
        return Err(TsError::SubSecond);
    }
    // A bare date is midnight UTC, as everywhere else in kite.
    let bare_date = text.len() == 10;
    if !(naive_is_utc || bare_date) {
        return Err(TsError::NoOffset);
    }
    jiff::tz::Offset::UTC
        .to_timestamp(civil)
        .map_err(|_| TsError::Bad)
}

fn two_digits(hi: u8, lo: u8) -> Option<i64> {
    let (hi, lo) = (hi.wrapping_sub(b'0'), lo.wrapping_sub(b'0'));
    (hi < 10 && lo < 10).then_some(i64::from(hi) * 10 + i64::from(lo))
}

/// `YYYY-MM-DD?HH:MM:SS` (separator `T`, `t` or space) to UTC epoch seconds; `None` for any
/// other shape or an invalid date or time (leap seconds included: jiff handles those).
pub(crate) fn civil_seconds(b: &[u8]) -> Option<i64> {
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = two_digits(b[0], b[1])? * 100 + two_digits(b[2], b[3])?;
    let month = two_digits(b[5], b[6])?;
    let day = two_digits(b[8], b[9])?;
    let hour = two_digits(b[11], b[12])?;
    let minute = two_digits(b[14], b[15])?;
    let second = two_digits(b[17], b[18])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fast_path_and_fallbacks() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(civil_seconds(b"1970-01-01T00:00:00"), Some(0));
        assert_eq!(
            parse(b"2021-01-01T00:00:00Z", false),
            Ok(t("2021-01-01T00:00:00Z"))
        );
        assert_eq!(
            parse(b"2021-07-01T02:00:00+02:00", false),
            Ok(t("2021-07-01T00:00:00Z"))
        );
        assert_eq!(
            parse(b"2021-07-01 00:00:00", true),
            Ok(t("2021-07-01T00:00:00Z"))
        );
        assert_eq!(parse(b"2021-07-01 00:00:00", false), Err(TsError::NoOffset));
        assert_eq!(parse(b"2021-07-01T00:00:00", false), Err(TsError::NoOffset));
        assert_eq!(parse(b"2021-07-01", false), Ok(t("2021-07-01T00:00:00Z")));
        assert_eq!(
            parse(b"2021-07-01T00:00:00.000Z", false),
            Ok(t("2021-07-01T00:00:00Z"))
        );
        assert_eq!(
            parse(b"2021-07-01T00:00:00.5Z", false),
            Err(TsError::SubSecond)
        );
        assert_eq!(parse(b"2021-02-29T00:00:00Z", false), Err(TsError::Bad));
        assert_eq!(parse(b"yesterday", false), Err(TsError::Bad));
        assert_eq!(parse(b"2021-13-01T00:00:00Z", false), Err(TsError::Bad));
    }

    proptest! {
        /// Any instant jiff prints in the fixed shape reads back the same through the fast path.
        #[test]
        fn fast_path_round_trips_jiff_output(secs in -62_135_596_800i64..253_402_300_799) {
            let ts = Timestamp::from_second(secs).unwrap();
            let text = ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            prop_assert_eq!(text.len(), 20);
            prop_assert_eq!(civil_seconds(&text.as_bytes()[..19]), Some(secs));
            prop_assert_eq!(parse(text.as_bytes(), false), Ok(ts));
        }

        /// On arbitrary field values (invalid dates included) the fast path accepts exactly what
        /// jiff accepts, with the same result.
        #[test]
        fn fast_path_agrees_with_jiff(
            year in 0i64..=9999, month in 0i64..=13, day in 0i64..=32,
            hour in 0i64..=24, minute in 0i64..=60, second in 0i64..=59,
        ) {
            let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
            let reference = text.parse::<Timestamp>().ok();
            let fast = civil_seconds(&text.as_bytes()[..19]);
            prop_assert_eq!(fast, reference.map(|t| t.as_second()), "{}", text);
        }
    }
}
