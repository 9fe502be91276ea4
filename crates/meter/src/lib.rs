//! Energy meters and process-tree attribution.
//!
//! A [`Meter`] reports, for each interval, the energy each hardware device used and the share of
//! it attributed to the measured process tree, and says whether the number was **measured** by a
//! sensor (RAPL, NVML) or **modelled** (CPU utilisation × a documented power curve). The engine
//! owns the sampling loop and the clock; a meter only answers one `sample` call at a time.
//!
//! Architecture invariants:
//! - every meter takes its roots as arguments (sysfs and procfs paths, the NVML library), so tests
//!   run against fake trees with real file formats; nothing here hard-codes `/sys` or `/proc`
//!   except the `Default`-free constructors' documented default paths;
//! - a meter never invents a sensor reading: a counter that cannot be read is an error naming the
//!   file and the fix, and the caller falls back to the model with a diagnostic.
//!
//! Implementations, one file each: [`RaplMeter`] (`rapl.rs`, powercap sysfs), `NvmlMeter`
//! (`nvml.rs`, NVIDIA GPUs, behind the `nvml` feature), [`ModelMeter`] (`model.rs`, a documented
//! power model for machines without sensors). [`ProcessSampler`] (`process.rs`) turns `/proc`
//! into the [`Activity`] every meter attributes with, and [`select`] (`select.rs`) picks the
//! meters for a machine and explains its choice.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `nvml` | on | `NvmlMeter`; `libnvidia-ml.so.1` is loaded at run time, so the binary still runs without a driver |

mod error;
mod model;
#[cfg(feature = "nvml")]
mod nvml;
mod process;
mod rapl;
mod select;

pub use error::MeterError;
pub use model::{CpuCurve, CpuPowerModel, IDLE_FRACTION_OF_TDP, MEMORY_WATTS_PER_GIB, ModelMeter};
#[cfg(feature = "nvml")]
pub use nvml::{NVML_LIBRARY, NvmlMeter};
pub use process::{DEFAULT_PROC_ROOT, ProcUnits, ProcessSampler};
pub use rapl::{DEFAULT_POWERCAP_ROOT, RaplMeter};
pub use select::{MeterChoice, MeterEnv, Selection, select};

/// The hardware a reading describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// CPU package (cores, caches, uncore); RAPL `package-N` or the CPU power model.
    Cpu,
    /// Memory; RAPL `dram` where the platform has it, else the per-GB memory model.
    Ram,
    /// A GPU (NVML).
    Gpu,
}

impl Component {
    /// `cpu`, `ram`, `gpu`: the label used in records, CSV and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Cpu => "cpu",
            Component::Ram => "ram",
            Component::Gpu => "gpu",
        }
    }
}

/// How a number was obtained.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// Read from a hardware energy counter or power sensor.
    Measured {
        /// `rapl` or `nvml`.
        sensor: &'static str,
        /// What was read and how the share was attributed, e.g.
        /// `energy_uj counter; attributed by CPU-time share` or
        /// `power_usage (mW) integrated over the interval; attributed by NVML process utilisation`.
        detail: String,
    },
    /// Computed from a documented model.
    Modelled {
        /// The model in words, e.g. `CCF linear: 0.71–3.69 W/vCPU (Broadwell) × utilisation`.
        model: String,
    },
}

/// One device's energy over one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// What kind of hardware.
    pub component: Component,
    /// Which device, for people: `package-0`, `dram-0`, `GPU 0 (NVIDIA H100 80GB HBM3)`,
    /// `CPU (AMD EPYC 7B13, 2 of 64 threads)`.
    pub device: String,
    /// Energy the whole device used during the interval.
    pub device_energy: kite_core::Joules,
    /// The part of it attributed to the measured process tree (never more than `device_energy`).
    pub attributed: kite_core::Joules,
    /// Sensor or model.
    pub method: Method,
}

/// What happened on the machine and in the measured process tree during one interval.
/// Meters use it to attribute device energy; the sampler in `process.rs` produces it from `/proc`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Activity {
    /// Length of the interval in seconds (monotonic clock).
    pub seconds: f64,
    /// CPU time the process tree used in the interval (user + system, all its processes).
    pub tree_cpu_seconds: f64,
    /// Non-idle CPU time of the whole machine in the interval (all processes, all CPUs).
    pub busy_cpu_seconds: f64,
    /// Logical CPUs available.
    pub cpus: usize,
    /// Resident memory of the tree at the end of the interval, bytes.
    pub tree_rss_bytes: u64,
    /// Memory in use on the machine (MemTotal − MemAvailable) at the end of the interval, bytes.
    pub used_memory_bytes: u64,
    /// Total memory of the machine, bytes.
    pub total_memory_bytes: u64,
    /// PIDs in the tree at the end of the interval (for per-process GPU accounting).
    pub pids: Vec<u32>,
}

impl Activity {
    /// The tree's share of the machine's busy CPU time, in `[0, 1]` (0 when the machine was idle).
    pub fn cpu_share(&self) -> f64 {
        if self.busy_cpu_seconds > 0.0 {
            (self.tree_cpu_seconds / self.busy_cpu_seconds).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// The machine's CPU utilisation over the interval, in `[0, 1]`.
    pub fn machine_utilisation(&self) -> f64 {
        let capacity = self.seconds * self.cpus as f64;
        if capacity > 0.0 {
            (self.busy_cpu_seconds / capacity).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// A source of energy readings. One implementation per file: `rapl.rs`, `nvml.rs`, `model.rs`.
pub trait Meter: Send {
    /// `rapl`, `nvml` or `model`.
    fn name(&self) -> &'static str;

    /// Primes counters at the start of a measurement; the first `sample` covers the time since.
    fn start(&mut self) -> Result<(), MeterError>;

    /// Energy used since the previous call (or `start`), per device, attributed with `activity`.
    fn sample(&mut self, activity: &Activity) -> Result<Vec<Reading>, MeterError>;
}
