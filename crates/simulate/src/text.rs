//! The small text forms a scenario uses: durations (`30m`, `4h`, `1h30m`, `2d`), times of day
//! (`09:00`), and instants (RFC 3339 with an offset, or a bare date meaning midnight UTC).
//!
//! Everything is UTC. Relative times (`now+6h`) are refused: a scenario must mean the same thing
//! whenever it is run.

use kite_core::Timestamp;

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// Parses `30m`, `4h`, `1h30m`, `90s`, `2d`, `0m`, optionally with a leading `-`, into seconds.
pub(crate) fn duration_secs(text: &str) -> Option<i64> {
    let t = text.trim();
    let (sign, mut rest) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "s" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            "d" => DAY,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    Some(sign * total)
}

/// Formats seconds the way [`duration_secs`] reads them, e.g. `1h30m`.
pub(crate) fn fmt_duration(secs: i64) -> String {
    if secs == 0 {
        return "0m".into();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let mut s = secs.unsigned_abs();
    let mut out = String::from(sign);
    for (unit, len) in [("d", 86_400u64), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    out
}

/// Parses `HH:MM` (00:00 to 24:00) into seconds after midnight.
pub(crate) fn time_of_day_secs(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    let secs = h * 3600 + m * 60;
    (((0..24).contains(&h) && (0..60).contains(&m)) || secs == DAY).then_some(secs)
}

/// Parses an RFC 3339 instant with an offset, or a bare date (`2020-01-01`, midnight UTC).
pub(crate) fn instant(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    if t.starts_with("now") {
        return None;
    }
    kite_core::parse_time(t, Timestamp::UNIX_EPOCH).ok()
}

/// Monday = 0 … Sunday = 6, of the UTC day containing `secs` (seconds since the Unix epoch).
pub(crate) fn weekday(secs: i64) -> i64 {
    // 1970-01-01 was a Thursday (3).
    (secs.div_euclid(DAY) + 3).rem_euclid(7)
}

/// Start of the UTC day containing `secs`.
pub(crate) fn day_start(secs: i64) -> i64 {
    secs.div_euclid(DAY) * DAY
}

/// `secs` as an RFC 3339 UTC string (or the raw number if out of range).
pub(crate) fn fmt_instant(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{secs} s after 1970"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations_round_trip() {
        assert_eq!(duration_secs("30m"), Some(1800));
        assert_eq!(duration_secs("1h30m"), Some(5400));
        assert_eq!(duration_secs("2d"), Some(172_800));
        assert_eq!(duration_secs("-1h"), Some(-3600));
        assert_eq!(duration_secs("0m"), Some(0));
        for bad in ["", "h", "3", "1x", "1h-3m", "-"] {
            assert_eq!(duration_secs(bad), None, "{bad}");
        }
        for s in [1800, 5400, 90_000, 61, -3600] {
            assert_eq!(duration_secs(&fmt_duration(s)), Some(s));
        }
    }

    #[test]
    fn times_and_days() {
        assert_eq!(time_of_day_secs("09:00"), Some(9 * 3600));
        assert_eq!(time_of_day_secs("24:00"), Some(DAY));
        assert_eq!(time_of_day_secs("24:30"), None);
        assert_eq!(time_of_day_secs("9:00"), None);
        let t = instant("2020-01-01").unwrap();
        assert_eq!(t.to_string(), "2020-01-01T00:00:00Z");
        // 2020-01-01 was a Wednesday.
        assert_eq!(weekday(t.as_second()), 2);
        assert!(instant("now+1h").is_none());
        assert!(instant("2020-01-01T00:00:00").is_none(), "no offset");
    }
}
