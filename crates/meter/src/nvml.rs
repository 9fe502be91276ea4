//! [`NvmlMeter`]: NVIDIA GPU energy through NVML, the management library the driver ships
//! (`libnvidia-ml.so.1`, loaded at run time by `nvml-wrapper`, so a kite binary runs on machines
//! without it and this meter then reports [`MeterError::NvmlUnavailable`]).
//!
//! Per GPU and interval:
//! - **Energy.** `nvmlDeviceGetTotalEnergyConsumption` (a millijoule counter since the driver
//!   loaded; Volta and newer) differenced between samples. On older GPUs, where that call is
//!   not supported, `nvmlDeviceGetPowerUsage` (milliwatts, the board's power averaged by the
//!   driver over about a second) is read at both ends of the interval and integrated with the
//!   trapezoidal rule: a coarse figure when the power changes within the interval, and labelled
//!   as such.
//! - **Share of the tree.** The SM (compute) utilisation samples NVML buffered per process since
//!   the previous sample (`nvmlDeviceGetProcessUtilization`): the tree's pids' sum over all
//!   processes' sum. When the GPU does not support that call, or no process had a sample, the
//!   tree's share of the GPU memory used by running compute processes
//!   (`nvmlDeviceGetComputeRunningProcesses`) is used; with no compute process at all the share
//!   is 0. The reading's [`Method::Measured`] detail says which energy source and which share.
//!
//! Not verified on hardware yet (the development machines have no GPU): the whole NVML surface
//! is this file, so it can be checked on a GPU machine with the opt-in test
//! (`KITE_TEST_NVML=1 cargo test -p kite-meter nvml`). Known limit: NVML reports host pids; in
//! a container without the host's pid namespace the tree's pids do not match and the share is 0.

use crate::{Activity, Component, Meter, MeterError, Method, Reading};
use kite_core::{Clock, Joules, SystemClock};
use nvml_wrapper::Nvml;
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use std::ffi::OsStr;
use std::time::Instant;

/// The NVML library name kite loads (found through the dynamic loader's search path).
pub const NVML_LIBRARY: &str = "libnvidia-ml.so.1";

/// How a GPU's energy is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EnergySource {
    /// `total_energy_consumption`, mJ.
    Counter,
    /// `power_usage`, mW, integrated.
    PowerSamples,
}

#[derive(Debug)]
struct Gpu {
    index: u32,
    /// `GPU 0 (NVIDIA H100 80GB HBM3)`.
    device: String,
    energy_source: EnergySource,
    last_energy_mj: u64,
    last_power_mw: u32,
    last_at: Instant,
    /// Whether `process_utilization_stats` works on this GPU.
    utilisation_supported: bool,
    /// NVML timestamp (µs since the epoch) of the newest utilisation sample already used.
    last_utilisation_us: u64,
}

/// NVIDIA GPU energy, attributed to the process tree by NVML's per-process accounting.
pub struct NvmlMeter {
    nvml: Nvml,
    gpus: Vec<Gpu>,
}

impl std::fmt::Debug for NvmlMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvmlMeter")
            .field("gpus", &self.gpus)
            .finish()
    }
}

impl NvmlMeter {
    /// Loads [`NVML_LIBRARY`], initialises NVML once and finds every GPU.
    pub fn discover() -> Result<NvmlMeter, MeterError> {
        Self::discover_with_library(NVML_LIBRARY)
    }

    /// As [`discover`](Self::discover) with another library name or path.
    pub fn discover_with_library(library: &str) -> Result<NvmlMeter, MeterError> {
        let unavailable = |e: NvmlError| MeterError::NvmlUnavailable {
            library: library.to_string(),
            reason: e.to_string(),
        };
        let nvml = Nvml::builder()
            .lib_path(OsStr::new(library))
            .init()
            .map_err(unavailable)?;
        let count = nvml.device_count().map_err(unavailable)?;
        if count == 0 {
            return Err(MeterError::NvmlNoDevice {
                library: library.to_string(),
            });
        }
        let mut gpus = Vec::with_capacity(count as usize);
        for index in 0..count {
            let fallback = format!("GPU {index}");
            let device = nvml
                .device_by_index(index)
                .map_err(|e| call_error("nvmlDeviceGetHandleByIndex", &fallback, e))?;
            let name = device
                .name()
                .unwrap_or_else(|_| "unknown model".to_string());
            let label = format!("GPU {index} ({name})");
            let (energy_source, last_energy_mj) = match device.total_energy_consumption() {
                Ok(mj) => (EnergySource::Counter, mj),
                Err(NvmlError::NotSupported) => (EnergySource::PowerSamples, 0),
                Err(e) => return Err(call_error("nvmlDeviceGetTotalEnergyConsumption", &label, e)),
            };
            let last_power_mw = match energy_source {
                EnergySource::Counter => 0,
                EnergySource::PowerSamples => device
                    .power_usage()
                    .map_err(|e| call_error("nvmlDeviceGetPowerUsage", &label, e))?,
            };
            let utilisation_supported = !matches!(
                device.process_utilization_stats(None),
                Err(NvmlError::NotSupported)
            );
            gpus.push(Gpu {
                index,
                device: label,
                energy_source,
                last_energy_mj,
                last_power_mw,
                last_at: Instant::now(),
                utilisation_supported,
                last_utilisation_us: now_us(),
            });
        }
        Ok(NvmlMeter { nvml, gpus })
    }

