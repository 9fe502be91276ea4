//! The Green Software Foundation Carbon Aware SDK v1.8 WebAPI, drop-in: the same paths, query
//! parameters, JSON field names and status codes (`src/CarbonAware.WebApi/src/Controllers/
//! CarbonAwareController.cs`, `LocationsController.cs` and the DTOs in `Models/`), so an SDK
//! client pointed at `kite serve` works unchanged.
//!
//! Ratings are gCO2e/kWh of kite's configured signal (`AppState::signal`). Where the numbers
//! came from travels beside them, never inside the SDK's shapes: the `X-Kite-Source` header
//! names each segment's source, provenance (measured, forecast with model and issue time,
//! estimated with method), span and age; `X-Kite-Signal` names the signal.
//!
//! Where the SDK is ambiguous or buggy kite follows its documented intent and says so in
//! `docs/api.md` ("Carbon Aware SDK compatible endpoints"): times without an offset are UTC,
//! `time` without `toTime` is the one value at that instant, the best window never ends after
//! `dataEndAt`, `windowSize` is echoed, and `requestedAt` remakes kite's own forecast.

mod data;
mod params;
mod window;

pub use data::{Cache, Forecast, HORIZON_HOURS, REFRESH};

use crate::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use kite_core::{SignedDuration, TimeWindow, Timestamp};
use params::{CasdkError, Query, bad, missing, problem};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use window::Span;

/// Where each value came from: `location: signal: source (provenance, age) from/to; …`.
pub const X_KITE_SOURCE: HeaderName = HeaderName::from_static("x-kite-source");
/// The signal every rating is of, e.g. `average-lifecycle`.
pub const X_KITE_SIGNAL: HeaderName = HeaderName::from_static("x-kite-signal");

/// Items one batch request may hold.
pub const MAX_BATCH: usize = 500;

/// This module's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/emissions/bylocation", get(by_location))
        .route("/emissions/bylocations", get(by_locations))
        .route("/emissions/bylocations/best", get(best_by_locations))
        .route("/emissions/forecasts/current", get(forecasts_current))
        .route("/emissions/forecasts/batch", post(forecasts_batch))
        .route("/emissions/average-carbon-intensity", get(average))
        .route(
            "/emissions/average-carbon-intensity/batch",
            post(average_batch),
        )
        .route("/locations", get(locations))
}

type Reply = Result<Response, CasdkError>;

// ---- /emissions/bylocation(s)[/best] ----------------------------------------------------------

/// The SDK's `EmissionsData` (`src/GSF.CarbonAware/src/Models/EmissionsData.cs`): `duration` is
/// a .NET `TimeSpan` (`"01:00:00"`), `rating` gCO2e/kWh.
#[derive(Serialize)]
struct EmissionsData<'a> {
    location: &'a str,
    time: Timestamp,
    rating: f64,
    duration: String,
}

