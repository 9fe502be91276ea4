//! [`TrackerConfig`]: what a run is and which factors apply to it. Built by the caller (the CLI
//! from flags and the config file), checked by [`Tracker::start`](crate::Tracker::start), and
//! persisted with the run (as `run_param` text) so a run can be rebuilt from the store alone.

use crate::error::TrackerError;
use crate::factors::{self, Factor};
use crate::hardware::{HardwareProfile, ShareRule};
use kite_core::ZoneKey;
use std::time::Duration;

/// Whose energy a run is charged with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackingMode {
    /// The measured process tree's attributed share of each device (`kite run`).
    Process,
    /// The whole devices, whatever ran on them (`kite monitor`).
    Machine,
}

impl TrackingMode {
    /// `process` or `machine`, as CodeCarbon's `tracking_mode` column spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackingMode::Process => "process",
            TrackingMode::Machine => "machine",
        }
    }

    /// Parses [`TrackingMode::as_str`]'s output.
    pub fn parse(text: &str) -> Option<TrackingMode> {
        match text {
            "process" => Some(TrackingMode::Process),
            "machine" => Some(TrackingMode::Machine),
            _ => None,
        }
    }
}

/// Shortest sampling interval.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// Longest sampling interval.
pub const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// Longest time between two writes to the store: what a crash can lose at most.
pub const MAX_PERSIST_EVERY: Duration = Duration::from_secs(10);

/// Everything a run needs to know before it starts. No `Default`: [`TrackerConfig::new`] takes
/// what has no sensible default and documents the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Project name (CodeCarbon's `project_name`).
    pub project: String,
    /// Experiment name or id (CodeCarbon's `experiment_id`).
    pub experiment: Option<String>,
    /// Unique run id; [`TrackerConfig::new`] makes a UUID v4.
    pub run_id: String,
    /// The measured command line, when the run wraps a command.
    pub command: Option<Vec<String>>,
    /// The grid zone whose intensity applies.
    pub zone: ZoneKey,
    /// ISO 3166 alpha-3 code of the country (CodeCarbon's `country_iso_code`), if known.
    pub country_iso3: Option<String>,
    /// Country name, if known.
    pub country_name: Option<String>,
    /// `(provider, region)` on a cloud, e.g. `("aws", "eu-central-1")`.
    pub cloud: Option<(String, String)>,
    /// Power usage effectiveness of the facility (≥ 1).
    pub pue: Factor,
    /// On-site water use effectiveness, litres per kWh of IT energy (≥ 0).
    pub wue_onsite: Factor,
    /// Water consumed per kWh of electricity generated, litres (≥ 0).
    pub water_offsite: Factor,
    /// The hardware, for embodied carbon.
    pub hardware: HardwareProfile,
    /// Process tree or whole machine.
    pub tracking: TrackingMode,
    /// Sampling interval, 10 ms ..= 60 s.
    pub interval: Duration,
    /// Longest time between writes to the store, ≤ 10 s: what a crash can lose at most.
    pub persist_every: Duration,
    /// How many phases the run will have, for predictions.
    pub total_phases: Option<u32>,
    /// The measured child process, recorded with the run.
    pub pid: Option<u32>,
}

impl TrackerConfig {
    /// A configuration with kite's defaults: a new UUID v4 run id, no experiment or command,
    /// PUE 1.0 and on-site WUE 0 (not a cloud run, see [`TrackerConfig::with_cloud`]), the
    /// default off-site water intensity, process tracking, 1 s sampling, persisted every 5 s,
    /// no phase count, no pid.
    pub fn new(
        project: impl Into<String>,
        zone: ZoneKey,
        hardware: HardwareProfile,
    ) -> TrackerConfig {
        TrackerConfig {
            project: project.into(),
            experiment: None,
            run_id: new_run_id(),
            command: None,
            zone,
            country_iso3: None,
            country_name: None,
            cloud: None,
            pue: factors::default_pue(None),
            wue_onsite: factors::default_wue_onsite(None),
            water_offsite: factors::default_water_offsite(),
            hardware,
            tracking: TrackingMode::Process,
            interval: Duration::from_secs(1),
            persist_every: Duration::from_secs(5),
            total_phases: None,
            pid: None,
        }
    }

    /// Sets the cloud and replaces PUE and on-site WUE with that provider's defaults (call it
    /// before setting a PUE or WUE the user gave).
    pub fn with_cloud(
        mut self,
        provider: impl Into<String>,
        region: impl Into<String>,
    ) -> TrackerConfig {
        let provider = provider.into();
        self.pue = factors::default_pue(Some(&provider));
        self.wue_onsite = factors::default_wue_onsite(Some(&provider));
        self.cloud = Some((provider, region.into()));
        self
    }

