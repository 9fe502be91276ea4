//! No look-ahead: every model input in a backtest ends exactly at its issue time, holds exactly
//! the history before it, and carries only exogenous rows issued by then; and the checks used
//! here do fail on an input that leaks.
#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use kite_forecast::{
    BacktestConfig, Exogenous, ExogenousRow, ForecastError, HourlyHistory, Input, Model,
    backtest_models,
};
use std::sync::Mutex;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn hours_since(a: Timestamp, b: Timestamp) -> i64 {
    (b.as_second() - a.as_second()) / 3600
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

/// Eight weeks of a daily cycle with a trend and a few gaps.
fn history() -> HourlyHistory {
    let values = (0..8 * 168)
        .map(|i| {
            if i % 97 == 5 {
                None
            } else {
                let day = (i % 24) as f64;
                Some(300.0 + 50.0 * (day / 24.0 * std::f64::consts::TAU).sin() + i as f64 * 0.05)
            }
        })
        .collect();
    HourlyHistory {
        start: ts("2021-01-04T00:00:00Z"),
        values,
    }
}

/// A weather-like forecast per hour, issued 36 h before its target hour.
fn exogenous(h: &HourlyHistory) -> Exogenous {
    let rows = (0..h.values.len() as i64 + 96)
        .map(|i| {
            let target = h.start + hours(i);
            ExogenousRow {
                target,
                issued_at: target - hours(36),
                values: vec![i as f64],
            }
        })
        .collect();
    Exogenous {
        names: vec!["wind".into()],
        rows,
        source: "synthetic".into(),
    }
}

/// What is wrong with `input` as the input of a forecast issued at `input.issue_at` from `full`;
/// the history is compared with a truncation done here, independently of the crate.
fn violations(input: &Input<'_>, full: &HourlyHistory) -> Vec<String> {
    let mut v = Vec::new();
    let end = input.history_start + hours(input.history.len() as i64);
    if end != input.issue_at {
        v.push(format!(
            "history ends at {end}, issue at {}",
            input.issue_at
        ));
    }
    let n = ((input.issue_at.as_second() - full.start.as_second()) / 3600) as usize;
    let expected: Vec<Option<f64>> = (0..n)
        .map(|i| full.values.get(i).copied().flatten())
        .collect();
    if input.history_start != full.start || input.history != &expected[..] {
        v.push(format!(
            "history at {} is not the prefix before it",
            input.issue_at
        ));
    }
    if let Some(e) = input.exogenous {
        for r in &e.rows {
            if r.issued_at > input.issue_at {
                v.push(format!(
                    "exogenous row for {} issued at {} is visible at {}",
                    r.target, r.issued_at, input.issue_at
                ));
            }
        }
    }
    v
}

/// One input the spy got: issue time, problems found, its forecast, exogenous rows seen.
type Seen = (Timestamp, Vec<String>, Vec<f64>, usize);

/// A model that checks and records every input it gets, and forecasts the mean of the last day
/// plus the newest exogenous value it was given (so its output depends on both).
struct Spy {
    full: HourlyHistory,
    seen: Mutex<Vec<Seen>>,
}

impl Spy {
    fn new(full: &HourlyHistory) -> Spy {
        Spy {
            full: full.clone(),
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl Model for Spy {
    fn name(&self) -> &'static str {
        "spy"
    }
    fn describe(&self) -> &'static str {
        "records its inputs"
    }
    fn min_history_hours(&self) -> usize {
        24
    }
    fn forecast(&self, input: &Input<'_>) -> Result<Vec<f64>, ForecastError> {
        let problems = violations(input, &self.full);
        let day: Vec<f64> = input.history[input.history.len().saturating_sub(24)..]
            .iter()
            .flatten()
            .copied()
            .collect();
        let exo_rows = input.exogenous.map_or(0, |e| e.rows.len());
        let newest = input
            .exogenous
            .and_then(|e| e.rows.last())
            .map_or(0.0, |r| r.values[0]);
        let mean = day.iter().sum::<f64>() / day.len().max(1) as f64;
        let point = vec![mean + newest * 1e-3; input.horizon];
        self.seen
            .lock()
            .unwrap()
            .push((input.issue_at, problems, point.clone(), exo_rows));
        Ok(point)
    }
}

fn config() -> BacktestConfig {
    BacktestConfig {
        first_issue: ts("2021-02-01T00:00:00Z"),
        last_issue: ts("2021-02-20T00:00:00Z"),
        issue_hour: 0,
        horizon: 96,
        models: Vec::new(),
        calibration_issues: 7,
        options: Default::default(),
    }
}

#[test]
fn every_input_ends_at_its_issue_time_and_sees_only_what_was_issued() {
    let h = history();
    let exo = exogenous(&h);
    let spy = Spy::new(&h);
    let report = backtest_models(&h, Some(&exo), &config(), &[&spy]).unwrap();
    assert_eq!(report.issues, 20);
    let seen = spy.seen.lock().unwrap();
    // Scored issues plus the warm-up (7 calibration issues + 4 days).
    assert_eq!(seen.len(), 20 + 11);
    for (at, problems, _, exo_rows) in seen.iter() {
        assert!(problems.is_empty(), "{at}: {problems:?}");
        // Non-vacuous: rows issued 36 h ahead reach 36 h past the issue time, no further.
        let expected = hours_since(h.start, *at) + 36 + 1;
        assert_eq!(*exo_rows as i64, expected, "{at}");
    }
}

#[test]
fn the_check_catches_an_input_that_leaks() {
    let h = history();
    let exo = exogenous(&h);
    let at = ts("2021-02-10T00:00:00Z");
    let n = hours_since(h.start, at) as usize;
    let honest = Input {
        history_start: h.start,
        history: &h.values[..n],
        issue_at: at,
        horizon: 24,
        exogenous: None,
    };
    assert!(violations(&honest, &h).is_empty());
    // One hour too many: the value of the first forecast hour.
    let peeking = Input {
        history: &h.values[..n + 1],
        ..honest
    };
    assert!(!violations(&peeking, &h).is_empty());
    // Right length, wrong values (e.g. a history shifted by an hour).
    let shifted = Input {
        history: &h.values[1..n + 1],
        ..honest
    };
    assert!(!violations(&shifted, &h).is_empty());
    // Every exogenous row, including those issued after the issue time.
    let future_weather = Input {
        exogenous: Some(&exo),
        ..honest
    };
    assert!(!violations(&future_weather, &h).is_empty());
    let visible = exo.visible_at(at);
    let filtered = Input {
        exogenous: Some(&visible),
        ..honest
    };
    assert!(violations(&filtered, &h).is_empty());
}

#[test]
fn changing_the_future_changes_no_earlier_forecast() {
    let h = history();
    let exo = exogenous(&h);
    let cut = ts("2021-02-10T00:00:00Z");
    // The same world, except for everything known only after `cut`.
    let mut h2 = h.clone();
    let from = hours_since(h.start, cut) as usize;
    for v in h2.values[from..].iter_mut().flatten() {
        *v *= 3.0;
    }
    let mut exo2 = exo.clone();
    for r in exo2.rows.iter_mut().filter(|r| r.issued_at > cut) {
        r.values[0] += 1e6;
    }
    let a = Spy::new(&h);
    let b = Spy::new(&h2);
    backtest_models(&h, Some(&exo), &config(), &[&a]).unwrap();
    backtest_models(&h2, Some(&exo2), &config(), &[&b]).unwrap();
    let a = a.seen.into_inner().unwrap();
    let b = b.seen.into_inner().unwrap();
    assert_eq!(a.len(), b.len());
    let mut later_differ = 0;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0);
        if x.0 <= cut {
            assert_eq!(x.2, y.2, "forecast issued at {} saw the future", x.0);
        } else if x.2 != y.2 {
            later_differ += 1;
        }
    }
    // The test could fail: forecasts issued after the change do see it.
    assert!(later_differ > 0);
}
