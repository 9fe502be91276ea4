//! [`select`]: which meters to use on this machine, and why, as values the caller shows.
//!
//! - `auto`: RAPL for CPU (and RAM, where the package has a DRAM domain) if its counters can be
//!   read, else the model meter for both, with the reason; RAM is modelled when RAPL has no DRAM
//!   domain. Plus NVML for NVIDIA GPUs when [`MeterEnv::nvml`] is on and a GPU answers; no GPU is
//!   a diagnostic, not an error.
//! - `rapl`, `nvml`, `model`: exactly that meter; if it cannot work on this machine, the error
//!   says what was looked for ([`MeterError`]). `nvml` is tried even when [`MeterEnv::nvml`] is
//!   off: that flag only steers `auto`.
//!
//! Invariant: every choice `auto` makes, and every fallback, leaves a line in
//! [`Selection::diagnostics`].

use crate::{Meter, MeterError, ModelMeter, RaplMeter};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The `--meter` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeterChoice {
    /// The best meters this machine supports (see the module doc).
    Auto,
    /// RAPL only.
    Rapl,
    /// NVML only.
    Nvml,
    /// The power model only.
    Model,
}

impl MeterChoice {
    /// `auto`, `rapl`, `nvml` or `model`.
    pub fn as_str(self) -> &'static str {
        match self {
            MeterChoice::Auto => "auto",
            MeterChoice::Rapl => "rapl",
            MeterChoice::Nvml => "nvml",
            MeterChoice::Model => "model",
        }
    }
}

impl fmt::Display for MeterChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MeterChoice {
    type Err = MeterError;

    /// Parses `auto`, `rapl`, `nvml` or `model` (case-insensitive, surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(MeterChoice::Auto),
            "rapl" => Ok(MeterChoice::Rapl),
            "nvml" => Ok(MeterChoice::Nvml),
            "model" => Ok(MeterChoice::Model),
            _ => Err(MeterError::UnknownMeter {
                value: s.to_string(),
            }),
        }
    }
}

/// Where the meters look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterEnv {
    /// The powercap class directory (`/sys/class/powercap` on the host).
    pub sysfs_root: PathBuf,
    /// The procfs mount (`/proc` on the host), for the CPU model.
    pub proc_root: PathBuf,
    /// Whether `auto` looks for NVIDIA GPUs (loads NVML).
    pub nvml: bool,
}

impl MeterEnv {
    /// The running machine: `/sys/class/powercap`, `/proc`, and NVML on when this build has the
    /// `nvml` feature.
    pub fn host() -> MeterEnv {
        MeterEnv {
            sysfs_root: PathBuf::from(crate::DEFAULT_POWERCAP_ROOT),
            proc_root: PathBuf::from(crate::DEFAULT_PROC_ROOT),
            nvml: cfg!(feature = "nvml"),
        }
    }
}

/// The meters to run, and what the user should know about the choice.
pub struct Selection {
    /// In order: CPU (and RAM) first, then GPUs.
    pub meters: Vec<Box<dyn Meter>>,
    /// One line per decision or fallback, e.g. `RAPL unavailable, CPU and RAM are modelled: …`.
    pub diagnostics: Vec<String>,
}

impl fmt::Debug for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selection")
            .field(
                "meters",
                &self.meters.iter().map(|m| m.name()).collect::<Vec<_>>(),
            )
            .field("diagnostics", &self.diagnostics)
            .finish()
    }
}

impl Selection {
    /// The names of the selected meters, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.meters.iter().map(|m| m.name()).collect()
    }
}

/// Picks the meters for `choice` on the machine `env` describes (see the module doc).
pub fn select(choice: MeterChoice, env: &MeterEnv) -> Result<Selection, MeterError> {
    let mut meters: Vec<Box<dyn Meter>> = Vec::new();
    let mut diagnostics = Vec::new();
    match choice {
        MeterChoice::Auto => {
            match RaplMeter::discover(&env.sysfs_root) {
                Ok(rapl) => {
                    diagnostics.push(format!("measuring {} with RAPL", device_list(&rapl)));
                    let dram = rapl.has_dram();
                    meters.push(Box::new(rapl));
                    if !dram {
                        let model = ModelMeter::ram_only();
                        diagnostics.push(format!(
                            "RAPL has no DRAM domain on this machine; RAM is modelled ({} W \
                             per GiB in use)",
                            crate::MEMORY_WATTS_PER_GIB
                        ));
                        meters.push(Box::new(model));
                    }
                }
                Err(e) => {
                    let model = ModelMeter::detect(&env.proc_root);
                    diagnostics.push(format!("RAPL unavailable, CPU and RAM are modelled: {e}"));
                    diagnostics.extend(model.warnings().iter().cloned());
                    if let Some(cpu) = model.cpu_model() {
                        diagnostics.push(format!("CPU model: {}", cpu.description));
                    }
                    meters.push(Box::new(model));
                }
            }
            if env.nvml {
                match discover_nvml() {
                    Ok(gpu) => {
                        diagnostics.push(format!("measuring {} with NVML", gpu.1));
                        meters.push(gpu.0);
                    }
                    Err(e) => diagnostics.push(format!("no GPU metering: {e}")),
                }
            }
        }
        MeterChoice::Rapl => {
            let rapl = RaplMeter::discover(&env.sysfs_root)?;
            diagnostics.push(format!("measuring {} with RAPL", device_list(&rapl)));
            if !rapl.has_dram() {
                diagnostics.push(
                    "RAPL has no DRAM domain on this machine; RAM is not metered (`--meter auto` \
                     models it)"
                        .to_string(),
                );
            }
            meters.push(Box::new(rapl));
        }
        MeterChoice::Nvml => {
            let (meter, devices) = discover_nvml()?;
            diagnostics.push(format!("measuring {devices} with NVML"));
            meters.push(meter);
        }
        MeterChoice::Model => {
            let model = ModelMeter::detect(&env.proc_root);
            diagnostics.extend(model.warnings().iter().cloned());
            if let Some(cpu) = model.cpu_model() {
                diagnostics.push(format!("CPU model: {}", cpu.description));
            }
            meters.push(Box::new(model));
        }
    }
    Ok(Selection {
        meters,
        diagnostics,
    })
}

fn device_list(rapl: &RaplMeter) -> String {
    rapl.devices()
        .iter()
        .map(|(_, d)| *d)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(feature = "nvml")]
fn discover_nvml() -> Result<(Box<dyn Meter>, String), MeterError> {
    let meter = crate::NvmlMeter::discover()?;
    let devices = meter.devices().join(", ");
    Ok((Box::new(meter), devices))
}

#[cfg(not(feature = "nvml"))]
fn discover_nvml() -> Result<(Box<dyn Meter>, String), MeterError> {
    Err(MeterError::NvmlNotCompiled)
}
