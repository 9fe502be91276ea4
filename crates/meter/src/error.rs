//! [`MeterError`]: why a meter or the process sampler could not produce a number.
//!
//! Invariant: every message names what was looked at (a path, a library, a value) and what the
//! user can do about it, because the caller shows it as a diagnostic when it falls back to the
//! model meter. The RAPL permission message is the one users meet most (energy counters are
//! root-only on current kernels), so it spells out the commands.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while metering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeterError {
    /// The powercap tree has no RAPL package zone.
    #[error(
        "no RAPL energy counters under {root}: looked for {root}/intel-rapl:N/energy_uj with a \
         `name` of package-N. VMs and containers usually have none; on bare metal load the \
         `intel_rapl_msr` kernel module (`sudo modprobe intel_rapl_msr`, Intel and AMD Zen). \
         Without RAPL use `--meter model` (a documented power model)"
    )]
    RaplNotFound {
        /// The powercap root that was searched.
        root: PathBuf,
    },

    /// A RAPL energy counter exists but the user may not read it.
    #[error(
        "cannot read the RAPL energy counter {path}: permission denied. Since the 2020 \"Platypus\" \
         fix (CVE-2020-8694) Linux lets only root read energy_uj. Grant read access with \
         `sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj \
         /sys/class/powercap/intel-rapl:*:*/energy_uj` (lost at reboot; make it permanent with a \
         udev rule, e.g. `SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chmod o+r \
         /sys%p/energy_uj\"`), or give the kite binary `sudo setcap cap_dac_read_search+ep \
         <path to kite>` (it may then read any file), or run kite as root. Until then kite falls \
         back to the power model"
    )]
    RaplPermission {
        /// The `energy_uj` file.
        path: PathBuf,
        /// The error the read returned.
        #[source]
        source: io::Error,
    },

    /// A file could not be read (missing, a directory, I/O error).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error the read returned.
        #[source]
        source: io::Error,
    },

    /// A file was read but does not hold what its format promises.
    #[error("unexpected content in {path}: expected {expected}, found {found:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the format says should be there, e.g. `an integer in microjoules`.
        expected: &'static str,
        /// What was there (trimmed, at most 80 characters).
        found: String,
    },

    /// The process to measure does not exist (or `/proc` is not mounted at the given root).
    #[error(
        "process {pid} not found: {path} does not exist. Check the pid, and that the proc root \
         is a mounted procfs (default /proc)"
    )]
    ProcessNotFound {
        /// The root pid of the tree.
        pid: u32,
        /// The `stat` file that was looked for.
        path: PathBuf,
    },

    /// NVML (NVIDIA's management library) cannot be used on this machine.
    #[error(
        "NVIDIA GPU metering is unavailable: {reason} (library {library}). GPUs need the NVIDIA \
         driver, which ships NVML; in a container, run with the NVIDIA container toolkit \
         (`docker run --gpus all`). CPU and RAM are metered without it"
    )]
    NvmlUnavailable {
        /// The shared library kite tried to load.
        library: String,
        /// What failed, in NVML's words.
        reason: String,
    },

    /// NVML loaded but reports no GPU.
    #[error(
        "NVML ({library}) loaded but reports no GPU. Check `nvidia-smi`; in a container, pass \
         the GPUs through (`docker run --gpus all`, or CUDA_VISIBLE_DEVICES / \
         NVIDIA_VISIBLE_DEVICES)"
    )]
    NvmlNoDevice {
        /// The shared library that was loaded.
        library: String,
    },

    /// An NVML call failed on a device that was working.
    #[error("NVML call {call} failed for {device}: {reason}")]
    Nvml {
        /// The NVML function, e.g. `nvmlDeviceGetTotalEnergyConsumption`.
        call: &'static str,
        /// The device label, e.g. `GPU 0 (NVIDIA H100 80GB HBM3)`.
        device: String,
        /// NVML's error.
        reason: String,
    },

    /// This build of kite has no NVML support.
    #[error(
        "this kite was built without the `nvml` feature, so it cannot meter NVIDIA GPUs; rebuild \
         with `--features nvml` (on by default)"
    )]
    NvmlNotCompiled,

    /// A meter name that kite does not know.
    #[error("unknown meter {value:?}: expected one of auto, rapl, nvml, model")]
    UnknownMeter {
        /// The value as given.
        value: String,
    },
}

impl MeterError {
    /// A read error on `path`, keeping I/O errors apart from format errors.
    pub(crate) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        MeterError::Read {
            path: path.into(),
            source,
        }
    }

    /// A parse error on `path`; `found` is trimmed and cut to 80 characters.
    pub(crate) fn parse(path: impl Into<PathBuf>, expected: &'static str, found: &str) -> Self {
        MeterError::Parse {
            path: path.into(),
            expected,
            found: found.trim().chars().take(80).collect(),
        }
    }
}
