//! The statement: the books of one period (and optional project / team), as plain data.
//!
//! These types are the contract between the accounting and its renderers (`kite report`, the
//! JSON output): everything is `Serialize`/`Deserialize`, every quantity names its unit in its
//! field name (`_kwh`, `_g` for grams CO2e, `_litres`, `_pct`), and every time is UTC
//! (RFC 3339 in JSON). Changes are additive: fields are added, never renamed.
//!
//! **No data is not zero.** A section the ledger holds nothing for is `None` (JSON `null`) and
//! [`Statement::no_data`] says why; a renderer must print "no data", never `0`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Version of the statement's JSON shape; bumped only on an incompatible change.
pub const STATEMENT_VERSION: u32 = 1;

/// A half-open UTC time range `[start, end)` with the label the user gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Inclusive start.
    pub start: Timestamp,
    /// Exclusive end.
    pub end: Timestamp,
    /// How the user wrote it: `2026-10`, `2026`, `2026-Q4`, or `FROM..TO`.
    pub label: String,
}

/// Which records a statement covers beyond the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Only this project, if set.
    pub project: Option<String>,
    /// Only this team, if set.
    pub team: Option<String>,
}

/// The books of one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_VERSION`].
    pub version: u32,
    /// The period accounted.
    pub period: Period,
    /// The project / team filter.
    pub filter: Filter,
    /// `Some(reason)` when the ledger holds no activity (runs, on-site entries) in the period
    /// for the filter: then every total below is `None`, and must be shown as "no data".
    pub no_data: Option<String>,
    /// Which hours and days of the period have entries.
    pub coverage: Coverage,
    /// Energy; `None`: no runs.
    pub energy: Option<Energy>,
    /// Scope 1 (on-site combustion, e.g. diesel backup); `None`: no on-site entries.
    pub scope1: Option<Scope1>,
    /// Scope 2, location-based; `None`: no runs.
    pub scope2_location: Option<Scope2Location>,
    /// Scope 2, market-based; `None`: no runs.
    pub scope2_market: Option<Scope2Market>,
    /// Scope 3 category 1/2 embodied emissions of the hardware; `None`: no runs.
    pub scope3_embodied: Option<Scope3Embodied>,
    /// Totals across scopes, both scope 2 methods; `None`: no data.
    pub totals: Option<Totals>,
    /// Offsets retired in the period: reported apart, never netted against any total.
    pub offsets: Offsets,
    /// Operational water; `None`: no runs.
    pub water: Option<Water>,
    /// Emissions by lifecycle stage (training, inference, other, manufacturing), kept apart.
    pub stages: Vec<StageLine>,
    /// SCI scores, one per functional unit (and per run by default).
    pub sci: Vec<SciScore>,
    /// 24/7 carbon-free-energy score beside the annual-matching percentage; `None`: no runs.
    pub cfe: Option<CfeScore>,
    /// The runs with the largest emissions (location-based operational + embodied), largest first.
    pub top_jobs: Vec<JobLine>,
    /// Scheduled jobs' outcomes against running at once; `None`: no job outcomes.
    pub job_outcomes: Option<JobOutcomes>,
    /// One line per calendar month when the period spans more than one.
    pub trend: Vec<TrendPoint>,
    /// Per hour with load: energy, location-based emissions and matched clean energy (charts).
    pub hourly: Vec<HourLine>,
    /// Caveats on the numbers: fallbacks used, assumptions, skipped records.
    pub caveats: Vec<String>,
}

/// Which parts of the period the ledger has entries for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Whole hours in the period.
    pub period_hours: u64,
    /// Hours (UTC, on the hour) with run energy.
    pub hours_with_data: u64,
    /// Days of the period (UTC).
    pub period_days: u64,
    /// Days with at least one activity entry.
    pub days_with_data: u64,
    /// Time of the first and last activity in the period, if any.
    pub first: Option<Timestamp>,
    /// End of the last activity in the period, if any.
    pub last: Option<Timestamp>,
    /// Runs of consecutive days without entries, `[start, end)`.
    pub gaps: Vec<Gap>,
    /// Calendar months of the period with no entries at all (`2026-10`).
    pub months_without_data: Vec<String>,
}

/// A run of days with no entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// First day without entries (midnight UTC).
    pub start: Timestamp,
    /// Midnight after the last day without entries.
    pub end: Timestamp,
}

/// Energy of the runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Energy {
    /// IT energy, kWh.
    pub it_kwh: f64,
    /// Facility energy (IT × PUE), kWh: what scope 2 is computed on.
    pub facility_kwh: f64,
    /// Share of the IT energy read from sensors (the rest modelled), `[0, 1]`.
    pub measured_fraction: f64,
    /// Runs counted.
    pub runs: u64,
    /// Facility energy per zone.
    pub by_zone: Vec<ZoneEnergy>,
}

