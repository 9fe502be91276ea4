//! Builds the zone registry tables (`data/regions/{zones,aliases,annual}.csv`) from CodeCarbon's
//! country table, the cloud-region tables (GSF if-data, Google region-carbon-info, CCF), the
//! curated tables in `tables.rs`, and the annual means of the embedded history.
//!
//! Invariants: every cloud region named in a source table is either mapped to a zone that
//! exists or listed as skipped with a reason; an alias resolves to exactly one zone (a zone key
//! always wins over an alias, then country codes over balancing authorities over WattTime
//! names); every annual mean names its source and year.

use crate::history::HistoryAnnual;
use crate::iso3166;
use crate::tables;
use anyhow::{Context, bail, ensure};
use kite_core::Signal;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// One row of `zones.csv`.
#[derive(Debug, Clone)]
pub struct ZoneRow {
    pub key: String,
    pub name: String,
    pub country: Option<String>,
    pub watttime_region: Option<String>,
    pub uk_region_id: Option<u8>,
}

/// Alias kinds as written in `aliases.csv`, in resolution priority order for non-cloud names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Country,
    BalancingAuthority,
    WattTime,
    Aws,
    Gcp,
    Azure,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Country => "country",
            Kind::BalancingAuthority => "ba",
            Kind::WattTime => "watttime",
            Kind::Aws => "aws",
            Kind::Gcp => "gcp",
            Kind::Azure => "azure",
        }
    }

    fn is_cloud(self) -> bool {
        matches!(self, Kind::Aws | Kind::Gcp | Kind::Azure)
    }
}

/// One row of `aliases.csv`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AliasRow {
    pub key: String,
    pub kind: Kind,
    pub name: String,
}

/// One row of `annual.csv`.
#[derive(Debug, Clone)]
pub struct AnnualRow {
    pub key: String,
    pub value: f64,
    pub year: i16,
    pub signal: Signal,
    pub source: String,
    /// The tie-breaker after signal and year: embedded history first (Electricity Maps exports,
    /// then CarbonCast, as kite-dataset ranks them), then OWID, Google, CCF.
    pub tier: u8,
}

/// One cloud-region name exactly as a source table writes it (the regions test fixture).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceCloudRegion {
    pub cloud: Kind,
    pub name: String,
    pub file: String,
    pub skipped: Option<String>,
}

/// The registry tables.
pub struct Registry {
    pub zones: Vec<ZoneRow>,
    pub aliases: Vec<AliasRow>,
    pub annual: Vec<AnnualRow>,
    pub source_cloud_regions: Vec<SourceCloudRegion>,
    /// Messages for the summary (dropped aliases, cloud means used).
    pub notes: Vec<String>,
}

const OWID_SOURCE: &str = "Our World in Data (Ember) via CodeCarbon 3.3.2";

fn signal_rank(s: Signal) -> usize {
    Signal::ALL
        .iter()
        .position(|x| *x == s)
        .unwrap_or(Signal::ALL.len())
}

/// A row of GSF `region-metadata.csv`.
struct MetaRow {
    year: i32,
    provider: String,
    region: String,
    zone: String,
    watttime: String,
}

fn read_region_metadata(path: &Path) -> anyhow::Result<Vec<MetaRow>> {
    let mut reader = csv::Reader::from_path(path)?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
            .with_context(|| format!("no column {name}"))
    };
    let (c_year, c_provider, c_region, c_zone, c_wt) = (
        col("Year")?,
        col("cloud-provider")?,
        col("cloud-region")?,
        col("em-zone-id")?,
        col("wt-region-id")?,
    );
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record?;
        let get = |i: usize| r.get(i).unwrap_or("").trim().to_string();
        rows.push(MetaRow {
            year: get(c_year)
                .parse()
                .with_context(|| format!("bad year in {r:?}"))?,
            provider: get(c_provider),
            region: get(c_region),
            zone: get(c_zone),
            watttime: get(c_wt),
        });
    }
    Ok(rows)
}

