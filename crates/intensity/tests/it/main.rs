//! Integration tests: every provider against its fake in kite-test-support, over real HTTP on
//! 127.0.0.1. One binary (`tests/it`), one module per provider plus the fault suite that every
//! provider runs (`faults`), and a conformance check shared by all happy paths.

// Test helpers outside `#[test]` functions may unwrap: a failure is a test bug.
#![allow(clippy::unwrap_used)]

mod electricity_maps;
mod faults;
mod uk_carbon_intensity;
mod watttime;

use kite_core::{IntensitySeries, Provenance, Signal, TimeWindow, Timestamp, ZoneKey};
use kite_intensity::{
    ApiKey, ElectricityMapsConfig, ElectricityMapsProvider, HttpPolicy, IntensityProvider,
    ProviderError, Query, UkCarbonIntensityConfig, UkCarbonIntensityProvider, WattTimeConfig,
    WattTimeProvider,
};
use kite_test_support::{FakeServer, Script, fixtures};
use std::time::Duration;

pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub(crate) fn window(start: &str, end: &str) -> TimeWindow {
    TimeWindow::new(ts(start), ts(end)).unwrap()
}

/// The instant the fixtures were recorded at.
pub(crate) fn now() -> Timestamp {
    ts(fixtures::NOW)
}

/// Fast retries so tests take milliseconds; the cap still allows a `Retry-After: 1`.
pub(crate) fn fast_policy() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_secs(5),
        max_retries: 2,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_secs(3),
    }
}

pub(crate) fn query(zone: &str, signal: Signal, window: TimeWindow) -> Query {
    Query {
        zone: ZoneKey::new(zone).unwrap(),
        watttime_region: None,
        uk_region_id: None,
        window,
        now: now(),
        signal,
    }
}

/// The three providers, for suites every provider runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    ElectricityMaps,
    WattTime,
    Uk,
}

pub(crate) const ALL: [Kind; 3] = [Kind::ElectricityMaps, Kind::WattTime, Kind::Uk];

pub(crate) fn em_provider(base_url: &str, key: &str, http: HttpPolicy) -> ElectricityMapsProvider {
    ElectricityMapsProvider::new(ElectricityMapsConfig {
        base_url: base_url.into(),
        api_key: ApiKey::new(key),
        http,
    })
    .unwrap()
}

pub(crate) fn wt_provider(base_url: &str, password: &str, http: HttpPolicy) -> WattTimeProvider {
    WattTimeProvider::new(WattTimeConfig {
        base_url: base_url.into(),
        username: kite_test_support::watttime::USERNAME.into(),
        password: ApiKey::new(password),
        http,
    })
    .unwrap()
}

pub(crate) fn uk_provider(base_url: &str, http: HttpPolicy) -> UkCarbonIntensityProvider {
    UkCarbonIntensityProvider::new(UkCarbonIntensityConfig {
        base_url: base_url.into(),
        http,
    })
    .unwrap()
}

/// A provider of `kind` with good credentials, pointed at `base_url`.
pub(crate) fn provider_at(
    kind: Kind,
    base_url: &str,
    http: HttpPolicy,
) -> Box<dyn IntensityProvider> {
    match kind {
        Kind::ElectricityMaps => Box::new(em_provider(
            base_url,
            kite_test_support::electricity_maps::TOKEN,
            http,
        )),
        Kind::WattTime => Box::new(wt_provider(
            base_url,
            kite_test_support::watttime::PASSWORD,
            http,
        )),
        Kind::Uk => Box::new(uk_provider(base_url, http)),
    }
}

/// A query with past and future parts, answered from the fixtures.
pub(crate) fn happy_query(kind: Kind) -> Query {
    match kind {
        Kind::ElectricityMaps => query(
            "DE",
            Signal::AVERAGE_LIFECYCLE,
            window("2026-03-10T08:00:00Z", "2026-03-10T16:00:00Z"),
        ),
        Kind::WattTime => Query {
            watttime_region: Some(kite_test_support::watttime::REGION.into()),
            ..query(
                "US-CAL-CISO",
                Signal::MARGINAL_DIRECT,
                window("2026-03-10T10:00:00Z", "2026-03-10T13:00:00Z"),
            )
        },
        Kind::Uk => query(
            "GB",
            Signal::AVERAGE_DIRECT,
            window("2026-03-10T06:00:00Z", "2026-03-10T14:00:00Z"),
        ),
    }
}

