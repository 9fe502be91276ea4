//! Period reports of kite's carbon books, rendered from a [`Statement`] and the ledger
//! checkpoint it was computed from.
//!
//! A [`Report`] is the statement plus its provenance ([`LedgerProvenance`]: the signed
//! checkpoint — tree size, root hash, key id — and the verification result). [`render`] writes
//! it as:
//! - [`Format::Html`]: one self-contained page (inline CSS and SVG charts drawn with kite-chart;
//!   no scripts, external styles or fonts), accessible (landmarks, table captions and headers,
//!   charts as labelled images with a text description);
//! - [`Format::Markdown`]: the same tables;
//! - [`Format::Json`]: `{"report_version", "ledger", "statement"}`, the statement exactly as
//!   kite-accounting serialises it;
//! - [`Format::Csv`]: one row per figure, `section,metric,key,value,unit,note`.
//!
//! [`Books`] reads a ledger for a report (which checkpoint, which records, the verification
//! result): the one definition `kite report` and `kite serve` share.
//!
//! Invariants: rendering is pure (values in, text out); every format names the checkpoint and
//! the verification result; a section with no data says "no data" (CSV: an empty value and a
//! note), never `0`; offsets are listed apart and never subtracted from a total.

mod charts;
mod csv;
mod doc;
mod fmt;
mod html;
mod ledger;
mod markdown;

use kite_accounting::Statement;
pub use ledger::{Books, BooksError, provenance, verification};
use serde::{Deserialize, Serialize};

/// Version of the report JSON's envelope (`ledger` + `statement`); the statement carries its
/// own version.
pub const REPORT_VERSION: u32 = 1;

/// The signed ledger checkpoint a report was computed from: every entry up to `tree_size`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerCheckpoint {
    /// The log's origin line (its name).
    pub origin: String,
    /// Entries in the log when the report was computed.
    pub tree_size: u64,
    /// RFC 9162 root hash of those entries, base64 as in the checkpoint note.
    pub root_hash: String,
    /// Key id (hex) of the signing key.
    pub key_id: String,
    /// When the checkpoint was signed (RFC 3339), if the checkpoint says.
    pub time: Option<String>,
    /// The whole signed note (C2SP checkpoint), so a reader can verify it with the public key.
    pub signed_note: Option<String>,
}

/// What checking the ledger found before the statement was computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// Every entry hashed to the checkpoint's root and the signature verified.
    Verified {
        /// What was checked, e.g. `42 entries, root and Ed25519 signature`.
        detail: String,
    },
    /// The check failed: the figures come from a log that does not match its checkpoint.
    Failed {
        /// The first entry or proof that failed, and why.
        error: String,
    },
}

impl Verification {
    /// Whether the ledger verified.
    pub fn is_verified(&self) -> bool {
        matches!(self, Verification::Verified { .. })
    }
}

/// Where a report's numbers come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerProvenance {
    /// The checkpoint.
    pub checkpoint: LedgerCheckpoint,
    /// The verification result.
    pub verification: Verification,
}

/// A report: a statement and the ledger state it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub report_version: u32,
    /// When the report was made (RFC 3339), if the caller says; left out of tests' output.
    pub generated_at: Option<String>,
    /// The ledger checkpoint and verification.
    pub ledger: LedgerProvenance,
    /// The books.
    pub statement: Statement,
}

impl Report {
    /// A report of `statement`, computed from the ledger at `ledger`.
    pub fn new(statement: Statement, ledger: LedgerProvenance) -> Self {
        Report {
            report_version: REPORT_VERSION,
            generated_at: None,
            ledger,
            statement,
        }
    }
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A self-contained HTML page with SVG charts.
    Html,
    /// Markdown tables.
    Markdown,
    /// JSON (pretty-printed).
    Json,
    /// CSV, one row per figure.
    Csv,
}

/// A report that could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The JSON encoder failed (a non-finite number in the statement).
    #[error("report JSON: {0}; a figure in the statement is not a finite number")]
    Json(#[from] serde_json::Error),
}

/// Renders a report.
pub fn render(report: &Report, format: Format) -> Result<String, ReportError> {
    Ok(match format {
        Format::Html => html::render(report),
        Format::Markdown => markdown::render(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report)?;
            s.push('\n');
            s
        }
        Format::Csv => csv::render(report),
    })
}

/// The SVG charts of a report, by name (`scopes`, `cfe-hourly`, `cfe-zones`, `trend`), as
/// embedded in its HTML; a chart with nothing to show is left out.
pub fn charts(report: &Report) -> Vec<(&'static str, String)> {
    charts::all(&report.statement)
}

/// The chart colours, so a test (or a style guide) can find each series in a rendering.
pub mod palette {
    /// Scope 1 (on-site combustion).
    pub const SCOPE1: &str = "#d55e00";
    /// Scope 2 (purchased electricity).
    pub const SCOPE2: &str = "#0072b2";
    /// Scope 3 embodied (hardware manufacturing).
    pub const SCOPE3: &str = "#e69f00";
    /// Load (facility energy) in the CFE chart.
    pub const LOAD: &str = "#000000";
    /// Carbon-free energy matched hour by hour.
    pub const CLEAN: &str = "#009e73";
    /// Annual matching, beside the hourly score.
    pub const ANNUAL: &str = "#56b4e9";
    /// Market-based figures in the trend.
    pub const MARKET: &str = "#cc79a7";
}
