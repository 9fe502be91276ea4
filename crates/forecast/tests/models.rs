//! Statistical ([`Mstl`]) and learned ([`Learned`]) forecasters on synthetic series with known
//! structure, and the CarbonCast weather loader on real excerpts (`tests/data/`, Apache-2.0).
#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use kite_forecast::weather::{IssueRule, WEATHER_FEATURES, parse_carboncast_weather};
use kite_forecast::{
    Exogenous, ExogenousRow, ForecastError, Input, Learned, Model, Mstl, load_carboncast_weather,
};
use std::f64::consts::PI;
use std::path::Path;

const START: &str = "2020-01-06T00:00:00Z";

fn start() -> Timestamp {
    START.parse().unwrap()
}

fn at(i: usize) -> Timestamp {
    start() + SignedDuration::from_hours(i as i64)
}

/// Daily + weekly sinusoids on a slow trend.
fn seasonal(i: usize) -> f64 {
    let t = i as f64;
    300.0 + 0.02 * t + 60.0 * (2.0 * PI * t / 24.0).sin() + 25.0 * (2.0 * PI * t / 168.0).cos()
}

/// Deterministic pseudo-random numbers in [0, 1) (an LCG; good enough for test noise).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn input<'a>(history: &'a [Option<f64>], horizon: usize, exog: Option<&'a Exogenous>) -> Input<'a> {
    Input {
        history_start: start(),
        history,
        issue_at: at(history.len()),
        horizon,
        exogenous: exog,
    }
}

fn mape(forecast: &[f64], actual: &[f64]) -> f64 {
    forecast
        .iter()
        .zip(actual)
        .map(|(f, a)| (f - a).abs() / a.abs())
        .sum::<f64>()
        / forecast.len() as f64
        * 100.0
}

fn models() -> Vec<Box<dyn Model>> {
    vec![Box::new(Mstl::default()), Box::new(Learned::default())]
}

#[test]
fn both_models_forecast_a_daily_weekly_sinusoid_with_trend_tightly() {
    let n = 70 * 24; // 10 weeks, issue at midnight
    let hist: Vec<Option<f64>> = (0..n).map(|i| Some(seasonal(i))).collect();
    let truth: Vec<f64> = (n..n + 96).map(seasonal).collect();
    for m in models() {
        let f = m.forecast(&input(&hist, 96, None)).unwrap();
        assert_eq!(f.len(), 96, "{}", m.name());
        let err = mape(&f, &truth);
        assert!(
            err < 1.0,
            "{}: MAPE {err:.3} % on a noiseless seasonal series",
            m.name()
        );
    }
}

#[test]
fn learned_uses_a_weather_feature_and_beats_persistence_on_day_one() {
    // Intensity falls with wind (wind generation displaces gas); wind is an AR(1) process, so
    // yesterday's intensity says little about tomorrow's and the forecast wind says a lot.
    let days = 200;
    let n = days * 24;
    let mut rng = Lcg(7);
    let mut wind = Vec::with_capacity(n + 96);
    let mut w = 6.0;
    for _ in 0..n + 96 {
        w = (0.97 * w + 0.03 * 6.0 + 1.2 * (rng.next() - 0.5)).max(0.0);
        wind.push(w);
    }
    let y: Vec<f64> = (0..n + 96)
        .map(|i| 400.0 + 40.0 * (2.0 * PI * i as f64 / 24.0).sin() - 25.0 * wind[i])
        .collect();
    let rule = IssueRule::CONSERVATIVE;
    let exog = Exogenous {
        names: vec!["wind_speed".into()],
        rows: (0..n + 96)
            .map(|i| ExogenousRow {
                target: at(i),
                issued_at: rule.issued_at(at(i)),
                values: vec![wind[i]],
            })
            .collect(),
        source: "synthetic".into(),
    };
    let hist: Vec<Option<f64>> = y[..n].iter().copied().map(Some).collect();
    let issue = at(n);
    let visible = exog.visible_at(issue);
    let truth = &y[n..n + 24];
    let with = Learned::default()
        .forecast(&input(&hist, 96, Some(&visible)))
        .unwrap();
    let without = Learned {
        use_weather: false,
        ..Learned::default()
    }
    .forecast(&input(&hist, 96, Some(&visible)))
    .unwrap();
    let persistence: Vec<f64> = y[n - 24..n].to_vec();
    let (e_with, e_without, e_pers) = (
        mape(&with[..24], truth),
        mape(&without[..24], truth),
        mape(&persistence, truth),
    );
    eprintln!(
        "day-1 MAPE: with weather {e_with:.3} %, without {e_without:.3} %, persistence {e_pers:.3} %"
    );
    assert!(e_with < 2.0, "with weather: {e_with:.3} %");
    assert!(e_with < e_without / 3.0, "{e_with:.3} vs {e_without:.3}");
    assert!(
        e_with < e_pers / 3.0,
        "{e_with:.3} vs persistence {e_pers:.3}"
    );

    // Rows issued after the issue time must not matter even if the caller forgot to filter.
    let unfiltered = Learned::default()
        .forecast(&input(&hist, 96, Some(&exog)))
        .unwrap();
    assert_eq!(
        unfiltered, with,
        "a row issued after the issue time leaked in"
    );
    // Under the conservative rule only day 1 has weather; days 2–4 equal the no-weather model.
    assert_eq!(with[24..], without[24..]);
}

