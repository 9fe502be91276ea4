//! The engine's error type. Each variant carries what the user needs to fix the problem.

use kite_core::Gap;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A configuration value is wrong or missing.
    #[error("configuration `{field}`: {message}")]
    Config {
        /// The field, e.g. `providers.watttime.password`.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A region name that matches no zone (the message carries suggestions).
    #[error("{0}")]
    UnknownRegion(String),
    /// No region was given and none is configured.
    #[error(
        "no region given: pass one (e.g. `kite intensity DE` or `--region aws:eu-central-1`) or set `region` in the config file; kite does not guess where you are"
    )]
    NoRegion,
    /// `kite run` without a region.
    #[error(
        "no region: pass --region with a zone or cloud region (e.g. --region DE, --region aws:eu-west-1), or set `region` in the config file; kite does not guess where the job runs"
    )]
    NoRunRegion,
    /// No source had any value for the window.
    #[error("no intensity data for {zone} ({signal}) in {window}:\n{reasons}")]
    NoData {
        /// The zone.
        zone: String,
        /// The signal asked for.
        signal: String,
        /// The window asked for.
        window: String,
        /// One line per source tried, with why it had nothing.
        reasons: String,
        /// The uncovered parts (the whole window).
        gaps: Vec<Gap>,
    },
    /// The local store failed.
    #[error("local store {path}: {source}")]
    Store {
        /// Database path.
        path: String,
        /// The store's error (boxed: it is large and rare).
        #[source]
        source: Box<kite_store::StoreError>,
    },
    /// A file could not be imported (nothing was written).
    #[error("{0}\nnothing was imported; the store is unchanged")]
    Import(Box<kite_ingest::ImportError>),
    /// Bad request parameters, e.g. a resolution finer than the data.
    #[error("{0}")]
    Request(String),
    /// kite's own forecaster could not forecast (the message says why and what to do).
    #[error("forecast: {0}")]
    Forecast(String),
}

impl From<kite_ingest::ImportError> for EngineError {
    fn from(e: kite_ingest::ImportError) -> Self {
        EngineError::Import(Box::new(e))
    }
}
