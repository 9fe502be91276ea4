//! Fit + 96 h forecast for one model on two years of hourly history, the way `kite forecast`
//! calls it, with wall time (median of `--runs`) and peak memory.
//!
//! History: kite's embedded CarbonCast direct series of the zone, the two years before
//! 2021-07-01 (17,520 hours). Run one model per process, so each peak RSS (`VmHWM`) is that
//! model's; `scripts/bench-forecast.sh` does that for every model.
//!
//! Usage: `cargo run --release -p kite-forecast --example bench_models -- MODEL [ZONE] [RUNS]`

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use kite_core::{Signal, TimeWindow, Timestamp, ZoneKey};
use kite_forecast::{HourlyHistory, Input, model_by_name};
use std::time::Instant;

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model_name = args.first().map(String::as_str).unwrap_or("learned");
    let zone = ZoneKey::new(args.get(1).map(String::as_str).unwrap_or("US-CAL-CISO")).unwrap();
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let entry = kite_dataset::for_zone(&zone, Signal::AVERAGE_DIRECT)
        .into_iter()
        .find(|e| e.source.starts_with("carboncast"))
        .expect("the zone has embedded CarbonCast data");
    let issue: Timestamp = "2021-07-01T00:00:00Z".parse().unwrap();
    let start: Timestamp = "2019-07-01T00:00:00Z".parse().unwrap();
    let series = kite_dataset::load(entry).slice(TimeWindow::new(start, issue).unwrap());
    let history = HourlyHistory::from_series(&series).unwrap();
    let model = model_by_name(model_name).unwrap();
    let before = vm_hwm_kib();
    let input = Input {
        history_start: history.start,
        history: history.before(issue),
        issue_at: issue,
        horizon: 96,
        exogenous: None,
    };
    let mut secs = Vec::new();
    let mut last = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        last = model.forecast(&input).unwrap();
        secs.push(t.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    let after = vm_hwm_kib();
    println!(
        "{model_name:15} zone {zone} history {} h: fit + 96 h forecast median {:.3} ms (min {:.3}, max {:.3}, {runs} runs); peak RSS {:.1} MiB ({:+.1} MiB over the loaded history); first value {:.1}",
        input.history.len(),
        median * 1e3,
        secs[0] * 1e3,
        secs[secs.len() - 1] * 1e3,
        after as f64 / 1024.0,
        (after as f64 - before as f64) / 1024.0,
        last.first().copied().unwrap_or(f64::NAN)
    );
}