    /// The GPUs this meter reports, e.g. `GPU 0 (NVIDIA H100 80GB HBM3)`.
    pub fn devices(&self) -> Vec<&str> {
        self.gpus.iter().map(|g| g.device.as_str()).collect()
    }
}

impl Meter for NvmlMeter {
    fn name(&self) -> &'static str {
        "nvml"
    }

    fn start(&mut self) -> Result<(), MeterError> {
        for gpu in &mut self.gpus {
            let device = self
                .nvml
                .device_by_index(gpu.index)
                .map_err(|e| call_error("nvmlDeviceGetHandleByIndex", &gpu.device, e))?;
            match gpu.energy_source {
                EnergySource::Counter => {
                    gpu.last_energy_mj = device.total_energy_consumption().map_err(|e| {
                        call_error("nvmlDeviceGetTotalEnergyConsumption", &gpu.device, e)
                    })?;
                }
                EnergySource::PowerSamples => {
                    gpu.last_power_mw = device
                        .power_usage()
                        .map_err(|e| call_error("nvmlDeviceGetPowerUsage", &gpu.device, e))?;
                }
            }
            gpu.last_at = Instant::now();
            gpu.last_utilisation_us = now_us();
        }
        Ok(())
    }

    fn sample(&mut self, activity: &Activity) -> Result<Vec<Reading>, MeterError> {
        let mut readings = Vec::with_capacity(self.gpus.len());
        for gpu in &mut self.gpus {
            let device = self
                .nvml
                .device_by_index(gpu.index)
                .map_err(|e| call_error("nvmlDeviceGetHandleByIndex", &gpu.device, e))?;
            let now = Instant::now();
            let (device_energy, energy_how) = match gpu.energy_source {
                EnergySource::Counter => {
                    let mj = device.total_energy_consumption().map_err(|e| {
                        call_error("nvmlDeviceGetTotalEnergyConsumption", &gpu.device, e)
                    })?;
                    // The counter restarts only when the driver reloads: then count nothing.
                    let delta = mj.saturating_sub(gpu.last_energy_mj);
                    gpu.last_energy_mj = mj;
                    (
                        Joules(delta as f64 / 1000.0),
                        "NVML total energy counter (mJ)",
                    )
                }
                EnergySource::PowerSamples => {
                    let mw = device
                        .power_usage()
                        .map_err(|e| call_error("nvmlDeviceGetPowerUsage", &gpu.device, e))?;
                    let seconds = now.duration_since(gpu.last_at).as_secs_f64();
                    let mean_w = (f64::from(gpu.last_power_mw) + f64::from(mw)) / 2000.0;
                    gpu.last_power_mw = mw;
                    (
                        Joules(mean_w * seconds),
                        "NVML power_usage (mW) at both ends of the interval, trapezoidal",
                    )
                }
            };
            gpu.last_at = now;

            let in_tree = |pid: u32| activity.pids.binary_search(&pid).is_ok();
            let mut share = None;
            if gpu.utilisation_supported {
                match device.process_utilization_stats(gpu.last_utilisation_us) {
                    Ok(samples) => {
                        let (mut tree, mut total) = (0u64, 0u64);
                        for s in &samples {
                            total += u64::from(s.sm_util);
                            if in_tree(s.pid) {
                                tree += u64::from(s.sm_util);
                            }
                            gpu.last_utilisation_us = gpu.last_utilisation_us.max(s.timestamp);
                        }
                        if total > 0 {
                            share = Some((
                                tree as f64 / total as f64,
                                "NVML per-process SM utilisation samples",
                            ));
                        }
                    }
                    // No sample since the timestamp.
                    Err(NvmlError::NotFound) => {}
                    Err(NvmlError::NotSupported) => gpu.utilisation_supported = false,
                    Err(e) => {
                        return Err(call_error(
                            "nvmlDeviceGetProcessUtilization",
                            &gpu.device,
                            e,
                        ));
                    }
                }
            }
            let (share, share_how) = match share {
                Some(s) => s,
                None => {
                    let processes = device.running_compute_processes().map_err(|e| {
                        call_error("nvmlDeviceGetComputeRunningProcesses", &gpu.device, e)
                    })?;
                    let (mut tree, mut total) = (0u64, 0u64);
                    for p in &processes {
                        if let UsedGpuMemory::Used(bytes) = p.used_gpu_memory {
                            total += bytes;
                            if in_tree(p.pid) {
                                tree += bytes;
                            }
                        }
                    }
                    let share = if total > 0 {
                        tree as f64 / total as f64
                    } else {
                        0.0
                    };
                    (
                        share,
                        "share of GPU memory used by running compute processes",
                    )
                }
            };
            readings.push(Reading {
                component: Component::Gpu,
                device: gpu.device.clone(),
                device_energy,
                attributed: device_energy * share.clamp(0.0, 1.0),
                method: Method::Measured {
                    sensor: "nvml",
                    detail: format!("{energy_how}; attributed by {share_how}"),
                },
            });
        }
        Ok(readings)
    }
}

/// Microseconds since the Unix epoch, NVML's timestamp unit for utilisation samples.
fn now_us() -> u64 {
    u64::try_from(SystemClock.now().as_microsecond()).unwrap_or(0)
}

fn call_error(call: &'static str, device: &str, e: NvmlError) -> MeterError {
    MeterError::Nvml {
        call,
        device: device.to_string(),
        reason: e.to_string(),
    }
}
