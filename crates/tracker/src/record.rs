//! [`RunRecord`]: everything kite knows about a finished (or interrupted) run, and how sure it is:
//! energy per device with how it was obtained, the factors applied with their sources, the
//! intensity used with its provenance, phases, predictions and their errors, and diagnostics.
//!
//! The same function builds the record of a live run at `stop` and of a run read back from the
//! store (`RunRecord::from_stored`), so a run recovered after a crash reads exactly like one that
//! ended normally, up to its last persisted interval.

use crate::config::TrackingMode;
use crate::factors::Factor;
use crate::hardware::ShareRule;
use kite_core::{GramsCo2PerKwh, GramsCo2e, KilowattHours, SignalMeta, Timestamp, ZoneKey};
use kite_meter::Component;

pub use kite_store::RunStatus;

/// How a run ended, as told to [`Tracker::stop`](crate::Tracker::stop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The job succeeded.
    Succeeded {
        /// Its exit code, if it was a process.
        exit_code: Option<i32>,
    },
    /// The job failed.
    Failed {
        /// Its exit code; `None` when it was killed by a signal or was not a process.
        exit_code: Option<i32>,
    },
    /// Measuring stopped before the job finished.
    Interrupted {
        /// Why, in words (e.g. `Ctrl-C`, `dropped without finish`).
        reason: String,
    },
}

/// How an energy number was obtained.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EnergyMethod {
    /// Read from a hardware sensor.
    Measured {
        /// `rapl`, `nvml`, ...
        sensor: String,
        /// What was read and how it was attributed, in words.
        detail: String,
    },
    /// Computed from a documented model.
    Modelled {
        /// The model in words.
        model: String,
    },
}

impl EnergyMethod {
    /// `measured` or `modelled`.
    pub fn label(&self) -> &'static str {
        match self {
            EnergyMethod::Measured { .. } => "measured",
            EnergyMethod::Modelled { .. } => "modelled",
        }
    }
}

/// One device's energy over the run.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEnergy {
    /// CPU, RAM or GPU.
    pub component: Component,
    /// Which device, for people.
    pub device: String,
    /// Sensor or model.
    pub method: EnergyMethod,
    /// Energy the whole device used.
    pub device_energy: KilowattHours,
    /// The part attributed to the measured process tree.
    pub attributed_energy: KilowattHours,
    /// The part the run is charged with (attributed or whole device, per [`TrackingMode`]).
    pub energy: KilowattHours,
}

/// How one intensity series was used. Each persisted interval is credited to the series that
/// supplied most of it (intervals are about a second, series points an hour or so).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentUse {
    /// The zone of the series.
    pub zone: ZoneKey,
    /// Signal kind, source, provenance and fetch time.
    pub meta: SignalMeta,
    /// Seconds of the run it supplied the intensity for.
    pub seconds: f64,
    /// IT energy it was applied to.
    pub energy: KilowattHours,
    /// Operational emissions it produced (PUE included).
    pub emissions: GramsCo2e,
    /// Time-weighted mean of the intensity it supplied.
    pub mean_intensity: Option<GramsCo2PerKwh>,
    /// Age of the data when the run ended (`ended_at - fetched_at`), seconds; `None` for data
    /// built into kite.
    pub age_secs: Option<i64>,
}

/// The grid intensity the run was accounted with.
#[derive(Debug, Clone, PartialEq)]
pub struct IntensitySummary {
    /// Emissions / facility energy: the intensity the run effectively paid.
    pub effective: Option<GramsCo2PerKwh>,
    /// The time-weighted mean over the run.
    pub time_weighted: Option<GramsCo2PerKwh>,
    /// Seconds no series covered, filled from the nearest value in time.
    pub filled_secs: f64,
    /// IT energy for which no intensity was known at all (its emissions are missing).
    pub unknown_energy: KilowattHours,
    /// Each series used, in order of first use.
    pub segments: Vec<SegmentUse>,
}

/// Embodied carbon (SCI `M`) and how it was computed.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbodiedUse {
    /// The result.
    pub emissions: GramsCo2e,
    /// Total embodied emissions of the machine, kgCO2e, with source.
    pub total_kg: Factor,
    /// Expected lifetime, hours, with source.
    pub lifetime_hours: Factor,
    /// Time reserved: the run's duration, seconds.
    pub reserved_secs: f64,
    /// The share rule.
    pub rule: ShareRule,
    /// The share it gave, in `[0, 1]`.
    pub share: f64,
    /// The hardware described.
    pub hardware: String,
}

/// Operational water.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterUse {
    /// On-site plus off-site, litres.
    pub litres: f64,
    /// On-site (cooling): IT energy × WUE, litres.
    pub onsite_litres: f64,
    /// Off-site (generation): IT energy × PUE × water intensity, litres.
    pub offsite_litres: f64,
    /// The on-site WUE used, L/kWh.
    pub wue_onsite: Factor,
    /// The off-site water intensity used, L/kWh.
    pub water_offsite: Factor,
}

