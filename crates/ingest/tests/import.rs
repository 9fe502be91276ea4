//! Importing small files written to a temporary directory: both formats, and every kind of bad
//! input, checking that the message names the line, column and value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kite_core::{Signal, Timestamp, ZoneKey};
use kite_ingest::{DEFAULT_MAX_VALUE, Format, ImportError, ImportOptions, ParsedFile, read_file};
use std::path::PathBuf;

const EM_HEADER: &str = "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,Data Estimated,Data Estimation Method";

fn opts() -> ImportOptions {
    ImportOptions {
        signal: None,
        source: None,
        region: None,
        assume_utc: false,
        max_value: DEFAULT_MAX_VALUE,
    }
}

/// Knows a few zones; anything else gets a message with a suggestion, as kite-regions does.
fn resolve(name: &str) -> Result<ZoneKey, String> {
    let key = name.to_ascii_uppercase();
    if ["DE", "GB", "FR", "BR", "ES", "US-CAL-CISO"].contains(&key.as_str()) {
        Ok(ZoneKey::new(&key).unwrap())
    } else {
        Err(format!("unknown region `{name}`; did you mean `DE`?"))
    }
}

fn now() -> Timestamp {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Writes `content` to `name` in a fresh directory and imports it.
fn import_with(name: &str, content: &str, opts: &ImportOptions) -> Result<ParsedFile, ImportError> {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    read_file(&path, opts, &resolve, now())
}

fn import(name: &str, content: &str) -> Result<ParsedFile, ImportError> {
    import_with(name, content, &opts())
}

/// Imports `content`, expects an error, and checks its message contains every `needle`.
#[track_caller]
fn check_err(content: &str, opts: &ImportOptions, needles: &[&str]) -> ImportError {
    let err = import_with("bad.csv", content, opts).expect_err("the import should fail");
    let msg = err.to_string();
    assert!(msg.contains("bad.csv"), "no file name in: {msg}");
    for needle in needles {
        assert!(msg.contains(needle), "`{needle}` missing from: {msg}");
    }
    err
}

#[test]
fn kite_csv_with_region_column() {
    let f = import(
        "de.csv",
        "timestamp,region,gco2_per_kwh\n\
         2020-01-01T00:00:00Z,DE,279.13\n\
         2020-01-01T01:00:00Z,DE,280\n\
         2020-01-01T03:00:00Z,DE,281.5\n",
    )
    .unwrap();
    assert_eq!(f.format, Format::KiteCsv);
    assert_eq!(f.rows, 3);
    assert_eq!(f.series.len(), 1);
    let s = &f.series[0];
    assert_eq!(s.zone().as_str(), "DE");
    assert_eq!(s.meta().signal, Signal::AVERAGE_LIFECYCLE);
    assert_eq!(s.meta().source, "import:de");
    assert_eq!(s.meta().fetched_at, Some(now()));
    assert_eq!(s.resolution().secs(), 3600);
    let values: Vec<f64> = s.points().iter().map(|p| p.value.0).collect();
    assert_eq!(values, [279.13, 280.0, 281.5]);
    assert_eq!(s.points()[2].start, ts("2020-01-01T03:00:00Z"));
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("1 gaps (1 missing intervals)")),
        "{:?}",
        f.notes
    );
}

#[test]
fn two_regions_make_two_series() {
    let f = import(
        "mixed.csv",
        "timestamp,region,gco2_per_kwh\r\n\
         2020-01-01T00:00:00Z,DE,300\r\n\
         2020-01-01T00:00:00Z,fr,50\r\n\
         2020-01-01T00:30:00Z,DE,310\r\n\
         2020-01-01T00:30:00Z,FR,55\r\n",
    )
    .unwrap();
    let zones: Vec<&str> = f.series.iter().map(|s| s.zone().as_str()).collect();
    assert_eq!(zones, ["DE", "FR"]);
    assert!(
        f.series
            .iter()
            .all(|s| s.len() == 2 && s.resolution().secs() == 1800)
    );
}

