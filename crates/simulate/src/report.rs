//! What a simulation produces: one [`ResultRow`] per (home zone, variant, policy), the trace and
//! forecast facts they rest on, notes, and seed 0's placements for the chart.
//!
//! Definitions (also in `docs/scenarios.md`):
//! - emissions: Σ over simulated jobs of power × actual intensity over the steps each piece runs,
//!   averaged over forecast seeds;
//! - saved: 1 − emissions / emissions of `asap` (every job starts at its nominal start, at home);
//! - oracle: the same policy planned on the actual trace (a perfect forecast); "of oracle" is
//!   the policy's saving as a share of its oracle's saving;
//! - delay: completion − (nominal start + duration), in hours (negative when a ±window job
//!   runs early);
//! - deadline miss: a job that completes after its deadline (never, unless the LWA horizon
//!   quirk is switched on).

use crate::scenario::{Compat, Resample};
use kite_core::Timestamp;

/// The result of [`simulate`](crate::simulate).
#[derive(Debug, Clone)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's description.
    pub description: Option<String>,
    /// Start of the simulated trace window.
    pub from: Timestamp,
    /// End of the simulated trace window (exclusive).
    pub to: Timestamp,
    /// The grid step, e.g. `30m`.
    pub step: String,
    /// How traces were put on the grid.
    pub resample: Resample,
    /// One entry per trace zone.
    pub zones: Vec<ZoneSummary>,
    /// The forecast model in words, e.g. `gaussian, σ = 5 % of the zone's mean`.
    pub forecast: String,
    /// Forecast seeds averaged over.
    pub seeds: u32,
    /// The quirk switches in effect.
    pub compat: Compat,
    /// The comparison, in scenario order (homes, then variants, then policies).
    pub rows: Vec<ResultRow>,
    /// Things the reader should know (skipped jobs, clamped draws, ignored flags).
    pub notes: Vec<String>,
    /// Seed 0's placements per experiment, for the chart.
    pub samples: Vec<ExperimentSample>,
}

/// Facts about one zone's trace.
#[derive(Debug, Clone)]
pub struct ZoneSummary {
    /// The zone.
    pub zone: String,
    /// Where the values came from.
    pub origin: String,
    /// Mean intensity over the simulated window's steps with data (g/kWh).
    pub mean_gco2_per_kwh: f64,
    /// Steps without data.
    pub missing_steps: usize,
    /// The forecast noise's standard deviation (g/kWh), if any.
    pub sigma_gco2_per_kwh: Option<f64>,
    /// Noisy forecast values clamped to 0, over all seeds.
    pub clamped_draws: usize,
}

/// One policy in one experiment.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// Home zone: where jobs arrive and where the baseline runs them.
    pub home: String,
    /// The variant's name.
    pub variant: String,
    /// The policy's name.
    pub policy: String,
    /// Zones the jobs may run in (home first).
    pub regions: Vec<String>,
    /// Jobs simulated.
    pub jobs: usize,
    /// Jobs left out because the trace does not cover their window.
    pub skipped: usize,
    /// Total emissions, kg CO2e, mean over seeds.
    pub emissions_kg: f64,
    /// The baseline's emissions the saving is measured against, kg CO2e.
    pub baseline_kg: f64,
    /// Emissions saved compared with `asap`, percent.
    pub saved_percent: f64,
    /// Standard deviation of `saved_percent` over seeds (0 for one seed).
    pub saved_percent_sd: f64,
    /// The saving of the same policy with a perfect forecast, percent.
    pub oracle_saved_percent: Option<f64>,
    /// `saved_percent` as a share of `oracle_saved_percent`, percent.
    pub of_oracle_percent: Option<f64>,
    /// Mean delay of completion, hours.
    pub mean_delay_hours: f64,
    /// Largest delay of completion, hours.
    pub max_delay_hours: f64,
    /// Jobs completing after their deadline (the most in any seed).
    pub deadline_misses: usize,
    /// Jobs the policy could not place (the most in any seed); they count at asap emissions.
    pub unplaced: usize,
    /// The published number for this row, if the scenario gives one.
    pub reference: Option<ReferenceCheck>,
}

/// A published number next to kite's.
#[derive(Debug, Clone)]
pub struct ReferenceCheck {
    /// The published saving, percent.
    pub saved_percent: f64,
    /// kite minus published, percentage points.
    pub diff_pp: f64,
    /// The allowed difference, percentage points.
    pub tolerance_pp: f64,
    /// Whether `|diff_pp| <= tolerance_pp`.
    pub within: bool,
    /// Where the published number comes from.
    pub source: String,
}

/// Seed 0's placements in one experiment.
#[derive(Debug, Clone)]
pub struct ExperimentSample {
    /// Home zone.
    pub home: String,
    /// Variant.
    pub variant: String,
    /// One entry per policy, asap first.
    pub policies: Vec<PolicySample>,
}

/// One policy's placements.
#[derive(Debug, Clone)]
pub struct PolicySample {
    /// The policy.
    pub policy: String,
    /// Every simulated job.
    pub jobs: Vec<PlacedJob>,
}

/// Where and when one job ran.
#[derive(Debug, Clone)]
pub struct PlacedJob {
    /// The job's id.
    pub id: String,
    /// The zone it ran in.
    pub region: String,
    /// The pieces it ran in, sorted.
    pub pieces: Vec<(Timestamp, Timestamp)>,
}
