//! The UK National Grid (NESO) Carbon Intensity API: Great Britain, national or one of its
//! regions, half-hourly, gCO2/kWh, no key.
//!
//! National: `/intensity` (now), `/intensity/{from}/{to}` (at most 14 days per request, so
//! longer windows are split), `/intensity/{from}/fw48h`; items are
//! `{"from", "to", "intensity": {"forecast", "actual", "index"}}`. `actual` is null until
//! metered data arrive, and then the value is the forecast, labelled as such.
//! Regional: `/regional/regionid/{id}`, `/regional/intensity/{from}/{to}/regionid/{id}`,
//! `/regional/intensity/{from}/fw48h/regionid/{id}`; `data` holds one region object (a list of
//! one on some endpoints, an object on others: both are accepted) whose own `data` has items
//! with `intensity.forecast` only, so regional values are always forecasts.
//!
//! Times go in the path as `2018-01-20T12:00Z` (minutes, UTC). Answers may include the period
//! ending at `from`; everything is filtered to the asked window.
//!
//! Signal: the API's intensities use operational (combustion) emission factors per fuel, with
//! no upstream life-cycle emissions, so they are labelled average-direct and kite refuses to
//! present them as lifecycle values.

use crate::http::{Auth, BuildError, HttpClient, HttpPolicy};
use crate::provider::{Fetched, IntensityProvider, ProviderError, Query, Unsupported};
use crate::window::{PointSet, chunks, meta, split_at_now};
use kite_core::{Provenance, Resolution, Signal, SignedDuration, TimeWindow, Timestamp};
use serde::Deserialize;

const NAME: &str = "uk_carbon_intensity";
const KEY_SOURCE: &str = "no key (this API is keyless: a 401/403 comes from a proxy or a wrong base_url in [providers.uk_carbon_intensity])";
/// The documented per-request limit of `{from}/{to}`.
const RANGE_MAX: SignedDuration = SignedDuration::from_hours(24 * 14);
/// How far `fw48h` reaches.
const FORWARD: SignedDuration = SignedDuration::from_hours(48);
/// Region ids the API knows: 1–14 DNO regions, 15 England, 16 Scotland, 17 Wales, 18 GB.
const REGION_IDS: std::ops::RangeInclusive<u8> = 1..=18;

/// How to reach the UK Carbon Intensity API.
#[derive(Debug, Clone)]
pub struct UkCarbonIntensityConfig {
    /// API root; [`UkCarbonIntensityConfig::DEFAULT_BASE_URL`] in production.
    pub base_url: String,
    /// Timeouts and retries.
    pub http: HttpPolicy,
}

impl UkCarbonIntensityConfig {
    /// The public API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.carbonintensity.org.uk";

    /// The public API with default HTTP policy. (Not `Default`: config structs are spelled
    /// out where they are built.)
    pub fn public_api() -> UkCarbonIntensityConfig {
        UkCarbonIntensityConfig {
            base_url: Self::DEFAULT_BASE_URL.into(),
            http: HttpPolicy::default(),
        }
    }
}

/// The UK Carbon Intensity provider.
#[derive(Debug)]
pub struct UkCarbonIntensityProvider {
    http: HttpClient,
}

/// National or one region.
#[derive(Debug, Clone, Copy)]
enum Area {
    National,
    Region(u8),
}

impl UkCarbonIntensityProvider {
    /// Checks the config and builds the provider; no network I/O.
    pub fn new(config: UkCarbonIntensityConfig) -> Result<UkCarbonIntensityProvider, BuildError> {
        Ok(UkCarbonIntensityProvider {
            http: HttpClient::new(NAME, KEY_SOURCE, &config.base_url, config.http)?,
        })
    }

    /// Periods for `{from}/{to}` (or `{from}/fw48h` when `to` is `None`).
    async fn periods(
        &self,
        area: Area,
        from: Timestamp,
        to: Option<Timestamp>,
    ) -> Result<Vec<WirePeriod>, ProviderError> {
        let to = to.map_or_else(|| "fw48h".to_string(), path_time);
        match area {
            Area::National => {
                let path = format!("/intensity/{}/{to}", path_time(from));
                Ok(self
                    .http
                    .get_json::<WireNational>(&path, &[], Auth::None)
                    .await?
                    .data)
            }
            Area::Region(id) => {
                let path = format!("/regional/intensity/{}/{to}/regionid/{id}", path_time(from));
                let res: WireRegional = self.http.get_json(&path, &[], Auth::None).await?;
                region_periods(&path, res, id)
            }
        }
    }
}

