//! Live grid carbon-intensity providers behind one trait, [`IntensityProvider`].
//!
//! Each provider (Electricity Maps v3, WattTime v3, the UK National Grid Carbon Intensity API)
//! lives in its own file with a config struct holding `base_url`, so tests point it at the fakes
//! in `kite-test-support`. All HTTP goes through the `http` module, which owns timeouts, retries with
//! backoff and jitter, `Retry-After`, and the mapping of failures to [`ProviderError`].
//!
//! Invariants:
//! - external JSON is parsed into private wire types and converted to kite-core types here; no
//!   serde type leaves this crate, and units are converted once, on the way in (WattTime
//!   lbs/MWh to g/kWh);
//! - every returned [`IntensitySeries`](kite_core::IntensitySeries) says where it came from:
//!   `source` is the provider's [`name`](IntensityProvider::name), `fetched_at` is the query's
//!   `now`, past values are measured (or estimated, where the provider says so) and future values
//!   are forecasts;
//! - secrets are [`ApiKey`]s: never printed, logged, or put in a URL or an error;
//! - errors name the provider, the URL path and the fix.

mod electricity_maps;
mod http;
mod provider;
mod secret;
mod uk_carbon_intensity;
mod watttime;
mod window;

pub use electricity_maps::{ElectricityMapsConfig, ElectricityMapsProvider};
pub use http::{BuildError, HttpPolicy};
pub use provider::{Fetched, IntensityProvider, PROVIDER_NAMES, ProviderError, Query, Unsupported};
pub use secret::ApiKey;
pub use uk_carbon_intensity::{UkCarbonIntensityConfig, UkCarbonIntensityProvider};
pub use watttime::{SignalIndex, WattTimeConfig, WattTimeProvider};
