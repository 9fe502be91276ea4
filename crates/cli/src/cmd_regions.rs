//! `kite regions`: zones, aliases, cloud regions, and what data kite has for each.

use crate::args::{CloudArg, GlobalArgs, RegionsArgs, TableOrJson};
use anyhow::Result;
use kite_regions::{AliasKind, Cloud, Registry, Zone};
use serde::Serialize;

/// One zone in `kite regions --format json`.
#[derive(Serialize)]
struct JsonZone {
    zone: String,
    name: String,
    country: Option<String>,
    /// Balancing-authority, WattTime and ISO alpha-3 names that resolve to this zone.
    aliases: Vec<String>,
    /// Cloud regions (`aws:…`, `gcp:…`, `azure:…`) located in this zone.
    cloud_regions: Vec<String>,
    /// Annual means, best first.
    annual: Vec<JsonAnnual>,
    /// Hourly (or finer) history compiled into kite.
    embedded_history: Vec<JsonHistory>,
    /// Live providers that can serve this zone (if configured).
    live_providers: Vec<&'static str>,
}

#[derive(Serialize)]
struct JsonAnnual {
    gco2_per_kwh: f64,
    year: u16,
    signal: &'static str,
    source: String,
}

#[derive(Serialize)]
struct JsonHistory {
    source: &'static str,
    signal: &'static str,
    resolution: String,
    start: String,
    end: String,
    points: usize,
}

fn live_providers(zone: &Zone) -> Vec<&'static str> {
    let mut out = Vec::new();
    if zone.uk_region_id.is_none() {
        out.push("electricity_maps");
    }
    if zone.watttime_region.is_some() {
        out.push("watttime");
    }
    if zone.key.as_str() == "GB" || zone.uk_region_id.is_some() {
        out.push("uk_carbon_intensity");
    }
    out
}

/// Cloud regions in this zone, spelled as users type them: `aws:eu-central-1`.
fn cloud_names(zone: &Zone, cloud: Option<Cloud>) -> Vec<String> {
    zone.aliases
        .iter()
        .filter_map(|a| {
            let c = a.kind.cloud()?;
            (cloud.is_none() || cloud == Some(c)).then(|| format!("{}:{}", c.as_str(), a.name))
        })
        .collect()
}

fn matches(zone: &Zone, needle: &str) -> bool {
    let n = needle.to_lowercase();
    zone.key.as_str().to_lowercase().contains(&n)
        || zone.name.to_lowercase().contains(&n)
        || zone
            .aliases
            .iter()
            .any(|a| a.name.to_lowercase().contains(&n))
}

fn cloud_of(arg: CloudArg) -> Cloud {
    match arg {
        CloudArg::Aws => Cloud::Aws,
        CloudArg::Gcp => Cloud::Gcp,
        CloudArg::Azure => Cloud::Azure,
    }
}

pub fn run(_global: &GlobalArgs, args: RegionsArgs) -> Result<()> {
    let registry = Registry::embedded();
    let cloud = args.cloud.map(cloud_of);
    let zones: Vec<&Zone> = registry
        .zones()
        .filter(|z| args.search.as_deref().is_none_or(|s| matches(z, s)))
        .filter(|z| cloud.is_none() || z.cloud_regions(cloud).next().is_some())
        .collect();
    match args.format {
        TableOrJson::Json => {
            let out: Vec<JsonZone> = zones.iter().map(|z| json_zone(z, cloud)).collect();
            crate::emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
        }
        TableOrJson::Table if cloud.is_some() => crate::emit(&cloud_table(&zones, cloud))?,
        TableOrJson::Table => crate::emit(&zone_table(&zones))?,
    }
    Ok(())
}

