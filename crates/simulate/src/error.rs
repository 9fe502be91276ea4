//! The one error type of kite-simulate. Every message names the field (or file), the value and
//! the fix; partial problems that still let the simulation run are notes in the report instead.

/// Why a scenario could not be simulated.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario file could not be read.
    #[error("cannot read {path}: {source}; check the path")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML, or a field is unknown or has the wrong type.
    #[error("{0}")]
    Parse(String),
    /// A field has a bad value, or two fields contradict each other.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as a TOML path (`jobs.duration`, `variants[2].window`).
        field: String,
        /// What is wrong with the value and how to fix it.
        message: String,
    },
    /// A `--set KEY=VALUE` override is malformed.
    #[error("--set {text}: {message}")]
    Override {
        /// The override as given.
        text: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A trace could not be loaded or does not cover the simulated window.
    #[error("trace {zone}: {message}")]
    Trace {
        /// The zone.
        zone: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Every job fell outside the data, so nothing could be compared.
    #[error("nothing to simulate: {0}")]
    NothingToSimulate(String),
}

/// Shorthand for [`SimError::Invalid`].
pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> SimError {
    SimError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}