async fn by_location(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Reply {
    emissions(&state, &Query::parse(q.as_deref()), &["location"], false).await
}

async fn by_locations(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Reply {
    emissions(
        &state,
        &Query::parse(q.as_deref()),
        &["location", "locations"],
        false,
    )
    .await
}

async fn best_by_locations(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Reply {
    emissions(
        &state,
        &Query::parse(q.as_deref()),
        &["location", "locations"],
        true,
    )
    .await
}

/// `time`..`toTime`: every value overlapping the period; `time` alone (or nothing: now): the one
/// value at that instant. `toTime` without `time` is refused, as the SDK's `StartRequiredIfEnd`
/// does. `best`: the minimum rating over all locations, every tie included. No value: 204.
async fn emissions(state: &AppState, q: &Query, names: &[&str], best: bool) -> Reply {
    let now = state.intensity.now();
    let locations = q.all(names);
    if locations.is_empty() {
        return Err(missing("location", "location=westeurope"));
    }
    let time = q.time("time", now)?;
    let to_time = q.time("toTime", now)?;
    let window = match (time, to_time) {
        (None, Some(t)) => {
            return Err(bad(
                "time",
                "",
                "time must be defined if toTime is defined",
                format!("add time (the start of the period ending at toTime {t})"),
            ));
        }
        (Some(s), Some(e)) => {
            params::ordered("time", "toTime", s, e)?;
            params::not_too_long("toTime", s, e)?;
            TimeWindow::new(s, e)
        }
        (t, None) => {
            let t = t.unwrap_or(now);
            let end = t.checked_add(SignedDuration::from_secs(1)).map_err(|_| {
                bad(
                    "time",
                    &t.to_string(),
                    "time is out of range",
                    "give a time between years 1 and 9999",
                )
            })?;
            TimeWindow::new(t, end)
        }
    }
    .map_err(|e| data::internal(&e))?;
    let zones = locations
        .iter()
        .map(|l| params::zone("location", l))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows: Vec<(&str, Span)> = Vec::new();
    let mut sources = Vec::new();
    for (location, zone) in locations.iter().zip(zones) {
        let Some(found) = data::chain(state, zone, window, now).await? else {
            continue;
        };
        let points = window::overlapping(
            &found.points,
            window.start().as_second(),
            window.end().as_second(),
        );
        rows.extend(points.iter().map(|p| (*location, *p)));
        sources.push(format!("{location}: {}", found.source));
    }
    if best {
        let min = rows.iter().map(|(_, p)| p.value).reduce(f64::min);
        rows.retain(|(_, p)| Some(p.value) == min);
    }
    if rows.is_empty() {
        return Ok(with_source(
            StatusCode::NO_CONTENT.into_response(),
            state,
            &sources,
        ));
    }
    let mut body = Vec::with_capacity(rows.len());
    for (location, p) in rows {
        body.push(EmissionsData {
            location,
            time: ts(p.start)?,
            rating: p.value,
            duration: window::timespan(p.end - p.start),
        });
    }
    Ok(with_source(Json(body).into_response(), state, &sources))
}

// ---- /emissions/forecasts ------------------------------------------------------------------------

/// The SDK's `EmissionsForecastDTO` (`src/CarbonAware.WebApi/src/Models/EmissionsForecastDTO.cs`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ForecastDto<'a> {
    generated_at: Timestamp,
    requested_at: Timestamp,
    location: &'a str,
    data_start_at: Timestamp,
    data_end_at: Timestamp,
    window_size: i64,
    optimal_data_points: Vec<DataPointDto<'a>>,
    forecast_data: Vec<DataPointDto<'a>>,
}

/// The SDK's `EmissionsDataDTO`: `duration` in whole minutes, `value` gCO2e/kWh.
#[derive(Serialize)]
struct DataPointDto<'a> {
    location: &'a str,
    timestamp: Timestamp,
    duration: i64,
    value: f64,
}

/// What one forecast answer asks for.
struct Ask<'a> {
    location: &'a str,
    requested_at: Timestamp,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    window_minutes: Option<i64>,
    /// For the current forecast, `now`: by default the data start at the value in force now,
    /// not at the start of the hour the forecast was made in.
    now: Option<Timestamp>,
    /// `""` for query parameters, `[3].` for the fourth batch item.
    prefix: String,
}

async fn forecasts_current(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Reply {
    let q = Query::parse(q.as_deref());
    let now = state.intensity.now();
    let locations = q.all(&["location", "locations"]);
    if locations.is_empty() {
        return Err(missing("location", "location=westeurope"));
    }
    let start = q.time("dataStartAt", now)?;
    let end = q.time("dataEndAt", now)?;
    if let (Some(s), Some(e)) = (start, end) {
        params::ordered("dataStartAt", "dataEndAt", s, e)?;
    }
    let window_minutes = q
        .one("windowSize")
        .map(|v| params::window_minutes("windowSize", v))
        .transpose()?;
    let zones = locations
        .iter()
        .map(|l| params::zone("location", l))
        .collect::<Result<Vec<_>, _>>()?;
    let mut forecasts = Vec::with_capacity(zones.len());
    for zone in zones {
        forecasts.push(state.casdk.current(&state, zone, now).await?);
    }
    let mut body = Vec::with_capacity(forecasts.len());
    let mut sources = Vec::with_capacity(forecasts.len());
    for (location, f) in locations.iter().zip(&forecasts) {
        let ask = Ask {
            location,
            requested_at: now,
            start,
            end,
            window_minutes,
            now: Some(now),
            prefix: String::new(),
        };
        body.push(shape(f, &ask)?);
        sources.push(format!("{location}: {}", f.source));
    }
    Ok(with_source(Json(body).into_response(), &state, &sources))
}

async fn forecasts_batch(State(state): State<Arc<AppState>>, body: Bytes) -> Reply {
    let now = state.intensity.now();
    let items = batch_items(
        &body,
        "[{\"location\": \"westeurope\", \"requestedAt\": \"2024-03-01T12:00:00Z\", \"windowSize\": 60}]",
    )?;
    let mut asks = Vec::with_capacity(items.len());
    for item in &items {
        let (location, zone) = item.location()?;
        let requested_at = item.time("requestedAt", now)?;
        let start = item.time("dataStartAt", now)?;
        let end = item.time("dataEndAt", now)?;
        if let (Some(s), Some(e)) = (start, end) {
            params::ordered(&item.name("dataStartAt"), &item.name("dataEndAt"), s, e)?;
        }
        let window_minutes = match item.field("windowSize") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(params::window_minutes(&item.name("windowSize"), s)?),
            Some(v) => Some(params::window_minutes(
                &item.name("windowSize"),
                &v.to_string(),
            )?),
        };
        asks.push((
            zone,
            requested_at,
            Ask {
                location,
                requested_at: requested_at.unwrap_or(now),
                start,
                end,
                window_minutes,
                now: None,
                prefix: item.prefix(),
            },
        ));
    }
    let mut body = Vec::with_capacity(asks.len());
    let mut sources = Vec::with_capacity(asks.len());
    let mut forecasts = Vec::with_capacity(asks.len());
    for (zone, requested_at, _) in &asks {
        forecasts.push(match requested_at {
            Some(t) => state.casdk.as_of(&state, zone, *t, now).await?,
            None => state.casdk.current(&state, zone, now).await?,
        });
    }
    for ((_, requested_at, mut ask), f) in asks.into_iter().zip(&forecasts) {
        // A current forecast (no requestedAt, or a recent one) starts, by default, now.
        if requested_at.is_none_or(|t| t >= now - REFRESH) {
            ask.now = Some(now);
        }
        sources.push(format!("{}: {}", ask.location, f.source));
        body.push(shape_owned(f, ask)?);
    }
    Ok(with_source(Json(body).into_response(), &state, &sources))
}

