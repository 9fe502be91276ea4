//! kite-meter through its public API: the process sampler on fake and real procfs trees, RAPL on
//! fake powercap trees, the power model, NVML discovery without a driver, meter selection, and
//! one conformance suite every meter passes.
//!
//! The fake trees in `support.rs` are written with the kernel's real file formats; nothing of
//! kite-meter is mocked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conformance;
mod model;
#[cfg(feature = "nvml")]
mod nvml;
mod process;
mod rapl;
mod select;
mod support;
