//! `kite intensity import`: read every file first, then write all of them in one transaction.
//! A bad row anywhere means nothing is written, so an import never half-lands and nothing
//! already in the store is touched.

use crate::error::EngineError;
use kite_core::{Timestamp, ZoneKey};
use kite_ingest::{ImportOptions, ParsedFile};
use kite_regions::Registry;
use kite_store::{Store, UpsertReport};
use std::path::PathBuf;

/// What an import did.
#[derive(Debug)]
pub struct ImportSummary {
    /// Per file: path, format, rows, series, notes.
    pub files: Vec<ParsedFile>,
    /// Rows inserted, updated and unchanged in the store.
    pub report: UpsertReport,
    /// Total rows read.
    pub rows: usize,
}

/// Parses all `paths`, then upserts everything into `store` atomically.
pub fn import_files(
    store: &mut Store,
    paths: &[PathBuf],
    opts: &ImportOptions,
    now: Timestamp,
) -> Result<ImportSummary, EngineError> {
    let registry = Registry::embedded();
    let resolve = |name: &str| -> Result<ZoneKey, String> {
        registry
            .resolve(name)
            .map(|z| z.key.clone())
            .map_err(|e| e.to_string())
    };
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        files.push(kite_ingest::read_file(path, opts, &resolve, now)?);
    }
    let series: Vec<_> = files
        .iter()
        .flat_map(|f| f.series.iter().cloned())
        .collect();
    let rows = files.iter().map(|f| f.rows).sum();
    let report = store.upsert(&series).map_err(|source| EngineError::Store {
        path: store
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ":memory:".into()),
        source: Box::new(source),
    })?;
    Ok(ImportSummary {
        files,
        report,
        rows,
    })
}