fn shape_owned<'a>(f: &Forecast, ask: Ask<'a>) -> Result<ForecastDto<'a>, CasdkError> {
    shape(f, &ask)
}

/// The SDK's `ProcessAndValidateForecast` (`src/GSF.CarbonAware/src/Handlers/ForecastHandler.cs`):
/// scope the data to `[dataStartAt, dataEndAt]` (each within the forecast), average it over
/// rolling windows of `windowSize` (default: one data point), and mark every minimal window.
fn shape<'a>(f: &Forecast, ask: &Ask<'a>) -> Result<ForecastDto<'a>, CasdkError> {
    let p = &ask.prefix;
    let (Some(first), Some(last)) = (f.points.first(), f.points.last()) else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "no forecast",
            format!("the forecast for {} has no values", ask.location),
        ));
    };
    let (first_start, last_end) = (first.start, last.end);
    let span_text = || {
        format!(
            "the forecast covers {} to {}",
            fmt_ts(first_start),
            fmt_ts(last_end)
        )
    };
    let default_start = ask
        .now
        .map(|n| n.as_second())
        .and_then(|n| {
            window::overlapping(&f.points, n, n + 1)
                .first()
                .map(|p| p.start)
        })
        .unwrap_or(first_start);
    let data_start = ask.start.map_or(default_start, |t| t.as_second());
    let data_end = ask.end.map_or(last_end, |t| t.as_second());
    if !(first_start..last_end).contains(&data_start) {
        return Err(bad(
            &format!("{p}dataStartAt"),
            &fmt_ts(data_start),
            format!(
                "dataStartAt {} is outside the forecast: {}",
                fmt_ts(data_start),
                span_text()
            ),
            format!(
                "give a dataStartAt from {} to before {}",
                fmt_ts(first_start),
                fmt_ts(last_end)
            ),
        ));
    }
    if !(data_end > first_start && data_end <= last_end) {
        return Err(bad(
            &format!("{p}dataEndAt"),
            &fmt_ts(data_end),
            format!(
                "dataEndAt {} is outside the forecast: {}",
                fmt_ts(data_end),
                span_text()
            ),
            format!(
                "give a dataEndAt after {} and at most {}",
                fmt_ts(first_start),
                fmt_ts(last_end)
            ),
        ));
    }
    if data_start >= data_end {
        return Err(bad(
            &format!("{p}dataStartAt"),
            &fmt_ts(data_start),
            format!(
                "dataStartAt must be before dataEndAt ({})",
                fmt_ts(data_end)
            ),
            "give a dataEndAt later than dataStartAt",
        ));
    }
    let scoped = window::overlapping(&f.points, data_start, data_end);
    let tick = scoped.first().map_or(3600, |p| p.end - p.start);
    let size = ask.window_minutes.map_or(tick, |m| m * 60);
    let windows = window::rolling(scoped, data_start, data_end, size);
    let optimal = window::optimal(&windows);
    let dto = |w: &window::Window| -> Result<DataPointDto<'a>, CasdkError> {
        Ok(DataPointDto {
            location: ask.location,
            timestamp: ts(w.start)?,
            duration: size / 60,
            value: w.value,
        })
    };
    Ok(ForecastDto {
        generated_at: f.generated_at,
        requested_at: ask.requested_at,
        location: ask.location,
        data_start_at: ts(data_start)?,
        data_end_at: ts(data_end)?,
        window_size: size / 60,
        optimal_data_points: optimal.iter().map(dto).collect::<Result<_, _>>()?,
        forecast_data: windows.iter().map(dto).collect::<Result<_, _>>()?,
    })
}

