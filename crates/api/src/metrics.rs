//! `/metrics` in the Prometheus text format, and `/readyz`.

use crate::AppState;
use axum::Router;
use std::sync::Arc;

/// Counters and histograms kite serve exports.
#[derive(Debug, Default)]
pub struct Metrics {}

/// This module's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
}
