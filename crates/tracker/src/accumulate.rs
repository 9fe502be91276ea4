//! Folding persisted intervals into totals, and totals into a [`RunRecord`].
//!
//! The [`Accumulator`] takes rows exactly as they are written to the store (`RunInterval` plus
//! its `RunReading`s), one at a time in time order, in O(1) memory per row. The live tracker
//! feeds it each row as it persists it; [`RunRecord::from_stored`] feeds it the rows read back.
//! Both then call the same [`build_record`], which is why a run recovered after a crash reads
//! like one that ended normally, up to its last persisted interval.
//!
//! Phases are windows of time: a row overlapping a phase is charged to it in proportion to the
//! overlap (rows are cut at phase boundaries while measuring, so the split is rarely needed).

use crate::accounting::{self, PhaseProgress, Prediction};
use crate::config::{TrackerConfig, TrackingMode};
use crate::error::TrackerError;
use crate::factors::Factor;
use crate::hardware::{HardwareProfile, ShareRule};
use crate::record::{
    ActivitySummary, DeviceEnergy, Diagnostic, EmbodiedUse, EnergyMethod, IntensitySummary,
    PhaseRecord, PredictionRecord, RunRecord, RunStatus, SegmentUse, WaterUse,
};
use kite_core::{GramsCo2PerKwh, GramsCo2e, Joules, KilowattHours, SignalMeta, Timestamp, ZoneKey};
use kite_meter::Component;
use kite_store::{RunInterval, RunReading, RunSummary, StoredRun};

const JOULES_PER_KWH: f64 = 3_600_000.0;
const BYTES_PER_GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What a run is, as needed to build its record: the config, as persisted with the run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunContext {
    pub run_id: String,
    pub project: String,
    pub experiment: Option<String>,
    pub command: Vec<String>,
    pub pid: Option<u32>,
    pub zone: ZoneKey,
    pub country_iso3: Option<String>,
    pub country_name: Option<String>,
    pub cloud: Option<(String, String)>,
    pub tracking: TrackingMode,
    pub pue: Factor,
    pub wue_onsite: Factor,
    pub water_offsite: Factor,
    pub hardware: HardwareProfile,
    pub total_phases: Option<u32>,
    pub started_ms: i64,
    pub total_memory_bytes: Option<u64>,
}

impl RunContext {
    pub(crate) fn from_config(
        cfg: &TrackerConfig,
        started_ms: i64,
        total_memory_bytes: Option<u64>,
    ) -> RunContext {
        RunContext {
            run_id: cfg.run_id.clone(),
            project: cfg.project.clone(),
            experiment: cfg.experiment.clone(),
            command: cfg.command.clone().unwrap_or_default(),
            pid: cfg.pid,
            zone: cfg.zone.clone(),
            country_iso3: cfg.country_iso3.clone(),
            country_name: cfg.country_name.clone(),
            cloud: cfg.cloud.clone(),
            tracking: cfg.tracking,
            pue: cfg.pue.clone(),
            wue_onsite: cfg.wue_onsite.clone(),
            water_offsite: cfg.water_offsite.clone(),
            hardware: cfg.hardware.clone(),
            total_phases: cfg.total_phases,
            started_ms,
            total_memory_bytes,
        }
    }

