//! `kite regions`: zones, aliases, cloud regions, and what data kite has for each.

use crate::args::{CloudArg, GlobalArgs, RegionsArgs, TableOrJson};
use anyhow::Result;
use kite_engine::{RegionView, cloud_names, find_zones};
use kite_regions::{Cloud, Zone};
use serde::Serialize;

/// One zone in `kite regions --format json`: the zone as `GET /v1/regions` shows it, and the
/// live providers that can serve it.
#[derive(Serialize)]
struct JsonZone {
    #[serde(flatten)]
    zone: RegionView,
    /// Live providers that can serve this zone (if configured).
    live_providers: Vec<&'static str>,
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

fn cloud_of(arg: CloudArg) -> Cloud {
    match arg {
        CloudArg::Aws => Cloud::Aws,
        CloudArg::Gcp => Cloud::Gcp,
        CloudArg::Azure => Cloud::Azure,
    }
}

pub fn run(_global: &GlobalArgs, args: RegionsArgs) -> Result<()> {
    let cloud = args.cloud.map(cloud_of);
    let zones = find_zones(args.search.as_deref(), cloud);
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
        zone: RegionView::new(z, cloud),
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