    /// Checks every range; the error names the field, the value and what is accepted.
    pub fn validate(&self) -> Result<(), TrackerError> {
        let bad = |field: &'static str, value: String, fix: &'static str| {
            Err(TrackerError::InvalidConfig { field, value, fix })
        };
        if self.project.trim().is_empty() {
            return bad(
                "project",
                format!("{:?}", self.project),
                "give a non-empty project name",
            );
        }
        if self.run_id.trim().is_empty() {
            return bad(
                "run_id",
                format!("{:?}", self.run_id),
                "give a non-empty run id",
            );
        }
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&self.interval) {
            return bad(
                "interval",
                format!("{:?}", self.interval),
                "use a sampling interval between 10 ms and 60 s",
            );
        }
        if self.persist_every.is_zero() || self.persist_every > MAX_PERSIST_EVERY {
            return bad(
                "persist_every",
                format!("{:?}", self.persist_every),
                "persist at least every 10 s (and more than 0 s), so a crash loses little",
            );
        }
        if !(self.pue.value.is_finite() && self.pue.value >= 1.0) {
            return bad(
                "pue",
                self.pue.value.to_string(),
                "PUE is facility energy / IT energy, a number of at least 1.0 (e.g. 1.1)",
            );
        }
        if !(self.wue_onsite.value.is_finite() && self.wue_onsite.value >= 0.0) {
            return bad(
                "wue_onsite",
                self.wue_onsite.value.to_string(),
                "on-site WUE is litres per kWh, a number of at least 0",
            );
        }
        if !(self.water_offsite.value.is_finite() && self.water_offsite.value >= 0.0) {
            return bad(
                "water_offsite",
                self.water_offsite.value.to_string(),
                "off-site water intensity is litres per kWh, a number of at least 0",
            );
        }
        let hw = &self.hardware;
        if !(hw.embodied_kg.value.is_finite() && hw.embodied_kg.value >= 0.0) {
            return bad(
                "hardware.embodied_kg",
                hw.embodied_kg.value.to_string(),
                "embodied emissions are kgCO2e, a number of at least 0",
            );
        }
        if !(hw.lifetime_hours.value.is_finite() && hw.lifetime_hours.value > 0.0) {
            return bad(
                "hardware.lifetime_hours",
                hw.lifetime_hours.value.to_string(),
                "the expected lifetime is a positive number of hours (4 years = 35040)",
            );
        }
        if let ShareRule::Fixed(x) = hw.share
            && !(x.is_finite() && x > 0.0 && x <= 1.0)
        {
            return bad(
                "hardware.share",
                x.to_string(),
                "a fixed share of the machine is in (0, 1], e.g. 0.125 for 8 of 64 vCPUs",
            );
        }
        if self.total_phases == Some(0) {
            return bad("total_phases", "0".into(), "give at least 1 phase, or none");
        }
        Ok(())
    }
}

/// A new random run id (UUID v4, as CodeCarbon's).
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TrackerConfig {
        TrackerConfig::new(
            "p",
            ZoneKey::new("DE").unwrap(),
            HardwareProfile::default_for("cpu", &[], 4, 8.0),
        )
    }

    #[test]
    fn defaults_validate_and_ids_are_uuids() {
        let c = cfg();
        c.validate().unwrap();
        assert_eq!(c.run_id.len(), 36);
        assert_ne!(c.run_id, cfg().run_id);
        let aws = cfg().with_cloud("aws", "eu-central-1");
        assert_eq!(aws.pue.value, 1.135);
        assert_eq!(aws.wue_onsite.value, 0.12);
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_field_named() {
        let mut c = cfg();
        c.interval = Duration::from_millis(5);
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("interval") && e.contains("10 ms"), "{e}");
        let mut c = cfg();
        c.persist_every = Duration::from_secs(11);
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("persist_every")
        );
        let mut c = cfg();
        c.pue = Factor::new(0.9, "x");
        assert!(c.validate().unwrap_err().to_string().contains("pue"));
        let mut c = cfg();
        c.hardware.share = ShareRule::Fixed(1.5);
        assert!(c.validate().unwrap_err().to_string().contains("share"));
        let mut c = cfg();
        c.total_phases = Some(0);
        assert!(c.validate().is_err());
    }
}
