//! The grid page's data: every zone's intensity now (the map and the table), and one zone's
//! last and next 48 hours with kite's forecast and its interval band.

use super::{TTL_SECS, internal};
use crate::{AppState, Problem};
use axum::http::StatusCode;
use kite_core::{Clock, Provenance, Resolution, SignalMeta, SignedDuration, TimeWindow, Timestamp};
use kite_engine::{
    IntensityRequest, IntensityService, SourceKind, forecast_series, intensity_at, stored_history,
};
use kite_regions::Registry;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// Hours of history and of forecast a zone's chart shows.
const CHART_HOURS: i64 = 48;

/// The model of the zone chart's forecast: `kite forecast`'s default (the ensemble, with
/// calibrated intervals).
const FORECAST_MODEL: &str = "auto";

/// Approximate centre of each zone (degrees), for the map only: the registry has no
/// coordinates, and a dot needs nothing finer.
static COORDS: LazyLock<HashMap<&'static str, (f64, f64)>> = LazyLock::new(|| {
    include_str!("../../assets/zone-coords.csv")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split(',');
            let key = f.next()?;
            let lat = f.next()?.trim().parse().ok()?;
            let lon = f.next()?.trim().parse().ok()?;
            Some((key, (lat, lon)))
        })
        .collect()
});

/// The dashboard's clock is the intensity service's, so a test's fake clock holds here too.
struct ServiceClock(Arc<IntensityService>);

impl Clock for ServiceClock {
    fn now(&self) -> Timestamp {
        self.0.now()
    }
}

/// One zone on the map.
#[derive(Serialize)]
struct ZoneNow {
    key: String,
    name: String,
    country: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    /// gCO2e/kWh in the current hour; `None`: no local source has a value.
    gco2_per_kwh: Option<f64>,
    /// `measured`, `forecast` or `estimated`.
    provenance: Option<&'static str>,
    /// The series' source, e.g. `electricity_maps` or `annual mean (embedded)`.
    source: Option<String>,
    /// How a forecast or estimate was made (model and issue time, or method).
    method: Option<String>,
    /// Start of the interval the value describes.
    at: Option<Timestamp>,
    /// When kite fetched or imported it (`None`: built into kite).
    fetched_at: Option<Timestamp>,
    /// Why there is no value.
    note: Option<String>,
}

fn method(meta: &SignalMeta) -> Option<String> {
    match &meta.provenance {
        Provenance::Measured => None,
        Provenance::Forecast { issued_at, model } => Some(match issued_at {
            Some(t) => format!("{model}, issued {}", t.strftime("%Y-%m-%d %H:%MZ")),
            None => model.clone(),
        }),
        Provenance::Estimated { method } => Some(method.clone()),
    }
}

/// The grid summary, computed at most once a minute.
pub(super) async fn summary(state: &Arc<AppState>) -> Result<Arc<Value>, Problem> {
    let now = state.intensity.now();
    let mut slot = state.dashboard.grid.lock().await;
    if let Some((at, v)) = slot.as_ref() {
        let age = now.as_second() - at.as_second();
        if (0..TTL_SECS).contains(&age) {
            return Ok(v.clone());
        }
    }
    let st = state.clone();
    let handle = tokio::runtime::Handle::current();
    let value = tokio::task::spawn_blocking(move || compute_summary(&st, &handle, now))
        .await
        .map_err(|e| internal("the grid summary", e))?;
    let value = Arc::new(value);
    *slot = Some((now, value.clone()));
    Ok(value)
}

fn compute_summary(
    state: &Arc<AppState>,
    handle: &tokio::runtime::Handle,
    now: Timestamp,
) -> Value {
    // Local sources only: a live provider asked for every zone every minute would spend the
    // user's API quota on a map. Live values fetched for other requests are in the store.
    let local = IntensityService::new(
        Vec::new(),
        kite_store::Store::open(&state.database).map_err(|e| e.to_string()),
        vec![
            SourceKind::Store,
            SourceKind::Forecast,
            SourceKind::Embedded,
        ],
        Arc::new(ServiceClock(state.intensity.clone())),
    );
    let hour = Resolution::HOUR.floor(now);
    let window = TimeWindow::new(hour, hour + SignedDuration::from_hours(1));
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let zones: Vec<ZoneNow> = Registry::embedded()
        .zones()
        .map(|z| {
            let coords = COORDS.get(z.key.as_str()).copied();
            let mut row = ZoneNow {
                key: z.key.to_string(),
                name: z.name.clone(),
                country: z.country.clone(),
                lat: coords.map(|c| c.0),
                lon: coords.map(|c| c.1),
                gco2_per_kwh: None,
                provenance: None,
                source: None,
                method: None,
                at: None,
                fetched_at: None,
                note: None,
            };
            let answer = window.as_ref().map_err(ToString::to_string).and_then(|w| {
                let req = IntensityRequest {
                    region: z.key.to_string(),
                    window: *w,
                    signal: state.signal,
                    resolution: Some(Resolution::HOUR),
                    source: None,
                };
                handle
                    .block_on(local.intensity(&req))
                    .map_err(|e| e.to_string())
            });
            match answer.map(|a| intensity_at(&a.segments, now)) {
                Ok(Some(c)) => {
                    row.gco2_per_kwh = Some(c.point.value.0);
                    row.provenance = Some(c.meta.provenance.label());
                    row.source = Some(c.meta.source.clone());
                    row.method = method(&c.meta);
                    row.at = Some(c.point.start);
                    row.fetched_at = c.meta.fetched_at;
                }
                Ok(None) => row.note = Some("no value for the current hour".into()),
                Err(e) => row.note = e.lines().next().map(str::to_owned),
            }
            *counts.entry(row.provenance.unwrap_or("none")).or_default() += 1;
            row
        })
        .collect();
    json!({
        "generated_at": now,
        "next_refresh_at": now + SignedDuration::from_secs(TTL_SECS),
        "signal": state.signal.to_string(),
        "hour": hour,
        "sources": "store, then kite's forecast from measured data in the store, then embedded data \
                    (live providers are not asked for the map; their values reach it through the store)",
        "counts": counts,
        "zones": zones,
    })
}

