//! End-to-end import throughput over the real grid series: every `<source>/<REGION>.csv` under
//! `KITE_GRID_DIR` is read and parsed with kite-ingest, then all series are upserted into a
//! fresh on-disk store in one transaction (as `kite intensity import` does), and a one-year
//! range query is timed. Without `KITE_GRID_DIR` (or with a missing directory) it prints a note
//! and exits successfully, so `cargo bench` works anywhere. Run it through
//! `scripts/bench-grid.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use kite_core::{Signal, TimeWindow, Timestamp, ZoneKey};
use kite_ingest::{DEFAULT_MAX_VALUE, ImportOptions};
use kite_store::Store;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Any region label becomes a zone key: upper-cased, `_` turned into `-`.
fn resolve(name: &str) -> Result<ZoneKey, String> {
    ZoneKey::new(&name.to_ascii_uppercase().replace('_', "-")).map_err(|e| e.to_string())
}

/// The normalized files: `<dir>/<source>/*.csv`, sorted, `raw/` folders not entered.
fn grid_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    sources.sort();
    for source in sources {
        let mut csvs: Vec<PathBuf> = std::fs::read_dir(&source)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "csv"))
            .collect();
        csvs.sort();
        files.extend(csvs);
    }
    files
}

/// Source label and signal from the folder name, so same-zone files of different sources
/// (and lifecycle vs direct vs marginal) stay separate series, as they are in the data.
fn options_for(path: &Path) -> ImportOptions {
    let source = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let signal = if source.contains("moer") {
        Signal::MARGINAL_DIRECT
    } else if source.ends_with("-direct") {
        Signal::AVERAGE_DIRECT
    } else {
        Signal::AVERAGE_LIFECYCLE
    };
    ImportOptions {
        signal: Some(signal),
        source: Some(source),
        region: None,
        assume_utc: false,
        max_value: DEFAULT_MAX_VALUE,
    }
}

fn rate(rows: usize, d: Duration) -> String {
    format!("{:.2} M rows/s", rows as f64 / d.as_secs_f64() / 1e6)
}

fn main() {
    let Some(dir) = std::env::var_os("KITE_GRID_DIR").map(PathBuf::from) else {
        println!("import_grid: KITE_GRID_DIR is not set; nothing to measure");
        return;
    };
    if !dir.is_dir() {
        println!(
            "import_grid: {} is not a directory; nothing to measure",
            dir.display()
        );
        return;
    }
    let files = grid_files(&dir);
    let now = Timestamp::from_second(1_790_000_000).unwrap();
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let db = tmp.path().join("kite.db");

    let started = Instant::now();
    let mut series = Vec::new();
    let mut rows = 0;
    for path in &files {
        let parsed = kite_ingest::read_file(path, &options_for(path), &resolve, now)
            .unwrap_or_else(|e| panic!("{e}"));
        rows += parsed.rows;
        series.extend(parsed.series);
    }
    let parsed_at = Instant::now();
    let mut store = Store::open(&db).unwrap();
    let report = store.upsert(&series).unwrap();
    let done = Instant::now();
    let (parse, upsert, total) = (parsed_at - started, done - parsed_at, done - started);
    assert_eq!(report.inserted, rows);

    println!(
        "files {}, rows {rows}, series {}, store {}",
        files.len(),
        series.len(),
        db.display()
    );
    println!(
        "read+parse   {:>8.3} s  {}",
        parse.as_secs_f64(),
        rate(rows, parse)
    );
    println!(
        "upsert       {:>8.3} s  {}",
        upsert.as_secs_f64(),
        rate(rows, upsert)
    );
    println!(
        "end-to-end   {:>8.3} s  {}",
        total.as_secs_f64(),
        rate(rows, total)
    );

    let again = Instant::now();
    let report = store.upsert(&series).unwrap();
    let again = again.elapsed();
    assert_eq!(report.unchanged, rows);
    println!(
        "re-upsert    {:>8.3} s  {}  (all {} rows unchanged)",
        again.as_secs_f64(),
        rate(rows, again),
        report.unchanged
    );

    // One year of hourly CarbonCast CISO data (8760 rows) out of four stored years.
    let zone = ZoneKey::new("CISO").unwrap();
    let window = TimeWindow::new(
        "2021-01-01T00:00:00Z".parse().unwrap(),
        "2022-01-01T00:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let mut times = Vec::with_capacity(100);
    let mut points = 0;
    for _ in 0..100 {
        let t = Instant::now();
        let got = store
            .query(
                &zone,
                Signal::AVERAGE_LIFECYCLE,
                window,
                Some("carboncast-lifecycle"),
            )
            .unwrap();
        times.push(t.elapsed());
        points = got.iter().map(|s| s.len()).sum();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "one-year query ({points} rows): median {:.3} ms, min {:.3} ms, max {:.3} ms (100 runs)",
        (ms(times[49]) + ms(times[50])) / 2.0,
        ms(times[0]),
        ms(times[99])
    );
}