// ---- /emissions/average-carbon-intensity -------------------------------------------------------

/// The SDK's `CarbonIntensityDTO`: `carbonIntensity` gCO2e/kWh.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CarbonIntensityDto<'a> {
    location: &'a str,
    start_time: Timestamp,
    end_time: Timestamp,
    carbon_intensity: f64,
}

async fn average(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Reply {
    let q = Query::parse(q.as_deref());
    let now = state.intensity.now();
    let location = q
        .one("location")
        .ok_or_else(|| missing("location", "location=westeurope"))?;
    let start = q
        .time("startTime", now)?
        .ok_or_else(|| missing("startTime", "startTime=2024-03-01T12:00:00Z"))?;
    let end = q
        .time("endTime", now)?
        .ok_or_else(|| missing("endTime", "endTime=2024-03-01T18:00:00Z"))?;
    let zone = params::zone("location", location)?;
    let (dto, source) = one_average(&state, location, zone, start, end, "", now).await?;
    Ok(with_source(Json(dto).into_response(), &state, &[source]))
}

async fn average_batch(State(state): State<Arc<AppState>>, body: Bytes) -> Reply {
    let now = state.intensity.now();
    let items = batch_items(
        &body,
        "[{\"location\": \"westeurope\", \"startTime\": \"2024-03-01T12:00:00Z\", \"endTime\": \"2024-03-01T18:00:00Z\"}]",
    )?;
    let mut asks = Vec::with_capacity(items.len());
    for item in &items {
        let (location, zone) = item.location()?;
        let start = item.required_time("startTime", now)?;
        let end = item.required_time("endTime", now)?;
        asks.push((location, zone, start, end, item.prefix()));
    }
    let mut out = Vec::with_capacity(asks.len());
    let mut sources = Vec::with_capacity(asks.len());
    for (location, zone, start, end, prefix) in asks {
        let (dto, source) = one_average(&state, location, zone, start, end, &prefix, now).await?;
        out.push(dto);
        sources.push(source);
    }
    Ok(with_source(Json(out).into_response(), &state, &sources))
}

/// The time-weighted mean over `[start, end)` (the SDK's `AverageOverPeriod`); the data must
/// cover the whole period, as the SDK requires.
async fn one_average<'a>(
    state: &AppState,
    location: &'a str,
    zone: &kite_regions::Zone,
    start: Timestamp,
    end: Timestamp,
    prefix: &str,
    now: Timestamp,
) -> Result<(CarbonIntensityDto<'a>, String), CasdkError> {
    params::ordered(
        &format!("{prefix}startTime"),
        &format!("{prefix}endTime"),
        start,
        end,
    )?;
    params::not_too_long(&format!("{prefix}endTime"), start, end)?;
    let window = TimeWindow::new(start, end).map_err(|e| data::internal(&e))?;
    let no_data = |what: String| {
        problem(
            StatusCode::NOT_FOUND,
            "no data",
            format!(
                "{what}; import measured data for {} (`kite intensity import`) or configure a live provider",
                zone.key
            ),
        )
    };
    let Some(found) = data::chain(state, zone, window, now).await? else {
        return Err(no_data(format!(
            "kite has no {} data for {location} ({}) from {start} to {end}",
            state.signal, zone.key
        )));
    };
    let (s, e) = (start.as_second(), end.as_second());
    let Some(value) = window::average(&found.points, s, e) else {
        let covered = window::covered_average(&found.points, s, e).map_or(0, |(_, c)| c);
        return Err(no_data(format!(
            "kite's data for {location} ({}) covers {:.0}% of {start} to {end}, and an average needs all of it",
            zone.key,
            100.0 * covered as f64 / (e - s) as f64
        )));
    };
    Ok((
        CarbonIntensityDto {
            location,
            start_time: start,
            end_time: end,
            carbon_intensity: value,
        },
        format!("{location}: {}", found.source),
    ))
}

// ---- /locations ----------------------------------------------------------------------------------

