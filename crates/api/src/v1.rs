//! See the crate documentation.

use crate::AppState;
use axum::Router;
use std::sync::Arc;

/// This module's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
}
