//! The provider extension point: [`IntensityProvider`], the [`Query`] it answers, and the errors
//! it returns. The engine holds providers as `Arc<dyn IntensityProvider>` and owns the fallback
//! order, caching and timing; a provider only answers one query at a time.

use kite_core::{IntensitySeries, Signal, TimeWindow, Timestamp, ZoneKey};
use std::time::Duration;

/// The [`IntensityProvider::name`] of every provider in this crate, in a stable order.
pub const PROVIDER_NAMES: [&str; 3] = ["electricity_maps", "watttime", "uk_carbon_intensity"];

/// What the engine asks a provider for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The zone, as a canonical key (`DE`, `GB`, `US-CAL-CISO`); also the Electricity Maps zone.
    pub zone: ZoneKey,
    /// The WattTime region for this zone (e.g. `CAISO_NORTH`), if it has one.
    pub watttime_region: Option<String>,
    /// The UK Carbon Intensity API region id (1..=18), for a GB sub-region.
    pub uk_region_id: Option<u8>,
    /// The time asked for, `[start, end)`.
    pub window: TimeWindow,
    /// The current instant: splits the window into past (measured) and future (forecast), and
    /// becomes `fetched_at`.
    pub now: Timestamp,
    /// Which signal the caller wants; providers refuse signals they do not publish.
    pub signal: Signal,
}

/// Why a provider cannot answer a query at all (wrong signal, zone or region).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{provider} cannot answer this query: {reason}")]
pub struct Unsupported {
    /// The provider's name.
    pub provider: &'static str,
    /// Why, and what to use instead.
    pub reason: String,
}

/// What a fetch returned: series plus notes about what is missing and why (e.g. "forecast needs
/// a paid plan"), which are not errors because the rest of the data is good.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fetched {
    /// At most one series per provenance kind (measured, estimated, forecast); never empty ones.
    pub series: Vec<IntensitySeries>,
    /// Sentences for the user about partial results.
    pub notes: Vec<String>,
}

/// A source of grid carbon intensity.
#[async_trait::async_trait]
pub trait IntensityProvider: Send + Sync {
    /// Stable snake-case name, as in config: `electricity_maps`, `watttime`,
    /// `uk_carbon_intensity`. Also the `source` of the series it returns.
    fn name(&self) -> &'static str;

    /// Whether this provider can answer `query` at all (signal kind and basis, zone or region),
    /// without any I/O.
    fn supports(&self, query: &Query) -> Result<(), Unsupported>;

    /// Everything the provider has for the window: past values (history/past-range), the latest
    /// value, and forecast values for the future part, plus notes about partial results
    /// (e.g. "forecast needs a paid plan") which are not errors because the rest is good.
    /// Past → `Provenance::Measured`; future → `Provenance::Forecast { issued_at, model }`.
    /// One `IntensitySeries` per provenance kind. `fetched_at` = `query.now`.
    async fn fetch_with_notes(&self, query: &Query) -> Result<Fetched, ProviderError>;

    /// Like [`fetch_with_notes`](IntensityProvider::fetch_with_notes), logging the notes at
    /// `warn` level instead of returning them.
    async fn fetch(&self, query: &Query) -> Result<Vec<IntensitySeries>, ProviderError> {
        let fetched = self.fetch_with_notes(query).await?;
        for note in &fetched.notes {
            tracing::warn!(provider = self.name(), "{note}");
        }
        Ok(fetched.series)
    }

    /// A cheap request proving the service is reachable and the credentials work.
    async fn healthcheck(&self) -> Result<(), ProviderError>;
}

