//! Where the SDK endpoints' numbers come from, and the per-zone forecast cache.
//!
//! - History and the current value: kite's fallback chain (`IntensityService::intensity`: live
//!   providers, the store, kite's own forecast, embedded data), each segment with its source.
//! - The current forecast: the same chain over the next [`HORIZON_HOURS`] from the start of the
//!   current hour, so a provider forecast (live or stored) comes first, then kite's own forecast
//!   from the latest measured data, then the typical-week estimate, each labelled. Made at most
//!   once per zone every [`REFRESH`] and shared by every request.
//! - A forecast "as requested at" an earlier instant: kite's own model fitted on the measured
//!   history in the store up to that instant (else the embedded history), issued where that
//!   history ends. The SDK can only replay forecasts a provider archived; kite can remake its own.

use super::params::{CasdkError, problem};
use super::window::Span;
use crate::AppState;
use axum::http::StatusCode;
use kite_core::{
    IntensitySeries, Provenance, Resolution, SignalMeta, SignedDuration, TimeWindow, Timestamp,
    ZoneKey,
};
use kite_engine::{EngineError, IntensityRequest};
use kite_regions::Zone;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// How far ahead of now the current forecast reaches, at least.
pub const HORIZON_HOURS: i64 = 72;

/// How long a zone's forecast is reused before it is made again.
pub const REFRESH: SignedDuration = SignedDuration::from_mins(5);

/// kite's model for forecasts "as requested at": the fallback chain's model
/// (`kite_engine`'s `CHAIN_MODEL`), so a replayed forecast is the one the chain would have made.
const MODEL: &str = "learned";

/// Past forecasts kept at most (each a few kB); the map is emptied when it is full.
const MAX_PAST: usize = 4096;

/// A forecast (or, for the emissions endpoints, any intensity series) ready for the SDK shapes.
#[derive(Debug, Clone)]
pub struct Forecast {
    /// When the forecast was issued (the earliest issue time of its forecast parts), or when kite
    /// assembled it if no part is a forecast (estimates only).
    pub generated_at: Timestamp,
    /// Sorted, non-overlapping intervals.
    pub points: Vec<Span>,
    /// Where the values came from, one entry per segment, for the `X-Kite-Source` header.
    pub source: String,
}

struct Cached {
    made: Timestamp,
    forecast: Arc<Forecast>,
}

/// The SDK endpoints' forecasts: the current one per zone and those "as requested at" an hour.
#[derive(Default)]
pub struct Cache {
    current: RwLock<HashMap<ZoneKey, Cached>>,
    past: RwLock<HashMap<(ZoneKey, i64), Cached>>,
    /// One refresh at a time per zone: concurrent requests for a stale zone wait for it instead
    /// of each making the forecast again.
    refreshing: Mutex<HashMap<ZoneKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl Cache {
    /// The current forecast of `zone`, made at most once per [`REFRESH`].
    pub async fn current(
        &self,
        state: &AppState,
        zone: &Zone,
        now: Timestamp,
    ) -> Result<Arc<Forecast>, CasdkError> {
        if let Some(f) = fresh(&self.current, &zone.key, now) {
            return Ok(f);
        }
        let lock = self.lock(&zone.key);
        // While another request remakes a stale forecast, the others keep serving the old one
        // rather than queueing behind it.
        let _guard = match lock.try_lock() {
            Ok(guard) => guard,
            Err(_) => match self.any_current(&zone.key) {
                Some(stale) => return Ok(stale),
                None => lock.lock().await,
            },
        };
        if let Some(f) = fresh(&self.current, &zone.key, now) {
            return Ok(f);
        }
        let forecast = Arc::new(current_forecast(state, zone, now).await?);
        self.current
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                zone.key.clone(),
                Cached {
                    made: now,
                    forecast: forecast.clone(),
                },
            );
        Ok(forecast)
    }

    /// The forecast kite would have made at `requested_at`; the current one when that is less
    /// than [`REFRESH`] ago (or in the future).
    pub async fn as_of(
        &self,
        state: &AppState,
        zone: &Zone,
        requested_at: Timestamp,
        now: Timestamp,
    ) -> Result<Arc<Forecast>, CasdkError> {
        if requested_at >= now - REFRESH {
            return self.current(state, zone, now).await;
        }
        // The hour that had ended by `requested_at`: the last value known then.
        let cutoff = Resolution::HOUR.floor(requested_at);
        let key = (zone.key.clone(), cutoff.as_second());
        if let Some(f) = fresh(&self.past, &key, now) {
            return Ok(f);
        }
        let lock = self.lock(&zone.key);
        let _guard = lock.lock().await;
        if let Some(f) = fresh(&self.past, &key, now) {
            return Ok(f);
        }
        let database = state.database.clone();
        let signal = state.signal;
        let zone_key = zone.key.clone();
        let made = tokio::task::spawn_blocking(move || {
            past_forecast(&database, &zone_key, signal, cutoff, now)
        })
        .await
        .map_err(|e| internal(&e))??;
        let forecast = Arc::new(made);
        let mut past = self.past.write().unwrap_or_else(|e| e.into_inner());
        if past.len() >= MAX_PAST {
            past.clear();
        }
        past.insert(
            key,
            Cached {
                made: now,
                forecast: forecast.clone(),
            },
        );
        Ok(forecast)
    }

    fn any_current(&self, zone: &ZoneKey) -> Option<Arc<Forecast>> {
        let map = self.current.read().unwrap_or_else(|e| e.into_inner());
        map.get(zone).map(|c| c.forecast.clone())
    }

    fn lock(&self, zone: &ZoneKey) -> Arc<tokio::sync::Mutex<()>> {
        self.refreshing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(zone.clone())
            .or_default()
            .clone()
    }
}

