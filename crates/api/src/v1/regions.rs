//! `GET /v1/regions` and `GET /v1/regions/{region}`: the zone registry (kite-regions) and the
//! history compiled into kite (kite-dataset), the same facts `kite regions --format json` shows.

use super::{Params, bad_param};
use crate::{AppState, Problem};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kite_engine::{RegionView, find_zones};
use kite_regions::{Cloud, Registry};
use serde::Serialize;
use std::sync::Arc;

/// `GET /v1/regions`.
#[derive(Serialize)]
pub(crate) struct RegionList {
    /// Zones matching the query, in registry order.
    count: usize,
    regions: Vec<RegionView>,
}

pub(crate) async fn list(
    State(_state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    match list_inner(query) {
        Ok(r) => Json(r).into_response(),
        Err(p) => p.into_response(),
    }
}

fn list_inner(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<RegionList, Problem> {
    let params = Params::new(query, &["search", "cloud"])?;
    let cloud = params
        .get("cloud")
        .map(|c| {
            Cloud::parse(c).ok_or_else(|| {
                bad_param(
                    "cloud",
                    c,
                    format!("`{c}` is not a cloud kite knows"),
                    "use cloud=aws, cloud=gcp or cloud=azure",
                )
            })
        })
        .transpose()?;
    let regions: Vec<RegionView> = find_zones(params.get("search"), cloud)
        .into_iter()
        .map(|z| RegionView::new(z, cloud))
        .collect();
    Ok(RegionList {
        count: regions.len(),
        regions,
    })
}

pub(crate) async fn show(Path(region): Path<String>) -> Response {
    match Registry::embedded().resolve(&region) {
        Ok(z) => Json(RegionView::new(z, None)).into_response(),
        Err(e) => Problem {
            field: Some("region".into()),
            value: Some(region.clone()),
            fix: Some(if e.suggestions.is_empty() {
                "GET /v1/regions lists every zone, alias and cloud region".into()
            } else {
                format!(
                    "did you mean {}? GET /v1/regions lists them all",
                    e.suggestions.join(", ")
                )
            }),
            ..Problem::new(StatusCode::NOT_FOUND, "unknown region", e.to_string())
        }
        .into_response(),
    }
}
