//! `forecast`: one forecast with intervals, fallbacks and errors that say what to do.
#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use kite_forecast::{ForecastRequest, HourlyHistory, ServeError, forecast};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// `days` days of a daily cycle with day-to-day variation, starting 2021-01-04.
fn history(days: usize) -> HourlyHistory {
    let values = (0..days * 24)
        .map(|i| {
            let d = (i / 24) as f64;
            let h = (i % 24) as f64;
            Some(250.0 + 60.0 * (h / 24.0 * std::f64::consts::TAU).cos() + 25.0 * (d * 2.3).sin())
        })
        .collect();
    HourlyHistory {
        start: ts("2021-01-04T00:00:00Z"),
        values,
    }
}

fn request<'a>(h: &'a HourlyHistory, issue_at: Timestamp, model: &'a str) -> ForecastRequest<'a> {
    ForecastRequest {
        history: h,
        exogenous: None,
        issue_at,
        horizon: 96,
        model,
    }
}

fn end(h: &HourlyHistory) -> Timestamp {
    h.end()
}

#[test]
fn persistence_repeats_the_last_day_with_a_calibrated_band() {
    let h = history(70);
    let out = forecast(&request(&h, end(&h), "persistence")).unwrap();
    assert_eq!(out.model, "persistence");
    assert_eq!(out.start, end(&h));
    assert_eq!(out.point.len(), 96);
    let n = h.values.len();
    for lead in 0..96 {
        assert_eq!(Some(out.point[lead]), h.values[n - 24 + lead % 24]);
        assert!(out.p10[lead] <= out.p50[lead] && out.p50[lead] <= out.p90[lead]);
    }
    assert!(
        out.p10.iter().zip(&out.p90).any(|(a, b)| a < b),
        "a real band"
    );
    assert!(
        out.intervals.contains("over its 28 forecasts"),
        "{}",
        out.intervals
    );
    assert!(out.notes.is_empty(), "{:?}", out.notes);
}

#[test]
fn the_history_after_the_issue_time_is_ignored() {
    let h = history(70);
    let at = ts("2021-02-28T00:00:00Z");
    let mut changed = h.clone();
    let from = h.index_of(at).unwrap();
    for v in changed.values[from..].iter_mut() {
        *v = Some(9999.0);
    }
    for model in ["persistence", "climatology", "auto"] {
        let a = forecast(&request(&h, at, model)).unwrap();
        let b = forecast(&request(&changed, at, model)).unwrap();
        assert_eq!((a.point, a.p10, a.p90), (b.point, b.p10, b.p90), "{model}");
    }
}

#[test]
fn too_little_history_falls_back_and_is_labelled() {
    let h = history(5); // 120 h: enough for persistence, not for climatology's four weeks
    let out = forecast(&request(&h, end(&h), "climatology")).unwrap();
    assert_eq!(
        out.model,
        "persistence (fallback: climatology needs 672 h, 120 h given)"
    );
    assert!(
        out.notes[0].contains("forecast by the baseline `persistence` instead"),
        "{:?}",
        out.notes
    );
    // Five days cannot calibrate an interval: it says so instead of inventing one.
    assert_eq!(out.p10, out.point);
    assert!(out.intervals.starts_with("none"), "{}", out.intervals);
    assert!(
        out.notes.iter().any(|n| n.starts_with("no interval")),
        "{:?}",
        out.notes
    );
}

#[test]
fn stale_data_and_gaps_are_reported() {
    let mut h = history(70);
    let n = h.values.len();
    h.values[n - 50] = None;
    let at = end(&h) + SignedDuration::from_hours(30);
    let out = forecast(&request(&h, at, "persistence")).unwrap();
    assert_eq!(out.point.len(), 96);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("30 h before the issue time")),
        "{:?}",
        out.notes
    );
    assert!(
        out.notes
            .iter()
            .any(|n| n.starts_with("31 of the last 168 h")),
        "{:?}",
        out.notes
    );
}

#[test]
fn bad_requests_say_what_to_do() {
    let h = history(70);
    let at = end(&h);
    let e = forecast(&request(&h, at, "prophet")).unwrap_err();
    assert!(matches!(e, ServeError::UnknownModel(_)));
    let text = e.to_string();
    assert!(
        text.contains("persistence, seasonal-naive, climatology"),
        "{text}"
    );
    assert!(text.contains("ensemble") && text.contains("auto"), "{text}");

    let e = forecast(&ForecastRequest {
        horizon: 400,
        ..request(&h, at, "persistence")
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("at most 336 h ahead, 400 h were asked"), "{e}");

    let e = forecast(&request(
        &h,
        at + SignedDuration::from_mins(30),
        "persistence",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("not on the hour") && e.contains(&at.to_string()),
        "{e}"
    );

    let e = forecast(&request(&h, h.start, "persistence")).unwrap_err();
    assert!(matches!(e, ServeError::NoHistory { .. }), "{e}");
}

#[test]
fn auto_is_the_weighted_ensemble() {
    let h = history(70);
    let out = forecast(&request(&h, end(&h), "auto")).unwrap();
    assert_eq!(out.model, "ensemble");
    let day1: f64 = out.weights.iter().map(|w| w.by_day[0]).sum();
    assert!((day1 - 1.0).abs() < 1e-9, "{:?}", out.weights);
    assert!(out.weights.iter().filter(|w| w.by_day[0] > 0.0).count() >= 2);
    assert!(
        out.notes
            .iter()
            .any(|n| n.starts_with("ensemble weights (day 1")),
        "{:?}",
        out.notes
    );
    assert!(
        out.intervals.contains("ensemble's relative errors"),
        "{}",
        out.intervals
    );
}

#[test]
fn a_point_forecast_is_one_fit_of_the_model_or_a_labelled_fallback() {
    use kite_forecast::{Input, Learned, Model, point_forecast};
    let h = history(120);
    let issue = end(&h);
    let (label, point) = point_forecast("learned", &h, issue, 48).unwrap();
    assert_eq!(label, "learned");
    // Exactly what the model gives on the same input: no calibration, no blending.
    let direct = Learned::default()
        .forecast(&Input {
            history_start: h.start,
            history: h.before(issue),
            issue_at: issue,
            horizon: 48,
            exogenous: None,
        })
        .unwrap();
    assert_eq!(point.len(), 48);
    for (a, b) in point.iter().zip(&direct) {
        assert!((a - b.max(0.0)).abs() < 1e-9, "{a} vs {b}");
    }
    // Too little history for `learned` (5 weeks): a baseline stands in, and says why.
    let short = history(10);
    let (label, point) = point_forecast("learned", &short, end(&short), 24).unwrap();
    assert!(
        label.contains("fallback") && label.contains("learned"),
        "{label}"
    );
    assert_eq!(point.len(), 24);
    assert!(matches!(
        point_forecast("learned", &h, issue, 0),
        Err(ServeError::ZeroHorizon)
    ));
    assert!(matches!(
        point_forecast("prophet", &h, issue, 24),
        Err(ServeError::UnknownModel(_))
    ));
}
