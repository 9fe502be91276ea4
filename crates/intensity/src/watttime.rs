//! WattTime API v3: marginal operating emissions rate (MOER, `signal_type=co2_moer`), 5-minute.
//!
//! Auth: `GET /login` with HTTP basic auth returns `{"token"}`, a bearer token valid 30 minutes.
//! The token is cached (and refreshed a little early); a 401 on a data endpoint triggers one
//! re-login and one retry, since the token may have been revoked or expired early.
//!
//! Endpoints: `/v3/historical?region=&start=&end=&signal_type=co2_moer` (at most 32 days per
//! request, so longer windows are split), `/v3/forecast?region=&signal_type=co2_moer`, and
//! `/v3/signal-index` (a 0–100 percentile, not an intensity: see
//! [`WattTimeProvider::signal_index`]). Bodies are `{"data": [{"point_time", "value"}],
//! "meta": {"region", "signal_type", "units", "data_point_period_seconds", "generated_at",
//! "model": {"date", "type"}, "warnings": []}}`; `point_time` starts the interval.
//!
//! Units: values must be `lbs_co2_per_mwh` and are converted with
//! [`GramsCo2PerKwh::from_lbs_per_mwh`]; any other unit is an error, never a guess.

use crate::http::{Auth, BuildError, HttpClient, HttpPolicy};
use crate::provider::{Fetched, IntensityProvider, ProviderError, Query, Unsupported};
use crate::secret::ApiKey;
use crate::window::{PointSet, chunks, meta, split_at_now};
use kite_core::{GramsCo2PerKwh, Provenance, Resolution, Signal, SignedDuration, Timestamp};
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

const NAME: &str = "watttime";
const KEY_SOURCE: &str = "KITE_WATTTIME_USERNAME and KITE_WATTTIME_PASSWORD, or [providers.watttime] username and password";
const SIGNAL_TYPE: &str = "co2_moer";
const MOER_UNITS: &str = "lbs_co2_per_mwh";
/// The documented per-request limit of `/v3/historical`.
const HISTORICAL_MAX: SignedDuration = SignedDuration::from_hours(24 * 32);
/// Tokens live 30 minutes; renew after 25 so a request never carries one about to expire.
const TOKEN_REUSE: Duration = Duration::from_secs(25 * 60);
/// The longest forecast horizon the API serves.
const MAX_HORIZON_HOURS: i64 = 72;

/// How to reach WattTime.
#[derive(Debug, Clone)]
pub struct WattTimeConfig {
    /// API root; [`WattTimeConfig::DEFAULT_BASE_URL`] in production.
    pub base_url: String,
    /// The WattTime account name.
    pub username: String,
    /// Its password.
    pub password: ApiKey,
    /// Timeouts and retries.
    pub http: HttpPolicy,
}

impl WattTimeConfig {
    /// The public API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.watttime.org";

    /// The public API with default HTTP policy.
    pub fn new(username: impl Into<String>, password: ApiKey) -> WattTimeConfig {
        WattTimeConfig {
            base_url: Self::DEFAULT_BASE_URL.into(),
            username: username.into(),
            password,
            http: HttpPolicy::default(),
        }
    }
}

/// Where a region's MOER stands relative to its recent range.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalIndex {
    /// The WattTime region.
    pub region: String,
    /// Start of the 5-minute interval the index is for.
    pub point_time: Timestamp,
    /// 0 (cleanest) to 100 (dirtiest) percentile of the MOER over the recent past; not an
    /// intensity, so it has no unit and never goes into an `IntensitySeries`.
    pub percentile: f64,
}

#[derive(Debug)]
struct CachedToken {
    token: ApiKey,
    obtained: Instant,
}

/// The WattTime provider.
#[derive(Debug)]
pub struct WattTimeProvider {
    http: HttpClient,
    username: String,
    password: ApiKey,
    /// Held across a login, so concurrent fetches log in once.
    token: Mutex<Option<CachedToken>>,
}

impl WattTimeProvider {
    /// Where the credentials come from, as error messages say it.
    pub const KEY_SOURCE: &'static str = KEY_SOURCE;

    /// Checks the config and builds the provider; no network I/O (login happens on first use).
    pub fn new(config: WattTimeConfig) -> Result<WattTimeProvider, BuildError> {
        if config.username.trim().is_empty() || config.password.is_empty() {
            return Err(BuildError::MissingCredentials {
                provider: NAME,
                key_source: KEY_SOURCE,
            });
        }
        Ok(WattTimeProvider {
            http: HttpClient::new(NAME, KEY_SOURCE, &config.base_url, config.http)?,
            username: config.username,
            password: config.password,
            token: Mutex::new(None),
        })
    }

