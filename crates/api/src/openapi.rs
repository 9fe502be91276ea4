//! The OpenAPI 3.0 document of kite serve, at `GET /openapi.json`.
//!
//! Each part of the HTTP surface documents itself in a fragment under `crates/api/openapi/`
//! (`{"paths": {...}, "components": {"schemas": {...}}}`), compiled in; the document is their
//! merge plus `info`, `servers` and the bearer security scheme. `tests/openapi.rs` checks it
//! against the running router: every route documented and every documented operation routed,
//! every response body valid against its schema, every `$ref` resolved.

use crate::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Map, Value, json};
use std::sync::{Arc, OnceLock};

/// Every fragment, by file name: merged in this order (a schema name defined twice keeps the
/// first definition; the tests require duplicates to be identical).
pub const FRAGMENTS: &[(&str, &str)] = &[
    ("v1.json", include_str!("../openapi/v1.json")),
    ("jobs.json", include_str!("../openapi/jobs.json")),
    ("casdk.json", include_str!("../openapi/casdk.json")),
    ("ops.json", include_str!("../openapi/ops.json")),
];

/// The whole document.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for (name, text) in FRAGMENTS {
        // The fragments are compiled in and parsed by the tests, so a broken one never ships;
        // should one anyway, the rest of the document is still served and the log says which.
        let fragment: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!("openapi fragment {name} is not JSON: {e}");
                continue;
            }
        };
        if let Some(p) = fragment["paths"].as_object() {
            for (path, item) in p {
                let entry = paths
                    .entry(path.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Some(into), Some(from)) = (entry.as_object_mut(), item.as_object()) {
                    for (method, op) in from {
                        into.entry(method.clone()).or_insert_with(|| op.clone());
                    }
                }
            }
        }
        if let Some(s) = fragment["components"]["schemas"].as_object() {
            for (k, v) in s {
                schemas.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "kite",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "kite serve: grid carbon intensity with its provenance, forecasts with intervals, carbon-aware plans, the job queue, the verifiable ledger and reports, and the Carbon Aware SDK's WebAPI. Errors are RFC 9457 problem details naming the parameter, the value and the fix. docs/api.md is the guide.",
            "license": {"name": "Apache-2.0"},
        },
        "servers": [{"url": "/", "description": "this kite serve"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token kite serve writes beside its queue (`.token`, mode 0600); `kite submit` reads it.",
                },
            },
        },
    })
}

/// This module's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/openapi.json", get(serve))
}

async fn serve() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        axum::Json(document()),
    )
}