/// Why a provider request failed. Messages name the provider, the URL path (never a key) and
/// what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// No connection could be made (DNS, refused, TLS), even after retries.
    #[error(
        "{provider}: cannot reach {url}: {detail}. Check the network connection and any proxy, \
         and `base_url` in [providers.{provider}]"
    )]
    Unreachable {
        /// The provider's name.
        provider: &'static str,
        /// Scheme, host and path; no query string.
        url: String,
        /// What went wrong, from the HTTP client.
        detail: String,
    },
    /// No complete answer within the timeout, even after retries.
    #[error(
        "{provider}: no answer from {url} within {}. The service may be slow or down: try \
         again later or raise the HTTP timeout",
        fmt_duration(*.after)
    )]
    Timeout {
        /// The provider's name.
        provider: &'static str,
        /// Scheme, host and path; no query string.
        url: String,
        /// The per-request timeout that expired.
        after: Duration,
    },
    /// 401 or 403: the credentials are missing, wrong or expired, or the plan lacks this data.
    #[error(
        "{provider}: credentials refused (HTTP {status}): {detail}. The key from {key_source} \
         may be missing, mistyped or expired{}",
        if *.status == 403 { "; a 403 can also mean your plan does not cover this zone or endpoint" } else { "" }
    )]
    Unauthorized {
        /// The provider's name.
        provider: &'static str,
        /// Where the key comes from, e.g.
        /// `KITE_ELECTRICITY_MAPS_TOKEN or [providers.electricity_maps] api_key`.
        key_source: String,
        /// 401 or 403.
        status: u16,
        /// The request path and the provider's error message.
        detail: String,
    },
    /// 429 after the retries were used up, or a `Retry-After` longer than the backoff cap.
    #[error(
        "{provider}: rate limited (HTTP 429){}. Wait before trying again, or make fewer \
         requests (kite caches answers: avoid clearing the cache)",
        fmt_retry_after(*.retry_after)
    )]
    RateLimited {
        /// The provider's name.
        provider: &'static str,
        /// How long the service asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// Any other non-2xx answer.
    #[error("{provider}: HTTP {status}: {detail}. {}", http_hint(*.status))]
    Http {
        /// The provider's name.
        provider: &'static str,
        /// The status code.
        status: u16,
        /// The request path and the provider's error message.
        detail: String,
    },
    /// A 2xx answer whose body is not the documented shape (or has units kite will not guess).
    #[error(
        "{provider}: unexpected response: {detail}. The API may have changed; please report \
         this to the kite developers"
    )]
    BadResponse {
        /// The provider's name.
        provider: &'static str,
        /// The request path and what did not match.
        detail: String,
    },
    /// The service answered, but has no values for this zone and window.
    #[error(
        "{provider}: no data: {detail}. Try another window or provider, or check the zone/region"
    )]
    NoData {
        /// The provider's name.
        provider: &'static str,
        /// What was asked and what is missing.
        detail: String,
    },
}

impl ProviderError {
    /// The provider the error came from.
    pub fn provider(&self) -> &'static str {
        match self {
            ProviderError::Unreachable { provider, .. }
            | ProviderError::Timeout { provider, .. }
            | ProviderError::Unauthorized { provider, .. }
            | ProviderError::RateLimited { provider, .. }
            | ProviderError::Http { provider, .. }
            | ProviderError::BadResponse { provider, .. }
            | ProviderError::NoData { provider, .. } => provider,
        }
    }

    /// Whether trying again later may succeed (network trouble, rate limits, 5xx), as opposed to
    /// a problem the user must fix (credentials, zone, plan) or a changed API.
    pub fn is_transient(&self) -> bool {
        match self {
            ProviderError::Unreachable { .. }
            | ProviderError::Timeout { .. }
            | ProviderError::RateLimited { .. } => true,
            ProviderError::Http { status, .. } => *status >= 500,
            ProviderError::Unauthorized { .. }
            | ProviderError::BadResponse { .. }
            | ProviderError::NoData { .. } => false,
        }
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn fmt_retry_after(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("; the service asked to wait {}", fmt_duration(d)),
        None => String::new(),
    }
}

fn http_hint(status: u16) -> &'static str {
    match status {
        400 | 422 => "The request was refused: check the zone or region and the time window",
        404 => "Check the zone or region, and `base_url` in the provider's config",
        500..=599 => "The service is failing: try again later",
        _ => "Try again later; if it persists, check the provider's status page",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_provider_and_fix() {
        let e = ProviderError::Unauthorized {
            provider: "electricity_maps",
            key_source: "KITE_ELECTRICITY_MAPS_TOKEN or [providers.electricity_maps] api_key"
                .into(),
            status: 401,
            detail: "GET /v3/carbon-intensity/history: Invalid auth-token".into(),
        };
        let msg = e.to_string();
        assert!(
            msg.starts_with("electricity_maps: credentials refused (HTTP 401)"),
            "{msg}"
        );
        assert!(msg.contains("KITE_ELECTRICITY_MAPS_TOKEN"), "{msg}");
        assert!(msg.contains("expired"), "{msg}");
        let e = ProviderError::RateLimited {
            provider: "watttime",
            retry_after: Some(Duration::from_secs(120)),
        };
        assert!(e.to_string().contains("asked to wait 120 s"), "{e}");
        assert!(e.is_transient());
        let e = ProviderError::Timeout {
            provider: "watttime",
            url: "https://api.watttime.org/v3/forecast".into(),
            after: Duration::from_millis(250),
        };
        assert!(e.to_string().contains("within 250 ms"), "{e}");
        assert_eq!(e.provider(), "watttime");
    }
}