    /// The current MOER percentile for `region` (0 = cleanest in the recent past, 100 =
    /// dirtiest), from `/v3/signal-index`.
    pub async fn signal_index(&self, region: &str) -> Result<SignalIndex, ProviderError> {
        let path = "/v3/signal-index";
        let params = [
            ("region", region.to_string()),
            ("signal_type", SIGNAL_TYPE.into()),
        ];
        let res: WireResponse = self.get_authed(path, &params).await?;
        if let Some(units) = res.meta.units.as_deref()
            && units != "percentile"
        {
            return Err(bad(
                path,
                format!("units are `{units}`, expected `percentile`"),
            ));
        }
        let point = res
            .data
            .into_iter()
            .next_back()
            .ok_or_else(|| ProviderError::NoData {
                provider: NAME,
                detail: format!("GET {path}: no index for region {region}"),
            })?;
        let percentile = point
            .value
            .filter(|v| (0.0..=100.0).contains(v))
            .ok_or_else(|| {
                bad(
                    path,
                    format!("index {:?} is not a percentile in 0..=100", point.value),
                )
            })?;
        Ok(SignalIndex {
            region: res.meta.region.unwrap_or_else(|| region.to_string()),
            point_time: point.point_time,
            percentile,
        })
    }

    /// A token: the cached one if fresh, else a new login.
    async fn token(&self) -> Result<ApiKey, ProviderError> {
        let mut cached = self.token.lock().await;
        if let Some(c) = cached.as_ref()
            && c.obtained.elapsed() < TOKEN_REUSE
        {
            return Ok(c.token.clone());
        }
        let token = self.login().await?;
        *cached = Some(CachedToken {
            token: token.clone(),
            obtained: Instant::now(),
        });
        Ok(token)
    }

    /// After a 401 with `stale`: a token another task already renewed, or a new login.
    async fn renew(&self, stale: &ApiKey) -> Result<ApiKey, ProviderError> {
        let mut cached = self.token.lock().await;
        if let Some(c) = cached.as_ref()
            && c.token != *stale
        {
            return Ok(c.token.clone());
        }
        *cached = None;
        let token = self.login().await?;
        *cached = Some(CachedToken {
            token: token.clone(),
            obtained: Instant::now(),
        });
        Ok(token)
    }

    async fn login(&self) -> Result<ApiKey, ProviderError> {
        let auth = Auth::Basic(&self.username, &self.password);
        let res: WireLogin = self.http.get_json("/login", &[], auth).await?;
        if res.token.is_empty() {
            return Err(bad("/login", "empty token".into()));
        }
        tracing::debug!(provider = NAME, "logged in");
        Ok(ApiKey::new(res.token))
    }

    /// A data request with the cached token; on 401, one re-login and one retry.
    async fn get_authed<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        let token = self.token().await?;
        match self.http.get_json(path, params, Auth::Bearer(&token)).await {
            Err(ProviderError::Unauthorized { status: 401, .. }) => {
                let token = self.renew(&token).await?;
                self.http.get_json(path, params, Auth::Bearer(&token)).await
            }
            other => other,
        }
    }

    /// Checks units and signal type, converts to g/kWh, and collects points and warnings.
    fn collect(
        path: &str,
        res: WireResponse,
        points: &mut PointSet,
        notes: &mut Vec<String>,
    ) -> Result<(Resolution, WireMeta), ProviderError> {
        let meta = res.meta;
        match meta.units.as_deref() {
            Some(MOER_UNITS) => {}
            Some(other) => {
                return Err(bad(
                    path,
                    format!(
                        "units are `{other}`, expected `{MOER_UNITS}`; kite will not guess a conversion"
                    ),
                ));
            }
            None => {
                return Err(bad(
                    path,
                    "meta.units is missing; kite will not guess them".into(),
                ));
            }
        }
        if let Some(signal) = meta.signal_type.as_deref()
            && signal != SIGNAL_TYPE
        {
            return Err(bad(
                path,
                format!("signal_type is `{signal}`, expected `{SIGNAL_TYPE}`"),
            ));
        }
        // 300 s is WattTime's documented MOER period; used only if meta omits it.
        let period = meta.data_point_period_seconds.unwrap_or(300);
        let resolution = Resolution::from_secs(period).ok_or_else(|| {
            bad(
                path,
                format!("data_point_period_seconds {period} is not a usable resolution"),
            )
        })?;
        for w in meta.warnings.iter().flatten() {
            notes.push(format!("watttime warning ({path}): {}", warning_text(w)));
        }
        for p in res.data {
            if let Some(lbs) = p.value {
                let value = GramsCo2PerKwh::from_lbs_per_mwh(lbs).value();
                points.insert(p.point_time, value, Some(period));
            }
        }
        Ok((resolution, meta))
    }
}

fn bad(path: &str, what: String) -> ProviderError {
    ProviderError::BadResponse {
        provider: NAME,
        detail: format!("GET {path}: {what}"),
    }
}