/// One phase of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseRecord {
    /// The name given.
    pub name: String,
    /// When it started.
    pub start: Timestamp,
    /// When it ended; `None` if the run stopped first (its numbers then run to the end).
    pub end: Option<Timestamp>,
    /// Its duration, seconds.
    pub duration_secs: f64,
    /// IT energy charged to it.
    pub energy: KilowattHours,
    /// Operational emissions charged to it.
    pub emissions: GramsCo2e,
}

/// A prediction of the whole run made when a phase ended, with its error once the run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRecord {
    /// Phases completed when it was made.
    pub after_phases: u32,
    /// The phase whose end triggered it.
    pub phase: String,
    /// Predicted IT energy.
    pub energy: KilowattHours,
    /// Predicted operational emissions.
    pub emissions: GramsCo2e,
    /// Predicted duration, seconds.
    pub duration_secs: f64,
    /// `(predicted - actual) / actual` of the energy, percent.
    pub energy_error_pct: Option<f64>,
    /// Same for emissions.
    pub emissions_error_pct: Option<f64>,
    /// Same for duration.
    pub duration_error_pct: Option<f64>,
}

/// What the machine and the process tree did, on average over the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivitySummary {
    /// Machine CPU utilisation, `[0, 1]`.
    pub cpu_utilisation: Option<f64>,
    /// The tree's share of the machine's CPU capacity, `[0, 1]`.
    pub tree_cpu_share: Option<f64>,
    /// Memory in use on the machine, time-weighted mean, GB as CodeCarbon counts them
    /// (bytes / 1024³).
    pub ram_used_gb: Option<f64>,
    /// Total memory of the machine, GB (bytes / 1024³).
    pub ram_total_gb: Option<f64>,
    /// Peak resident memory of the tree, bytes.
    pub tree_rss_peak_bytes: u64,
}

/// A problem met while measuring, with how often it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What happened, the first time, and what was done about it.
    pub message: String,
    /// How many times.
    pub count: u64,
}

/// Everything about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Unique id.
    pub run_id: String,
    /// Project.
    pub project: String,
    /// Experiment, if any.
    pub experiment: Option<String>,
    /// The measured command line (empty if none).
    pub command: Vec<String>,
    /// The measured child, if any.
    pub pid: Option<u32>,
    /// Grid zone.
    pub zone: ZoneKey,
    /// ISO alpha-3 country code, if known.
    pub country_iso3: Option<String>,
    /// Country name, if known.
    pub country_name: Option<String>,
    /// `(provider, region)` on a cloud.
    pub cloud: Option<(String, String)>,
    /// When measuring started.
    pub started_at: Timestamp,
    /// When it ended (for an interrupted run, the end of its last persisted interval).
    pub ended_at: Timestamp,
    /// `ended_at - started_at`, seconds.
    pub duration_secs: f64,
    /// How the run stands.
    pub status: RunStatus,
    /// The job's exit code, if known.
    pub exit_code: Option<i32>,
    /// Why it ended this way, if said.
    pub reason: Option<String>,
    /// Process tree or whole machine.
    pub tracking: TrackingMode,
    /// Per device.
    pub devices: Vec<DeviceEnergy>,
    /// IT energy the run is charged with (sum of `devices[].energy`).
    pub energy: KilowattHours,
    /// The part of `energy` read from sensors, `[0, 1]`; the rest is modelled.
    pub measured_fraction: f64,
    /// PUE applied, with source.
    pub pue: Factor,
    /// `energy × PUE`.
    pub facility_energy: KilowattHours,
    /// Operational emissions: Σ interval energy × PUE × interval intensity.
    pub operational: GramsCo2e,
    /// Embodied emissions (SCI `M`).
    pub embodied: EmbodiedUse,
    /// Operational water.
    pub water: WaterUse,
    /// The intensity used.
    pub intensity: IntensitySummary,
    /// Phases, in order of start.
    pub phases: Vec<PhaseRecord>,
    /// Total phases announced, if any.
    pub total_phases: Option<u32>,
    /// Predictions, one per completed phase when `total_phases` was given.
    pub predictions: Vec<PredictionRecord>,
    /// Sampling ticks taken (for a run rebuilt after a crash: its persisted intervals).
    pub samples: u64,
    /// Intervals persisted.
    pub intervals: u64,
    /// Machine and tree activity.
    pub activity: ActivitySummary,
    /// Problems met, deduplicated.
    pub diagnostics: Vec<Diagnostic>,
}

impl RunRecord {
    /// Operational plus embodied emissions.
    pub fn total_emissions(&self) -> GramsCo2e {
        self.operational + self.embodied.emissions
    }

    /// IT energy of one component (CPU, RAM or GPU), as charged.
    pub fn component_energy(&self, component: Component) -> KilowattHours {
        self.devices
            .iter()
            .filter(|d| d.component == component)
            .fold(KilowattHours(0.0), |acc, d| acc + d.energy)
    }
}