/// The SDK's location map (`LocationsController`): name → `{latitude, longitude, name}`. kite
/// keeps no coordinates (null, as the SDK shows for Electricity Maps zones); `name` is the kite
/// zone the location resolves to. Every key is a name `location=` accepts.
async fn locations() -> Response {
    static BODY: OnceLock<Bytes> = OnceLock::new();
    let body = BODY.get_or_init(|| {
        #[derive(Serialize)]
        struct Location<'a> {
            latitude: Option<f64>,
            longitude: Option<f64>,
            name: &'a str,
        }
        let registry = kite_regions::Registry::embedded();
        let mut map: BTreeMap<&str, Location> = BTreeMap::new();
        for z in registry.zones() {
            map.insert(
                z.key.as_str(),
                Location {
                    latitude: None,
                    longitude: None,
                    name: z.key.as_str(),
                },
            );
        }
        for (_, region, z) in registry.cloud_regions(None) {
            // Only names that resolve to this zone as written (the first cloud wins a clash).
            if params::resolve(region).is_ok_and(|r| r.key == z.key) {
                map.entry(region).or_insert(Location {
                    latitude: None,
                    longitude: None,
                    name: z.key.as_str(),
                });
            }
        }
        Bytes::from(serde_json::to_vec(&map).unwrap_or_default())
    });
    ([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response()
}

// ---- helpers ---------------------------------------------------------------------------------------

fn ts(secs: i64) -> Result<Timestamp, CasdkError> {
    Timestamp::from_second(secs).map_err(|e| data::internal(&e))
}

fn fmt_ts(secs: i64) -> String {
    Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

/// Adds `X-Kite-Source` (sources joined by ` | `, visible ASCII only) and `X-Kite-Signal`.
fn with_source(mut resp: Response, state: &AppState, sources: &[String]) -> Response {
    let text: String = sources
        .join(" | ")
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(8000)
        .collect();
    if let Ok(v) = HeaderValue::from_str(&text) {
        resp.headers_mut().insert(X_KITE_SOURCE, v);
    }
    if let Ok(v) = HeaderValue::from_str(state.signal.as_str()) {
        resp.headers_mut().insert(X_KITE_SIGNAL, v);
    }
    resp
}

/// A batch body: a JSON array of objects, at most [`MAX_BATCH`].
fn batch_items(body: &[u8], example: &str) -> Result<Vec<BatchItem>, CasdkError> {
    let fix = format!("send a JSON array of requests, e.g. {example}");
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        bad(
            "body",
            "",
            format!("the body is not JSON: {e}"),
            fix.clone(),
        )
    })?;
    let Value::Array(items) = value else {
        return Err(bad("body", "", "the body must be a JSON array", fix));
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(bad(
            "body",
            &items.len().to_string(),
            format!(
                "a batch holds 1 to {MAX_BATCH} requests, not {}",
                items.len()
            ),
            format!("split it into requests of at most {MAX_BATCH}"),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, v)| match v {
            Value::Object(fields) => Ok(BatchItem { index, fields }),
            other => Err(bad(
                &format!("[{index}]"),
                &other.to_string(),
                "each request must be a JSON object",
                fix.clone(),
            )),
        })
        .collect()
}

/// One request of a batch; errors name its fields with its index (`[2].startTime`).
struct BatchItem {
    index: usize,
    fields: serde_json::Map<String, Value>,
}

impl BatchItem {
    fn prefix(&self) -> String {
        format!("[{}].", self.index)
    }

    fn name(&self, field: &str) -> String {
        format!("[{}].{field}", self.index)
    }

    /// A member by name, case-insensitively (ASP.NET's web JSON defaults).
    fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).or_else(|| {
            self.fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// `location`, required, and the zone it resolves to.
    fn location(&self) -> Result<(&str, &'static kite_regions::Zone), CasdkError> {
        let location = self
            .field("location")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing(&self.name("location"), "\"location\": \"westeurope\""))?;
        Ok((location, params::zone(&self.name("location"), location)?))
    }

    /// An optional time member (RFC 3339, or null).
    fn time(&self, field: &str, now: Timestamp) -> Result<Option<Timestamp>, CasdkError> {
        match self.field(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => params::time(&self.name(field), s, now).map(Some),
            Some(other) => Err(bad(
                &self.name(field),
                &other.to_string(),
                format!("{field} must be a time string"),
                format!("give {field} as RFC 3339, e.g. \"{field}\": \"2024-03-01T12:00:00Z\""),
            )),
        }
    }

    fn required_time(&self, field: &str, now: Timestamp) -> Result<Timestamp, CasdkError> {
        self.time(field, now)?.ok_or_else(|| {
            missing(
                &self.name(field),
                &format!("\"{field}\": \"2024-03-01T12:00:00Z\""),
            )
        })
    }
}