fn unknown_zone(name: &str, e: impl std::fmt::Display) -> Problem {
    Problem {
        field: Some("zone".into()),
        value: Some(name.into()),
        fix: Some("use a zone key from the grid table, or list them with `kite regions`".into()),
        ..Problem::new(StatusCode::NOT_FOUND, "unknown zone", e.to_string())
    }
}

/// One zone's chart: the last and next [`CHART_HOURS`] through the full fallback chain, and
/// kite's forecast with its interval band from the measured data in the store.
pub(super) async fn zone(state: &Arc<AppState>, name: &str) -> Result<Arc<Value>, Problem> {
    let zone = state
        .intensity
        .resolve(name)
        .map_err(|e| unknown_zone(name, e))?;
    let now = state.intensity.now();
    let key = format!("zone:{}", zone.key);
    if let Some(v) = state.dashboard.get(&key, now) {
        return Ok(v);
    }
    let hour = Resolution::HOUR.floor(now);
    let window = TimeWindow::new(
        hour - SignedDuration::from_hours(CHART_HOURS),
        hour + SignedDuration::from_hours(CHART_HOURS),
    )
    .map_err(|e| internal("the chart window", e))?;
    let req = IntensityRequest {
        region: zone.key.to_string(),
        window,
        signal: state.signal,
        resolution: Some(Resolution::HOUR),
        source: None,
    };
    let (segments, notes) = match state.intensity.intensity(&req).await {
        Ok(a) => (
            a.segments
                .iter()
                .map(|s| {
                    json!({
                        "provenance": s.meta().provenance.label(),
                        "source": s.meta().source,
                        "method": method(s.meta()),
                        "fetched_at": s.meta().fetched_at,
                        "points": s.points().iter().map(|p| json!([p.start, p.value.0])).collect::<Vec<_>>(),
                    })
                })
                .collect::<Vec<_>>(),
            a.notes
                .iter()
                .map(|n| format!("{}: {}", n.source, n.message))
                .collect::<Vec<_>>(),
        ),
        Err(e) => (Vec::new(), vec![e.to_string()]),
    };
    let forecast = forecast(state, &zone.key, now).await?;
    let value = Arc::new(json!({
        "zone": zone.key.to_string(),
        "name": zone.name,
        "signal": state.signal.to_string(),
        "generated_at": now,
        "window": {"start": window.start(), "end": window.end()},
        "segments": segments,
        "notes": notes,
        "forecast": forecast,
    }));
    state.dashboard.put(key, value.clone(), now, TTL_SECS);
    Ok(value)
}

/// kite's forecast with intervals from the latest measured data in the store, or why there is
/// none. Kept until new data moves its issue time (or for an hour).
async fn forecast(
    state: &Arc<AppState>,
    zone: &kite_core::ZoneKey,
    now: Timestamp,
) -> Result<Value, Problem> {
    let database = state.database.clone();
    let signal = state.signal;
    let zone = zone.clone();
    let cache = state.clone();
    let made = tokio::task::spawn_blocking(move || -> Result<Arc<Value>, String> {
        let store = kite_store::Store::open(&database).map_err(|e| e.to_string())?;
        let path = database.display().to_string();
        let Some(history) =
            stored_history(&store, &path, &zone, signal, now).map_err(|e| e.to_string())?
        else {
            return Ok(Arc::new(json!({
                "available": false,
                "reason": format!(
                    "no measured {signal} data for {zone} in kite's store: kite forecasts (with \
                     intervals) from measured data; import some (`kite intensity import FILE \
                     --region {zone}`) or configure a live provider. The future shown is the \
                     fallback chain's answer."
                ),
            })));
        };
        let issue = history.history.end();
        let key = format!("forecast:{zone}:{signal}:{}", issue.as_second());
        if let Some(v) = cache.dashboard.get(&key, now) {
            return Ok(v);
        }
        let until = Resolution::HOUR.floor(now) + SignedDuration::from_hours(CHART_HOURS);
        let hours = ((until.as_second() - issue.as_second() + 3599) / 3600)
            .clamp(1, kite_engine::MAX_HORIZON_HOURS as i64) as usize;
        let (_, out) = forecast_series(&zone, signal, &history, None, hours, FORECAST_MODEL)
            .map_err(|e| e.to_string())?;
        let points: Vec<Value> = out
            .point
            .iter()
            .enumerate()
            .map(|(i, v)| {
                json!([
                    out.start + SignedDuration::from_hours(i as i64),
                    v,
                    out.p10.get(i),
                    out.p90.get(i)
                ])
            })
            .collect();
        let value = Arc::new(json!({
            "available": true,
            "model": out.model,
            "issued_at": out.issue_at,
            "history": history.source,
            "intervals": out.intervals,
            "notes": out.notes,
            "points": points,
        }));
        cache.dashboard.put(key, value.clone(), now, 3600);
        Ok(value)
    })
    .await
    .map_err(|e| internal("a forecast", e))?;
    Ok(match made {
        Ok(v) => (*v).clone(),
        Err(e) => json!({"available": false, "reason": format!("kite's forecast failed: {e}")}),
    })
}
