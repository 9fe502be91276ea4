//! `GET /v1/intensity` (the fallback chain, as `kite intensity --format json` shows it, every
//! value with its signal, provenance, source and age) and `GET /v1/forecast` (kite's own
//! forecast with 10/50/90 % intervals, as `kite forecast --format json`).

use super::{Params, bad_param, blocking, internal};
use crate::{AppState, Problem};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kite_core::{Resolution, Signal, SignedDuration, TimeWindow, Timestamp, parse_time};
use kite_engine::{EngineError, IntensityRequest, IntensityView};
use kite_forecast::ForecastOutput;
use serde::Serialize;
use std::sync::Arc;

/// Longest window one request may ask for (the CLI's limit too).
const MAX_WINDOW_DAYS: i64 = 3700;

fn time_param(params: &Params, name: &str, now: Timestamp) -> Result<Option<Timestamp>, Problem> {
    params
        .get(name)
        .map(|v| {
            parse_time(v, now).map_err(|e| {
                bad_param(
                    name,
                    v,
                    e.to_string(),
                    "write RFC 3339 with an offset (2026-05-01T12:00:00Z), a date, or now+6h / now-2d",
                )
            })
        })
        .transpose()
}

fn signal_param(params: &Params, default: Signal) -> Result<Signal, Problem> {
    match params.get("signal") {
        None => Ok(default),
        Some(v) => Signal::parse(v).ok_or_else(|| {
            bad_param(
                "signal",
                v,
                format!("`{v}` is not a signal"),
                "use signal=average-lifecycle, average-direct or marginal",
            )
        }),
    }
}

/// Maps an engine error to a problem; `region` names the parameter it came from.
fn engine_problem(e: EngineError, region: &str) -> Problem {
    match e {
        EngineError::UnknownRegion(msg) => bad_param(
            "region",
            region,
            msg,
            "GET /v1/regions lists the zones, aliases and cloud regions",
        ),
        e @ EngineError::NoData { .. } => Problem {
            fix: Some("import measured data (`kite intensity import FILE`), configure a live provider, or ask for a window the embedded history covers".into()),
            ..Problem::new(StatusCode::NOT_FOUND, "no intensity data", e.to_string())
        },
        EngineError::Request(msg) => Problem::new(StatusCode::BAD_REQUEST, "invalid request", msg),
        e => internal("the intensity query", e),
    }
}

pub(crate) async fn intensity(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    match intensity_inner(&state, query).await {
        Ok(v) => Json(v).into_response(),
        Err(p) => p.into_response(),
    }
}

