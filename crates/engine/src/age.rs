//! How old a value is: the one rule the CLI and the server share.

use kite_core::{Point, Provenance, SignalMeta, Timestamp};

/// Age of a value at `now`, seconds: since its interval ended (measured), since the forecast was
/// issued (else fetched), or none for estimates (which describe no particular moment).
pub fn age_secs(point: &Point, meta: &SignalMeta, now: Timestamp) -> Option<i64> {
    match &meta.provenance {
        Provenance::Measured => Some(now.as_second() - point.end().as_second()).filter(|s| *s >= 0),
        Provenance::Forecast {
            issued_at: Some(t), ..
        } => Some(now.as_second() - t.as_second()),
        Provenance::Forecast { .. } => meta.fetched_at.map(|t| now.as_second() - t.as_second()),
        Provenance::Estimated { .. } => None,
    }
}
