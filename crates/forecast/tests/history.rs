//! Building an hourly history from an intensity series: finer data averaged into hours, gaps kept.
#![allow(clippy::unwrap_used)]

use jiff::Timestamp;
use kite_core::{
    GramsCo2PerKwh, IntensitySeries, Point, Provenance, Resolution, Signal, SignalMeta, ZoneKey,
};
use kite_forecast::{HistoryError, HourlyHistory};

fn meta() -> SignalMeta {
    SignalMeta {
        signal: Signal::AVERAGE_DIRECT,
        source: "test".into(),
        fetched_at: None,
        provenance: Provenance::Measured,
    }
}

fn series(resolution: Resolution, points: &[(&str, u32, f64)]) -> IntensitySeries {
    let points = points
        .iter()
        .map(|&(t, d, v)| Point {
            start: t.parse::<Timestamp>().unwrap(),
            duration_secs: d,
            value: GramsCo2PerKwh(v),
        })
        .collect();
    IntensitySeries::new(ZoneKey::new("DE").unwrap(), meta(), resolution, points).unwrap()
}

#[test]
fn quarter_hours_become_hours_and_missing_hours_stay_gaps() {
    let s = series(
        Resolution::QUARTER_HOUR,
        &[
            ("2021-01-01T10:00:00Z", 900, 100.0),
            ("2021-01-01T10:15:00Z", 900, 200.0),
            ("2021-01-01T10:30:00Z", 900, 300.0),
            ("2021-01-01T10:45:00Z", 900, 400.0),
            // 11:00 missing entirely; 12:00 only half covered.
            ("2021-01-01T12:00:00Z", 900, 50.0),
            ("2021-01-01T12:15:00Z", 900, 150.0),
        ],
    );
    let h = HourlyHistory::from_series(&s).unwrap();
    assert_eq!(
        h.start,
        "2021-01-01T10:00:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(h.values, vec![Some(250.0), None, Some(100.0)]);
    assert_eq!(h.gap_hours(), 1);
    assert_eq!(
        h.end(),
        "2021-01-01T13:00:00Z".parse::<Timestamp>().unwrap()
    );
    // `until` pads with gaps up to the issue time, `window` reads actuals.
    let at = "2021-01-01T15:00:00Z".parse::<Timestamp>().unwrap();
    assert_eq!(h.until(at).len(), 5);
    assert_eq!(h.until(h.start).len(), 0);
    assert_eq!(
        h.window(h.start, 4),
        vec![Some(250.0), None, Some(100.0), None]
    );
}

#[test]
fn hourly_data_is_kept_as_is_and_daily_data_is_refused() {
    let s = series(
        Resolution::HOUR,
        &[
            ("2021-01-01T00:00:00Z", 3600, 1.5),
            ("2021-01-01T01:00:00Z", 3600, 2.5),
        ],
    );
    let h = HourlyHistory::from_series(&s).unwrap();
    assert_eq!(h.values, vec![Some(1.5), Some(2.5)]);

    let daily = series(
        Resolution::from_secs(86_400).unwrap(),
        &[("2021-01-01T00:00:00Z", 86_400, 1.0)],
    );
    let e = HourlyHistory::from_series(&daily).unwrap_err();
    assert!(matches!(e, HistoryError::CoarserThanHourly { .. }));
    assert!(e.to_string().contains("resolution of 1d"), "{e}");
    let empty = series(Resolution::HOUR, &[]);
    assert!(matches!(
        HourlyHistory::from_series(&empty),
        Err(HistoryError::Empty { .. })
    ));
}
