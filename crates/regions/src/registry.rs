//! The registry: every zone, parsed once from the tables in `data/regions/`, and name
//! resolution with suggestions.
//!
//! Resolution order: a `aws:`/`gcp:`/`azure:` (or `aws/`...) prefix selects that cloud's region
//! names; otherwise a zone key, then an alias (country alpha-3, balancing authority, WattTime
//! region; xtask guarantees each names one zone), then a zone's human name. All of it is
//! case-insensitive.

use crate::csv_lite::{self, TableError};
use crate::zone::{Alias, AliasKind, AnnualMean, Cloud, Zone};
use kite_core::{GramsCo2PerKwh, Signal, ZoneKey};
use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

static ZONES_CSV: &str = include_str!("../../../data/regions/zones.csv");
static ALIASES_CSV: &str = include_str!("../../../data/regions/aliases.csv");
static ANNUAL_CSV: &str = include_str!("../../../data/regions/annual.csv");

static EMBEDDED: LazyLock<Registry> = LazyLock::new(|| {
    // The tables are generated and checked by this crate's tests; if they were ever broken, an
    // empty registry makes every lookup a clear "unknown region" instead of a crash.
    Registry::parse(ZONES_CSV, ALIASES_CSV, ANNUAL_CSV).unwrap_or_else(|_| Registry::default())
});

/// A name that is no zone, with the closest known names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone {
    /// What was asked for.
    pub input: String,
    /// Up to three zone keys (or cloud regions, for cloud input) that are spelled similarly.
    pub suggestions: Vec<String>,
}

impl fmt::Display for UnknownZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown region `{}`", self.input)?;
        if !self.suggestions.is_empty() {
            write!(f, ": did you mean {}?", self.suggestions.join(", "))?;
        }
        f.write_str(" (`kite regions` lists all)")
    }
}

impl std::error::Error for UnknownZone {}

/// All known zones and their names.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// Sorted by key.
    zones: Vec<Zone>,
    /// Upper-cased key, alias or human name → zone index.
    by_name: HashMap<String, usize>,
    /// (cloud, normalized region) → zone index.
    by_cloud: HashMap<(Cloud, String), usize>,
}

fn parse_signal(s: &str) -> Option<Signal> {
    Signal::ALL.into_iter().find(|x| x.as_str() == s)
}