    /// The `run_param` rows that let [`RunContext::from_stored`] rebuild this context.
    pub(crate) fn params(&self, cfg: &TrackerConfig) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = Vec::with_capacity(24);
        let mut put = |k: &str, v: String| p.push((k.to_string(), v));
        put("tracking", self.tracking.as_str().into());
        put("interval_ms", cfg.interval.as_millis().to_string());
        put(
            "persist_every_ms",
            cfg.persist_every.as_millis().to_string(),
        );
        for (key, f) in [
            ("pue", &self.pue),
            ("wue_onsite", &self.wue_onsite),
            ("water_offsite", &self.water_offsite),
            ("hardware.embodied_kg", &self.hardware.embodied_kg),
            ("hardware.lifetime_hours", &self.hardware.lifetime_hours),
        ] {
            put(key, f.value.to_string());
            put(&format!("{key}.source"), f.source.clone());
        }
        put("hardware.share", self.hardware.share.to_text());
        put("hardware.description", self.hardware.description.clone());
        if let Some(v) = &self.country_iso3 {
            put("country.iso3", v.clone());
        }
        if let Some(v) = &self.country_name {
            put("country.name", v.clone());
        }
        if let Some((provider, region)) = &self.cloud {
            put("cloud.provider", provider.clone());
            put("cloud.region", region.clone());
        }
        if let Some(n) = self.total_phases {
            put("total_phases", n.to_string());
        }
        if let Some(b) = self.total_memory_bytes {
            put("host.total_memory_bytes", b.to_string());
        }
        p
    }

    pub(crate) fn from_stored(s: &RunSummary) -> Result<RunContext, String> {
        let text = |k: &str| s.param(k).map(str::to_string);
        let need = |k: &str| s.param(k).ok_or_else(|| format!("param `{k}` is missing"));
        let number = |k: &str| -> Result<f64, String> {
            need(k)?
                .parse::<f64>()
                .map_err(|_| format!("param `{k}` is not a number"))
        };
        let factor = |k: &str| -> Result<Factor, String> {
            Ok(Factor::new(number(k)?, need(&format!("{k}.source"))?))
        };
        let tracking = TrackingMode::parse(need("tracking")?)
            .ok_or_else(|| "param `tracking` is not process or machine".to_string())?;
        let share = ShareRule::parse(need("hardware.share")?)
            .ok_or_else(|| "param `hardware.share` is not a share rule".to_string())?;
        let cloud = match (text("cloud.provider"), text("cloud.region")) {
            (Some(p), Some(r)) => Some((p, r)),
            _ => None,
        };
        Ok(RunContext {
            run_id: s.id.clone(),
            project: s.project.clone(),
            experiment: s.experiment.clone(),
            command: s.command.clone(),
            pid: s.pid,
            zone: s.zone.clone(),
            country_iso3: text("country.iso3"),
            country_name: text("country.name"),
            cloud,
            tracking,
            pue: factor("pue")?,
            wue_onsite: factor("wue_onsite")?,
            water_offsite: factor("water_offsite")?,
            hardware: HardwareProfile {
                embodied_kg: factor("hardware.embodied_kg")?,
                lifetime_hours: factor("hardware.lifetime_hours")?,
                share,
                description: text("hardware.description").unwrap_or_default(),
            },
            total_phases: s.param("total_phases").and_then(|v| v.parse().ok()),
            started_ms: s.started_at.as_millisecond(),
            total_memory_bytes: s
                .param("host.total_memory_bytes")
                .and_then(|v| v.parse().ok()),
        })
    }
}

/// A device's totals.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeviceAcc {
    pub component: Component,
    pub device: String,
    pub method: EnergyMethod,
    pub device_j: f64,
    pub attributed_j: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct SignalStat {
    secs: f64,
    joules: f64,
    grams: f64,
    weighted: f64,
    intensity_secs: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PhaseAcc {
    pub name: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    joules: f64,
    grams: f64,
    /// Position in the order of completion (1-based), once it ended and was accounted.
    completed_as: Option<u32>,
    pub prediction: Option<Prediction>,
}

/// A prediction waiting for the tracker to price the remaining phases with its intensity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PendingPrediction {
    pub phase: usize,
    pub progress: PhaseProgress,
    /// When the remaining phases start (the end of the row that completed the phase).
    pub from_ms: i64,
}

