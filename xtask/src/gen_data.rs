//! `cargo xtask gen-data`: reads the upstream tables and writes the embedded dataset.
//!
//! Invariant: the output is a pure function of the input directory (sorted everywhere, no
//! timestamps), so regenerating from the same data gives byte-identical files and a clean diff.

use crate::history;
use crate::regions::{self, Kind};
use anyhow::{Context, ensure};
use kite_dataset::codec;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `279.130` → `279.13`, `56.0` → `56`: short, and exact to a thousandth.
fn number(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn write_csv(path: &Path, header: &[&str], rows: Vec<Vec<String>>) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_path(path)
        .with_context(|| path.display().to_string())?;
    w.write_record(header)?;
    for row in rows {
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// Regenerates everything under `out` from the data directory `from`.
pub fn run(from: &Path, out: &Path) -> anyhow::Result<()> {
    let grid = from.join("grid");
    let factors = from.join("factors");

    let history = history::read(&grid)?;
    let bytes = codec::encode(&history.series)?;
    // Round-trip check before anything is written.
    let directory = codec::read_directory(&bytes)?;
    ensure!(directory.len() == history.series.len());
    let mut per_source: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (entry, series) in directory.iter().zip(&history.series) {
        ensure!(
            codec::decode(entry)? == series.slots,
            "round trip failed for {}/{}",
            series.source,
            series.zone
        );
        let e = per_source.entry(entry.source).or_default();
        e.0 += 1;
        e.1 += entry.payload.len();
    }
    let history_path = out.join("data/history.bin");
    std::fs::create_dir_all(out.join("data"))?;
    std::fs::write(&history_path, &bytes)?;

    let history_zones: BTreeSet<String> = history.series.iter().map(|s| s.zone.clone()).collect();
    let registry = regions::build(&factors, &history.annual, &history_zones)?;
    let dir = out.join("data/regions");
    write_csv(
        &dir.join("zones.csv"),
        &["key", "name", "country", "watttime_region", "uk_region_id"],
        registry
            .zones
            .iter()
            .map(|z| {
                vec![
                    z.key.clone(),
                    z.name.clone(),
                    z.country.clone().unwrap_or_default(),
                    z.watttime_region.clone().unwrap_or_default(),
                    z.uk_region_id.map(|i| i.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
    )?;
    write_csv(
        &dir.join("aliases.csv"),
        &["key", "kind", "name"],
        registry
            .aliases
            .iter()
            .map(|a| vec![a.key.clone(), a.kind.as_str().to_string(), a.name.clone()])
            .collect(),
    )?;
    write_csv(
        &dir.join("annual.csv"),
        &["key", "value", "year", "signal", "source"],
        registry
            .annual
            .iter()
            .map(|a| {
                vec![
                    a.key.clone(),
                    number(a.value),
                    a.year.to_string(),
                    a.signal.as_str().to_string(),
                    a.source.clone(),
                ]
            })
            .collect(),
    )?;
    write_csv(
        &out.join("crates/regions/test_data/source_cloud_regions.csv"),
        &["cloud", "name", "file", "skipped"],
        registry
            .source_cloud_regions
            .iter()
            .map(|s| {
                vec![
                    s.cloud.as_str().to_string(),
                    s.name.clone(),
                    s.file.clone(),
                    s.skipped.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    )?;

    // Summary.
    println!("wrote {} ({} bytes)", history_path.display(), bytes.len());
    let payload_total: usize = per_source.values().map(|v| v.1).sum();
    for (source, (n, size)) in &per_source {
        let repo = history::SOURCES
            .iter()
            .find(|s| s.id == *source)
            .map_or("", |s| s.repo);
        println!("  {source:<24} {n:>3} series {size:>9} bytes  ({repo})");
    }
    println!(
        "  header and directory       {:>9} bytes",
        bytes.len() - payload_total
    );
    for (id, why) in history::EXCLUDED {
        println!("  excluded {id}: {why}");
    }
    println!(
        "registry: {} zones, {} aliases, {} annual means",
        registry.zones.len(),
        registry.aliases.len(),
        registry.annual.len()
    );
    for kind in [
        Kind::Country,
        Kind::BalancingAuthority,
        Kind::WattTime,
        Kind::Aws,
        Kind::Gcp,
        Kind::Azure,
    ] {
        let n = registry.aliases.iter().filter(|a| a.kind == kind).count();
        println!("  {:<9} aliases: {n}", kind.as_str());
    }
    let skipped: Vec<String> = registry
        .source_cloud_regions
        .iter()
        .filter(|s| s.skipped.is_some())
        .map(|s| format!("{}:{}", s.cloud.as_str(), s.name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    println!("  skipped cloud names: {}", skipped.join(", "));
    for note in &registry.notes {
        println!("  note: {note}");
    }
    Ok(())
}