/// A fake server and a provider talking to it.
pub(crate) struct Harness {
    pub(crate) script: Script,
    pub(crate) server: FakeServer,
    pub(crate) provider: Box<dyn IntensityProvider>,
    pub(crate) query: Query,
    /// Path prefix of the first data request of [`happy_query`], where faults are injected.
    pub(crate) data_path: &'static str,
    tokens: Option<kite_test_support::watttime::Tokens>,
}

impl Harness {
    pub(crate) async fn start(kind: Kind, http: HttpPolicy) -> Harness {
        let script = Script::new();
        let mut tokens = None;
        let (router, data_path) = match kind {
            Kind::ElectricityMaps => (
                kite_test_support::electricity_maps::router(script.clone()),
                "/v3/carbon-intensity/history",
            ),
            Kind::WattTime => {
                let t = kite_test_support::watttime::Tokens::new();
                tokens = Some(t.clone());
                (
                    kite_test_support::watttime::router(script.clone(), t),
                    "/v3/historical",
                )
            }
            Kind::Uk => (
                kite_test_support::uk_carbon_intensity::router(script.clone()),
                "/intensity/2026-03-10T06:00Z/",
            ),
        };
        let server = FakeServer::start(router).await;
        let provider = provider_at(kind, &server.base_url, http);
        Harness {
            script,
            server,
            provider,
            query: happy_query(kind),
            data_path,
            tokens,
        }
    }

    /// Every secret this harness handed out: keys, passwords and issued tokens.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut out = vec![
            kite_test_support::electricity_maps::TOKEN.to_string(),
            kite_test_support::watttime::PASSWORD.to_string(),
        ];
        if let Some(t) = &self.tokens {
            out.extend(t.issued());
        }
        out
    }

    /// Asserts that neither the message nor the debug form of `err` contains a secret.
    #[track_caller]
    pub(crate) fn assert_no_leak(&self, err: &ProviderError) {
        assert_no_secret(err, &self.secrets());
    }
}

#[track_caller]
pub(crate) fn assert_no_secret(err: &ProviderError, secrets: &[String]) {
    let shown = format!("{err} / {err:?}");
    for s in secrets {
        assert!(
            !shown.contains(s.as_str()),
            "secret leaked into error: {shown}"
        );
    }
}

/// What every provider's answer must satisfy, whatever the data.
#[track_caller]
pub(crate) fn assert_conforms(
    provider: &dyn IntensityProvider,
    query: &Query,
    series: &[IntensitySeries],
) {
    assert!(provider.supports(query).is_ok());
    assert!(!series.is_empty(), "{}: no series", provider.name());
    let mut labels: Vec<&str> = series.iter().map(|s| s.meta().provenance.label()).collect();
    labels.sort_unstable();
    let n = labels.len();
    labels.dedup();
    assert_eq!(labels.len(), n, "one series per provenance kind");
    for s in series {
        assert!(!s.is_empty(), "{}: empty series returned", provider.name());
        assert_eq!(s.zone(), &query.zone);
        assert_eq!(s.meta().source, provider.name());
        assert_eq!(s.meta().signal, query.signal);
        assert_eq!(s.meta().fetched_at, Some(query.now));
        for p in s.points() {
            assert!(
                p.start < query.window.end() && p.end() > query.window.start(),
                "{}: point at {} outside {}",
                provider.name(),
                p.start,
                query.window
            );
            if !matches!(s.meta().provenance, Provenance::Forecast { .. }) {
                assert!(
                    p.start < query.now,
                    "non-forecast value in the future at {}",
                    p.start
                );
            }
        }
    }
}

/// The series with this provenance label, if any.
pub(crate) fn by_label<'a>(
    series: &'a [IntensitySeries],
    label: &str,
) -> Option<&'a IntensitySeries> {
    series.iter().find(|s| s.meta().provenance.label() == label)
}

/// `(start, value)` pairs, rounded to 1e-6 for float comparisons.
pub(crate) fn values(s: &IntensitySeries) -> Vec<(Timestamp, f64)> {
    s.points()
        .iter()
        .map(|p| (p.start, (p.value.0 * 1e6).round() / 1e6))
        .collect()
}