fn warning_text(w: &serde_json::Value) -> String {
    match w {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => o
            .get("message")
            .and_then(|m| m.as_str())
            .map_or_else(|| w.to_string(), str::to_string),
        other => other.to_string(),
    }
}

fn region(query: &Query) -> Result<&str, Unsupported> {
    query
        .watttime_region
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Unsupported {
            provider: NAME,
            reason: format!(
                "zone {} has no WattTime region; WattTime covers mostly North America and some \
                 other grids",
                query.zone
            ),
        })
}

#[async_trait::async_trait]
impl IntensityProvider for WattTimeProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn supports(&self, query: &Query) -> Result<(), Unsupported> {
        if query.signal != Signal::MARGINAL_DIRECT {
            return Err(Unsupported {
                provider: NAME,
                reason: format!(
                    "WattTime publishes marginal emissions (MOER, marginal-direct), not {}; use \
                     electricity_maps for average intensities",
                    query.signal
                ),
            });
        }
        region(query).map(|_| ())
    }

    async fn fetch_with_notes(&self, query: &Query) -> Result<Fetched, ProviderError> {
        self.supports(query).map_err(|u| ProviderError::NoData {
            provider: NAME,
            detail: u.reason,
        })?;
        let region = region(query).map_err(|u| ProviderError::NoData {
            provider: NAME,
            detail: u.reason,
        })?;
        let (past, future) = split_at_now(query.window, query.now);
        let mut notes = Vec::new();
        let mut series = Vec::new();

        if let Some(past) = past {
            let path = "/v3/historical";
            let mut points = PointSet::default();
            let mut resolution = Resolution::FIVE_MINUTES;
            for chunk in chunks(past, HISTORICAL_MAX) {
                let params = [
                    ("region", region.to_string()),
                    ("start", chunk.start().to_string()),
                    ("end", chunk.end().to_string()),
                    ("signal_type", SIGNAL_TYPE.to_string()),
                ];
                let res: WireResponse = self.get_authed(path, &params).await?;
                resolution = Self::collect(path, res, &mut points, &mut notes)?.0;
            }
            let measured = meta(query, NAME, Provenance::Measured);
            series.extend(points.into_series(NAME, measured, &query.zone, resolution, past)?);
        }

        if let Some(future) = future {
            let path = "/v3/forecast";
            let hours = (future.end().as_second() - query.now.as_second() + 3599) / 3600;
            let params = [
                ("region", region.to_string()),
                ("signal_type", SIGNAL_TYPE.to_string()),
                (
                    "horizon_hours",
                    hours.clamp(1, MAX_HORIZON_HOURS).to_string(),
                ),
            ];
            if hours > MAX_HORIZON_HOURS {
                notes.push(format!(
                    "watttime: forecasts reach {MAX_HORIZON_HOURS} h ahead; the window's end has no forecast"
                ));
            }
            let res: WireResponse = self.get_authed(path, &params).await?;
            let mut points = PointSet::default();
            let (resolution, wire_meta) = Self::collect(path, res, &mut points, &mut notes)?;
            let model = match wire_meta.model {
                Some(m) => {
                    let parts: Vec<String> = [m.kind, m.date].into_iter().flatten().collect();
                    if parts.is_empty() {
                        "watttime".to_string()
                    } else {
                        format!("watttime {}", parts.join(" "))
                    }
                }
                None => "watttime".to_string(),
            };
            let provenance = Provenance::Forecast {
                issued_at: wire_meta.generated_at,
                model,
            };
            let forecast = meta(query, NAME, provenance);
            series.extend(points.into_series(NAME, forecast, &query.zone, resolution, future)?);
        }

        if series.is_empty() {
            return Err(ProviderError::NoData {
                provider: NAME,
                detail: format!("no MOER values for region {region} in {}", query.window),
            });
        }
        Ok(Fetched { series, notes })
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        // A fresh login proves reachability and credentials, and refreshes the cache.
        let token = self.login().await?;
        *self.token.lock().await = Some(CachedToken {
            token,
            obtained: Instant::now(),
        });
        Ok(())
    }
}

#[derive(Deserialize)]
struct WireLogin {
    token: String,
}

#[derive(Debug, Deserialize)]
struct WirePoint {
    point_time: Timestamp,
    value: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct WireModel {
    #[serde(default)]
    date: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMeta {
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    signal_type: Option<String>,
    #[serde(default)]
    units: Option<String>,
    #[serde(default)]
    data_point_period_seconds: Option<u32>,
    #[serde(default)]
    generated_at: Option<Timestamp>,
    #[serde(default)]
    model: Option<WireModel>,
    #[serde(default)]
    warnings: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    data: Vec<WirePoint>,
    meta: WireMeta,
}