/// Running totals of a run. See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Accumulator {
    tracking: TrackingMode,
    pue: f64,
    total_phases: Option<u32>,
    pub devices: Vec<DeviceAcc>,
    pub signals: Vec<(ZoneKey, SignalMeta)>,
    signal_stats: Vec<SignalStat>,
    pub phases: Vec<PhaseAcc>,
    active: Vec<usize>,
    completed_scratch: Vec<usize>,
    pending: Vec<PendingPrediction>,
    completed: u32,
    phases_joules: f64,
    phases_secs: f64,
    charged_j: f64,
    measured_j: f64,
    unknown_j: f64,
    grams: f64,
    intensity_weighted: f64,
    intensity_secs: f64,
    filled_ms: u64,
    tree_cpu: f64,
    busy_cpu: f64,
    capacity_cpu: f64,
    activity_secs: f64,
    used_memory_byte_secs: f64,
    tree_rss_peak: u64,
    pub rows: u64,
    pub last_end_ms: Option<i64>,
    pub last_power_w: f64,
    pub last_intensity: Option<f64>,
}

impl Accumulator {
    pub(crate) fn new(tracking: TrackingMode, pue: f64, total_phases: Option<u32>) -> Accumulator {
        Accumulator {
            tracking,
            pue,
            total_phases,
            devices: Vec::new(),
            signals: Vec::new(),
            signal_stats: Vec::new(),
            phases: Vec::new(),
            active: Vec::new(),
            completed_scratch: Vec::new(),
            pending: Vec::new(),
            completed: 0,
            phases_joules: 0.0,
            phases_secs: 0.0,
            charged_j: 0.0,
            measured_j: 0.0,
            unknown_j: 0.0,
            grams: 0.0,
            intensity_weighted: 0.0,
            intensity_secs: 0.0,
            filled_ms: 0,
            tree_cpu: 0.0,
            busy_cpu: 0.0,
            capacity_cpu: 0.0,
            activity_secs: 0.0,
            used_memory_byte_secs: 0.0,
            tree_rss_peak: 0,
            rows: 0,
            last_end_ms: None,
            last_power_w: 0.0,
            last_intensity: None,
        }
    }

    /// The index of the device, registering it if new.
    pub(crate) fn device_index(
        &mut self,
        component: Component,
        device: &str,
        method: &kite_meter::Method,
    ) -> usize {
        let same_method = |m: &EnergyMethod| match (m, method) {
            (
                EnergyMethod::Measured {
                    sensor: a,
                    detail: x,
                },
                kite_meter::Method::Measured {
                    sensor: b,
                    detail: y,
                },
            ) => a == b && x == y,
            (EnergyMethod::Modelled { model: a }, kite_meter::Method::Modelled { model: b }) => {
                a == b
            }
            _ => false,
        };
        if let Some(i) = self
            .devices
            .iter()
            .position(|d| d.component == component && d.device == device && same_method(&d.method))
        {
            return i;
        }
        self.push_device(DeviceAcc {
            component,
            device: device.to_string(),
            method: match method {
                kite_meter::Method::Measured { sensor, detail } => EnergyMethod::Measured {
                    sensor: (*sensor).to_string(),
                    detail: detail.clone(),
                },
                kite_meter::Method::Modelled { model } => EnergyMethod::Modelled {
                    model: model.clone(),
                },
            },
            device_j: 0.0,
            attributed_j: 0.0,
        })
    }

    pub(crate) fn push_device(&mut self, d: DeviceAcc) -> usize {
        self.devices.push(d);
        self.devices.len() - 1
    }

    /// The index of the signal, registering it if new.
    pub(crate) fn signal_index(&mut self, zone: &ZoneKey, meta: &SignalMeta) -> usize {
        if let Some(i) = self
            .signals
            .iter()
            .position(|(z, m)| z == zone && m == meta)
        {
            return i;
        }
        self.signals.push((zone.clone(), meta.clone()));
        self.signal_stats.push(SignalStat::default());
        self.signals.len() - 1
    }