impl Registry {
    /// The registry compiled into kite (parsed on first use).
    pub fn embedded() -> &'static Registry {
        &EMBEDDED
    }

    /// Builds a registry from the three tables xtask writes (see `data/README.md`).
    pub fn parse(
        zones_csv: &str,
        aliases_csv: &str,
        annual_csv: &str,
    ) -> Result<Registry, TableError> {
        let mut zones: Vec<Zone> = Vec::new();
        let table = |table: &'static str, text: &str, header: &[&str]| {
            let mut records = csv_lite::records(table, text)?.into_iter();
            let found = records.next().unwrap_or_default();
            if found != header {
                return Err(TableError {
                    table,
                    line: 1,
                    reason: format!("header is {found:?}, expected {header:?}"),
                });
            }
            Ok(records.enumerate().map(|(i, r)| (i + 2, r)))
        };
        let bad = |table: &'static str, line: usize, reason: String| TableError {
            table,
            line,
            reason,
        };
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());

        let header = ["key", "name", "country", "watttime_region", "uk_region_id"];
        for (line, r) in table("zones.csv", zones_csv, &header)? {
            let [key, name, country, watttime, uk] = r.as_slice() else {
                return Err(bad("zones.csv", line, format!("{} fields", r.len())));
            };
            let key = ZoneKey::new(key).map_err(|e| bad("zones.csv", line, e.to_string()))?;
            let uk_region_id = match uk.as_str() {
                "" => None,
                id => Some(
                    id.parse::<u8>()
                        .map_err(|e| bad("zones.csv", line, format!("uk_region_id: {e}")))?,
                ),
            };
            zones.push(Zone {
                key,
                name: name.clone(),
                country: opt(country),
                aliases: Vec::new(),
                watttime_region: opt(watttime),
                uk_region_id,
                annual: Vec::new(),
            });
        }
        zones.sort_by(|a, b| a.key.cmp(&b.key));
        if zones.windows(2).any(|w| w[0].key == w[1].key) {
            return Err(bad("zones.csv", 0, "duplicate zone key".into()));
        }
        let index = |table: &'static str, line: usize, key: &str| {
            zones
                .binary_search_by(|z| z.key.as_str().cmp(key))
                .map_err(|_| bad(table, line, format!("unknown zone {key}")))
        };

        let mut aliases: Vec<(usize, Alias)> = Vec::new();
        for (line, r) in table("aliases.csv", aliases_csv, &["key", "kind", "name"])? {
            let [key, kind, name] = r.as_slice() else {
                return Err(bad("aliases.csv", line, format!("{} fields", r.len())));
            };
            let kind = AliasKind::parse(kind)
                .ok_or_else(|| bad("aliases.csv", line, format!("unknown kind {kind}")))?;
            aliases.push((
                index("aliases.csv", line, key)?,
                Alias {
                    name: name.clone(),
                    kind,
                },
            ));
        }

        let mut annual: Vec<(usize, AnnualMean)> = Vec::new();
        let header = ["key", "value", "year", "signal", "source"];
        for (line, r) in table("annual.csv", annual_csv, &header)? {
            let [key, value, year, signal, source] = r.as_slice() else {
                return Err(bad("annual.csv", line, format!("{} fields", r.len())));
            };
            let value: f64 = value
                .parse()
                .map_err(|e| bad("annual.csv", line, format!("value: {e}")))?;
            let year: u16 = year
                .parse()
                .map_err(|e| bad("annual.csv", line, format!("year: {e}")))?;
            let signal = parse_signal(signal)
                .ok_or_else(|| bad("annual.csv", line, format!("signal {signal}")))?;
            annual.push((
                index("annual.csv", line, key)?,
                AnnualMean {
                    value: GramsCo2PerKwh(value),
                    year,
                    signal,
                    source: source.clone(),
                },
            ));
        }

        let mut registry = Registry {
            zones,
            ..Registry::default()
        };
        // Keys first, so no alias or name can shadow a key.
        for (i, z) in registry.zones.iter().enumerate() {
            registry.by_name.insert(z.key.as_str().to_uppercase(), i);
        }
        for (i, alias) in &aliases {
            match alias.kind.cloud() {
                Some(cloud) => {
                    registry
                        .by_cloud
                        .entry((cloud, cloud.normalize(&alias.name)))
                        .or_insert(*i);
                }
                None => {
                    registry
                        .by_name
                        .entry(alias.name.to_uppercase())
                        .or_insert(*i);
                }
            }
        }
        // Human names last, and only where unambiguous.
        let mut name_count: HashMap<String, usize> = HashMap::new();
        for z in &registry.zones {
            *name_count.entry(z.name.to_uppercase()).or_default() += 1;
        }
        for (i, z) in registry.zones.iter().enumerate() {
            let upper = z.name.to_uppercase();
            if name_count.get(&upper) == Some(&1) {
                registry.by_name.entry(upper).or_insert(i);
            }
        }
        for (i, alias) in aliases {
            registry.zones[i].aliases.push(alias);
        }
        for (i, mean) in annual {
            // Rows come best first (xtask sorts them); keep that order.
            registry.zones[i].annual.push(mean);
        }
        for z in &mut registry.zones {
            z.aliases
                .sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        }
        Ok(registry)
    }

    /// Finds a zone by key, alias, human name or cloud region (`aws:eu-central-1`,
    /// `gcp/europe-west4`, `azure:West Europe`), case-insensitively.
    pub fn resolve(&self, name: &str) -> Result<&Zone, UnknownZone> {
        let input = name.trim();
        if let Some((cloud, region)) = split_cloud(input) {
            return self
                .resolve_cloud(cloud, region)
                .ok_or_else(|| self.unknown(input, Some(cloud), region));
        }
        self.by_name
            .get(&input.to_uppercase())
            .map(|&i| &self.zones[i])
            .ok_or_else(|| self.unknown(input, None, input))
    }

    /// Finds the zone of a cloud region given without its prefix.
    pub fn resolve_cloud(&self, cloud: Cloud, region: &str) -> Option<&Zone> {
        self.by_cloud
            .get(&(cloud, cloud.normalize(region)))
            .map(|&i| &self.zones[i])
    }

    /// All zones, sorted by key.
    pub fn zones(&self) -> impl Iterator<Item = &Zone> {
        self.zones.iter()
    }

    /// The zone with this key.
    pub fn get(&self, key: &ZoneKey) -> Option<&Zone> {
        self.zones
            .binary_search_by(|z| z.key.cmp(key))
            .ok()
            .map(|i| &self.zones[i])
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether there are no zones.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// Every cloud region of `cloud` (or of all clouds) with its zone, sorted by cloud and name.
    pub fn cloud_regions(&self, cloud: Option<Cloud>) -> Vec<(Cloud, &str, &Zone)> {
        let mut out: Vec<(Cloud, &str, &Zone)> = self
            .zones
            .iter()
            .flat_map(|z| {
                z.aliases.iter().filter_map(move |a| {
                    let c = a.kind.cloud()?;
                    (cloud.is_none() || cloud == Some(c)).then_some((c, a.name.as_str(), z))
                })
            })
            .collect();
        out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        out
    }

    fn unknown(&self, input: &str, cloud: Option<Cloud>, needle: &str) -> UnknownZone {
        UnknownZone {
            input: input.to_string(),
            suggestions: self.suggest(cloud, needle),
        }
    }

    /// Up to three suggestions by edit distance: zone keys for names, `cloud:region` for cloud
    /// regions. A bare cloud region (`eu-central-1`) suggests its prefixed form.
    fn suggest(&self, cloud: Option<Cloud>, needle: &str) -> Vec<String> {
        let mut scored: Vec<(usize, String)> = Vec::new();
        let max_distance = |len: usize| (len / 3).max(2);
        match cloud {
            Some(cloud) => {
                let needle = cloud.normalize(needle);
                for (c, region) in self.by_cloud.keys() {
                    if *c == cloud {
                        let d = strsim::levenshtein(&needle, region);
                        if d <= max_distance(needle.chars().count()) {
                            scored
                                .push((d, format!("{cloud}:{}", self.display_region(*c, region))));
                        }
                    }
                }
            }
            None => {
                let upper = needle.to_uppercase();
                for (name, &i) in &self.by_name {
                    let d = strsim::levenshtein(&upper, name);
                    if d <= max_distance(upper.chars().count()) {
                        scored.push((d, self.zones[i].key.to_string()));
                    }
                }
                for c in Cloud::ALL {
                    if let Some(z) = self.resolve_cloud(c, needle) {
                        let region = self.display_region(c, &c.normalize(needle));
                        scored.push((0, format!("{c}:{region}")));
                        scored.push((1, z.key.to_string()));
                    }
                }
            }
        }
        scored.sort();
        let mut out: Vec<String> = Vec::new();
        for (_, s) in scored {
            if !out.contains(&s) {
                out.push(s);
            }
            if out.len() == 3 {
                break;
            }
        }
        out
    }

    /// The region name as its source spells it (the normalized form is only for lookup).
    fn display_region(&self, cloud: Cloud, normalized: &str) -> String {
        self.by_cloud
            .get(&(cloud, normalized.to_string()))
            .and_then(|&i| {
                self.zones[i]
                    .cloud_regions(Some(cloud))
                    .find(|r| cloud.normalize(r) == normalized)
            })
            .unwrap_or(normalized)
            .to_string()
    }
}

/// Splits a cloud region as users type it, `aws:eu-central-1` or `aws/eu-central-1`, into the
/// cloud and the trimmed region name; `None` for anything else (plain zone keys).
pub fn split_cloud(input: &str) -> Option<(Cloud, &str)> {
    let at = input.find([':', '/'])?;
    let cloud = Cloud::parse(&input[..at])?;
    Some((cloud, input[at + 1..].trim()))
}
