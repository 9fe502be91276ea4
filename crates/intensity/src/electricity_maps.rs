//! Electricity Maps API v3: average carbon intensity (lifecycle or direct factors), hourly.
//!
//! Endpoints (all `GET`, header `auth-token`, query `zone` and `emissionFactorType`):
//! - `/v3/carbon-intensity/latest`: the current hour;
//! - `/v3/carbon-intensity/history`: the last 24 hours, wrapped as `{"zone", "history": [..]}`;
//! - `/v3/carbon-intensity/past-range?start=&end=`: older windows, wrapped as `{"zone", "data"}`;
//!   at most 10 days of hourly data per request, so longer windows are split;
//! - `/v3/carbon-intensity/forecast`: `{"zone", "forecast": [{carbonIntensity, datetime}],
//!   "updatedAt"}`; paid plans only, so 401/403/404 here become a note, not an error.
//!
//! `datetime` is the start of the hour a value describes. Values flagged `isEstimated` are
//! returned as a separate series with `Provenance::Estimated` naming the `estimationMethod`,
//! because an estimate standing in for a missing measurement must not be shown as measured.

use crate::http::{Auth, BuildError, HttpClient, HttpPolicy, header_safe};
use crate::provider::{Fetched, IntensityProvider, ProviderError, Query, Unsupported};
use crate::secret::ApiKey;
use crate::window::{PointSet, chunks, meta, split_at_now};
use kite_core::{EmissionBasis, Provenance, Resolution, SignalKind, SignedDuration, Timestamp};
use serde::Deserialize;
use std::collections::BTreeSet;

const NAME: &str = "electricity_maps";
const KEY_SOURCE: &str = "KITE_ELECTRICITY_MAPS_TOKEN or [providers.electricity_maps] api_key";
/// How far back `/history` reaches.
const HISTORY_SPAN: SignedDuration = SignedDuration::from_hours(24);
/// The documented per-request limit of `/past-range` for hourly data.
const PAST_RANGE_MAX: SignedDuration = SignedDuration::from_hours(24 * 10);

/// How to reach Electricity Maps.
#[derive(Debug, Clone)]
pub struct ElectricityMapsConfig {
    /// API root, without `/v3`; [`ElectricityMapsConfig::DEFAULT_BASE_URL`] in production.
    pub base_url: String,
    /// The API token, sent as the `auth-token` header.
    pub api_key: ApiKey,
    /// Timeouts and retries.
    pub http: HttpPolicy,
}

impl ElectricityMapsConfig {
    /// The public API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.electricitymap.org";

    /// The public API with default HTTP policy.
    pub fn new(api_key: ApiKey) -> ElectricityMapsConfig {
        ElectricityMapsConfig {
            base_url: Self::DEFAULT_BASE_URL.into(),
            api_key,
            http: HttpPolicy::default(),
        }
    }
}

/// The Electricity Maps provider.
#[derive(Debug)]
pub struct ElectricityMapsProvider {
    http: HttpClient,
    api_key: ApiKey,
}

impl ElectricityMapsProvider {
    /// Where the key comes from, as error messages say it.
    pub const KEY_SOURCE: &'static str = KEY_SOURCE;

    /// Checks the config and builds the provider; no network I/O.
    pub fn new(config: ElectricityMapsConfig) -> Result<ElectricityMapsProvider, BuildError> {
        if config.api_key.is_empty() {
            return Err(BuildError::MissingCredentials {
                provider: NAME,
                key_source: KEY_SOURCE,
            });
        }
        if !header_safe(&config.api_key) {
            return Err(BuildError::UnusableCredentials {
                provider: NAME,
                key_source: KEY_SOURCE,
            });
        }
        Ok(ElectricityMapsProvider {
            http: HttpClient::new(NAME, KEY_SOURCE, &config.base_url, config.http)?,
            api_key: config.api_key,
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
        extra: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        let mut params = vec![
            ("zone", query.zone.to_string()),
            ("emissionFactorType", factor_type(query).to_string()),
        ];
        params.extend(extra.iter().cloned());
        self.http
            .get_json(path, &params, Auth::Header("auth-token", &self.api_key))
            .await
    }

    /// Past values: `/history` when the past part lies in the last 24 h, else `/past-range` in
    /// chunks; plus `/latest` when the window contains `now`.
    async fn past(
        &self,
        query: &Query,
        past: kite_core::TimeWindow,
    ) -> Result<Vec<WirePoint>, ProviderError> {
        let mut points = if past.start() >= query.now - HISTORY_SPAN {
            let path = "/v3/carbon-intensity/history";
            self.get::<WireHistory>(path, query, &[]).await?.history
        } else {
            let mut all = Vec::new();
            for chunk in chunks(past, PAST_RANGE_MAX) {
                let range = [
                    ("start", chunk.start().to_string()),
                    ("end", chunk.end().to_string()),
                ];
                let path = "/v3/carbon-intensity/past-range";
                all.extend(self.get::<WirePastRange>(path, query, &range).await?.data);
            }
            all
        };
        if query.window.contains(query.now) {
            let path = "/v3/carbon-intensity/latest";
            points.push(self.get::<WirePoint>(path, query, &[]).await?);
        }
        Ok(points)
    }
}

fn factor_type(query: &Query) -> &'static str {
    match query.signal.basis {
        EmissionBasis::Lifecycle => "lifecycle",
        EmissionBasis::Direct => "direct",
    }
}

#[async_trait::async_trait]
impl IntensityProvider for ElectricityMapsProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn supports(&self, query: &Query) -> Result<(), Unsupported> {
        if query.signal.kind == SignalKind::Average {
            Ok(())
        } else {
            Err(Unsupported {
                provider: NAME,
                reason: format!(
                    "Electricity Maps publishes average intensities (lifecycle or direct), not \
                     {}; use watttime for marginal emissions",
                    query.signal
                ),
            })
        }
    }