    pub(crate) fn start_phase(&mut self, name: &str, start_ms: i64) -> usize {
        self.phases.push(PhaseAcc {
            name: name.to_string(),
            start_ms,
            end_ms: None,
            joules: 0.0,
            grams: 0.0,
            completed_as: None,
            prediction: None,
        });
        let idx = self.phases.len() - 1;
        self.active.push(idx);
        idx
    }

    /// Ends phase `idx` at `end_ms`; returns false if it had already ended.
    pub(crate) fn end_phase(&mut self, idx: usize, end_ms: i64) -> bool {
        match self.phases.get_mut(idx) {
            Some(p) if p.end_ms.is_none() => {
                p.end_ms = Some(end_ms.max(p.start_ms));
                true
            }
            _ => false,
        }
    }

    pub(crate) fn take_pending(&mut self) -> Vec<PendingPrediction> {
        std::mem::take(&mut self.pending)
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Folds one row in. Rows must come in time order.
    pub(crate) fn ingest(&mut self, row: &RunInterval, readings: &[RunReading]) {
        let start = row.start.as_millisecond();
        let end = row.end.as_millisecond().max(start);
        let ms = end - start;
        let secs = ms as f64 / 1000.0;
        let mut charged = 0.0;
        for r in readings {
            let Some(dev) = usize::try_from(r.device_idx)
                .ok()
                .and_then(|i| self.devices.get_mut(i))
            else {
                continue;
            };
            dev.device_j += r.device_j;
            dev.attributed_j += r.attributed_j;
            let c = match self.tracking {
                TrackingMode::Process => r.attributed_j,
                TrackingMode::Machine => r.device_j,
            };
            charged += c;
            if matches!(dev.method, EnergyMethod::Measured { .. }) {
                self.measured_j += c;
            }
        }
        self.charged_j += charged;
        let grams = match row.intensity {
            Some(i) => {
                self.intensity_weighted += i * secs;
                self.intensity_secs += secs;
                charged / JOULES_PER_KWH * self.pue * i
            }
            None => {
                self.unknown_j += charged;
                0.0
            }
        };
        self.grams += grams;
        if let Some(stat) = row
            .signal_idx
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.signal_stats.get_mut(i))
        {
            stat.secs += secs;
            stat.joules += charged;
            stat.grams += grams;
            if let Some(i) = row.intensity {
                stat.weighted += i * secs;
                stat.intensity_secs += secs;
            }
        }
        self.filled_ms += row.filled_ms;
        self.tree_cpu += row.tree_cpu_secs;
        self.busy_cpu += row.busy_cpu_secs;
        self.capacity_cpu += row.capacity_cpu_secs;
        self.activity_secs += secs;
        self.used_memory_byte_secs += row.used_memory_bytes as f64 * secs;
        self.tree_rss_peak = self.tree_rss_peak.max(row.tree_rss_bytes);
        self.rows += 1;
        self.last_end_ms = Some(self.last_end_ms.map_or(end, |e| e.max(end)));
        if secs > 0.0 {
            self.last_power_w = charged / secs;
        }
        self.last_intensity = row.intensity;

        // Charge the phases this row overlaps, in proportion to the overlap.
        for &pi in &self.active {
            let p = &mut self.phases[pi];
            let p_end = p.end_ms.unwrap_or(i64::MAX);
            let frac = if ms > 0 {
                (end.min(p_end) - start.max(p.start_ms)).max(0) as f64 / ms as f64
            } else if p.start_ms <= start && start < p_end {
                1.0
            } else {
                0.0
            };
            p.joules += frac * charged;
            p.grams += frac * grams;
        }
        // Phases that ended within this row are complete: count them in order of end.
        self.completed_scratch.clear();
        for &pi in &self.active {
            if self.phases[pi].end_ms.is_some_and(|e| e <= end) {
                self.completed_scratch.push(pi);
            }
        }
        if self.completed_scratch.is_empty() {
            return;
        }
        let phases = &self.phases;
        self.completed_scratch
            .sort_by_key(|&pi| (phases[pi].end_ms.unwrap_or(i64::MAX), pi));
        for k in 0..self.completed_scratch.len() {
            let pi = self.completed_scratch[k];
            self.completed += 1;
            let p = &mut self.phases[pi];
            p.completed_as = Some(self.completed);
            self.phases_joules += p.joules;
            self.phases_secs += (p.end_ms.unwrap_or(p.start_ms) - p.start_ms) as f64 / 1000.0;
            if let Some(total) = self.total_phases {
                self.pending.push(PendingPrediction {
                    phase: pi,
                    progress: PhaseProgress {
                        completed: self.completed,
                        total,
                        energy_so_far: Joules(self.charged_j),
                        emissions_so_far: GramsCo2e(self.grams),
                        elapsed_secs: 0.0, // set by the caller, who knows the start
                        phases_energy: Joules(self.phases_joules),
                        phases_secs: self.phases_secs,
                    },
                    from_ms: end,
                });
            }
        }
        let phases = &self.phases;
        self.active.retain(|&pi| phases[pi].completed_as.is_none());
    }

