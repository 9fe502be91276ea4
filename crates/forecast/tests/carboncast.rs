//! The harness against a published number: CarbonCast (Maji et al., BuildSys 2022) reports a
//! day-1 MAPE of 10.75 % for persistence on CISO's direct-emission intensity. Our backtest of the
//! same series (embedded, Apache-2.0) over July–December 2021 must land near it, and the rest of
//! the report must be consistent with the data.
#![allow(clippy::unwrap_used)]

use kite_core::{Signal, ZoneKey};
use kite_forecast::{BacktestConfig, HourlyHistory, backtest};

fn carboncast_direct(zone: &str) -> HourlyHistory {
    let key = ZoneKey::new(zone).unwrap();
    let entry = kite_dataset::for_zone(&key, Signal::AVERAGE_DIRECT)
        .into_iter()
        .find(|e| e.source == "carboncast-direct")
        .unwrap();
    HourlyHistory::from_series(&kite_dataset::load(entry)).unwrap()
}

fn second_half_2021(models: &[&str]) -> BacktestConfig {
    BacktestConfig {
        first_issue: "2021-07-01T00:00:00Z".parse().unwrap(),
        last_issue: "2021-12-31T00:00:00Z".parse().unwrap(),
        issue_hour: 0,
        horizon: 96,
        models: models.iter().map(|m| m.to_string()).collect(),
        calibration_issues: 28,
        options: Default::default(),
    }
}

#[test]
fn ciso_persistence_is_near_carboncast_s_published_mape() {
    let h = carboncast_direct("US-CAL-CISO");
    let r = backtest(&h, None, &second_half_2021(&["persistence", "climatology"])).unwrap();
    assert_eq!(r.issues, 184);
    let p = &r.models[0];
    assert_eq!(p.model, "persistence");
    assert_eq!(p.days.len(), 4);
    let d1 = &p.days[0];
    assert!(
        (8.0..14.0).contains(&d1.mape),
        "persistence day-1 MAPE {}",
        d1.mape
    );
    // Persistence gets worse with the lead: a day-old pattern ages.
    assert!(p.days[3].mape > d1.mape, "{:?}", p.days);
    // CISO has no gaps in this span: every hour is scored.
    assert_eq!(d1.n, 184 * 24);
    assert_eq!(p.fallback_issues, 0);
    for m in &r.models {
        for d in &m.days {
            assert!(d.rmse >= d.mae && d.mae > 0.0, "{} {d:?}", m.model);
            // The 10–90 % band from past errors should cover roughly 80 %.
            assert!((60.0..95.0).contains(&d.coverage_80), "{} {d:?}", m.model);
            assert_eq!(d.n_coverage, d.n, "every scored issue is calibrated");
        }
    }
}

#[test]
fn gaps_in_the_actuals_are_counted_not_scored() {
    // The DE series ends 2022-01-01: the forecasts issued on the last three days run past it.
    let h = carboncast_direct("DE");
    let r = backtest(&h, None, &second_half_2021(&["seasonal-naive"])).unwrap();
    let m = &r.models[0];
    let scored: usize = m.days.iter().map(|d| d.n).sum();
    let possible = 184 * 96;
    let gaps = possible - scored;
    assert_eq!(gaps, 72 + 48 + 24);
    assert!(
        m.notes
            .iter()
            .any(|n| n.starts_with(&format!("{gaps} of {possible} forecast hours"))),
        "{:?}",
        m.notes
    );
}
