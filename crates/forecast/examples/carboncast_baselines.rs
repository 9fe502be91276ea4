//! Backtests models on the embedded CarbonCast direct-emission series of the five regions of
//! CarbonCast's paper, issues 2021-07-01..2021-12-31 at 00:00 UTC, 96 h: day 1..4 MAPE and time.
//!
//! `cargo run --release -p kite-forecast --example carboncast_baselines [-- MODEL...]`
//! (default: the three baselines). Reads only the data compiled into kite-dataset.

use kite_core::{Signal, ZoneKey};
use kite_forecast::{BacktestConfig, HourlyHistory, backtest};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut models: Vec<String> = std::env::args().skip(1).collect();
    if models.is_empty() {
        models = ["persistence", "seasonal-naive", "climatology"]
            .map(String::from)
            .to_vec();
    }
    for zone in [
        "US-CAL-CISO",
        "US-MIDA-PJM",
        "US-MIDW-MISO",
        "US-SW-EPE",
        "DE",
    ] {
        let key = ZoneKey::new(zone)?;
        let Some(entry) = kite_dataset::for_zone(&key, Signal::AVERAGE_DIRECT)
            .into_iter()
            .find(|e| e.source == "carboncast-direct")
        else {
            println!("{zone}: no carboncast-direct series embedded");
            continue;
        };
        let t = Instant::now();
        let history = HourlyHistory::from_series(&kite_dataset::load(entry))?;
        let load_secs = t.elapsed().as_secs_f64();
        let cfg = BacktestConfig {
            first_issue: "2021-07-01T00:00:00Z".parse()?,
            last_issue: "2021-12-31T00:00:00Z".parse()?,
            issue_hour: 0,
            horizon: 96,
            models: models.clone(),
            calibration_issues: 28,
            options: Default::default(),
        };
        let report = backtest(&history, None, &cfg)?;
        println!(
            "{zone}: history {} .. {} ({} h, {} gaps), load {load_secs:.3} s, backtest {} issues in {:.3} s",
            history.start,
            history.end(),
            history.values.len(),
            history.gap_hours(),
            report.issues,
            report.elapsed_secs
        );
        for m in &report.models {
            let mape: Vec<String> = m.days.iter().map(|d| format!("{:6.2}", d.mape)).collect();
            let cov: Vec<String> = m
                .days
                .iter()
                .map(|d| format!("{:5.1}", d.coverage_80))
                .collect();
            println!(
                "  {:<16} MAPE d1..4 {}  cover80 {}  fit {:.4} s",
                m.model,
                mape.join(" "),
                cov.join(" "),
                m.fit_secs
            );
            for n in &m.notes {
                println!("      note: {n}");
            }
        }
    }
    Ok(())
}