    /// IT energy charged so far.
    pub(crate) fn energy(&self) -> KilowattHours {
        KilowattHours(self.charged_j / JOULES_PER_KWH)
    }

    /// Operational emissions so far.
    pub(crate) fn operational(&self) -> GramsCo2e {
        GramsCo2e(self.grams)
    }

    pub(crate) fn completed_phases(&self) -> u32 {
        self.completed
    }

    /// The machine share for embodied carbon under `rule`, and whether it had to fall back.
    fn share(&self, rule: ShareRule) -> (f64, bool) {
        match rule {
            ShareRule::WholeMachine => (1.0, false),
            ShareRule::Fixed(x) => (x, false),
            ShareRule::CpuTime if self.capacity_cpu > 0.0 => {
                ((self.tree_cpu / self.capacity_cpu).clamp(0.0, 1.0), false)
            }
            ShareRule::CpuTime => (1.0, true),
        }
    }

    /// The latest prediction made, if any.
    pub(crate) fn latest_prediction(&self) -> Option<Prediction> {
        self.phases
            .iter()
            .filter_map(|p| p.prediction)
            .max_by_key(|p| p.after_phases)
    }

    /// Embodied emissions for a run that has lasted `secs`.
    pub(crate) fn embodied(&self, hardware: &HardwareProfile, secs: f64) -> GramsCo2e {
        hardware.embodied(secs, self.share(hardware.share).0)
    }
}

/// How a run ended, for [`build_record`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunEnd {
    pub ended_ms: i64,
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub samples: u64,
    pub diagnostics: Vec<Diagnostic>,
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn kwh(j: f64) -> KilowattHours {
    KilowattHours(j / JOULES_PER_KWH)
}