/// Energy and location-based emissions of one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneEnergy {
    /// Grid zone.
    pub zone: String,
    /// Facility energy, kWh.
    pub facility_kwh: f64,
    /// Location-based emissions, grams.
    pub location_g: f64,
    /// `location_g / facility_kwh`, g/kWh.
    pub mean_intensity: Option<f64>,
    /// Share of the energy whose hourly intensity was estimated, not measured, `[0, 1]`.
    pub estimated_fraction: f64,
}

/// Scope 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope1 {
    /// Total, grams.
    pub total_g: f64,
    /// One line per on-site entry.
    pub items: Vec<Scope1Line>,
}

/// One on-site combustion entry as counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope1Line {
    /// What burned (e.g. `diesel backup generator`).
    pub description: String,
    /// Fuel.
    pub fuel: String,
    /// Quantity counted in the period, in `unit`.
    pub quantity: f64,
    /// Unit of the quantity (`litre`, `kg`, `kWh`).
    pub unit: String,
    /// Emissions counted in the period, grams.
    pub g: f64,
    /// Where the factor came from.
    pub source: String,
}

/// Scope 2, location-based: Σ hourly facility energy × the grid's hourly intensity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope2Location {
    /// Total, grams.
    pub total_g: f64,
    /// Per zone.
    pub by_zone: Vec<ZoneEnergy>,
}

/// Scope 2, market-based.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope2Market {
    /// Total, grams.
    pub total_g: f64,
    /// Facility energy covered by eligible instruments, kWh.
    pub covered_kwh: f64,
    /// Facility energy not covered, kWh (charged at the residual mix or, failing that, the
    /// location-based factor).
    pub uncovered_kwh: f64,
    /// Per zone.
    pub by_zone: Vec<MarketZone>,
    /// Every contractual instrument considered, eligible or not, with the reasons.
    pub instruments: Vec<InstrumentUse>,
}

/// Market-based numbers of one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketZone {
    /// Grid zone.
    pub zone: String,
    /// Facility energy, kWh.
    pub load_kwh: f64,
    /// Covered by eligible instruments, kWh.
    pub covered_kwh: f64,
    /// Emissions of the covered part (instrument emission factors), grams.
    pub covered_g: f64,
    /// Emissions of the uncovered part, grams.
    pub uncovered_g: f64,
    /// How the uncovered part was charged: `residual mix 412 g/kWh (AIB 2025)` or
    /// `location-based (no residual mix given)`.
    pub uncovered_basis: String,
}

/// One contractual instrument and what it did for the statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentUse {
    /// Contract id.
    pub id: String,
    /// `ppa`, `rec`, `go`, `certificate`, `offset`.
    pub instrument: String,
    /// Market (zone or market area) it is valid in.
    pub market: String,
    /// Technology (`wind`, `solar`, ...).
    pub technology: String,
    /// Volume attributed to the statement's period (and filter), kWh.
    pub allocated_kwh: f64,
    /// Volume that covered load, kWh.
    pub used_kwh: f64,
    /// Whether it passed the quality criteria.
    pub eligible: bool,
    /// Each failed criterion, explained (empty when eligible).
    pub failures: Vec<String>,
    /// Notes (e.g. `no hourly profile: delivered flat over its period`).
    pub notes: Vec<String>,
}

/// Scope 3 embodied emissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope3Embodied {
    /// Total charged to the runs, grams.
    pub total_g: f64,
    /// From the hardware inventory (TE × time used / lifetime × share), grams.
    pub from_inventory_g: f64,
    /// From the runs' own SCI `M` (no inventory item known), grams.
    pub from_runs_g: f64,
    /// In-service time of inventory items not used by any counted run, grams; only without a
    /// project / team filter (it belongs to nobody in particular).
    pub unallocated_g: Option<f64>,
    /// Per hardware item.
    pub items: Vec<EmbodiedLine>,
}

/// Embodied emissions of one hardware item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbodiedLine {
    /// Inventory id.
    pub hardware_id: String,
    /// Total embodied emissions, kgCO2e.
    pub embodied_kg: f64,
    /// Expected lifetime, hours.
    pub lifetime_hours: f64,
    /// Hours used by counted runs in the period (share-weighted).
    pub used_hours: f64,
    /// Charged, grams.
    pub g: f64,
    /// Source of the embodied factor.
    pub source: String,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Scope 1 + scope 2 location-based + scope 3 embodied, grams.
    pub location_based_g: f64,
    /// Scope 1 + scope 2 market-based + scope 3 embodied, grams.
    pub market_based_g: f64,
    /// Scope 1 + 2 only (location-based), grams.
    pub operational_location_g: f64,
    /// Scope 1 + 2 only (market-based), grams.
    pub operational_market_g: f64,
}

/// Offsets retired in the period, shown apart from every total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Offsets {
    /// Total retired, grams CO2e.
    pub retired_g: f64,
    /// Contract ids.
    pub ids: Vec<String>,
}

