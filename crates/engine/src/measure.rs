//! Preparing a measured run: which zone and cloud, which factors (each with its source), which
//! meters, which intensity segments, and the store. The CLI's `kite run` and the library's users
//! start a [`kite_tracker::Tracker`] from what [`prepare_run`] returns.
//!
//! Invariant: nothing here guesses a region. A run without `--region` or a configured `region`
//! is refused before the command starts (CodeCarbon silently falls back to a default country).

use crate::config::Config;
use crate::error::EngineError;
use crate::service::{IntensityRequest, IntensityService, Note};
use kite_core::{IntensitySeries, SignedDuration, TimeWindow, Timestamp};
use kite_meter::{MeterChoice, MeterEnv, Selection};
use kite_regions::{AliasKind, Registry, Zone};
use kite_tracker::{Factor, HardwareProfile, TrackerConfig, codecarbon::HostInfo};
use std::time::Duration;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Zone or cloud region as typed; `None` uses the configured region.
    pub region: Option<String>,
    /// `--pue`, if given.
    pub pue: Option<f64>,
    /// Sampling interval.
    pub interval: Duration,
    /// Which meters.
    pub meter: MeterChoice,
    /// Where meters look (tests point this at fake trees).
    pub meter_env: MeterEnv,
    /// Project name.
    pub project: String,
    /// Experiment id.
    pub experiment: Option<String>,
    /// The measured command line.
    pub command: Vec<String>,
}

/// Everything needed to start the tracker, and what the user should be told.
pub struct PreparedRun {
    /// The tracker configuration (pid still unset: the command has not started).
    pub config: TrackerConfig,
    /// The resolved zone.
    pub zone: &'static Zone,
    /// The meters and the reasons for the choice.
    pub meters: Selection,
    /// Intensity segments covering the expected run (refreshed at the end).
    pub intensity: Vec<IntensitySeries>,
    /// How the intensity was obtained (fallbacks taken).
    pub intensity_notes: Vec<Note>,
    /// Facts about this machine for the CodeCarbon row.
    pub host: HostInfo,
}

/// How far ahead the intensity is fetched at the start; a longer run refreshes it at the end.
pub const INTENSITY_HORIZON: SignedDuration = SignedDuration::from_hours(48);

/// Resolves the region and factors, selects meters and fetches the intensity for a run.
pub async fn prepare_run(
    cfg: &Config,
    service: &IntensityService,
    req: RunRequest,
) -> Result<PreparedRun, EngineError> {
    let region = req
        .region
        .clone()
        .or_else(|| cfg.region.clone())
        .ok_or(EngineError::NoRunRegion)?;
    let zone = service.resolve(&region)?;
    let registry = Registry::embedded();
    let host = HostInfo::detect();
    let hardware =
        HardwareProfile::default_for(&host.cpu_model, &[], host.cpu_count, host.ram_total_gb);
    let mut config = TrackerConfig::new(req.project.clone(), zone.key.clone(), hardware);
    if let Some((cloud, name)) = kite_regions::split_cloud(&region) {
        config = config.with_cloud(cloud.as_str(), name);
    }
    match (req.pue, cfg.pue) {
        (Some(pue), _) => config.pue = Factor::new(pue, "--pue"),
        (None, Some(pue)) => {
            let file = cfg
                .file
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_else(|| "the config file".into());
            config.pue = Factor::new(pue, format!("`pue` in {file}"));
        }
        (None, None) => {}
    }
    let country = zone
        .country
        .as_deref()
        .and_then(|c| kite_core::ZoneKey::new(c).ok())
        .and_then(|k| registry.get(&k));
    config.country_name = country.map(|c| c.name.clone());
    config.country_iso3 = country.and_then(|c| {
        c.aliases
            .iter()
            .find(|a| a.kind == AliasKind::Country)
            .map(|a| a.name.clone())
    });
    config.experiment = req.experiment.clone();
    config.command = Some(req.command.clone());
    config.interval = req.interval;
    config
        .validate()
        .map_err(|e| EngineError::Request(e.to_string()))?;

    let meters = kite_meter::select(req.meter, &req.meter_env)
        .map_err(|e| EngineError::Request(format!("--meter {}: {e}", req.meter)))?;

    let now = service.now();
    let (intensity, intensity_notes) =
        fetch_intensity(service, &zone.key, cfg.signal, now, now + INTENSITY_HORIZON).await?;
    Ok(PreparedRun {
        config,
        zone,
        meters,
        intensity,
        intensity_notes,
        host,
    })
}

/// The intensity for `[start, end)` in the configured signal, as segments with their metadata.
pub async fn fetch_intensity(
    service: &IntensityService,
    zone: &kite_core::ZoneKey,
    signal: kite_core::Signal,
    start: Timestamp,
    end: Timestamp,
) -> Result<(Vec<IntensitySeries>, Vec<Note>), EngineError> {
    let window = TimeWindow::new(kite_core::Resolution::HOUR.floor(start), end)
        .map_err(|e| EngineError::Request(e.to_string()))?;
    let answer = service
        .intensity(&IntensityRequest {
            region: zone.to_string(),
            window,
            signal,
            resolution: None,
            source: None,
        })
        .await?;
    Ok((answer.segments, answer.notes))
}
