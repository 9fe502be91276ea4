//! Why a file could not be imported. Every message names the file, and where it applies the
//! line, the column and the offending value, then says how to fix it: these texts are shown to
//! users as they are.

use kite_core::{SeriesError, Signal};
use std::path::PathBuf;

/// The headers kite recognizes, for the message about an unknown header.
const ACCEPTED_HEADERS: &str = "  timestamp,region,gco2_per_kwh            kite CSV (RFC 3339 times, e.g. 2021-01-01T00:00:00Z)\n  \
     timestamp,gco2_per_kwh                   kite CSV for one region (pass --region)\n  \
     Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO\u{2082}eq/kWh (direct),\
     Carbon Intensity gCO\u{2082}eq/kWh (LCA),...   Electricity Maps data-portal export";

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has no content at all.
    #[error(
        "{} is empty: an intensity file starts with a header line such as \
         `timestamp,region,gco2_per_kwh`, followed by one row per interval",
        path.display()
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file has a header and nothing else.
    #[error("{} has a header (`{header}`) but no data rows: there is nothing to import", path.display())]
    NoRows {
        /// The file.
        path: PathBuf,
        /// The header line.
        header: String,
    },
    /// The header matches no known format.
    #[error(
        "{}, line {line}: the header `{header}` matches no format kite can import. \
         Accepted headers:\n{ACCEPTED_HEADERS}",
        path.display()
    )]
    UnknownHeader {
        /// The file.
        path: PathBuf,
        /// Line of the header (1 unless blank lines precede it).
        line: usize,
        /// The header line.
        header: String,
    },
    /// The file has no region column and no `--region` was given.
    #[error(
        "{} has no region column (header `{header}`): pass --region to say which zone the data \
         is for, or add a region column (timestamp,region,gco2_per_kwh)",
        path.display()
    )]
    MissingRegion {
        /// The file.
        path: PathBuf,
        /// The header line.
        header: String,
    },
    /// A row with another number of fields than the header.
    #[error(
        "{}, line {line}: {found} fields, but the header has {expected} (`{header}`): check that \
         line for a missing or extra comma",
        path.display()
    )]
    FieldCount {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields on the line.
        found: usize,
        /// The header line.
        header: String,
    },
    /// A value that is not a number.
    #[error(
        "{}, line {line}, column {column} ({name}): `{value}` is not a number: write the \
         intensity in gCO2eq/kWh as a plain decimal such as 279.13",
        path.display()
    )]
    BadNumber {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The column's name in the header.
        name: String,
        /// The text found.
        value: String,
    },
    /// An empty value where the format needs one.
    #[error(
        "{}, line {line}, column {column} ({name}) is empty: remove the row (missing intervals \
         may simply be left out; kite keeps them as gaps)",
        path.display()
    )]
    MissingValue {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The column's name in the header.
        name: String,
    },
    /// A negative value, or one above the plausible maximum.
    #[error(
        "{}, line {line}, column {column} ({name}): {value} g/kWh is {}: kite expects \
         gCO2eq/kWh (not lbs/MWh or kg/kWh); fix the value, or if it is real raise the import's \
         maximum (--max-value)",
        path.display(),
        if *value < 0.0 { "negative".to_string() } else { format!("above the maximum of {max} g/kWh") }
    )]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The column's name in the header.
        name: String,
        /// The value.
        value: f64,
        /// The maximum in force.
        max: f64,
    },
    /// A timestamp that cannot be read.
    #[error(
        "{}, line {line}, column {column} ({name}): `{value}` is not a timestamp: use RFC 3339 \
         with an offset, such as 2021-01-01T00:00:00Z",
        path.display()
    )]
    BadTimestamp {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The column's name in the header.
        name: String,
        /// The text found.
        value: String,
    },
    /// A timestamp without a UTC offset.
    #[error(
        "{}, line {line}, column {column} ({name}): `{value}` has no UTC offset, so its time \
         zone is unknown: add `Z` (or an offset such as +01:00), or pass --assume-utc if the \
         file's times are UTC",
        path.display()
    )]
    NoOffset {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The column's name in the header.
        name: String,
        /// The text found.
        value: String,
    },
    /// A timestamp with a fraction of a second.
    #[error(
        "{}, line {line}, column {column} ({name}): `{value}` has a fraction of a second; kite \
         stores whole seconds: round the timestamps",
        path.display()
    )]
    SubSecond {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The column's name in the header.
        name: String,
        /// The text found.
        value: String,
    },
    /// A row earlier than the one before it (for the same region).
    #[error(
        "{}, line {line}: {value} (region {region}) comes before {previous} on line \
         {previous_line}; each region's rows must be in time order: sort the file by timestamp",
        path.display()
    )]
    NotSorted {
        /// The file.
        path: PathBuf,
        /// The region as written in the file (or given with --region).
        region: String,
        /// 1-based line number of the offending row.
        line: usize,
        /// Its timestamp.
        value: String,
        /// Line of the later row before it.
        previous_line: usize,
        /// That row's timestamp.
        previous: String,
    },
    /// The same timestamp twice (for the same region).
    #[error(
        "{}, lines {previous_line} and {line}: timestamp {value} appears twice for region \
         {region}; {}",
        path.display(),
        if *has_region_column {
            "remove one of the two rows"
        } else {
            "the file has no region column, so it may mix several regions: add a region column \
             (timestamp,region,gco2_per_kwh) or split it into one file per region"
        }
    )]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// The region as written in the file (or given with --region).
        region: String,
        /// 1-based line of the second occurrence.
        line: usize,
        /// 1-based line of the first occurrence.
        previous_line: usize,
        /// The timestamp.
        value: String,
        /// Whether the file has a region column (changes the advice).
        has_region_column: bool,
    },
    /// A region the resolver does not know; `message` is its complete text, suggestions included.
    #[error("{}, line {line}, column {column} ({name}): {message}", path.display())]
    UnknownRegion {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The column's name in the header.
        name: String,
        /// The region as written.
        value: String,
        /// The resolver's message.
        message: String,
    },
    /// The `--region` option names no known region.
    #[error("--region {value}: {message}")]
    UnknownRegionOption {
        /// The region as given.
        value: String,
        /// The resolver's message.
        message: String,
    },
    /// `--signal` asks for a signal the file does not hold.
    #[error(
        "{} is an Electricity Maps export, with average-lifecycle (LCA) and average-direct \
         columns, not {signal}: pass --signal average-lifecycle or --signal average-direct, or \
         leave --signal out to import both",
        path.display()
    )]
    SignalNotInFile {
        /// The file.
        path: PathBuf,
        /// The signal asked for.
        signal: Signal,
    },
    /// The most common step between rows is not a usable resolution.
    #[error(
        "{}: the most common step between rows for region {region} is {step_secs} s, which does \
         not divide a day: resample the file to a regular grid (5m, 15m, 30m, 1h, ...) first",
        path.display()
    )]
    IrregularStep {
        /// The file.
        path: PathBuf,
        /// The region.
        region: String,
        /// The step in seconds.
        step_secs: i64,
    },
    /// The rows do not form a valid series (should not happen after the row checks).
    #[error("{}: the rows for region {region} do not form a valid series: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The region.
        region: String,
        /// What is wrong.
        source: SeriesError,
    },
}