/// Azure names in the sources come as `westeurope` or `West Europe`.
fn azure_norm(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

/// A cloud region's mapping.
#[derive(Debug, Clone)]
struct CloudMapping {
    zone: String,
    watttime: Option<String>,
}

/// For AWS and GCP: the zone most rows give the region, ties to the latest year. Some years
/// carry copy-paste errors (GCP europe-north1 → AUS-VIC in 2019, AWS eu-north-1 → ES in 2021).
fn vote(rows: &[&MetaRow]) -> Option<CloudMapping> {
    let mut by_zone: BTreeMap<&str, (usize, i32)> = BTreeMap::new();
    for r in rows.iter().filter(|r| !r.zone.is_empty()) {
        let e = by_zone.entry(&r.zone).or_insert((0, i32::MIN));
        e.0 += 1;
        e.1 = e.1.max(r.year);
    }
    let (zone, _) = by_zone.into_iter().max_by_key(|(_, score)| *score)?;
    let watttime = rows
        .iter()
        .filter(|r| r.zone == zone && !r.watttime.is_empty())
        .max_by_key(|r| r.year)
        .map(|r| r.watttime.clone());
    Some(CloudMapping {
        zone: zone.to_string(),
        watttime,
    })
}

/// Google's yearly files: `(year, region, location, intensity, signal)`.
struct GoogleRow {
    year: i16,
    region: String,
    value: Option<f64>,
    signal: Signal,
}

fn read_google(dir: &Path) -> anyhow::Result<Vec<GoogleRow>> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    for path in files {
        let year: i16 = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("{} is not named <year>.csv", path.display()))?;
        let mut reader = csv::Reader::from_path(&path)?;
        let header = reader.headers()?.get(3).unwrap_or("").to_string();
        // 2019-2020 publish lifecycle intensity ("Lifecycle grid carbon intensity"). From 2021
        // the column is "Grid carbon intensity", which matches Electricity Maps' *direct* means:
        // 2022 europe-west3 413 vs EM DE direct 411.0 (lifecycle 477.9), asia-southeast1 372 vs
        // SG direct 372.4, us-east4 354 vs PJM direct 355.0, northamerica-northeast2 36 vs CA-ON
        // direct 36.3 (grid/em-greendcc-*, means over 2022).
        let signal = if header.starts_with("Lifecycle") {
            Signal::AVERAGE_LIFECYCLE
        } else if header.starts_with("Grid carbon intensity") {
            Signal::AVERAGE_DIRECT
        } else {
            bail!("{}: unexpected column `{header}`", path.display());
        };
        for record in reader.records() {
            let r = record?;
            let region = r.get(0).unwrap_or("").trim().to_string();
            ensure!(!region.is_empty(), "{}: empty region", path.display());
            let value = r.get(3).map(str::trim).filter(|s| !s.is_empty());
            out.push(GoogleRow {
                year,
                region,
                value: value.map(str::parse).transpose()?,
                signal,
            });
        }
    }
    Ok(out)
}

/// CCF `grid-emissions-factors-<cloud>.csv`: `(region, value g/kWh, source)`, where the source
/// names the NERC region for EPA eGRID rows (those are NERC-wide averages, not local ones).
fn read_ccf(path: &Path) -> anyhow::Result<Vec<(String, f64, String)>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.starts_with(name))
            .with_context(|| format!("{}: no column {name}", path.display()))
    };
    let (c_region, c_value, c_source) = (col("Region")?, col("CO2e")?, col("Source")?);
    let c_nerc = col("NERC").ok();
    let mut out = Vec::new();
    for record in reader.records() {
        let r = record?;
        let region = r.get(c_region).unwrap_or("").trim().to_string();
        let text = r.get(c_value).unwrap_or("").trim();
        let mut tonnes: f64 = text
            .parse()
            .with_context(|| format!("{}: bad value `{text}`", path.display()))?;
        // Two Azure rows lost their "0." ("000077", "000402" metric t/kWh); no grid emits tonnes
        // per kWh, so read the digits as the fraction they were meant to be (77 and 402 g/kWh).
        if tonnes >= 1.0 && text.starts_with("000") && text.bytes().all(|b| b.is_ascii_digit()) {
            tonnes = format!("0.{text}").parse()?;
        }
        let mut source = r.get(c_source).unwrap_or("").trim().to_string();
        if source == "EPA" {
            let nerc = c_nerc.and_then(|c| r.get(c)).unwrap_or("").trim();
            source = format!("EPA eGRID, NERC region {nerc}");
        }
        out.push((region, tonnes * 1e6, source));
    }
    Ok(out)
}