/// The record of a run from its context, its totals and how it ended.
pub(crate) fn build_record(ctx: &RunContext, acc: &Accumulator, end: RunEnd) -> RunRecord {
    let mut diagnostics = end.diagnostics;
    let duration_secs = ((end.ended_ms - ctx.started_ms).max(0)) as f64 / 1000.0;
    let charge = |d: &DeviceAcc| match ctx.tracking {
        TrackingMode::Process => d.attributed_j,
        TrackingMode::Machine => d.device_j,
    };
    let devices: Vec<DeviceEnergy> = acc
        .devices
        .iter()
        .map(|d| DeviceEnergy {
            component: d.component,
            device: d.device.clone(),
            method: d.method.clone(),
            device_energy: kwh(d.device_j),
            attributed_energy: kwh(d.attributed_j),
            energy: kwh(charge(d)),
        })
        .collect();
    let energy = kwh(acc.charged_j);
    let facility_energy = energy * ctx.pue.value;
    let operational = GramsCo2e(acc.grams);

    let (share, fell_back) = acc.share(ctx.hardware.share);
    if fell_back {
        diagnostics.push(Diagnostic {
            message: "embodied carbon: the cpu-time share needs CPU activity and none was \
                      measured; the whole machine was charged"
                .into(),
            count: 1,
        });
    }
    let embodied = EmbodiedUse {
        emissions: ctx.hardware.embodied(duration_secs, share),
        total_kg: ctx.hardware.embodied_kg.clone(),
        lifetime_hours: ctx.hardware.lifetime_hours.clone(),
        reserved_secs: duration_secs,
        rule: ctx.hardware.share,
        share,
        hardware: ctx.hardware.description.clone(),
    };
    let w = accounting::water(energy, &ctx.pue, &ctx.wue_onsite, &ctx.water_offsite);
    let water = WaterUse {
        litres: w.total_litres(),
        onsite_litres: w.onsite_litres,
        offsite_litres: w.offsite_litres,
        wue_onsite: ctx.wue_onsite.clone(),
        water_offsite: ctx.water_offsite.clone(),
    };

    let known_facility_kwh = kwh(acc.charged_j - acc.unknown_j).0 * ctx.pue.value;
    let segments = acc
        .signals
        .iter()
        .zip(&acc.signal_stats)
        .filter(|(_, s)| s.secs > 0.0 || s.joules > 0.0)
        .map(|((zone, meta), s)| SegmentUse {
            zone: zone.clone(),
            meta: meta.clone(),
            seconds: s.secs,
            energy: kwh(s.joules),
            emissions: GramsCo2e(s.grams),
            mean_intensity: (s.intensity_secs > 0.0)
                .then(|| GramsCo2PerKwh(s.weighted / s.intensity_secs)),
            age_secs: meta
                .fetched_at
                .map(|f| (end.ended_ms - f.as_millisecond()) / 1000),
        })
        .collect();
    if acc.unknown_j > 0.0 {
        diagnostics.push(Diagnostic {
            message: format!(
                "no grid intensity was known for {:.6} kWh of the run's energy; its emissions are \
                 missing from the total",
                kwh(acc.unknown_j).0
            ),
            count: 1,
        });
    }
    let intensity = IntensitySummary {
        effective: (known_facility_kwh > 0.0)
            .then(|| GramsCo2PerKwh(acc.grams / known_facility_kwh)),
        time_weighted: (acc.intensity_secs > 0.0)
            .then(|| GramsCo2PerKwh(acc.intensity_weighted / acc.intensity_secs)),
        filled_secs: acc.filled_ms as f64 / 1000.0,
        unknown_energy: kwh(acc.unknown_j),
        segments,
    };

    let phases = acc
        .phases
        .iter()
        .map(|p| PhaseRecord {
            name: p.name.clone(),
            start: ts(p.start_ms),
            end: p.end_ms.map(ts),
            duration_secs: ((p.end_ms.unwrap_or(end.ended_ms) - p.start_ms).max(0)) as f64 / 1000.0,
            energy: kwh(p.joules),
            emissions: GramsCo2e(p.grams),
        })
        .collect();
    let mut predictions: Vec<PredictionRecord> = acc
        .phases
        .iter()
        .filter_map(|p| {
            let pred = p.prediction?;
            Some(PredictionRecord {
                after_phases: p.completed_as.unwrap_or(pred.after_phases),
                phase: p.name.clone(),
                energy: pred.energy,
                emissions: pred.emissions,
                duration_secs: pred.duration_secs,
                energy_error_pct: accounting::error_percent(pred.energy.0, energy.0),
                emissions_error_pct: accounting::error_percent(pred.emissions.0, operational.0),
                duration_error_pct: accounting::error_percent(pred.duration_secs, duration_secs),
            })
        })
        .collect();
    predictions.sort_by_key(|p| p.after_phases);
    if let Some(total) = ctx.total_phases
        && acc.completed != total
        && !predictions.is_empty()
    {
        diagnostics.push(Diagnostic {
            message: format!(
                "{} of the announced {total} phases completed; the prediction errors compare \
                 with a run that did not go as announced",
                acc.completed
            ),
            count: 1,
        });
    }

    let activity = ActivitySummary {
        cpu_utilisation: (acc.capacity_cpu > 0.0)
            .then(|| (acc.busy_cpu / acc.capacity_cpu).clamp(0.0, 1.0)),
        tree_cpu_share: (acc.capacity_cpu > 0.0)
            .then(|| (acc.tree_cpu / acc.capacity_cpu).clamp(0.0, 1.0)),
        ram_used_gb: (acc.activity_secs > 0.0 && acc.used_memory_byte_secs > 0.0)
            .then(|| acc.used_memory_byte_secs / acc.activity_secs / BYTES_PER_GB),
        ram_total_gb: ctx
            .total_memory_bytes
            .filter(|b| *b > 0)
            .map(|b| b as f64 / BYTES_PER_GB),
        tree_rss_peak_bytes: acc.tree_rss_peak,
    };
    let measured_fraction = if acc.charged_j > 0.0 {
        (acc.measured_j / acc.charged_j).clamp(0.0, 1.0)
    } else {
        0.0
    };

    RunRecord {
        run_id: ctx.run_id.clone(),
        project: ctx.project.clone(),
        experiment: ctx.experiment.clone(),
        command: ctx.command.clone(),
        pid: ctx.pid,
        zone: ctx.zone.clone(),
        country_iso3: ctx.country_iso3.clone(),
        country_name: ctx.country_name.clone(),
        cloud: ctx.cloud.clone(),
        started_at: ts(ctx.started_ms),
        ended_at: ts(end.ended_ms),
        duration_secs,
        status: end.status,
        exit_code: end.exit_code,
        reason: end.reason,
        tracking: ctx.tracking,
        devices,
        energy,
        measured_fraction,
        pue: ctx.pue.clone(),
        facility_energy,
        operational,
        embodied,
        water,
        intensity,
        phases,
        total_phases: ctx.total_phases,
        predictions,
        samples: end.samples,
        intervals: acc.rows,
        activity,
        diagnostics,
    }
}