/// `2018-01-20T12:00Z`: the API's path form (minutes, UTC).
fn path_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%MZ").to_string()
}

/// `t` rounded up to a whole minute, since path times have no seconds.
fn ceil_minute(t: Timestamp) -> Timestamp {
    let s = t.as_second();
    let up = s.div_euclid(60) * 60
        + if s.rem_euclid(60) == 0 && t.subsec_nanosecond() == 0 {
            0
        } else {
            60
        };
    Timestamp::from_second(up).unwrap_or(t)
}

/// The periods of region `id`, accepting `data` as an object or a list of objects.
fn region_periods(path: &str, res: WireRegional, id: u8) -> Result<Vec<WirePeriod>, ProviderError> {
    let regions = match res.data {
        OneOrMany::One(r) => vec![r],
        OneOrMany::Many(rs) => rs,
    };
    let mut out = Vec::new();
    for r in regions {
        match r.regionid {
            Some(found) if found != u64::from(id) => {
                return Err(ProviderError::BadResponse {
                    provider: NAME,
                    detail: format!("GET {path}: asked for region {id}, got region {found}"),
                });
            }
            _ => out.extend(r.data),
        }
    }
    Ok(out)
}

fn area(query: &Query) -> Result<Area, Unsupported> {
    match query.uk_region_id {
        Some(id) if REGION_IDS.contains(&id) => Ok(Area::Region(id)),
        Some(id) => Err(Unsupported {
            provider: NAME,
            reason: format!("region id {id} is not a UK Carbon Intensity region (1 to 18)"),
        }),
        None if query.zone.as_str() == "GB" => Ok(Area::National),
        None => Err(Unsupported {
            provider: NAME,
            reason: format!(
                "zone {} is not Great Britain; this API covers GB (zone GB) and its regions only",
                query.zone
            ),
        }),
    }
}

#[async_trait::async_trait]
impl IntensityProvider for UkCarbonIntensityProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn supports(&self, query: &Query) -> Result<(), Unsupported> {
        if query.signal != Signal::AVERAGE_DIRECT {
            return Err(Unsupported {
                provider: NAME,
                reason: format!(
                    "the UK Carbon Intensity API publishes average intensities with direct \
                     (operational) factors, not {}; ask for average-direct",
                    query.signal
                ),
            });
        }
        area(query).map(|_| ())
    }

    async fn fetch_with_notes(&self, query: &Query) -> Result<Fetched, ProviderError> {
        let no_data = |u: Unsupported| ProviderError::NoData {
            provider: NAME,
            detail: u.reason,
        };
        self.supports(query).map_err(no_data)?;
        let area = area(query).map_err(no_data)?;
        let (past, future) = split_at_now(query.window, query.now);
        let mut periods = Vec::new();
        let mut notes = Vec::new();

        if let Some(past) = past {
            let from = Resolution::HALF_HOUR.floor(past.start());
            let to = ceil_minute(past.end());
            if let Ok(span) = TimeWindow::new(from, to) {
                for chunk in chunks(span, RANGE_MAX) {
                    periods.extend(self.periods(area, chunk.start(), Some(chunk.end())).await?);
                }
            }
        }
        if let Some(future) = future {
            let from = Resolution::HALF_HOUR.floor(future.start());
            periods.extend(self.periods(area, from, None).await?);
            if future.end() > from + FORWARD {
                notes.push(format!(
                    "uk_carbon_intensity: forecasts reach 48 h ahead; nothing after {}",
                    from + FORWARD
                ));
            }
        }

        let mut measured = PointSet::default();
        let mut forecast = PointSet::default();
        for p in periods {
            let secs = p.to.0.as_second() - p.from.0.as_second();
            let Some(duration) = u32::try_from(secs).ok().filter(|d| (1..=1800).contains(d)) else {
                return Err(ProviderError::BadResponse {
                    provider: NAME,
                    detail: format!(
                        "period {} to {} is not within half an hour",
                        p.from.0, p.to.0
                    ),
                });
            };
            match (p.intensity.actual, p.intensity.forecast) {
                (Some(actual), _) if !forecast.contains(p.from.0) => {
                    measured.insert(p.from.0, actual, Some(duration));
                }
                (_, Some(value)) if !measured.contains(p.from.0) => {
                    forecast.insert(p.from.0, value, Some(duration));
                }
                _ => {}
            }
        }
        let model = match area {
            Area::National => "uk_carbon_intensity national forecast".to_string(),
            Area::Region(id) => format!("uk_carbon_intensity regional forecast (region {id})"),
        };
        let mut series = Vec::new();
        let measured_meta = meta(query, NAME, Provenance::Measured);
        series.extend(measured.into_series(
            NAME,
            measured_meta,
            &query.zone,
            Resolution::HALF_HOUR,
            query.window,
        )?);
        // The API does not say when a forecast was issued.
        let provenance = Provenance::Forecast {
            issued_at: None,
            model,
        };
        let forecast_meta = meta(query, NAME, provenance);
        series.extend(forecast.into_series(
            NAME,
            forecast_meta,
            &query.zone,
            Resolution::HALF_HOUR,
            query.window,
        )?);

        if series.is_empty() {
            return Err(ProviderError::NoData {
                provider: NAME,
                detail: format!("no values for {} in {}", describe(area), query.window),
            });
        }
        Ok(Fetched { series, notes })
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        let res: WireNational = self.http.get_json("/intensity", &[], Auth::None).await?;
        if res.data.is_empty() {
            return Err(ProviderError::NoData {
                provider: NAME,
                detail: "GET /intensity: no current period".into(),
            });
        }
        Ok(())
    }
}