#[test]
fn too_little_history_and_too_long_horizons_are_errors() {
    for m in models() {
        let short: Vec<Option<f64>> = (0..m.min_history_hours() - 1)
            .map(|i| Some(seasonal(i)))
            .collect();
        match m.forecast(&input(&short, 24, None)) {
            Err(ForecastError::TooLittleHistory {
                needed_hours,
                had_hours,
                ..
            }) => {
                assert_eq!(needed_hours, m.min_history_hours());
                assert_eq!(had_hours, short.len());
            }
            other => panic!("{}: expected TooLittleHistory, got {other:?}", m.name()),
        }
        let long: Vec<Option<f64>> = (0..60 * 24).map(|i| Some(seasonal(i))).collect();
        let h = m.max_horizon_hours() + 1;
        assert!(
            matches!(
                m.forecast(&input(&long, h, None)),
                Err(ForecastError::HorizonTooLong { asked_hours, .. }) if asked_hours == h
            ),
            "{}",
            m.name()
        );
        // Mostly gaps: refused rather than fitted on invented values.
        let holes: Vec<Option<f64>> = (0..60 * 24)
            .map(|i| (i % 4 == 0).then(|| seasonal(i)))
            .collect();
        assert!(
            m.forecast(&input(&holes, 24, None)).is_err(),
            "{}",
            m.name()
        );
    }
}

#[test]
fn gaps_are_tolerated_and_barely_change_the_forecast() {
    let n = 70 * 24;
    let mut rng = Lcg(3);
    let full: Vec<Option<f64>> = (0..n).map(|i| Some(seasonal(i))).collect();
    let mut gappy = full.clone();
    for v in gappy.iter_mut() {
        if rng.next() < 0.05 {
            *v = None;
        }
    }
    for v in &mut gappy[n - 200..n - 188] {
        *v = None; // a 12-h outage
    }
    let truth: Vec<f64> = (n..n + 96).map(seasonal).collect();
    for m in models() {
        let f = m.forecast(&input(&gappy, 96, None)).unwrap();
        assert!(f.iter().all(|v| v.is_finite()), "{}", m.name());
        let err = mape(&f, &truth);
        assert!(err < 2.0, "{}: MAPE {err:.3} % with 5 % gaps", m.name());
    }
}

#[test]
fn forecasts_are_non_negative_and_deterministic() {
    // A series plunging towards zero: extrapolation would go negative.
    let n = 60 * 24;
    let hist: Vec<Option<f64>> = (0..n)
        .map(|i| {
            let t = i as f64;
            Some((200.0 - 0.14 * t + 30.0 * (2.0 * PI * t / 24.0).sin()).max(0.0))
        })
        .collect();
    for m in models() {
        let a = m.forecast(&input(&hist, 96, None)).unwrap();
        assert!(
            a.iter().all(|v| v.is_finite() && *v >= 0.0),
            "{}: {a:?}",
            m.name()
        );
        let b = m.forecast(&input(&hist, 96, None)).unwrap();
        assert_eq!(a, b, "{} is not deterministic", m.name());
    }
}