#[test]
fn region_option_signal_and_source_for_a_file_without_region_column() {
    let mut o = opts();
    o.region = Some("gb".into());
    o.signal = Some(Signal::MARGINAL_DIRECT);
    o.source = Some("watttime-archive".into());
    let f = import_with(
        "moer.csv",
        "timestamp,gco2_per_kwh\n2023-06-08T00:00:00Z,425.016\n2023-06-08T00:05:00+00:00,420\n",
        &o,
    )
    .unwrap();
    let s = &f.series[0];
    assert_eq!(s.zone().as_str(), "GB");
    assert_eq!(s.meta().signal, Signal::MARGINAL_DIRECT);
    assert_eq!(s.meta().source, "watttime-archive");
    assert_eq!(s.resolution().secs(), 300);
}

#[test]
fn electricity_maps_export_gives_lifecycle_and_direct_series() {
    let content = format!(
        "{EM_HEADER}\n\
         2021-01-01 00:00:00,Brazil,Brazil,BR,113.64,155.8,80.02,77.24,,false,\n\
         2021-01-01 01:00:00,Brazil,Brazil,BR,119.98,163.11,78.9,75.96,,true,ESTIMATED_TIME_SLICER_AVERAGE\n\
         2021-01-01 02:00:00,Brazil,Brazil,BR,,160,78.9,75.96,,false,\n"
    );
    let f = import("BR_2021_hourly.csv", &content).unwrap();
    assert_eq!(f.format, Format::ElectricityMapsCsv);
    assert_eq!(f.rows, 3);
    assert_eq!(f.series.len(), 2);
    let (lca, direct) = (&f.series[0], &f.series[1]);
    assert_eq!(lca.meta().signal, Signal::AVERAGE_LIFECYCLE);
    assert_eq!(direct.meta().signal, Signal::AVERAGE_DIRECT);
    assert_eq!(lca.meta().source, "import:BR_2021_hourly");
    assert_eq!(lca.len(), 3);
    assert_eq!(direct.len(), 2, "the empty direct value is a gap");
    assert_eq!(lca.points()[0].start, ts("2021-01-01T00:00:00Z"));
    assert_eq!(lca.points()[0].value.0, 155.8);
    assert_eq!(direct.points()[1].value.0, 119.98);
    let notes = f.notes.join("\n");
    assert!(
        notes.contains("1 of 3 rows are flagged `Data Estimated`"),
        "{notes}"
    );
    assert!(notes.contains("1 empty values"), "{notes}");

    let mut o = opts();
    o.signal = Some(Signal::AVERAGE_DIRECT);
    let f = import_with("BR.csv", &content, &o).unwrap();
    assert_eq!(f.series.len(), 1);
    assert_eq!(f.series[0].meta().signal, Signal::AVERAGE_DIRECT);
    o.signal = Some(Signal::MARGINAL_DIRECT);
    let err = check_err(
        &content,
        &o,
        &["marginal-direct", "--signal average-lifecycle"],
    );
    assert!(matches!(err, ImportError::SignalNotInFile { .. }));
}

#[test]
fn malformed_rows_name_line_and_column() {
    let err = check_err(
        "timestamp,region,gco2_per_kwh\n2020-01-01T00:00:00Z,DE,1\n2020-01-01T01:00:00Z,DE\n",
        &opts(),
        &["line 3", "2 fields", "has 3"],
    );
    assert!(matches!(err, ImportError::FieldCount { line: 3, .. }));
    let err = check_err(
        "timestamp,region,gco2_per_kwh\n2020-01-01T00:00:00Z,DE,27x.1\n",
        &opts(),
        &[
            "line 2",
            "column 3 (gco2_per_kwh)",
            "`27x.1`",
            "not a number",
        ],
    );
    assert!(matches!(
        err,
        ImportError::BadNumber {
            line: 2,
            column: 3,
            ..
        }
    ));
    check_err(
        "timestamp,region,gco2_per_kwh\n2020-01-01T00:00:00Z,DE,\n",
        &opts(),
        &["line 2", "column 3", "is empty"],
    );
    check_err(
        "timestamp,region,gco2_per_kwh\nJan 1 2020,DE,1\n",
        &opts(),
        &["line 2", "column 1 (timestamp)", "`Jan 1 2020`", "RFC 3339"],
    );
}

#[test]
fn unknown_header_lists_the_accepted_ones() {
    check_err(
        "time,zone,value\n2020-01-01T00:00:00Z,DE,1\n",
        &opts(),
        &[
            "`time,zone,value`",
            "timestamp,region,gco2_per_kwh",
            "timestamp,gco2_per_kwh",
            "Electricity Maps",
        ],
    );
}

