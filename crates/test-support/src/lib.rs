//! Test-only helpers: fake provider HTTP servers on 127.0.0.1 and the recorded fixtures they serve.
//!
//! Architecture invariant: this crate is a dev-dependency only; nothing ships with it.
//! The fakes are faithful at the HTTP level (paths, query parameters, auth headers, error bodies,
//! documented range limits) so provider code is tested exactly as it talks to the real service.
//! Every server listens on `127.0.0.1` only; no test ever needs the network.
//!
//! Pieces:
//! - [`FakeServer`] spawns any axum [`Router`](axum::Router) on an ephemeral local port;
//! - [`Script`] records every request and injects scripted faults (401, 429 with `Retry-After`,
//!   500 once, delays, malformed JSON) in front of a router;
//! - [`electricity_maps`], [`watttime`] and [`uk_carbon_intensity`] are ready-made routers;
//! - [`fixtures`] holds the recorded JSON responses, shaped exactly like the documented ones.
//! - [`kube_api`] is a fake Kubernetes API server (Jobs, Pods, `Status` errors) with a simulated
//!   controller and kubelet, for the Kubernetes executor.
//! - [`records`] builds ledger records (runs) for the books tests; [`chromium`] runs headless
//!   Chromium for the tests that render HTML.

// Handlers return early with a ready `Response` as the error; its size is irrelevant in a fake.
#![allow(clippy::result_large_err)]

pub mod chromium;
mod common;
pub mod electricity_maps;
pub mod fixtures;
pub mod kube_api;
pub mod postgres;
pub mod records;
mod script;
mod server;
pub mod uk_carbon_intensity;
pub mod watttime;

pub use script::{Recorded, Reply, Script};
pub use server::{FakeServer, unreachable_base_url};