fn fresh<K: std::hash::Hash + Eq>(
    map: &RwLock<HashMap<K, Cached>>,
    key: &K,
    now: Timestamp,
) -> Option<Arc<Forecast>> {
    let map = map.read().unwrap_or_else(|e| e.into_inner());
    map.get(key)
        .filter(|c| now >= c.made && now - REFRESH < c.made)
        .map(|c| c.forecast.clone())
}

/// kite's fallback chain over `window` for `zone`, as one [`Forecast`]. `None` when no source has
/// any value (the reasons are logged).
pub async fn chain(
    state: &AppState,
    zone: &Zone,
    window: TimeWindow,
    now: Timestamp,
) -> Result<Option<Forecast>, CasdkError> {
    let req = IntensityRequest {
        region: zone.key.to_string(),
        window,
        signal: state.signal,
        resolution: None,
        source: None,
    };
    match state.intensity.intensity(&req).await {
        Ok(answer) => Ok(Some(from_segments(&answer.segments, now))),
        Err(EngineError::NoData { reasons, .. }) => {
            tracing::debug!("no data for {} in {window}:\n{reasons}", zone.key);
            Ok(None)
        }
        Err(e) => Err(internal(&e)),
    }
}

async fn current_forecast(
    state: &AppState,
    zone: &Zone,
    now: Timestamp,
) -> Result<Forecast, CasdkError> {
    // One hour more than the horizon, so that for the whole time this copy is served it reaches
    // at least HORIZON_HOURS past any `now` (a client asking for now..now+72h is never refused).
    let start = Resolution::HOUR.floor(now);
    let window = TimeWindow::new(start, start + SignedDuration::from_hours(HORIZON_HOURS + 1))
        .map_err(|e| internal(&e))?;
    chain(state, zone, window, now).await?.ok_or_else(|| {
        problem(
            StatusCode::NOT_FOUND,
            "no forecast",
            format!(
                "kite has no {} data for {} to forecast from, and no estimate either; import \
                 history (`kite intensity import`) or configure a live provider",
                state.signal, zone.key
            ),
        )
    })
}

/// kite's forecast from the history known at `cutoff`: measured data in the store, else the
/// embedded dataset; issued where that history ends.
fn past_forecast(
    database: &std::path::Path,
    zone: &ZoneKey,
    signal: kite_core::Signal,
    cutoff: Timestamp,
    now: Timestamp,
) -> Result<Forecast, CasdkError> {
    let path = database.display().to_string();
    let stored = match kite_store::Store::open(database) {
        Ok(store) => kite_engine::stored_history(&store, &path, zone, signal, cutoff)
            .map_err(|e| internal(&e))?,
        Err(e) => {
            tracing::warn!("store {path} not readable for a past forecast: {e}");
            None
        }
    };
    let history = stored.or_else(|| {
        let start = cutoff
            .checked_sub(SignedDuration::from_hours(24 * kite_engine::LOOKBACK_DAYS))
            .ok()?;
        let window = TimeWindow::new(start, cutoff).ok()?;
        kite_engine::embedded_history(zone, signal, None, Some(window))
    });
    let Some(history) = history else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "no history",
            format!(
                "kite has no measured {signal} history for {zone} before {cutoff} to make the \
                 forecast of that time from; import history covering it (`kite intensity \
                 import`), or leave requestedAt out for the current forecast"
            ),
        ));
    };
    let hours = usize::try_from(HORIZON_HOURS).unwrap_or(kite_engine::MAX_HORIZON_HOURS);
    let (series, _) = kite_engine::forecast_series(zone, signal, &history, None, hours, MODEL)
        .map_err(|e| {
            problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no forecast",
                format!("kite could not forecast {zone} as of {cutoff}: {e}"),
            )
        })?;
    Ok(from_segments(&[series], now))
}

/// The points of `segments` as spans, and their provenance in words.
fn from_segments(segments: &[IntensitySeries], now: Timestamp) -> Forecast {
    let mut points: Vec<Span> = segments
        .iter()
        .flat_map(|s| s.points())
        .map(|p| Span {
            start: p.start.as_second(),
            end: p.end().as_second(),
            value: p.value.0,
        })
        .collect();
    points.sort_by_key(|p| p.start);
    let generated_at = segments
        .iter()
        .filter_map(|s| match s.meta().provenance {
            Provenance::Forecast { issued_at, .. } => issued_at,
            _ => None,
        })
        .min()
        .unwrap_or(now);
    let source = segments
        .iter()
        .filter_map(|s| describe(s.meta(), s, now))
        .collect::<Vec<_>>()
        .join("; ");
    Forecast {
        generated_at,
        points,
        source,
    }
}

/// `source (provenance) from–to`, with the age of the newest value where it has one.
fn describe(meta: &SignalMeta, series: &IntensitySeries, now: Timestamp) -> Option<String> {
    let span = series.span()?;
    let age = series
        .points()
        .last()
        .and_then(|p| kite_engine::age_secs(p, meta, now))
        .map(|s| format!(", {}", age_words(s)))
        .unwrap_or_default();
    Some(format!(
        "{}: {} ({}{age}) {}/{}",
        meta.signal,
        meta.source,
        meta.provenance,
        span.start(),
        span.end()
    ))
}

fn age_words(secs: i64) -> String {
    match secs {
        s if s < 0 => "issued after now".into(),
        s if s < 3600 => format!("{} min old", s / 60),
        s if s < 2 * 86_400 => format!("{} h old", s / 3600),
        s => format!("{} days old", s / 86_400),
    }
}

/// A 500 whose detail stays in the log.
pub fn internal(e: &dyn std::fmt::Display) -> CasdkError {
    tracing::error!("carbon aware sdk endpoint: {e}");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
        "kite could not read its intensity data; see the kite serve log",
    )
}
