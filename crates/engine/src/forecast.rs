//! kite's own forecast, for `kite forecast` and as a step of the intensity fallback chain: the
//! latest hourly history kite holds for a zone (measured data in the store, else the embedded
//! dataset), and a forecast from it labelled with its model, issue time and history source.
//!
//! In the fallback chain (`live → store → forecast → embedded`) the forecast is made only from
//! *measured* data in the store, issued at the end of that data (never after `now`), and fills
//! only what live providers and stored forecasts left uncovered. The embedded history ends years
//! ago, so a forecast from it never reaches a current window; it serves `kite forecast` offline,
//! labelled as such.

use crate::error::EngineError;
use kite_core::{
    IntensitySeries, Provenance, Resolution, Signal, SignalMeta, SignedDuration, TimeWindow,
    Timestamp, ZoneKey,
};
use kite_forecast::{ForecastOutput, ForecastRequest, HourlyHistory};
use kite_store::Store;

/// How much history a forecast is given: a year and a bit covers the learned model's
/// training window and the ensemble's calibration days.
pub const LOOKBACK_DAYS: i64 = 400;

/// The longest horizon kite forecasts (the models' common limit).
pub const MAX_HORIZON_HOURS: usize = 96;

/// The model behind the `forecast` step of the fallback chain: kite's best single model on the
/// Jan–Jun 2021 validation window (docs/forecasting.md), and one fit (~20 ms) instead of the
/// ensemble's ~60, so a plan or a `kite run` does not pay a second for its signal.
pub const CHAIN_MODEL: &str = "learned";

/// The history a forecast starts from.
#[derive(Debug, Clone)]
pub struct ForecastHistory {
    /// Hourly values, ending at the last hour with data.
    pub history: HourlyHistory,
    /// Where it came from, e.g. `store: electricity_maps (measured)` or
    /// `embedded: carboncast-direct (offline dataset, 2019-01-01 to 2023-01-04)`.
    pub source: String,
    /// True when it is the embedded dataset rather than recent data in the store.
    pub embedded: bool,
}

/// The latest *measured* hourly history in the store for `zone` and `signal`, up to `not_after`.
/// `None` if the store has none.
pub fn stored_history(
    store: &Store,
    store_path: &str,
    zone: &ZoneKey,
    signal: Signal,
    not_after: Timestamp,
) -> Result<Option<ForecastHistory>, EngineError> {
    let store_err = |e| EngineError::Store {
        path: store_path.to_string(),
        source: Box::new(e),
    };
    // Runs on every request the forecast step sees: an indexed lookup, not the store's catalog.
    let extents = store.measured_extents(zone, signal).map_err(store_err)?;
    let Some(entry) = extents
        .iter()
        .filter(|e| e.resolution <= Resolution::HOUR && e.first < not_after)
        .max_by_key(|e| e.last_end.min(not_after))
    else {
        return Ok(None);
    };
    let end = entry.last_end.min(not_after);
    let start = (end - SignedDuration::from_hours(24 * LOOKBACK_DAYS)).max(entry.first);
    let Ok(window) = TimeWindow::new(start, end) else {
        return Ok(None);
    };
    let series = store
        .query(zone, signal, window, Some(&entry.source))
        .map_err(store_err)?;
    let Some(best) = series
        .iter()
        .filter(|s| matches!(s.meta().provenance, Provenance::Measured))
        .filter(|s| s.meta().source == entry.source)
        .max_by_key(|s| s.len())
    else {
        return Ok(None);
    };
    match HourlyHistory::from_series(best) {
        Ok(history) => Ok(Some(ForecastHistory {
            history,
            source: format!("store: {} (measured)", entry.source),
            embedded: false,
        })),
        Err(_) => Ok(None),
    }
}

/// The embedded history of `zone` and `signal` that ends last, among series whose source starts
/// with `source` (any when `None`): the part inside `window`, else its last [`LOOKBACK_DAYS`].
pub fn embedded_history(
    zone: &ZoneKey,
    signal: Signal,
    source: Option<&str>,
    window: Option<TimeWindow>,
) -> Option<ForecastHistory> {
    let entry = kite_dataset::for_zone(zone, signal)
        .into_iter()
        .filter(|e| e.resolution <= Resolution::HOUR)
        .filter(|e| source.is_none_or(|s| e.source.starts_with(s)))
        .max_by_key(|e| e.span.end())?;
    let window = match window {
        Some(w) => w,
        None => {
            let end = entry.span.end();
            let start =
                (end - SignedDuration::from_hours(24 * LOOKBACK_DAYS)).max(entry.span.start());
            TimeWindow::new(start, end).ok()?
        }
    };
    let series = kite_dataset::load(entry).slice(window);
    let history = HourlyHistory::from_series(&series).ok()?;
    Some(ForecastHistory {
        source: format!(
            "embedded: {} (offline dataset, {} to {})",
            entry.source,
            entry.span.start().strftime("%Y-%m-%d"),
            entry.span.end().strftime("%Y-%m-%d"),
        ),
        history,
        embedded: true,
    })
}

/// The point forecast of [`CHAIN_MODEL`] from the end of `from`, as a labelled intensity series
/// (no intervals: see [`forecast_series`] for those). Returns the series and the model label.
pub fn point_series(
    zone: &ZoneKey,
    signal: Signal,
    from: &ForecastHistory,
    horizon: usize,
) -> Result<(IntensitySeries, String), EngineError> {
    let issue_at = from.history.end();
    let (label, point) =
        kite_forecast::point_forecast(CHAIN_MODEL, &from.history, issue_at, horizon)
            .map_err(|e| EngineError::Forecast(e.to_string()))?;
    let series = labelled(zone, signal, from, issue_at, &label, &point)?;
    Ok((series, label))
}

fn labelled(
    zone: &ZoneKey,
    signal: Signal,
    from: &ForecastHistory,
    issue_at: Timestamp,
    model: &str,
    point: &[f64],
) -> Result<IntensitySeries, EngineError> {
    let meta = SignalMeta {
        signal,
        source: format!("kite forecast from {}", from.source),
        fetched_at: None,
        provenance: Provenance::Forecast {
            issued_at: Some(issue_at),
            model: format!("kite {model}"),
        },
    };
    let points: Vec<(Timestamp, f64)> = point
        .iter()
        .enumerate()
        .map(|(i, v)| (issue_at + SignedDuration::from_hours(i as i64), *v))
        .collect();
    IntensitySeries::from_regular(zone.clone(), meta, Resolution::HOUR, points)
        .map_err(|e| EngineError::Forecast(e.to_string()))
}

/// A forecast from `from`, issued at `issue_at` (default: the end of the history), as an
/// intensity series labelled `Provenance::Forecast` with kite's model name and issue time.
pub fn forecast_series(
    zone: &ZoneKey,
    signal: Signal,
    from: &ForecastHistory,
    issue_at: Option<Timestamp>,
    horizon: usize,
    model: &str,
) -> Result<(IntensitySeries, ForecastOutput), EngineError> {
    let issue_at = issue_at.unwrap_or_else(|| from.history.end());
    let output = kite_forecast::forecast(&ForecastRequest {
        history: &from.history,
        exogenous: None,
        issue_at,
        horizon,
        model,
    })
    .map_err(|e| EngineError::Forecast(e.to_string()))?;
    let series = labelled(
        zone,
        signal,
        from,
        output.start,
        &output.model,
        &output.point,
    )?;
    Ok((series, output))
}
