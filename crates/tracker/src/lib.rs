//! Measures a job: its energy, operational carbon, water and embodied carbon, and how sure each
//! number is.
//!
//! A [`Tracker`] samples [`Meter`](kite_meter::Meter)s on its own thread, integrates **each
//! interval's energy × the grid intensity of that interval × PUE** (never one average intensity
//! per run), and persists the intervals to the store at least every 10 s, so a `kill -9` or a
//! power cut loses at most the last few seconds; an interrupted run is found and marked by
//! [`Store::mark_interrupted`](kite_store::Store::mark_interrupted) on the next start, and
//! [`RunRecord::from_stored`] rebuilds its record. At the end, [`Tracker::stop`] returns a
//! [`RunRecord`], and [`codecarbon::append_row`] writes it as a CodeCarbon `emissions.csv` row.
//!
//! ```text
//! let cfg = TrackerConfig::new("demo", zone, HardwareProfile::default_for(cpu, &gpus, cpus, ram_gb));
//! let tracker = Tracker::start(cfg, meters, sampler, intensity, Some(store))?.guard();
//! for epoch in 0..n { let _p = tracker.phase(&format!("epoch {epoch}")); train(); }
//! let record = tracker.finish()?;
//! ```
//!
//! Architecture invariants:
//! - all accounting is pure functions over intervals (`accounting.rs`, `accumulate.rs`); the
//!   thread in `tracker.rs` only samples, timestamps and persists;
//! - a live run's record and the record rebuilt from its stored intervals are computed by the
//!   same code from the same rows, so they agree;
//! - every factor carries its source ([`Factor`]); every device's energy says whether it was
//!   measured or modelled; every intensity segment keeps its [`SignalMeta`](kite_core::SignalMeta);
//! - measuring never stops for a side problem (a failing meter, a failed write): it becomes a
//!   [`Diagnostic`] in the record.

mod accounting;
mod accumulate;
pub mod codecarbon;
mod config;
mod error;
pub mod factors;
pub mod hardware;
mod record;
mod sources;
mod tracker;

pub use accounting::{
    EnergyInterval, IntensityUse, PhaseProgress, Prediction, Water, error_percent, intensity_over,
    operational_emissions, predict, water,
};
pub use config::{
    MAX_INTERVAL, MAX_PERSIST_EVERY, MIN_INTERVAL, TrackerConfig, TrackingMode, new_run_id,
};
pub use error::TrackerError;
pub use factors::Factor;
pub use hardware::{HardwareProfile, ShareRule};
pub use record::{
    ActivitySummary, DeviceEnergy, Diagnostic, EmbodiedUse, EnergyMethod, IntensitySummary,
    PhaseRecord, PredictionRecord, RunOutcome, RunRecord, RunStatus, SegmentUse, WaterUse,
};
pub use sources::{ActivitySource, ConstantPowerMeter, SyntheticActivity};
pub use tracker::{PhaseGuard, PhaseId, Snapshot, Tracker, TrackerGuard};

/// Reads run `id` back from `store` and rebuilds its record; `None` if there is no such run.
pub fn load_run(store: &kite_store::Store, id: &str) -> Result<Option<RunRecord>, TrackerError> {
    match store.run(id)? {
        Some(stored) => RunRecord::from_stored(&stored).map(Some),
        None => Ok(None),
    }
}

/// Whether process `pid` is alive, for [`Store::mark_interrupted`](kite_store::Store::mark_interrupted):
/// on Linux, whether `/proc/<pid>` exists and is not a zombie. Where `/proc` is not mounted it
/// answers `true`, so no run is wrongly marked interrupted.
pub fn process_is_alive(pid: u32) -> bool {
    let proc_root = std::path::Path::new("/proc");
    if !proc_root.join("self").exists() {
        return true;
    }
    match std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}
