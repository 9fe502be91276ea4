//! The meter flags shared by `kite run` and `kite monitor`: `--meter` as a [`MeterChoice`], and
//! where the meters look ([`MeterEnv`]), which tests redirect with `KITE_POWERCAP_ROOT` and
//! `KITE_PROC_ROOT`.

use crate::args::MeterArg;
use kite_meter::{MeterChoice, MeterEnv};
use std::path::PathBuf;

/// The host's powercap and proc trees, unless the environment points elsewhere.
pub fn meter_env() -> MeterEnv {
    let mut env = MeterEnv::host();
    // For tests and unusual mounts: point the meters at another powercap or proc tree.
    if let Some(root) = std::env::var_os("KITE_POWERCAP_ROOT") {
        env.sysfs_root = PathBuf::from(root);
    }
    if let Some(root) = std::env::var_os("KITE_PROC_ROOT") {
        env.proc_root = PathBuf::from(root);
    }
    env
}

/// `--meter` as the meter crate's choice.
pub fn choice(m: MeterArg) -> MeterChoice {
    match m {
        MeterArg::Auto => MeterChoice::Auto,
        MeterArg::Rapl => MeterChoice::Rapl,
        MeterArg::Nvml => MeterChoice::Nvml,
        MeterArg::Model => MeterChoice::Model,
    }
}