    async fn fetch_with_notes(&self, query: &Query) -> Result<Fetched, ProviderError> {
        self.supports(query).map_err(|u| ProviderError::NoData {
            provider: NAME,
            detail: u.reason,
        })?;
        let (past, future) = split_at_now(query.window, query.now);
        let mut notes = Vec::new();
        let mut series = Vec::new();

        if let Some(past) = past {
            let mut measured = PointSet::default();
            let mut estimated = PointSet::default();
            let mut methods = BTreeSet::new();
            for p in self.past(query, past).await? {
                if let Some(found) = &p.emission_factor_type
                    && found != factor_type(query)
                {
                    return Err(ProviderError::BadResponse {
                        provider: NAME,
                        detail: format!(
                            "GET /v3/carbon-intensity/*: asked for emissionFactorType={} but \
                             got {found} at {}",
                            factor_type(query),
                            p.datetime
                        ),
                    });
                }
                let Some(value) = p.carbon_intensity else {
                    continue; // A hole stays a hole.
                };
                if measured.contains(p.datetime) || estimated.contains(p.datetime) {
                    continue;
                }
                if p.is_estimated == Some(true) {
                    if let Some(m) = p.estimation_method {
                        methods.insert(m);
                    }
                    estimated.insert(p.datetime, value, None);
                } else {
                    measured.insert(p.datetime, value, None);
                }
            }
            let measured_meta = meta(query, NAME, Provenance::Measured);
            series.extend(measured.into_series(
                NAME,
                measured_meta,
                &query.zone,
                Resolution::HOUR,
                past,
            )?);
            let method = if methods.is_empty() {
                "Electricity Maps estimate".to_string()
            } else {
                let methods: Vec<String> = methods.into_iter().collect();
                format!("Electricity Maps estimate ({})", methods.join(", "))
            };
            let estimated_meta = meta(query, NAME, Provenance::Estimated { method });
            series.extend(estimated.into_series(
                NAME,
                estimated_meta,
                &query.zone,
                Resolution::HOUR,
                past,
            )?);
        }

        if let Some(future) = future {
            let path = "/v3/carbon-intensity/forecast";
            match self.get::<WireForecast>(path, query, &[]).await {
                Ok(forecast) => {
                    let mut points = PointSet::default();
                    for p in forecast.forecast {
                        if let Some(value) = p.carbon_intensity {
                            points.insert(p.datetime, value, None);
                        }
                    }
                    let provenance = Provenance::Forecast {
                        issued_at: forecast.updated_at,
                        model: "electricity_maps forecast".into(),
                    };
                    let forecast_meta = meta(query, NAME, provenance);
                    series.extend(points.into_series(
                        NAME,
                        forecast_meta,
                        &query.zone,
                        Resolution::HOUR,
                        future,
                    )?);
                }
                // Forecasts are a paid feature: without them the past is still worth returning.
                Err(ProviderError::Unauthorized { status, detail, .. }) => notes.push(format!(
                    "electricity_maps: no forecast (HTTP {status}: {detail}); forecasts need an \
                     Electricity Maps plan that includes them"
                )),
                Err(ProviderError::Http {
                    status: 404,
                    detail,
                    ..
                }) => notes.push(format!(
                    "electricity_maps: no forecast for {} (HTTP 404: {detail})",
                    query.zone
                )),
                Err(e) => return Err(e),
            }
        }

        if series.is_empty() {
            let mut detail = format!("no values for zone {} in {}", query.zone, query.window);
            for note in &notes {
                detail.push_str("; ");
                detail.push_str(note);
            }
            return Err(ProviderError::NoData {
                provider: NAME,
                detail,
            });
        }
        Ok(Fetched { series, notes })
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        // `/v3/zones` is cheap and, given a token, lists the zones that token may read.
        let _: serde_json::Map<String, serde_json::Value> = self
            .http
            .get_json("/v3/zones", &[], Auth::Header("auth-token", &self.api_key))
            .await?;
        Ok(())
    }
}

/// One value from `latest`, `history` or `past-range`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePoint {
    carbon_intensity: Option<f64>,
    datetime: Timestamp,
    #[serde(default)]
    emission_factor_type: Option<String>,
    #[serde(default)]
    is_estimated: Option<bool>,
    #[serde(default)]
    estimation_method: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireHistory {
    history: Vec<WirePoint>,
}

#[derive(Debug, Deserialize)]
struct WirePastRange {
    data: Vec<WirePoint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireForecastPoint {
    carbon_intensity: Option<f64>,
    datetime: Timestamp,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireForecast {
    forecast: Vec<WireForecastPoint>,
    #[serde(default)]
    updated_at: Option<Timestamp>,
}