/// Operational water.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Water {
    /// Litres.
    pub litres: f64,
}

/// A lifecycle stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Model training.
    Training,
    /// Serving / inference.
    Inference,
    /// Anything else measured.
    Other,
    /// Hardware manufacturing (embodied).
    Manufacturing,
}

impl Stage {
    /// `training`, `inference`, `other`, `manufacturing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Training => "training",
            Stage::Inference => "inference",
            Stage::Other => "other",
            Stage::Manufacturing => "manufacturing",
        }
    }
}

/// One lifecycle stage's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageLine {
    /// The stage.
    pub stage: Stage,
    /// Facility energy, kWh (`None` for manufacturing).
    pub facility_kwh: Option<f64>,
    /// Location-based operational emissions (or embodied, for manufacturing), grams.
    pub g: f64,
    /// Runs counted (`None` for manufacturing).
    pub runs: Option<u64>,
}

/// One SCI score (GSF SCI v1.1 / ISO/IEC 21031): `(E·I + M) / R`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SciScore {
    /// Project the score is for, or `None` for all runs of the statement.
    pub project: Option<String>,
    /// Functional unit, e.g. `run`, `1k inferences`, `token`.
    pub unit: String,
    /// Number of units R.
    pub units: f64,
    /// E·I: facility energy × location-based intensity, grams (no market instruments).
    pub operational_g: f64,
    /// M, grams.
    pub embodied_g: f64,
    /// `(operational_g + embodied_g) / units`, grams per unit.
    pub sci_g_per_unit: f64,
    /// Where R came from (`functional_units` record, or `count of runs`).
    pub source: String,
}

/// The 24/7 carbon-free-energy score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfeScore {
    /// Σ matched / Σ load over all zones, percent.
    pub hourly_pct: f64,
    /// Σ contracted clean energy / Σ load, capped at 100, percent.
    pub annual_pct: f64,
    /// `annual_pct - hourly_pct`, percentage points.
    pub gap_pct: f64,
    /// Σ contracted *renewable* energy / Σ load, capped at 100, percent (nuclear excluded):
    /// what a "100 % renewable" claim on annual matching rests on.
    pub renewable_annual_pct: f64,
    /// How the score was computed, in words (flat delivery, grid-share fallback...).
    pub notes: Vec<String>,
    /// Per zone.
    pub by_zone: Vec<CfeZone>,
}

/// The CFE score of one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfeZone {
    /// Grid zone.
    pub zone: String,
    /// Σ load, kWh.
    pub load_kwh: f64,
    /// Σ hourly matched clean energy, kWh.
    pub matched_kwh: f64,
    /// Of which from contracts, kWh.
    pub matched_contract_kwh: f64,
    /// Of which from the grid's clean share, kWh.
    pub matched_grid_kwh: f64,
    /// Σ contracted clean energy allocated to the period, kWh (annual matching).
    pub contracted_kwh: f64,
    /// Hourly matched percent.
    pub hourly_pct: f64,
    /// Annual-matching percent (capped at 100).
    pub annual_pct: f64,
    /// Where the grid's hourly clean share came from, or the fallback used.
    pub grid_share_source: String,
    /// Hours with load whose grid clean share was unknown (counted as 0).
    pub hours_without_grid_share: u64,
}

/// One run in the top list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobLine {
    /// Run id.
    pub run_id: String,
    /// Project.
    pub project: String,
    /// Team, if known.
    pub team: Option<String>,
    /// Lifecycle stage.
    pub stage: Stage,
    /// Zone.
    pub zone: String,
    /// Start.
    pub start: Timestamp,
    /// Facility energy in the period, kWh.
    pub facility_kwh: f64,
    /// Location-based operational emissions in the period, grams.
    pub operational_g: f64,
    /// Embodied emissions in the period, grams.
    pub embodied_g: f64,
}

/// Scheduled jobs' outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcomes {
    /// Jobs counted.
    pub jobs: u64,
    /// Their emissions as run, grams.
    pub actual_g: f64,
    /// Their emissions had they started at once, grams.
    pub counterfactual_g: f64,
    /// `counterfactual_g - actual_g`, grams.
    pub avoided_g: f64,
}

/// One month of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// `2026-10`.
    pub month: String,
    /// Facility energy, kWh; `None`: no data that month.
    pub facility_kwh: Option<f64>,
    /// Scope 2 location-based, grams; `None`: no data.
    pub location_g: Option<f64>,
    /// Scope 2 market-based, grams; `None`: no data.
    pub market_g: Option<f64>,
    /// Embodied, grams; `None`: no data.
    pub embodied_g: Option<f64>,
}

/// One hour with load (all zones together).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourLine {
    /// Start of the hour.
    pub hour: Timestamp,
    /// Facility energy, kWh.
    pub facility_kwh: f64,
    /// Location-based emissions, grams.
    pub location_g: f64,
    /// Carbon-free energy matched in the hour, kWh.
    pub matched_kwh: f64,
}