/// Builds the registry tables. `history_zones` are the zones of the embedded series.
pub fn build(
    factors: &Path,
    history_annual: &[HistoryAnnual],
    history_zones: &BTreeSet<String>,
) -> anyhow::Result<Registry> {
    iso3166::check()?;
    let mut notes = Vec::new();
    let mut zones: BTreeMap<String, ZoneRow> = BTreeMap::new();
    let mut aliases: Vec<AliasRow> = Vec::new();
    let mut annual: Vec<AnnualRow> = Vec::new();

    // Countries: CodeCarbon's copy of OWID's energy data.
    let mix_path = factors.join("codecarbon/private_infra/global_energy_mix.json");
    let mix: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&mix_path)?)
            .with_context(|| mix_path.display().to_string())?;
    for (alpha3, entry) in &mix {
        let alpha2 = iso3166::alpha2(alpha3)
            .with_context(|| format!("{alpha3} is not in the ISO 3166 table"))?;
        let name = entry["country_name"]
            .as_str()
            .with_context(|| format!("{alpha3}: no country_name"))?;
        let name = tables::NAME_OVERRIDES
            .iter()
            .find(|(k, _)| *k == alpha2)
            .map_or(name, |(_, n)| n);
        zones.insert(
            alpha2.to_string(),
            ZoneRow {
                key: alpha2.to_string(),
                name: name.to_string(),
                country: Some(alpha2.to_string()),
                watttime_region: None,
                uk_region_id: None,
            },
        );
        aliases.push(AliasRow {
            key: alpha2.to_string(),
            kind: Kind::Country,
            name: alpha3.clone(),
        });
        let value = entry["carbon_intensity"].as_f64();
        let year = entry["year"].as_i64().and_then(|y| i16::try_from(y).ok());
        let (Some(value), Some(year)) = (value, year) else {
            bail!("{alpha3}: carbon_intensity or year missing");
        };
        annual.push(AnnualRow {
            key: alpha2.to_string(),
            value,
            year,
            signal: Signal::AVERAGE_LIFECYCLE,
            source: OWID_SOURCE.to_string(),
            tier: 2,
        });
    }

    // Sub-national zones, US balancing authorities, UK regions.
    let mut add_zone = |key: &str, name: &str, country: &str, uk: Option<u8>| {
        zones.insert(
            key.to_string(),
            ZoneRow {
                key: key.to_string(),
                name: name.to_string(),
                country: Some(country.to_string()),
                watttime_region: None,
                uk_region_id: uk,
            },
        );
    };
    for (key, name, country) in tables::SUBNATIONAL_ZONES {
        add_zone(key, name, country, None);
    }
    for (key, code, name) in tables::US_BALANCING_AUTHORITIES {
        add_zone(key, name, "US", None);
        aliases.push(AliasRow {
            key: key.to_string(),
            kind: Kind::BalancingAuthority,
            name: code.to_string(),
        });
    }
    for (id, name) in tables::UK_REGIONS {
        add_zone(&format!("GB-REGION-{id}"), name, "GB", Some(*id));
    }
    for (alias, key) in tables::US_COMMON_NAMES {
        aliases.push(AliasRow {
            key: key.to_string(),
            kind: Kind::BalancingAuthority,
            name: alias.to_string(),
        });
    }
    for z in history_zones {
        ensure!(
            zones.contains_key(z),
            "embedded series zone {z} is not in the registry"
        );
    }

    // Cloud regions.
    let mut source_regions: Vec<SourceCloudRegion> = Vec::new();
    let mut mapped: BTreeMap<(Kind, String), CloudMapping> = BTreeMap::new();
    let meta_path = factors.join("gsf-if-data/region-metadata.csv");
    let meta = read_region_metadata(&meta_path)?;
    let meta_file = "gsf-if-data/region-metadata.csv";
    let mut by_region: BTreeMap<(Kind, String), Vec<&MetaRow>> = BTreeMap::new();
    for r in &meta {
        let kind = match r.provider.as_str() {
            "Amazon Web Services" => Kind::Aws,
            "Google Cloud" => Kind::Gcp,
            "Microsoft Azure" => Kind::Azure,
            other => bail!("{meta_file}: unknown provider {other}"),
        };
        by_region
            .entry((kind, r.region.clone()))
            .or_default()
            .push(r);
    }
    for ((kind, region), rows) in &by_region {
        source_regions.push(SourceCloudRegion {
            cloud: *kind,
            name: region.clone(),
            file: meta_file.into(),
            skipped: None,
        });
        if *kind == Kind::Azure {
            continue; // Curated below: this file's Azure rows are wrong.
        }
        if let Some(m) = vote(rows) {
            mapped.insert((*kind, region.clone()), m);
        }
    }
    let fills = tables::AWS_FILL
        .iter()
        .map(|(r, z, _)| (Kind::Aws, *r, *z))
        .chain(tables::GCP_FILL.iter().map(|(r, z, _)| (Kind::Gcp, *r, *z)));
    for (kind, region, zone) in fills {
        let key = (kind, region.to_string());
        ensure!(
            !mapped.contains_key(&key),
            "{region} is mapped by the source; remove it from the fill table"
        );
        mapped.insert(
            key,
            CloudMapping {
                zone: zone.to_string(),
                watttime: None,
            },
        );
    }
    let mut azure_skipped: HashMap<String, String> = HashMap::new();
    for (name, zone, why) in tables::AZURE {
        ensure!(
            *name == azure_norm(name),
            "Azure table name {name} is not normalized"
        );
        if zone.is_empty() {
            azure_skipped.insert(name.to_string(), why.to_string());
        } else {
            mapped.insert(
                (Kind::Azure, name.to_string()),
                CloudMapping {
                    zone: zone.to_string(),
                    watttime: None,
                },
            );
        }
    }

    // Google's yearly files and CCF's factor tables name regions too.
    let google = read_google(&factors.join("google-region-carbon-info/yearly"))?;
    for g in &google {
        source_regions.push(SourceCloudRegion {
            cloud: Kind::Gcp,
            name: g.region.clone(),
            file: format!("google-region-carbon-info/yearly/{}.csv", g.year),
            skipped: None,
        });
    }
    let mut ccf: Vec<(Kind, String, f64, String)> = Vec::new();
    for (kind, cloud) in [
        (Kind::Aws, "aws"),
        (Kind::Azure, "azure"),
        (Kind::Gcp, "gcp"),
    ] {
        let file = format!("ccf-coefficients/data/grid-emissions-factors-{cloud}.csv");
        for (region, value, source) in read_ccf(&factors.join(&file))? {
            source_regions.push(SourceCloudRegion {
                cloud: kind,
                name: region.clone(),
                file: file.clone(),
                skipped: None,
            });
            let region = if kind == Kind::Azure {
                azure_norm(&region)
            } else {
                region
            };
            ccf.push((kind, region, value, source));
        }
    }
    // Every name must be mapped or deliberately skipped.
    let mut used_azure: BTreeSet<String> = BTreeSet::new();
    for s in &mut source_regions {
        let norm = if s.cloud == Kind::Azure {
            azure_norm(&s.name)
        } else {
            s.name.clone()
        };
        if s.cloud == Kind::Azure {
            used_azure.insert(norm.clone());
        }
        if let Some(why) = azure_skipped.get(&norm).filter(|_| s.cloud == Kind::Azure) {
            s.skipped = Some(why.clone());
            continue;
        }
        let Some(m) = mapped.get(&(s.cloud, norm)) else {
            bail!(
                "{} region `{}` (in {}) has no zone: add it to xtask/src/tables.rs",
                s.cloud.as_str(),
                s.name,
                s.file
            );
        };
        ensure!(
            zones.contains_key(&m.zone),
            "{} region {} maps to unknown zone {}",
            s.cloud.as_str(),
            s.name,
            m.zone
        );
    }
    for (name, _, _) in tables::AZURE {
        ensure!(
            used_azure.contains(*name),
            "Azure table row {name} is in no source table (typo?)"
        );
    }
    source_regions.sort();
    source_regions.dedup();

    // WattTime regions. A WattTime name that is also a balancing authority's EIA code belongs to
    // that authority's zone: region-metadata gives GCP us-west2 (Los Angeles) the zone
    // US-CAL-CISO but the WattTime region LDWP, which is its own balancing authority.
    let ba_zone: HashMap<&str, &str> = tables::US_BALANCING_AUTHORITIES
        .iter()
        .map(|(z, code, _)| (*code, *z))
        .collect();
    let mut wt_regions: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for m in mapped.values() {
        if let Some(wt) = &m.watttime {
            let zone = ba_zone.get(wt.as_str()).map_or(m.zone.as_str(), |z| z);
            *wt_regions
                .entry(zone.to_string())
                .or_default()
                .entry(wt.clone())
                .or_default() += 1;
        }
    }
    for (zone, counts) in &wt_regions {
        // The WattTime region of most cloud regions in the zone is the zone's.
        let primary = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(wt, _)| wt.clone());
        if let Some(z) = zones.get_mut(zone) {
            z.watttime_region = primary;
        }
        for wt in counts.keys() {
            aliases.push(AliasRow {
                key: zone.clone(),
                kind: Kind::WattTime,
                name: wt.clone(),
            });
        }
    }
    for ((kind, region), m) in &mapped {
        aliases.push(AliasRow {
            key: m.zone.clone(),
            kind: *kind,
            name: region.clone(),
        });
    }

    // Resolve alias conflicts: keys win, then kind priority; equal-priority clashes are bugs.
    aliases.sort_by(|a, b| {
        (a.kind.is_cloud(), a.kind, &a.name, &a.key).cmp(&(
            b.kind.is_cloud(),
            b.kind,
            &b.name,
            &b.key,
        ))
    });
    let mut owner: HashMap<(bool, Option<Kind>, String), (String, Kind)> = HashMap::new();
    let mut kept = Vec::new();
    for a in aliases {
        let upper = a.name.to_uppercase();
        if !a.kind.is_cloud() && zones.contains_key(&upper) {
            if upper != a.key {
                notes.push(format!(
                    "alias {} ({}) of {} dropped: it is the key of zone {upper}",
                    a.name,
                    a.kind.as_str(),
                    a.key
                ));
            }
            continue;
        }
        // Non-cloud names share one namespace; each cloud has its own.
        let space = if a.kind.is_cloud() {
            (true, Some(a.kind), upper)
        } else {
            (false, None, upper)
        };
        match owner.get(&space) {
            Some((key, _)) if *key == a.key => continue,
            Some((key, kind)) if *kind == a.kind => {
                bail!(
                    "alias {} ({}) claims both {key} and {}",
                    a.name,
                    a.kind.as_str(),
                    a.key
                )
            }
            Some((key, kind)) => {
                notes.push(format!(
                    "alias {} ({}) of {} dropped: it is a {} alias of {key}",
                    a.name,
                    a.kind.as_str(),
                    a.key,
                    kind.as_str()
                ));
                continue;
            }
            None => {
                owner.insert(space, (a.key.clone(), a.kind));
                kept.push(a);
            }
        }
    }
    let mut aliases = kept;
    aliases.sort();

    // Annual means from the embedded history.
    for h in history_annual {
        annual.push(AnnualRow {
            key: h.zone.clone(),
            value: h.value,
            year: h.year,
            signal: h.signal,
            source: format!("{} (embedded)", h.source),
            tier: if h.source.starts_with("em-greendcc") {
                0
            } else {
                1
            },
        });
    }
    // Cloud-region annual factors, only for zones with nothing better: first Google's latest
    // published year per GCP region, then CCF's factors.
    let mut latest_google: BTreeMap<String, &GoogleRow> = BTreeMap::new();
    for g in google.iter().filter(|g| g.value.is_some()) {
        let e = latest_google.entry(g.region.clone()).or_insert(g);
        if g.year > e.year {
            *e = g;
        }
    }
    let has_annual = |annual: &[AnnualRow], key: &str| annual.iter().any(|a| a.key == key);
    let mut google_rows = Vec::new();
    for (region, g) in &latest_google {
        let Some(m) = mapped.get(&(Kind::Gcp, region.clone())) else {
            continue;
        };
        if has_annual(&annual, &m.zone) {
            continue;
        }
        google_rows.push(AnnualRow {
            key: m.zone.clone(),
            value: g.value.unwrap_or_default(),
            year: g.year,
            signal: g.signal,
            source: format!("Google Cloud region-carbon-info (gcp:{region})"),
            tier: 3,
        });
    }
    for r in &google_rows {
        notes.push(format!(
            "annual mean of {} from {} {}",
            r.key, r.source, r.year
        ));
    }
    annual.extend(google_rows);
    let mut ccf_rows = Vec::new();
    for (kind, region, value, source) in &ccf {
        let Some(m) = mapped.get(&(*kind, region.clone())) else {
            continue; // a skipped region
        };
        if has_annual(&annual, &m.zone) {
            continue;
        }
        // CCF does not date its factors; its methodology calls them averages of a pre-2020 year.
        // Its GCP rows repeat Google's 2019 lifecycle figures; the others (EPA eGRID NERC regions,
        // EEA, carbonfootprint.com) are direct emission rates.
        let signal = if source == "Google" {
            Signal::AVERAGE_LIFECYCLE
        } else {
            Signal::AVERAGE_DIRECT
        };
        ccf_rows.push(AnnualRow {
            key: m.zone.clone(),
            value: *value,
            year: 2019,
            signal,
            source: format!(
                "Cloud Carbon Footprint coefficients, {source} ({}:{region})",
                kind.as_str()
            ),
            tier: 4,
        });
    }
    for r in &ccf_rows {
        notes.push(format!("annual mean of {} from {}", r.key, r.source));
    }
    annual.extend(ccf_rows);
    for a in &annual {
        ensure!(
            zones.contains_key(&a.key),
            "annual mean for unknown zone {}",
            a.key
        );
        ensure!(
            a.value.is_finite() && (0.0..=1500.0).contains(&a.value),
            "annual mean {} of {} from {} is outside 0..=1500",
            a.value,
            a.key,
            a.source
        );
    }
    annual.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(signal_rank(a.signal).cmp(&signal_rank(b.signal)))
            .then(b.year.cmp(&a.year))
            .then(a.tier.cmp(&b.tier))
            .then(a.source.cmp(&b.source))
    });

    Ok(Registry {
        zones: zones.into_values().collect(),
        aliases,
        annual,
        source_cloud_regions: source_regions,
        notes,
    })
}