/// The params written when a run finishes: totals for listings, samples and diagnostics.
pub(crate) fn result_params(record: &RunRecord) -> Vec<(String, String)> {
    let mut p = vec![
        ("result.samples".to_string(), record.samples.to_string()),
        ("result.energy_kwh".to_string(), record.energy.0.to_string()),
        (
            "result.operational_g".to_string(),
            record.operational.0.to_string(),
        ),
        (
            "result.embodied_g".to_string(),
            record.embodied.emissions.0.to_string(),
        ),
        (
            "result.water_l".to_string(),
            record.water.litres.to_string(),
        ),
    ];
    if !record.diagnostics.is_empty() {
        let text = record
            .diagnostics
            .iter()
            .map(|d| format!("{}\t{}", d.count, d.message.replace(['\n', '\t'], " ")))
            .collect::<Vec<_>>()
            .join("\n");
        p.push(("result.diagnostics".to_string(), text));
    }
    p
}

fn parse_component(text: &str) -> Option<Component> {
    match text {
        "cpu" => Some(Component::Cpu),
        "ram" => Some(Component::Ram),
        "gpu" => Some(Component::Gpu),
        _ => None,
    }
}

impl RunRecord {
    /// Rebuilds a run's record from what the store holds: the same computation as at `stop`,
    /// over the persisted intervals. For a run that was interrupted (or is still marked
    /// `running`) the record covers the time up to its last persisted interval, and says so in
    /// its diagnostics.
    pub fn from_stored(stored: &StoredRun) -> Result<RunRecord, TrackerError> {
        let s = &stored.summary;
        let bad = |what: String| TrackerError::StoredRun {
            run_id: s.id.clone(),
            what,
        };
        let ctx = RunContext::from_stored(s).map_err(bad)?;
        let mut acc = Accumulator::new(ctx.tracking, ctx.pue.value, ctx.total_phases);
        for (i, d) in stored.devices.iter().enumerate() {
            if usize::try_from(d.idx).ok() != Some(i) {
                return Err(bad(format!(
                    "device indexes are not 0..n (found {} at {i})",
                    d.idx
                )));
            }
            let component = parse_component(&d.component)
                .ok_or_else(|| bad(format!("component `{}`", d.component)))?;
            acc.push_device(DeviceAcc {
                component,
                device: d.device.clone(),
                method: if d.measured {
                    EnergyMethod::Measured {
                        sensor: d.sensor.clone(),
                        detail: d.method_detail.clone(),
                    }
                } else {
                    EnergyMethod::Modelled {
                        model: d.method_detail.clone(),
                    }
                },
                device_j: 0.0,
                attributed_j: 0.0,
            });
        }
        for (i, sig) in stored.signals.iter().enumerate() {
            if usize::try_from(sig.idx).ok() != Some(i) {
                return Err(bad(format!(
                    "signal indexes are not 0..n (found {} at {i})",
                    sig.idx
                )));
            }
            acc.signal_index(&sig.zone, &sig.meta);
        }
        for p in &stored.phases {
            let idx = acc.start_phase(&p.name, p.start.as_millisecond());
            if let Some(e) = p.end {
                acc.end_phase(idx, e.as_millisecond());
            }
            acc.phases[idx].prediction = p.prediction.map(|x| Prediction {
                after_phases: 0,
                energy: KilowattHours(x.energy_kwh),
                emissions: GramsCo2e(x.emissions_g),
                duration_secs: x.duration_secs,
            });
        }
        let mut r = 0;
        for interval in &stored.intervals {
            let from = r;
            while r < stored.readings.len() && stored.readings[r].seq == interval.seq {
                r += 1;
            }
            acc.ingest(interval, &stored.readings[from..r]);
        }
        acc.take_pending();

        let mut diagnostics = parse_diagnostics(s.param("result.diagnostics"));
        let last_end = acc.last_end_ms.unwrap_or(ctx.started_ms);
        let ended_ms = match s.status {
            RunStatus::Running => {
                diagnostics.push(Diagnostic {
                    message: "the run is still marked running (in progress, or its tracker died \
                              and the store has not been checked since); the numbers cover up to \
                              its last persisted interval"
                        .into(),
                    count: 1,
                });
                last_end
            }
            RunStatus::Interrupted => {
                diagnostics.push(Diagnostic {
                    message: "the run was interrupted; the numbers cover up to its last persisted \
                              interval"
                        .into(),
                    count: 1,
                });
                s.ended_at.map_or(last_end, |t| t.as_millisecond())
            }
            RunStatus::Succeeded | RunStatus::Failed => {
                s.ended_at.map_or(last_end, |t| t.as_millisecond())
            }
        };
        let samples = s
            .param("result.samples")
            .and_then(|v| v.parse().ok())
            .unwrap_or(acc.rows);
        Ok(build_record(
            &ctx,
            &acc,
            RunEnd {
                ended_ms,
                status: s.status,
                exit_code: s.exit_code,
                reason: s.reason.clone(),
                samples,
                diagnostics,
            },
        ))
    }
}

fn parse_diagnostics(text: Option<&str>) -> Vec<Diagnostic> {
    let Some(text) = text else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('\t') {
            Some((count, message)) => Diagnostic {
                message: message.to_string(),
                count: count.parse().unwrap_or(1),
            },
            None => Diagnostic {
                message: l.to_string(),
                count: 1,
            },
        })
        .collect()
}
