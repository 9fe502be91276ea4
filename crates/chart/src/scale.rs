//! Scales and ticks: a linear map from data to pixels, "nice" value ticks, and time ticks on
//! UTC day or hour boundaries with ISO-8601 labels.

/// A linear map from a data interval (the domain) to a pixel interval (the range).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Linear {
    /// Maps `domain.0 → range.0` and `domain.1 → range.1` (a y range is usually reversed:
    /// `(bottom, top)`). An empty domain maps everything to the middle of the range.
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        Linear {
            d0: domain.0,
            d1: domain.1,
            r0: range.0,
            r1: range.1,
        }
    }

    /// The pixel position of a data value (not clamped).
    pub fn map(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 || !span.is_finite() {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - self.d0) / span * (self.r1 - self.r0)
    }

    /// The data interval.
    pub fn domain(&self) -> (f64, f64) {
        (self.d0, self.d1)
    }
}

/// About `target` evenly spaced round ticks (steps of 1, 2 or 5 × 10ⁿ) that cover `[min, max]`:
/// the first is ≤ `min`, the last ≥ `max`. A degenerate or non-finite interval gives `[0, 1]`
/// or an interval around the single value.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
    let (mut lo, mut hi) = if min.is_finite() && max.is_finite() {
        (min.min(max), min.max(max))
    } else {
        (0.0, 1.0)
    };
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        // One value: show it between round neighbours.
        if lo == 0.0 {
            hi = 1.0;
        } else {
            let m = 10f64.powf(lo.abs().log10().floor());
            (lo, hi) = ((lo / m).floor() * m - m, (hi / m).ceil() * m + m);
            if min >= 0.0 {
                lo = lo.max(0.0);
            }
        }
    }
    let target = target.max(2) as f64;
    let raw = (hi - lo) / target;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| (hi - lo) / s <= target)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let n = (last - first).max(1.0) as usize;
    (0..=n)
        .map(|i| {
            let v = (first + i as f64) * step;
            // Round away binary noise (0.30000000000000004).
            (v / step).round() * step
        })
        .collect()
}

/// A value written with `decimals` places, unless that would print a non-zero value as zero
/// (emissions of a short job in kg): then in scientific notation with three significant digits.
pub fn format_value(v: f64, decimals: usize) -> String {
    let fixed = format!("{v:.decimals$}");
    let rounds_to_zero = fixed
        .trim_start_matches('-')
        .bytes()
        .all(|b| b == b'0' || b == b'.');
    if v != 0.0 && v.is_finite() && rounds_to_zero {
        format!("{v:.2e}")
    } else {
        fixed
    }
}

/// A tick on a time axis: where it is, and its label if it carries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Unix seconds.
    pub at: i64,
    /// The label, on every k-th tick so that labels do not overlap.
    pub label: Option<String>,
}

/// Ticks on UTC day boundaries in `[from, to]` (or hour boundaries for spans under three days),
/// with at most `max_labels` labels: dates for day ticks, `HH:00` for hour ticks (with the date
/// at midnight).
pub fn time_ticks(from: i64, to: i64, max_labels: usize) -> Vec<Tick> {
    if to <= from {
        return Vec::new();
    }
    let span = to - from;
    let max_labels = max_labels.max(1) as i64;
    let step = if span >= 3 * 86_400 {
        86_400
    } else {
        // The smallest hour step that keeps grid lines at least ~1/48 of the span apart.
        [1, 2, 3, 6, 12]
            .into_iter()
            .map(|h| h * 3600)
            .find(|s| span / s <= 48)
            .unwrap_or(86_400)
    };
    let first = from.div_euclid(step) * step + if from.rem_euclid(step) == 0 { 0 } else { step };
    let n = (to - first) / step + 1;
    let label_every = (n + max_labels - 1) / max_labels;
    (0..n)
        .map(|i| {
            let at = first + i * step;
            let label = (i % label_every.max(1) == 0).then(|| {
                if step == 86_400 || at.rem_euclid(86_400) == 0 {
                    format_date(at)
                } else {
                    let h = at.rem_euclid(86_400) / 3600;
                    format!("{h:02}:00")
                }
            });
            Tick { at, label }
        })
        .collect()
}

/// The UTC date of a Unix time, `YYYY-MM-DD`.
pub fn format_date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC date and minute of a Unix time, `YYYY-MM-DD HH:MM`.
pub fn format_date_time(secs: i64) -> String {
    let s = secs.rem_euclid(86_400);
    format!("{} {:02}:{:02}", format_date(secs), s / 3600, s % 3600 / 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_maps_both_ends_and_survives_an_empty_domain() {
        let s = Linear::new((0.0, 100.0), (300.0, 100.0));
        assert_eq!(s.map(0.0), 300.0);
        assert_eq!(s.map(100.0), 100.0);
        assert_eq!(s.map(25.0), 250.0);
        assert_eq!(Linear::new((5.0, 5.0), (0.0, 10.0)).map(7.0), 5.0);
    }

    #[test]
    fn tiny_values_are_not_written_as_zero() {
        assert_eq!(format_value(2.06e-6, 2), "2.06e-6");
        assert_eq!(format_value(0.0, 2), "0.00");
        assert_eq!(format_value(-3e-9, 1), "-3.00e-9");
        assert_eq!(format_value(12.345, 1), "12.3");
    }

    #[test]
    fn nice_ticks_are_round_and_cover_the_data() {
        assert_eq!(
            nice_ticks(0.0, 437.0, 5),
            vec![0.0, 100.0, 200.0, 300.0, 400.0, 500.0]
        );
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(nice_ticks(0.0, 0.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let t = nice_ticks(-3.2, 7.9, 5);
        assert!(t[0] <= -3.2 && *t.last().unwrap() >= 7.9, "{t:?}");
        assert_eq!(t, vec![-5.0, -2.5, 0.0, 2.5, 5.0, 7.5, 10.0]);
        let one = nice_ticks(42.0, 42.0, 4);
        assert!(one[0] < 42.0 && *one.last().unwrap() > 42.0, "{one:?}");
        assert_eq!(
            nice_ticks(f64::NAN, 3.0, 4),
            vec![0.0, 0.25, 0.5, 0.75, 1.0]
        );
    }

    #[test]
    fn dates_are_utc_iso() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(format_date(-1), "1969-12-31");
        // 2026-10-01T00:00:00Z
        assert_eq!(
            format_date_time(1_790_812_800 + 3 * 3600 + 120),
            "2026-10-01 03:02"
        );
    }

    #[test]
    fn day_ticks_are_on_midnight_and_labels_thin_out() {
        let from = 1_790_812_800; // 2026-10-01
        let ticks = time_ticks(from, from + 31 * 86_400, 8);
        assert_eq!(ticks.len(), 32);
        assert!(ticks.iter().all(|t| t.at % 86_400 == 0));
        let labels: Vec<_> = ticks.iter().filter_map(|t| t.label.clone()).collect();
        assert!(labels.len() <= 8 && labels.len() >= 6, "{labels:?}");
        assert_eq!(labels[0], "2026-10-01");
        // A day: hour ticks, midnight labelled with the date.
        let ticks = time_ticks(from, from + 86_400, 30);
        assert_eq!(ticks.len(), 25);
        assert_eq!(ticks[0].label.as_deref(), Some("2026-10-01"));
        assert_eq!(ticks[6].label.as_deref(), Some("06:00"));
        // A start off the boundary starts at the next one.
        assert_eq!(
            time_ticks(from + 5, from + 4 * 86_400, 10)[0].at,
            from + 86_400
        );
        assert!(time_ticks(from, from, 5).is_empty());
    }
}
