//! Constants that turn energy into facility energy and water, each with where it came from.
//!
//! Every default here names its source in [`Factor::source`], and that text travels into the run
//! record, the store and the CLI's output, so a reader can always tell a measured facility value
//! (`--pue 1.08`) from a provider average or a generic default. The table with the full
//! citations is in `docs/methodology.md`; keep the two in step.
//!
//! Formulas (applied in `accounting.rs`):
//! - facility energy = IT energy × PUE;
//! - operational carbon = Σ over intervals of IT energy × PUE × grid intensity of the interval;
//! - water = IT energy × (on-site WUE + PUE × off-site water intensity of electricity), the
//!   operational water footprint of Li et al., "Making AI Less 'Thirsty'" (2023, arXiv:2304.03271).
//!   On-site WUE is litres per kWh of IT energy (The Green Grid's definition); the off-site
//!   intensity is litres consumed per kWh generated, so it applies to facility energy.

/// A number with the source it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// The value, in the unit the field it fills documents.
    pub value: f64,
    /// Where it came from, in words: a citation for defaults, `--pue flag` or `config file` for
    /// values the user gave.
    pub source: String,
}

impl Factor {
    /// A value with its source.
    pub fn new(value: f64, source: impl Into<String>) -> Factor {
        Factor {
            value,
            source: source.into(),
        }
    }
}

/// The cloud providers kite has defaults for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudProvider {
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Microsoft Azure.
    Azure,
}

impl CloudProvider {
    /// Reads `aws`, `gcp` (or `google`), `azure` (or `microsoft`), any case.
    pub fn parse(name: &str) -> Option<CloudProvider> {
        match name.trim().to_ascii_lowercase().as_str() {
            "aws" | "amazon" => Some(CloudProvider::Aws),
            "gcp" | "google" | "google cloud" => Some(CloudProvider::Gcp),
            "azure" | "microsoft" => Some(CloudProvider::Azure),
            _ => None,
        }
    }
}

/// PUE when nothing is known about a facility: 1.0, no overhead. A machine outside a data
/// centre (a laptop, a workstation) has none that kite could know of.
pub const PUE_NONE: f64 = 1.0;

/// On-site water of a machine outside a data centre: 0 L/kWh (no evaporative cooling).
pub const WUE_NONE: f64 = 0.0;

/// Average on-site WUE of US data centres, 1.8 L/kWh (Shehabi et al. 2016, see
/// [`default_wue_onsite`]); for a data centre whose own figure is unknown.
pub const WUE_DATA_CENTRE_AVERAGE: f64 = 1.8;

const SHEHABI_2016: &str = "Shehabi et al., United States Data Center Energy Usage Report, \
                            LBNL-1005775 (2016), as cited by Mytton, npj Clean Water 4:11 (2021)";

/// The PUE kite assumes: the provider's fleet average on a known cloud, else 1.0.
///
/// Cloud values are the fleet averages of the Cloud Carbon Footprint methodology (`PUE_AVG` in
/// its AWS, GCP and Azure estimation constants): AWS 1.135, GCP 1.1, Azure 1.185.
pub fn default_pue(cloud_provider: Option<&str>) -> Factor {
    match cloud_provider.and_then(CloudProvider::parse) {
        Some(CloudProvider::Aws) => Factor::new(
            1.135,
            "AWS fleet average PUE, Cloud Carbon Footprint methodology (PUE_AVG)",
        ),
        Some(CloudProvider::Gcp) => Factor::new(
            1.1,
            "Google Cloud fleet average PUE, Cloud Carbon Footprint methodology (PUE_AVG)",
        ),
        Some(CloudProvider::Azure) => Factor::new(
            1.185,
            "Azure fleet average PUE, Cloud Carbon Footprint methodology (PUE_AVG)",
        ),
        None => Factor::new(
            PUE_NONE,
            "default 1.0: no facility overhead known (not a cloud run); pass --pue for a data centre",
        ),
    }
}

/// On-site water use effectiveness (L per kWh of IT energy) kite assumes.
///
/// - AWS: 0.12 L/kWh, Amazon's global data-centre WUE for 2025 (Amazon News, 2026).
/// - Azure: 0.27 L/kWh, Microsoft's owned-fleet WUE for 2025 (Microsoft blog, 24 June 2026).
/// - GCP: Google publishes water volumes but no WUE, so the US data-centre average 1.8 L/kWh of
///   Shehabi et al. (2016) is used; it likely overstates Google's fleet.
/// - not a cloud run: 0 L/kWh (no evaporative cooling; CodeCarbon's default `wue` is 0 too).
pub fn default_wue_onsite(cloud_provider: Option<&str>) -> Factor {
    match cloud_provider.and_then(CloudProvider::parse) {
        Some(CloudProvider::Aws) => Factor::new(
            0.12,
            "AWS global data-centre WUE 2025, 0.12 L/kWh (Amazon News, 2026)",
        ),
        Some(CloudProvider::Azure) => Factor::new(
            0.27,
            "Microsoft owned-fleet data-centre WUE 2025, 0.27 L/kWh (Microsoft blog, 2026-06-24)",
        ),
        Some(CloudProvider::Gcp) => Factor::new(
            WUE_DATA_CENTRE_AVERAGE,
            format!(
                "Google publishes no WUE; US data-centre average 1.8 L/kWh from {SHEHABI_2016}"
            ),
        ),
        None => Factor::new(
            WUE_NONE,
            "default 0 L/kWh: no evaporative cooling known (not a cloud run); pass --wue for a \
             data centre",
        ),
    }
}

/// Water consumed to generate a kWh of electricity: 7.6 L/kWh, the US average of Shehabi et al.
/// (2016). kite has no redistributable per-zone table yet, so this applies everywhere unless
/// the user gives a value for their grid.
pub fn default_water_offsite() -> Factor {
    Factor::new(
        7.6,
        format!(
            "US average water consumption of electricity generation, 7.6 L/kWh, {SHEHABI_2016}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_depend_on_the_cloud_and_name_their_source() {
        assert_eq!(default_pue(None).value, 1.0);
        assert_eq!(default_pue(Some("AWS")).value, 1.135);
        assert_eq!(default_pue(Some("google")).value, 1.1);
        assert_eq!(default_pue(Some("azure")).value, 1.185);
        assert_eq!(default_pue(Some("ovh")).value, 1.0);
        assert_eq!(default_wue_onsite(None).value, 0.0);
        assert_eq!(default_wue_onsite(Some("aws")).value, 0.12);
        assert_eq!(default_wue_onsite(Some("azure")).value, 0.27);
        assert_eq!(default_wue_onsite(Some("gcp")).value, 1.8);
        assert_eq!(default_water_offsite().value, 7.6);
        for f in [
            default_pue(Some("aws")),
            default_wue_onsite(Some("gcp")),
            default_water_offsite(),
        ] {
            assert!(!f.source.is_empty());
        }
    }
}