#[test]
fn learned_train_before_freezes_the_training_set() {
    let n = 120 * 24;
    let mut rng = Lcg(11);
    let hist: Vec<Option<f64>> = (0..n)
        .map(|i| Some(seasonal(i) + 20.0 * rng.next()))
        .collect();
    let rolling = Learned::default()
        .forecast(&input(&hist, 96, None))
        .unwrap();
    let frozen_model = Learned {
        train_before: Some(at(n - 30 * 24)),
        ..Learned::default()
    };
    let frozen = frozen_model.forecast(&input(&hist, 96, None)).unwrap();
    assert_ne!(rolling, frozen, "train_before had no effect");
    // Frozen before there is anything to train on: a clear error, not a silent fallback.
    let too_early = Learned {
        train_before: Some(at(7 * 24)),
        ..Learned::default()
    };
    let err = too_early
        .forecast(&input(&hist, 96, None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("train_before"), "{err}");
}

#[test]
fn weather_loader_reads_the_pjm_excerpt_with_issue_times() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/PJM_weather_forecast_excerpt.csv");
    let w = load_carboncast_weather(&path, IssueRule::CONSERVATIVE).unwrap();
    assert_eq!(w.names, WEATHER_FEATURES.map(String::from).to_vec());
    assert_eq!(w.rows.len(), 96);
    let first = &w.rows[0];
    assert_eq!(first.target.to_string(), "2019-01-01T00:00:00Z");
    assert_eq!(first.values[0], 3.189346245);
    assert_eq!(first.values[1], 278.505905);
    let r = w.at("2019-01-02T13:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(r.issued_at.to_string(), "2019-01-02T00:00:00Z");
    // At a 00:00 issue, the conservative rule shows day 1 only; the day-before rule days 1–2.
    let issue: Timestamp = "2019-01-02T00:00:00Z".parse().unwrap();
    let vis = w.visible_at(issue);
    assert_eq!(
        vis.rows.last().unwrap().target.to_string(),
        "2019-01-02T23:00:00Z"
    );
    let w2 = load_carboncast_weather(&path, IssueRule::DAY_BEFORE).unwrap();
    let vis2 = w2.visible_at(issue);
    assert_eq!(
        vis2.rows.last().unwrap().target.to_string(),
        "2019-01-03T23:00:00Z"
    );
    assert!(w.source.contains("0 h before"), "{}", w.source);
}

#[test]
fn weather_loader_reads_gzip_and_skips_zero_padding() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/EPE_weather_forecast_tail.csv.gz");
    let w = load_carboncast_weather(&path, IssueRule::default()).unwrap();
    assert_eq!(
        w.rows.len(),
        24,
        "the 24 all-zero padding rows must be skipped"
    );
    assert_eq!(w.rows[0].target.to_string(), "2023-01-02T00:00:00Z");
    assert!(w.rows.windows(2).all(|p| p[0].target < p[1].target));
}

#[test]
fn weather_loader_errors_name_file_line_and_field() {
    let header = "datetime,forecast_avg_wind_speed_wMean,forecast_avg_temperature_wMean,\
                  forecast_avg_dewpoint_wMean,forecast_avg_dswrf_wMean,forecast_avg_precipitation_wMean\n";
    let bad_number = format!(
        "{header}2019-1-1 0:00:00+00:00,3.1,280,270,0,0\n2019-1-1 1:00:00+00:00,3.1,warm,270,0,0\n"
    );
    let e = parse_carboncast_weather(bad_number.as_bytes(), "x.csv", IssueRule::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("x.csv")
            && e.contains("line 3")
            && e.contains("temperature")
            && e.contains("`warm`"),
        "{e}"
    );
    let bad_date = format!("{header}2019-02-30 0:00,3.1,280,270,0,0\n");
    let e = parse_carboncast_weather(bad_date.as_bytes(), "y.csv", IssueRule::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 2") && e.contains("datetime") && e.contains("2019-02-30"),
        "{e}"
    );
    let e = parse_carboncast_weather("time,wind\n".as_bytes(), "z.csv", IssueRule::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 1") && e.contains("expected `datetime`"),
        "{e}"
    );
    let e = load_carboncast_weather(Path::new("/nonexistent/w.csv.gz"), IssueRule::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/w.csv.gz"), "{e}");
}
