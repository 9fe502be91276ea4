//! The arithmetic of the Carbon Aware SDK endpoints, on plain epoch-second intervals: the
//! rolling best window, the time-weighted average over a period, and .NET `TimeSpan` text.
//!
//! The rules follow the SDK (v1.8) where its intent is clear, and say where kite differs:
//! - `RollingAverage` (`src/CarbonAware/src/Extensions/EmissionsDataExtensions.cs`): the first
//!   window starts at `dataStartAt` (or the first point, if that is later), the next ones step by
//!   the duration of the first data point, and a window is only reported when the data covers it.
//!   The SDK checks `dataEndAt` only from the second window on; kite never reports a window that
//!   ends after `dataEndAt`, and also skips windows with a hole in the data (the SDK throws).
//! - `AverageOverPeriod` (same file): each point weighs by the part of the period it covers.
//! - `GetOptimalEmissions` (`src/GSF.CarbonAware/src/Handlers/CarbonAware/CarbonAwareParameters.cs`):
//!   every window whose value equals the minimum is optimal, not only the first.

/// One value over `[start, end)`, epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// First second of the interval.
    pub start: i64,
    /// First second after it.
    pub end: i64,
    /// gCO2e/kWh.
    pub value: f64,
}

/// A rolling-average window: `[start, start + size)` with its time-weighted mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Epoch seconds.
    pub start: i64,
    /// gCO2e/kWh.
    pub value: f64,
}

/// The points of `points` (sorted, non-overlapping) that overlap `[from, to)`.
pub fn overlapping(points: &[Span], from: i64, to: i64) -> &[Span] {
    let first = points.partition_point(|p| p.end <= from);
    let last = points.partition_point(|p| p.start < to);
    points.get(first..last.max(first)).unwrap_or(&[])
}

/// Time-weighted mean of `points` over `[from, to)`, or `None` unless the points cover every
/// second of it (a hole is missing data, never interpolated).
pub fn average(points: &[Span], from: i64, to: i64) -> Option<f64> {
    if to <= from {
        return None;
    }
    let mut cursor = from;
    let mut weighted = 0.0;
    for p in overlapping(points, from, to) {
        if p.start > cursor {
            return None;
        }
        let end = p.end.min(to);
        weighted += p.value * (end - cursor) as f64;
        cursor = end;
        if cursor >= to {
            break;
        }
    }
    (cursor >= to).then(|| weighted / (to - from) as f64)
}

/// Time-weighted mean over the covered part of `[from, to)` and the seconds covered.
pub fn covered_average(points: &[Span], from: i64, to: i64) -> Option<(f64, i64)> {
    let mut weighted = 0.0;
    let mut covered = 0;
    for p in overlapping(points, from, to) {
        let secs = p.end.min(to) - p.start.max(from);
        if secs > 0 {
            weighted += p.value * secs as f64;
            covered += secs;
        }
    }
    (covered > 0).then(|| (weighted / covered as f64, covered))
}

/// The rolling windows of `size` seconds over `points` restricted to `[data_start, data_end)`.
///
/// `points` must already be the ones overlapping that range ([`overlapping`]). The first window
/// starts at `data_start` (even in the middle of a point) or at the first point if that is
/// later; windows step by the first point's duration; only windows that end at or before
/// `data_end` and that the data covers completely are returned.
pub fn rolling(points: &[Span], data_start: i64, data_end: i64, size: i64) -> Vec<Window> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let tick = first.end - first.start;
    if tick <= 0 || size <= 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut start = data_start.max(first.start);
    while start + size <= data_end {
        if let Some(value) = average(points, start, start + size) {
            out.push(Window { start, value });
        }
        start += tick;
    }
    out
}

/// Every window whose value is the minimum (up to floating-point rounding: a relative 1e-9, so
/// two windows over the same values summed in a different order still tie).
pub fn optimal(windows: &[Window]) -> Vec<Window> {
    let Some(min) = windows.iter().map(|w| w.value).reduce(f64::min) else {
        return Vec::new();
    };
    let tolerance = 1e-9 * min.abs().max(1.0);
    windows
        .iter()
        .filter(|w| w.value - min <= tolerance)
        .copied()
        .collect()
}

/// A duration as .NET's `TimeSpan` prints it (`System.Text.Json`): `hh:mm:ss`, with `d.` in
/// front from one day on; what the SDK's `EmissionsData.duration` carries.
pub fn timespan(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (days, rest) = (s / 86_400, s % 86_400);
    let (h, m, sec) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if days > 0 {
        format!("{sign}{days}.{h:02}:{m:02}:{sec:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{sec:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly(values: &[f64]) -> Vec<Span> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Span {
                start: i as i64 * 3600,
                end: (i as i64 + 1) * 3600,
                value: *v,
            })
            .collect()
    }

    #[test]
    fn the_sdk_documented_examples_hold() {
        // EmissionsDataExtensions.RollingAverage's remarks: 5-minute points, 10-minute windows.
        let five = |values: &[f64]| -> Vec<Span> {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| Span {
                    start: i as i64 * 300,
                    end: (i as i64 + 1) * 300,
                    value: *v,
                })
                .collect()
        };
        let w = |pts: &[Span]| -> Vec<f64> {
            let end = pts.last().map(|p| p.end).unwrap_or(0);
            rolling(pts, 0, end, 600).iter().map(|w| w.value).collect()
        };
        assert_eq!(w(&five(&[10., 20., 30., 40., 5.])), [15., 25., 35., 22.5]);
        assert_eq!(w(&five(&[5., 55., 10., 10., 10.])), [30., 32.5, 10., 10.]);
        assert_eq!(
            w(&five(&[12., 11., 10., 12., 13.])),
            [11.5, 10.5, 11., 12.5]
        );
        // AverageOverPeriod's remarks: (01:00, 30), (02:00, 100), (03:00, 50) over 01:30-03:30.
        let pts = hourly(&[0., 30., 100., 50.]);
        let avg = average(&pts, 5400, 12600).unwrap();
        assert!((avg - (30. / 4. + 100. / 2. + 50. / 4.)).abs() < 1e-12);
    }

    #[test]
    fn windows_start_mid_interval_and_stop_at_data_end() {
        let pts = hourly(&[300., 100., 200., 100., 200., 0.]);
        // dataStartAt 00:30, dataEndAt 05:15, 60-minute windows stepping by an hour.
        let got = rolling(overlapping(&pts, 1800, 18900), 1800, 18900, 3600);
        let starts: Vec<i64> = got.iter().map(|w| w.start).collect();
        assert_eq!(starts, [1800, 5400, 9000, 12600]);
        let values: Vec<f64> = got.iter().map(|w| w.value).collect();
        assert_eq!(values, [200., 150., 150., 150.]);
        assert_eq!(optimal(&got).len(), 3);
    }

    #[test]
    fn holes_are_never_averaged_over() {
        let mut pts = hourly(&[10., 20., 30.]);
        pts.remove(1);
        assert_eq!(average(&pts, 0, 3 * 3600), None);
        assert_eq!(covered_average(&pts, 0, 3 * 3600), Some((20., 7200)));
        assert!(rolling(&pts, 0, 3 * 3600, 7200).is_empty());
    }

    #[test]
    fn timespans_print_as_dotnet_does() {
        assert_eq!(timespan(300), "00:05:00");
        assert_eq!(timespan(3600), "01:00:00");
        assert_eq!(timespan(90_061), "1.01:01:01");
    }
}