fn json_zone(z: &Zone, cloud: Option<Cloud>) -> JsonZone {
    JsonZone {
        zone: z.key.to_string(),
        name: z.name.clone(),
        country: z.country.clone(),
        aliases: z
            .aliases
            .iter()
            .filter(|a| !matches!(a.kind, AliasKind::Aws | AliasKind::Gcp | AliasKind::Azure))
            .map(|a| a.name.clone())
            .collect(),
        cloud_regions: cloud_names(z, cloud),
        annual: z
            .annual
            .iter()
            .map(|a| JsonAnnual {
                gco2_per_kwh: a.value.0,
                year: a.year,
                signal: a.signal.as_str(),
                source: a.source.clone(),
            })
            .collect(),
        embedded_history: kite_dataset::catalog()
            .iter()
            .filter(|e| e.zone == z.key)
            .map(|e| JsonHistory {
                source: e.source,
                signal: e.signal.as_str(),
                resolution: e.resolution.to_string(),
                start: e.span.start().to_string(),
                end: e.span.end().to_string(),
                points: e.points,
            })
            .collect(),
        live_providers: live_providers(z),
    }
}

fn zone_table(zones: &[&Zone]) -> String {
    let mut t = crate::render::table();
    t.set_header(vec![
        "zone",
        "name",
        "aliases",
        "cloud",
        "annual gCO2e/kWh",
        "embedded history",
        "live",
    ]);
    for z in zones {
        let aliases: Vec<&str> = z
            .aliases
            .iter()
            .filter(|a| a.kind.cloud().is_none())
            .map(|a| a.name.as_str())
            .collect();
        let clouds = z.cloud_regions(None).count();
        let annual = z
            .annual
            .first()
            .map(|a| format!("{:.0} ({}, {})", a.value.0, a.year, short_source(&a.source)))
            .unwrap_or_else(|| "-".into());
        let entries: Vec<_> = kite_dataset::catalog()
            .iter()
            .filter(|e| e.zone == z.key)
            .collect();
        let history = match (
            entries.iter().map(|e| e.span.start()).min(),
            entries.iter().map(|e| e.span.end()).max(),
        ) {
            (Some(first), Some(last)) => format!(
                "{}..{} ({} series)",
                first.strftime("%Y-%m"),
                last.strftime("%Y-%m"),
                entries.len()
            ),
            _ => "-".into(),
        };
        t.add_row(vec![
            z.key.to_string(),
            z.name.clone(),
            aliases.join(" "),
            if clouds == 0 {
                "-".into()
            } else {
                clouds.to_string()
            },
            annual,
            history,
            live_providers(z).join(" "),
        ]);
    }
    format!(
        "{t}\n{} zones; {} of them with embedded hourly history ({:.1} MiB compressed in the binary)\n",
        zones.len(),
        zones
            .iter()
            .filter(|z| kite_dataset::catalog().iter().any(|e| e.zone == z.key))
            .count(),
        kite_dataset::embedded_bytes() as f64 / 1_048_576.0
    )
}

/// The source's name without its details: "Our World in Data (Ember) via …" → "Our World in Data".
fn short_source(s: &str) -> &str {
    let cut = s.find([',', '(']).unwrap_or(s.len());
    s[..cut].trim_end()
}

fn cloud_table(zones: &[&Zone], cloud: Option<Cloud>) -> String {
    let mut rows: Vec<(String, &Zone)> = zones
        .iter()
        .flat_map(|z| cloud_names(z, cloud).into_iter().map(move |r| (r, *z)))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut t = crate::render::table();
    t.set_header(vec![
        "cloud region",
        "zone",
        "name",
        "annual gCO2e/kWh",
        "hourly history",
    ]);
    for (region, z) in &rows {
        let annual = z
            .annual
            .first()
            .map(|a| format!("{:.0} ({}, {})", a.value.0, a.year, short_source(&a.source)))
            .unwrap_or_else(|| "-".into());
        let hourly = kite_dataset::catalog().iter().any(|e| e.zone == z.key);
        t.add_row(vec![
            region.clone(),
            z.key.to_string(),
            z.name.clone(),
            annual,
            if hourly {
                "yes".into()
            } else {
                "-".to_string()
            },
        ]);
    }
    format!("{t}\n{} cloud regions\n", rows.len())
}