async fn intensity_inner(
    state: &AppState,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<IntensityView, Problem> {
    let params = Params::new(
        query,
        &[
            "region",
            "at",
            "from",
            "to",
            "signal",
            "resolution",
            "source",
        ],
    )?;
    let now = state.intensity.now();
    let region = params.required("region", "DE")?.to_owned();
    let signal = signal_param(&params, state.signal)?;
    let resolution = params
        .get("resolution")
        .map(|v| {
            Resolution::parse(v).map_err(|e| {
                bad_param(
                    "resolution",
                    v,
                    e.to_string(),
                    "write e.g. resolution=1h or 15m",
                )
            })
        })
        .transpose()?;
    let from = time_param(&params, "from", now)?;
    let to = time_param(&params, "to", now)?;
    let at = time_param(&params, "at", now)?;
    let window = match (from, to) {
        (Some(start), Some(end)) => {
            if at.is_some() {
                return Err(bad_param(
                    "at",
                    params.get("at").unwrap_or_default(),
                    "`at` and `from`/`to` ask for different windows",
                    "give either at=TIME or from=TIME&to=TIME",
                ));
            }
            TimeWindow::new(start, end).map_err(|e| {
                bad_param(
                    "to",
                    params.get("to").unwrap_or_default(),
                    e.to_string(),
                    "give a `to` after `from`",
                )
            })?
        }
        (Some(_), None) | (None, Some(_)) => {
            let (given, missing) = if from.is_some() {
                ("from", "to")
            } else {
                ("to", "from")
            };
            return Err(bad_param(
                missing,
                "",
                format!("`{given}` is given without `{missing}`"),
                "give both from=TIME and to=TIME, or at=TIME for one value",
            ));
        }
        (None, None) => {
            let t = at.unwrap_or(now);
            TimeWindow::new(t, t + SignedDuration::from_secs(1))
                .map_err(|e| internal("building the window", e))?
        }
    };
    let days = window.duration().as_secs() / 86_400;
    if days > MAX_WINDOW_DAYS {
        return Err(bad_param(
            "to",
            params.get("to").unwrap_or_default(),
            format!("the window spans {days} days"),
            "ask for at most about ten years at a time",
        ));
    }
    let request = IntensityRequest {
        region: region.clone(),
        window,
        signal,
        resolution,
        source: params.get("source").map(str::to_owned),
    };
    let answer = state
        .intensity
        .intensity(&request)
        .await
        .map_err(|e| engine_problem(e, &region))?;
    // The CLI's JSON, with the signal asked for and the mean over the window.
    let mut view = IntensityView::new(&answer);
    view.signal = Some(signal.as_str());
    view.coverage = Some(answer.coverage());
    Ok(view)
}

/// `GET /v1/forecast`.
#[derive(Serialize)]
struct ForecastView {
    zone: String,
    signal: &'static str,
    /// Where the history came from.
    history: String,
    /// True when the history is the embedded (offline, years-old) dataset.
    offline_history: bool,
    /// The forecast's source label.
    source: String,
    /// Point forecast and 10/50/90 % bands, one value per hour from `forecast.start`.
    forecast: ForecastOutput,
    /// Everything the numbers rest on (fallbacks, stale history).
    notes: Vec<String>,
}

pub(crate) async fn forecast(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    match forecast_inner(&state, query).await {
        Ok(v) => Json(v).into_response(),
        Err(p) => p.into_response(),
    }
}

async fn forecast_inner(
    state: &Arc<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<ForecastView, Problem> {
    let params = Params::new(
        query,
        &["region", "hours", "model", "at", "signal", "history"],
    )?;
    let now = state.intensity.now();
    let region = params.required("region", "DE")?.to_owned();
    let zone = state
        .intensity
        .resolve(&region)
        .map_err(|e| engine_problem(e, &region))?;
    let signal = signal_param(&params, state.signal)?;
    let hours = params.u64_or("hours", 48)? as usize;
    if !(1..=kite_engine::MAX_HORIZON_HOURS).contains(&hours) {
        return Err(bad_param(
            "hours",
            &hours.to_string(),
            format!(
                "kite forecasts 1 to {} h ahead",
                kite_engine::MAX_HORIZON_HOURS
            ),
            format!(
                "give hours between 1 and {}",
                kite_engine::MAX_HORIZON_HOURS
            ),
        ));
    }
    let model = params.get("model").unwrap_or("auto").to_owned();
    if model != "auto"
        && let Err(e) = kite_forecast::model_by_name(&model)
    {
        return Err(bad_param(
            "model",
            &model,
            e.to_string(),
            format!(
                "use auto or one of {}",
                kite_forecast::model_names().join(", ")
            ),
        ));
    }
    let at = time_param(&params, "at", now)?.map(|t| Resolution::HOUR.floor(t));
    let which = params.get("history").unwrap_or("auto").to_owned();
    if !matches!(which.as_str(), "auto" | "store" | "embedded") {
        return Err(bad_param(
            "history",
            &which,
            format!("`{which}` is not a history"),
            "use history=auto, store or embedded",
        ));
    }
    let state = state.clone();
    let key = zone.key.clone();
    blocking("the forecast", move || {
        let not_after = at.unwrap_or(now);
        let from_store = || -> Result<Option<kite_engine::ForecastHistory>, Problem> {
            let store = kite_store::Store::open(&state.database)
                .map_err(|e| internal("opening the store", e))?;
            kite_engine::stored_history(
                &store,
                &state.database.display().to_string(),
                &key,
                signal,
                not_after,
            )
            .map_err(|e| internal("reading the store", e))
        };
        let history = match which.as_str() {
            "store" => from_store()?,
            "embedded" => kite_engine::embedded_history(&key, signal, None, None),
            _ => match from_store()? {
                Some(h) => Some(h),
                None => kite_engine::embedded_history(&key, signal, None, None),
            },
        };
        let Some(history) = history else {
            return Err(Problem {
                fix: Some(format!("import hourly measured data (`kite intensity import FILE --region {key}`), or pick a zone with embedded history (GET /v1/regions)")),
                ..Problem::new(
                    StatusCode::NOT_FOUND,
                    "no history to forecast from",
                    format!("no {which} {signal} history for {key}"),
                )
            });
        };
        let (series, output) =
            kite_engine::forecast_series(&key, signal, &history, at, hours, &model).map_err(
                |e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "cannot forecast", e.to_string()),
            )?;
        let mut notes = output.notes.clone();
        let stale_h = (now.as_second() - output.issue_at.as_second()) / 3600;
        if history.embedded && at.is_none() {
            notes.push(format!(
                "no measured data for {key} in the store: this forecast starts where the embedded history ends ({}), not now; import recent data to forecast from now",
                output.issue_at.strftime("%Y-%m-%d %H:%MZ")
            ));
        } else if stale_h > 24 && at.is_none() {
            notes.push(format!(
                "the latest measured data ends {stale_h} h before now: the forecast starts there"
            ));
        }
        Ok(ForecastView {
            zone: key.to_string(),
            signal: signal.as_str(),
            history: history.source.clone(),
            offline_history: history.embedded,
            source: series.meta().source.clone(),
            forecast: output,
            notes,
        })
    })
    .await
}
