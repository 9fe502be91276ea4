//! Recorded provider responses, shaped exactly like the providers' documented responses, compiled
//! in with `include_str!` so both the fakes and the provider tests read the same bytes.
//!
//! The data share one reference instant, `2026-03-10T12:20:00Z` ([`NOW`]): "latest" values are for
//! the hour or half-hour containing it, history ends at it, forecasts start at it.

/// The instant the fixtures were "recorded" at.
pub const NOW: &str = "2026-03-10T12:20:00Z";

/// Electricity Maps v3, zone `DE`, lifecycle factors.
pub mod electricity_maps {
    /// `GET /v3/carbon-intensity/latest?zone=DE` (an estimated value for 12:00).
    pub const LATEST: &str = include_str!("../fixtures/electricity_maps/latest.json");
    /// `GET /v3/carbon-intensity/history?zone=DE`: 24 hourly values, 2026-03-09T13:00 to
    /// 2026-03-10T12:00; the last two are estimated (`TIME_SLICER_AVERAGE`).
    pub const HISTORY: &str = include_str!("../fixtures/electricity_maps/history.json");
    /// `GET /v3/carbon-intensity/past-range?zone=DE&start=..&end=..`: 6 hourly values from
    /// 2026-03-01T00:00Z.
    pub const PAST_RANGE: &str = include_str!("../fixtures/electricity_maps/past_range.json");
    /// `GET /v3/carbon-intensity/forecast?zone=DE`: 24 hourly values from 2026-03-10T13:00Z,
    /// `updatedAt` 2026-03-10T12:05:31Z.
    pub const FORECAST: &str = include_str!("../fixtures/electricity_maps/forecast.json");
    /// `GET /v3/zones`.
    pub const ZONES: &str = include_str!("../fixtures/electricity_maps/zones.json");
    /// A 401 body (`{"message": ..}` form).
    pub const ERROR_UNAUTHORIZED: &str =
        include_str!("../fixtures/electricity_maps/error_unauthorized.json");
    /// A 403 body (`{"error": ..}` form).
    pub const ERROR_FORBIDDEN: &str =
        include_str!("../fixtures/electricity_maps/error_forbidden.json");
}

/// WattTime v3, region `CAISO_NORTH`, `co2_moer` in lbs/MWh, 5-minute points.
pub mod watttime {
    /// `GET /login`.
    pub const LOGIN: &str = include_str!("../fixtures/watttime/login.json");
    /// `GET /v3/historical`: 28 points from 2026-03-10T10:00Z to 12:15Z.
    pub const HISTORICAL: &str = include_str!("../fixtures/watttime/historical.json");
    /// `GET /v3/forecast`: 36 points from 2026-03-10T12:20Z, generated at 12:20Z.
    pub const FORECAST: &str = include_str!("../fixtures/watttime/forecast.json");
    /// `GET /v3/signal-index`: percentile 62 at 12:20Z.
    pub const SIGNAL_INDEX: &str = include_str!("../fixtures/watttime/signal_index.json");
    /// A 401 body.
    pub const ERROR_UNAUTHORIZED: &str =
        include_str!("../fixtures/watttime/error_unauthorized.json");
    /// A 403 body.
    pub const ERROR_FORBIDDEN: &str = include_str!("../fixtures/watttime/error_forbidden.json");
}

/// UK National Grid (NESO) Carbon Intensity API, half-hourly, gCO2/kWh.
pub mod uk_carbon_intensity {
    /// `GET /intensity`: the 12:00 period.
    pub const INTENSITY: &str = include_str!("../fixtures/uk_carbon_intensity/intensity.json");
    /// `GET /intensity/{from}/{to}`: periods 06:00..12:30; `actual` is null for the last two.
    pub const INTENSITY_RANGE: &str =
        include_str!("../fixtures/uk_carbon_intensity/intensity_range.json");
    /// `GET /intensity/{from}/fw48h`: 24 forecast periods from 12:00Z.
    pub const INTENSITY_FW48H: &str =
        include_str!("../fixtures/uk_carbon_intensity/intensity_fw48h.json");
    /// `GET /regional/regionid/13` (London): `data` is a one-element list.
    pub const REGIONAL_REGIONID: &str =
        include_str!("../fixtures/uk_carbon_intensity/regional_regionid.json");
    /// `GET /regional/intensity/{from}/{to}/regionid/13`: `data` is an object; 06:00..12:30.
    pub const REGIONAL_RANGE: &str =
        include_str!("../fixtures/uk_carbon_intensity/regional_range.json");
    /// `GET /regional/intensity/{from}/fw48h/regionid/13`: 24 periods from 12:00Z.
    pub const REGIONAL_FW48H: &str =
        include_str!("../fixtures/uk_carbon_intensity/regional_fw48h.json");
    /// A 400 body.
    pub const ERROR_BAD_REQUEST: &str =
        include_str!("../fixtures/uk_carbon_intensity/error_bad_request.json");
}
