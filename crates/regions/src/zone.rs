//! A zone of the registry and what is known about it: names, aliases, provider region ids,
//! annual mean intensities.

use kite_core::{GramsCo2PerKwh, Signal, ZoneKey};
use std::fmt;

/// A public cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cloud {
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Microsoft Azure.
    Azure,
}

impl Cloud {
    /// All clouds, in a stable order.
    pub const ALL: [Cloud; 3] = [Cloud::Aws, Cloud::Gcp, Cloud::Azure];

    /// Parses `aws`, `gcp` or `azure` (case-insensitive).
    pub fn parse(s: &str) -> Option<Cloud> {
        match s.trim().to_ascii_lowercase().as_str() {
            "aws" => Some(Cloud::Aws),
            "gcp" => Some(Cloud::Gcp),
            "azure" => Some(Cloud::Azure),
            _ => None,
        }
    }

    /// `aws`, `gcp` or `azure`: the prefix of cloud region names (`aws:eu-central-1`).
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
        }
    }

    /// The canonical spelling of a region name: lower case; for Azure also without spaces, so
    /// the display name `West Europe` is the same region as `westeurope`.
    pub fn normalize(self, region: &str) -> String {
        match self {
            Cloud::Azure => region
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_lowercase(),
            Cloud::Aws | Cloud::Gcp => region.trim().to_lowercase(),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an alias names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AliasKind {
    /// A balancing-authority code (EIA, as CarbonCast and Electricity Maps use it: `CISO`,
    /// `PJM`) or a common operator name (`CAISO`, `ERCOT`).
    BalancingAuthority,
    /// A WattTime region (`CAISO_NORTH`, `PJM_DC`).
    WattTime,
    /// An ISO 3166-1 alpha-3 country code (`DEU`).
    Country,
    /// An AWS region (`eu-central-1`).
    Aws,
    /// A Google Cloud region (`europe-west4`).
    Gcp,
    /// An Azure region (`westeurope`).
    Azure,
}

impl AliasKind {
    /// The cloud of a cloud-region alias.
    pub fn cloud(self) -> Option<Cloud> {
        match self {
            AliasKind::Aws => Some(Cloud::Aws),
            AliasKind::Gcp => Some(Cloud::Gcp),
            AliasKind::Azure => Some(Cloud::Azure),
            AliasKind::BalancingAuthority | AliasKind::WattTime | AliasKind::Country => None,
        }
    }

    /// The name used in the registry tables: `ba`, `watttime`, `country`, `aws`, `gcp`, `azure`.
    pub fn as_str(self) -> &'static str {
        match self {
            AliasKind::BalancingAuthority => "ba",
            AliasKind::WattTime => "watttime",
            AliasKind::Country => "country",
            AliasKind::Aws => "aws",
            AliasKind::Gcp => "gcp",
            AliasKind::Azure => "azure",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<AliasKind> {
        Some(match s {
            "ba" => AliasKind::BalancingAuthority,
            "watttime" => AliasKind::WattTime,
            "country" => AliasKind::Country,
            "aws" => AliasKind::Aws,
            "gcp" => AliasKind::Gcp,
            "azure" => AliasKind::Azure,
            _ => return None,
        })
    }
}

/// Another name of a zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Alias {
    /// The name, as the source spells it (cloud regions without their provider prefix).
    pub name: String,
    /// What kind of name it is.
    pub kind: AliasKind,
}

/// An annual mean intensity of a zone, from one source.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnualMean {
    /// The mean.
    pub value: GramsCo2PerKwh,
    /// The calendar year it describes.
    pub year: u16,
    /// Average/marginal, lifecycle/direct.
    pub signal: Signal,
    /// Where it comes from, e.g. `Our World in Data (Ember) via CodeCarbon 3.3.2` or
    /// `em-greendcc-lca (embedded)`.
    pub source: String,
}

/// A grid zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// The canonical key, e.g. `DE`, `US-CAL-CISO`, `GB-REGION-13`.
    pub key: ZoneKey,
    /// Human name, e.g. `Germany`, `California ISO`.
    pub name: String,
    /// ISO 3166-1 alpha-2 code of the zone's country.
    pub country: Option<String>,
    /// Every other name, sorted by kind then name.
    pub aliases: Vec<Alias>,
    /// The WattTime region to query for this zone.
    pub watttime_region: Option<String>,
    /// The UK Carbon Intensity API `regionid` (1..=17); `None` for GB national and elsewhere.
    pub uk_region_id: Option<u8>,
    /// Annual means, best first: average-lifecycle before average-direct before marginal, then
    /// the most recent year, then measured hourly data before published annual figures.
    pub annual: Vec<AnnualMean>,
}

impl Zone {
    /// The names of the zone's cloud regions, of one cloud or of all (without prefix).
    pub fn cloud_regions(&self, cloud: Option<Cloud>) -> impl Iterator<Item = &str> {
        self.aliases
            .iter()
            .filter(move |a| match (a.kind.cloud(), cloud) {
                (Some(_), None) => true,
                (Some(c), Some(want)) => c == want,
                (None, _) => false,
            })
            .map(|a| a.name.as_str())
    }

    /// The best annual mean with `signal`.
    pub fn annual_mean(&self, signal: Signal) -> Option<&AnnualMean> {
        self.annual.iter().find(|a| a.signal == signal)
    }
}
