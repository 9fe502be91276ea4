//! Repository tasks, run as `cargo xtask <task>`.
//!
//! - `gen-data --from <shared data dir> [--out <repo root>]`: regenerates the embedded dataset
//!   (`data/history.bin`, `data/regions/*.csv`) and the regions test fixture
//!   (`crates/regions/test_data/source_cloud_regions.csv`) from the upstream tables.
//!
//! Invariant: xtask is the only code that reads the upstream data directory; the library crates
//! and their tests read only what it wrote into the repository.

mod gen_data;
mod history;
mod iso3166;
mod regions;
mod tables;

use anyhow::{Context, bail};
use std::path::PathBuf;

const USAGE: &str =
    "usage: cargo xtask gen-data --from <data dir, e.g. /work/shared/data> [--out <repo root>]";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().context(USAGE)?;
    match task.as_str() {
        "gen-data" => {
            let mut from: Option<PathBuf> = None;
            let mut out: Option<PathBuf> = None;
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--from" => from = Some(args.next().context(USAGE)?.into()),
                    "--out" => out = Some(args.next().context(USAGE)?.into()),
                    other => bail!("unknown argument `{other}`\n{USAGE}"),
                }
            }
            let from = from.context(USAGE)?;
            // xtask lives one level below the repository root.
            let out = out.unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_default()
            });
            gen_data::run(&from, &out)
        }
        other => bail!("unknown task `{other}`\n{USAGE}"),
    }
}
