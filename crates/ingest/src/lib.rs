//! Reads intensity files into validated [`IntensitySeries`]: kite's normalized CSV and
//! Electricity Maps data-portal CSV exports (see `format.rs` for the accepted headers).
//!
//! Architecture invariants:
//! - no dependency on kite-regions: the caller passes the region resolver as a closure whose
//!   error string is the complete user message (with suggestions);
//! - bad input is an [`ImportError`] naming the file, line, column and value, and the fix;
//!   nothing is guessed (no time zone, no interpolation: missing intervals stay gaps);
//! - this is the hot path of `kite intensity import`: bytes are parsed in place with memchr,
//!   without per-row allocation, and the fixed RFC 3339 UTC shape skips the general parser.

mod error;
mod format;
mod lines;
mod read;
mod timestamp;

pub use error::ImportError;
pub use format::Format;

use kite_core::{IntensitySeries, Signal, Timestamp, ZoneKey};
use std::path::{Path, PathBuf};

/// The default for [`ImportOptions::max_value`]: no grid averages above about 1200 g/kWh, so
/// 2000 catches unit mistakes (lbs/MWh, kg/MWh) without refusing real data.
pub const DEFAULT_MAX_VALUE: f64 = 2000.0;

/// How to read a file (the `kite intensity import` flags).
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `--signal`: the signal the values are. Default: from the format (an Electricity Maps
    /// export gives two series, average-lifecycle from the LCA column and average-direct from
    /// the direct column; with this set, only the matching column is read), else
    /// average-lifecycle.
    pub signal: Option<Signal>,
    /// `--source`: the source label stored with the data. Default: `import:<file stem>`.
    pub source: Option<String>,
    /// `--region`: the zone of a file without a region column (ignored, with a note, when the
    /// file has one).
    pub region: Option<String>,
    /// `--assume-utc`: read timestamps without an offset as UTC instead of refusing them.
    pub assume_utc: bool,
    /// Values above this (g/kWh) are refused as probable unit mistakes; see [`DEFAULT_MAX_VALUE`].
    pub max_value: f64,
}

/// What was read from one file.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    /// The file (or the name given to [`parse_bytes`]).
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// One series per region and signal, in order of first appearance.
    pub series: Vec<IntensitySeries>,
    /// Data rows read (an Electricity Maps row feeds two series).
    pub rows: usize,
    /// Things worth telling the user: resolution, gaps, estimated rows, ignored options.
    pub notes: Vec<String>,
}

/// Reads and parses the file at `path`. `resolve` maps a region name as written in the file (or
/// given with `--region`) to its zone; `now` is recorded as the series' `fetched_at`.
pub fn read_file(
    path: &Path,
    opts: &ImportOptions,
    resolve: &dyn Fn(&str) -> Result<ZoneKey, String>,
    now: Timestamp,
) -> Result<ParsedFile, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    read::parse(path.to_path_buf(), &bytes, opts, resolve, now)
}

/// Parses file contents already in memory; `name` stands for the path in messages and for the
/// default source label.
pub fn parse_bytes(
    name: &str,
    bytes: &[u8],
    opts: &ImportOptions,
    resolve: &dyn Fn(&str) -> Result<ZoneKey, String>,
    now: Timestamp,
) -> Result<ParsedFile, ImportError> {
    read::parse(PathBuf::from(name), bytes, opts, resolve, now)
}
