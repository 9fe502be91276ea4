//! The file formats kite imports, recognized by their header, and the column layout each one
//! maps to.
//!
//! - kite CSV: columns `timestamp`, `gco2_per_kwh` and optionally `region`, in any order.
//!   Timestamps are RFC 3339 with an offset, marking interval starts. The extra columns of
//!   `kite intensity --format csv` (`duration_s`, `signal`, `provenance`, `source`) are accepted
//!   and ignored with a note, so kite's own output re-imports.
//! - Electricity Maps data-portal export: `Datetime (UTC)`, `Zone Id`, and the carbon-intensity
//!   columns `... (LCA)` (or `(Life cycle)`) and `... (direct)`, matched case-insensitively so the
//!   portal's newer spellings also match. Its naive times are UTC, as the header says.

use kite_core::Signal;
use std::fmt;

/// A recognized file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `timestamp,region,gco2_per_kwh` (or without `region`).
    KiteCsv,
    /// An Electricity Maps data-portal CSV export.
    ElectricityMapsCsv,
}

impl Format {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::KiteCsv => "kite CSV",
            Format::ElectricityMapsCsv => "Electricity Maps CSV export",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the fields are, per format. Column indices are 0-based.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) format: Format,
    /// Header names, trimmed, for messages.
    pub(crate) names: Vec<String>,
    pub(crate) timestamp: usize,
    pub(crate) region: Option<usize>,
    /// Value columns and the signal each holds (the first is the file's default).
    pub(crate) values: Vec<(usize, Signal)>,
    /// Electricity Maps' `Data Estimated` flag.
    pub(crate) estimated: Option<usize>,
    /// A naive timestamp is UTC because the header says so.
    pub(crate) naive_is_utc: bool,
    /// An empty value is a gap (exports) rather than an error (kite CSV).
    pub(crate) empty_is_gap: bool,
    /// Extra columns of `kite intensity --format csv` output that the import does not read.
    pub(crate) ignored: Vec<String>,
}

/// The columns `kite intensity --format csv` writes after the three it can re-import.
const KITE_OUTPUT_EXTRAS: [&str; 4] = ["duration_s", "signal", "provenance", "source"];

/// Recognizes the header, or `None` if it matches no format.
pub(crate) fn detect(header: &[&[u8]]) -> Option<Layout> {
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f.trim_ascii()).into_owned())
        .collect();
    let lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    let find = |pred: &dyn Fn(&str) -> bool| lower.iter().position(|n| pred(n));
    let count = |pred: &dyn Fn(&str) -> bool| lower.iter().filter(|n| pred(n)).count();

    // kite CSV: the known columns, each once, plus the extras kite's own CSV output has.
    let is_kite = |n: &str| {
        matches!(n, "timestamp" | "region" | "gco2_per_kwh") || KITE_OUTPUT_EXTRAS.contains(&n)
    };
    if lower.iter().all(|n| is_kite(n))
        && count(&|n| n == "timestamp") == 1
        && count(&|n| n == "gco2_per_kwh") == 1
        && count(&|n| n == "region") <= 1
    {
        return Some(Layout {
            format: Format::KiteCsv,
            timestamp: find(&|n| n == "timestamp")?,
            region: find(&|n| n == "region"),
            values: vec![(find(&|n| n == "gco2_per_kwh")?, Signal::AVERAGE_LIFECYCLE)],
            names,
            estimated: None,
            naive_is_utc: false,
            empty_is_gap: false,
            ignored: lower
                .iter()
                .filter(|n| KITE_OUTPUT_EXTRAS.contains(&n.as_str()))
                .cloned()
                .collect(),
        });
    }

    let datetime = find(&|n| n.starts_with("datetime"))?;
    let zone = find(&|n| n == "zone id")?;
    let intensity = |n: &str| n.starts_with("carbon intensity");
    let lca = find(&|n| intensity(n) && (n.ends_with("(lca)") || n.ends_with("(life cycle)")));
    let direct = find(&|n| intensity(n) && n.ends_with("(direct)"));
    let values: Vec<(usize, Signal)> = [
        lca.map(|c| (c, Signal::AVERAGE_LIFECYCLE)),
        direct.map(|c| (c, Signal::AVERAGE_DIRECT)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if values.is_empty() {
        return None;
    }
    Some(Layout {
        format: Format::ElectricityMapsCsv,
        naive_is_utc: lower[datetime].contains("(utc)"),
        timestamp: datetime,
        region: Some(zone),
        values,
        estimated: find(&|n| n == "data estimated"),
        names,
        empty_is_gap: true,
        ignored: Vec::new(),
    })
}