#[test]
fn naive_timestamps_need_assume_utc() {
    let content = "timestamp,region,gco2_per_kwh\n2020-01-01T00:00:00,DE,1\n";
    let err = check_err(
        content,
        &opts(),
        &[
            "line 2",
            "column 1",
            "`2020-01-01T00:00:00`",
            "--assume-utc",
        ],
    );
    assert!(matches!(err, ImportError::NoOffset { .. }));
    let mut o = opts();
    o.assume_utc = true;
    let f = import_with("naive.csv", content, &o).unwrap();
    assert_eq!(f.series[0].points()[0].start, ts("2020-01-01T00:00:00Z"));
}

#[test]
fn unsorted_and_duplicate_timestamps() {
    let err = check_err(
        "timestamp,region,gco2_per_kwh\n\
         2020-01-01T01:00:00Z,DE,1\n\
         2020-01-01T00:00:00Z,DE,2\n",
        &opts(),
        &["line 3", "line 2", "2020-01-01T00:00:00Z", "sort"],
    );
    assert!(matches!(
        err,
        ImportError::NotSorted {
            line: 3,
            previous_line: 2,
            ..
        }
    ));
    check_err(
        "timestamp,region,gco2_per_kwh\n\
         2020-01-01T00:00:00Z,DE,1\n\
         2020-01-01T00:00:00Z,DE,2\n",
        &opts(),
        &["lines 2 and 3", "appears twice", "remove one"],
    );
    let mut o = opts();
    o.region = Some("DE".into());
    check_err(
        "timestamp,gco2_per_kwh\n2020-01-01T00:00:00Z,1\n2020-01-01T00:00:00Z,2\n",
        &o,
        &[
            "lines 2 and 3",
            "several regions",
            "add a region column",
            "split",
        ],
    );
}

#[test]
fn negative_and_absurd_values() {
    let err = check_err(
        "timestamp,region,gco2_per_kwh\n2020-01-01T00:00:00Z,DE,-3\n",
        &opts(),
        &["line 2", "column 3", "-3", "negative"],
    );
    assert!(matches!(err, ImportError::OutOfRange { .. }));
    check_err(
        "timestamp,region,gco2_per_kwh\n2020-01-01T00:00:00Z,DE,1\n2020-01-01T01:00:00Z,DE,950000\n",
        &opts(),
        &["line 3", "950000", "above the maximum of 2000", "lbs/MWh"],
    );
}

#[test]
fn unknown_regions_carry_the_resolver_message() {
    let err = check_err(
        "timestamp,region,gco2_per_kwh\n2020-01-01T00:00:00Z,DE,1\n2020-01-01T00:00:00Z,Germny,1\n",
        &opts(),
        &[
            "line 3",
            "column 2 (region)",
            "unknown region `Germny`; did you mean `DE`?",
        ],
    );
    assert!(matches!(err, ImportError::UnknownRegion { line: 3, .. }));
    let mut o = opts();
    o.region = Some("Germny".into());
    let err = import_with(
        "x.csv",
        "timestamp,gco2_per_kwh\n2020-01-01T00:00:00Z,1\n",
        &o,
    )
    .unwrap_err();
    assert!(err.to_string().contains("--region Germny: unknown region"));
    let err = import("x.csv", "timestamp,gco2_per_kwh\n2020-01-01T00:00:00Z,1\n").unwrap_err();
    assert!(matches!(err, ImportError::MissingRegion { .. }));
    assert!(err.to_string().contains("--region"));
}

#[test]
fn empty_files_and_header_only() {
    let err = check_err("", &opts(), &["is empty", "timestamp,region,gco2_per_kwh"]);
    assert!(matches!(err, ImportError::Empty { .. }));
    let err = check_err(
        "timestamp,region,gco2_per_kwh\n\n",
        &opts(),
        &["no data rows"],
    );
    assert!(matches!(err, ImportError::NoRows { .. }));
}

#[test]
fn a_missing_file_is_a_read_error() {
    let err = read_file(
        std::path::Path::new("/nonexistent/kite/x.csv"),
        &opts(),
        &resolve,
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/kite/x.csv"));
}