fn describe(area: Area) -> String {
    match area {
        Area::National => "Great Britain".into(),
        Area::Region(id) => format!("region {id}"),
    }
}

/// A time in the API's minute form (`2018-01-20T12:00Z`) or full RFC 3339.
#[derive(Debug, Clone, Copy)]
struct UkTime(Timestamp);

impl<'de> Deserialize<'de> for UkTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<UkTime, D::Error> {
        let s = String::deserialize(deserializer)?;
        let parsed = s.parse::<Timestamp>().ok().or_else(|| {
            let minutes = s.strip_suffix('Z')?;
            format!("{minutes}:00Z").parse().ok()
        });
        parsed.map(UkTime).ok_or_else(|| {
            serde::de::Error::custom(format!("`{s}` is not a time like 2018-01-20T12:00Z"))
        })
    }
}

#[derive(Debug, Deserialize)]
struct WireIntensity {
    #[serde(default)]
    forecast: Option<f64>,
    #[serde(default)]
    actual: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct WirePeriod {
    from: UkTime,
    to: UkTime,
    intensity: WireIntensity,
}

#[derive(Debug, Deserialize)]
struct WireNational {
    data: Vec<WirePeriod>,
}

#[derive(Debug, Deserialize)]
struct WireRegion {
    #[serde(default)]
    regionid: Option<u64>,
    data: Vec<WirePeriod>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

#[derive(Debug, Deserialize)]
struct WireRegional {
    data: OneOrMany<WireRegion>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_times_are_minutes_in_utc() {
        let t: Timestamp = "2018-01-20T12:00:00+01:00".parse().unwrap();
        assert_eq!(path_time(t), "2018-01-20T11:00Z");
        let t: Timestamp = "2018-01-20T12:00:01Z".parse().unwrap();
        assert_eq!(path_time(ceil_minute(t)), "2018-01-20T12:01Z");
        let t: Timestamp = "2018-01-20T12:00:00Z".parse().unwrap();
        assert_eq!(ceil_minute(t), t);
    }

    #[test]
    fn minute_times_parse() {
        let t: UkTime = serde_json::from_str("\"2018-01-20T12:00Z\"").unwrap();
        assert_eq!(t.0, "2018-01-20T12:00:00Z".parse::<Timestamp>().unwrap());
        assert!(serde_json::from_str::<UkTime>("\"yesterday\"").is_err());
    }
}
