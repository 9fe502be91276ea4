//! Tests against the embedded tables. Expected values were checked against the upstream files
//! named in each comment (under `factors/` and `grid/` of the shared data directory).

use crate::{AliasKind, Cloud, Registry, UnknownZone};
use kite_core::{Signal, ZoneKey};

#[track_caller]
fn check(input: &str, expected_key: &str) {
    match Registry::embedded().resolve(input) {
        Ok(z) => assert_eq!(z.key.as_str(), expected_key, "{input}"),
        Err(e) => panic!("{input}: {e}"),
    }
}

#[track_caller]
fn unknown(input: &str) -> UnknownZone {
    match Registry::embedded().resolve(input) {
        Ok(z) => panic!("{input} resolved to {}", z.key),
        Err(e) => e,
    }
}

#[test]
fn keys_resolve_case_insensitively() {
    check("DE", "DE");
    check("de", "DE");
    check(" us-cal-ciso ", "US-CAL-CISO");
    check("GB-Region-13", "GB-REGION-13");
    check("SE", "SE");
}

#[test]
fn country_codes_and_names_resolve() {
    // codecarbon/private_infra/global_energy_mix.json is keyed by alpha-3.
    check("DEU", "DE");
    check("deu", "DE");
    check("GBR", "GB");
    check("USA", "US");
    check("Germany", "DE");
    check("new zealand", "NZ");
}

#[test]
fn balancing_authorities_resolve() {
    // CarbonCast region names (grid/README.md cross-reference) and EIA codes.
    check("CISO", "US-CAL-CISO");
    check("pjm", "US-MIDA-PJM");
    check("MISO", "US-MIDW-MISO");
    check("EPE", "US-SW-EPE");
    check("ERCO", "US-TEX-ERCO");
    check("ERCOT", "US-TEX-ERCO");
    check("NYIS", "US-NY-NYIS");
    check("BPAT", "US-NW-BPAT");
    check("PACW", "US-NW-PACW");
    // The EIA code SC is also Seychelles' country code; the zone key wins.
    check("SC", "SC");
    check("US-CAR-SC", "US-CAR-SC");
}

#[test]
fn watttime_regions_resolve_and_are_recorded() {
    // gsf-if-data/region-metadata.csv: aws us-west-1 → US-CAL-CISO / CAISO_NORTH,
    // aws us-east-1 → US-MIDA-PJM / PJM_DC, gcp us-central1 → MISO_MASON_CITY.
    check("CAISO_NORTH", "US-CAL-CISO");
    check("caiso_north", "US-CAL-CISO");
    check("PJM_DC", "US-MIDA-PJM");
    check("PJM_SOUTHWEST_OH", "US-MIDA-PJM");
    check("MISO_MASON_CITY", "US-MIDW-MISO");
    check("UK", "GB");
    let r = Registry::embedded();
    let wt = |key: &str| {
        r.get(&ZoneKey::new(key).unwrap())
            .and_then(|z| z.watttime_region.clone())
    };
    assert_eq!(wt("US-CAL-CISO").as_deref(), Some("CAISO_NORTH"));
    assert_eq!(wt("US-MIDA-PJM").as_deref(), Some("PJM_DC"));
    assert_eq!(wt("US-NW-BPAT").as_deref(), Some("BPA"));
}

#[test]
fn cloud_regions_resolve() {
    // region-metadata.csv (AWS, GCP; most frequent mapping per region).
    check("aws:eu-central-1", "DE");
    check("aws:us-east-1", "US-MIDA-PJM");
    check("AWS/EU-CENTRAL-1", "DE");
    check("aws:us-west-2", "US-NW-BPAT");
    check("aws:ca-central-1", "CA-QC");
    check("gcp:europe-west4", "NL");
    check("gcp:us-central1", "US-MIDW-MISO");
    check("gcp/asia-northeast1", "JP-TK");
    // Azure: CCF grid-emissions-factors-azure.csv locations (West Europe = Netherlands,
    // North Europe = Ireland, Central US = Iowa).
    check("azure:westeurope", "NL");
    check("azure:West Europe", "NL");
    check("AZURE:west europe", "NL");
    check("azure:northeurope", "IE");
    check("azure:centralus", "US-MIDW-MISO");
    check("azure:Germany West Central", "DE");
}

#[test]
fn wrong_rows_in_region_metadata_are_outvoted() {
    // region-metadata.csv has aws eu-north-1 → ES in 2021 but SE in 2022, and gcp europe-north1
    // → AUS-VIC (2019), BE (2020), FI (2021, 2022); europe-west2 → DE in 2020 only.
    check("aws:eu-north-1", "SE");
    check("gcp:europe-north1", "FI");
    check("gcp:europe-west2", "GB");
    check("gcp:europe-west1", "BE");
}

#[test]
fn cloud_names_need_their_prefix() {
    let e = unknown("eu-central-1");
    assert_eq!(
        e.suggestions.first().map(String::as_str),
        Some("aws:eu-central-1")
    );
    assert!(e.suggestions.contains(&"DE".to_string()));
    let e = unknown("aws:eu-central-3");
    assert!(
        e.suggestions.contains(&"aws:eu-central-1".to_string()),
        "{e}"
    );
    let e = unknown("azure:westeurop");
    assert_eq!(
        e.suggestions.first().map(String::as_str),
        Some("azure:westeurope")
    );
    unknown("oracle:eu-frankfurt-1");
}

#[test]
fn unknown_names_get_suggestions() {
    let e = unknown("DEU-X");
    assert_eq!(e.suggestions.first().map(String::as_str), Some("DE"), "{e}");
    assert!(e.suggestions.len() <= 3);
    assert!(
        e.to_string()
            .starts_with("unknown region `DEU-X`: did you mean DE")
    );
    assert!(e.to_string().ends_with("? (`kite regions` lists all)"));
    let e = unknown("germny");
    assert_eq!(e.suggestions, vec!["DE".to_string()], "{e}");
    let e = unknown("qqqqqqqqqqqq");
    assert!(e.suggestions.is_empty());
    assert_eq!(
        e.to_string(),
        "unknown region `qqqqqqqqqqqq` (`kite regions` lists all)"
    );
}

#[test]
fn every_cloud_region_of_the_sources_resolves() {
    // Written by `cargo xtask gen-data` from the raw source tables: every name exactly as a
    // source spells it (Azure display names included), and whether it was skipped.
    let fixture = include_str!("../test_data/source_cloud_regions.csv");
    let r = Registry::embedded();
    let mut per_cloud = std::collections::BTreeMap::new();
    for line in fixture.lines().skip(1) {
        let fields: Vec<&str> = line.splitn(4, ',').collect();
        let [cloud, name, file, skipped] = fields.as_slice() else {
            panic!("bad fixture line {line}");
        };
        let input = format!("{cloud}:{name}");
        if skipped.is_empty() {
            assert!(
                r.resolve(&input).is_ok(),
                "{input} (from {file}) does not resolve"
            );
            let cloud = Cloud::parse(cloud).unwrap();
            per_cloud
                .entry(cloud)
                .or_insert_with(std::collections::BTreeSet::new)
                .insert(cloud.normalize(name));
        } else {
            assert!(
                r.resolve(&input).is_err(),
                "{input} is skipped but resolves"
            );
        }
    }
    let registered = |c| r.cloud_regions(Some(c)).len();
    for (cloud, names) in &per_cloud {
        assert_eq!(names.len(), registered(*cloud), "{cloud}");
    }
    // Distinct names across region-metadata.csv, Google's yearly files and CCF's tables.
    assert_eq!(registered(Cloud::Aws), 32);
    assert_eq!(registered(Cloud::Gcp), 44);
    assert_eq!(registered(Cloud::Azure), 81);
}

#[test]
fn uk_regions_are_zones() {
    let r = Registry::embedded();
    for id in 1..=17u8 {
        let z = r.resolve(&format!("GB-REGION-{id}")).unwrap();
        assert_eq!(z.uk_region_id, Some(id));
        assert_eq!(z.country.as_deref(), Some("GB"));
    }
    assert_eq!(r.resolve("GB-REGION-13").unwrap().name, "London");
    assert_eq!(
        r.resolve("GB-REGION-6").unwrap().name,
        "North Wales & Merseyside"
    );
    assert_eq!(r.resolve("GB").unwrap().uk_region_id, None);
}

#[test]
fn countries_and_annual_means() {
    let r = Registry::embedded();
    // 213 countries in global_energy_mix.json, each a zone with its alpha-3 alias and a mean.
    let countries: Vec<_> = r
        .zones()
        .filter(|z| z.aliases.iter().any(|a| a.kind == AliasKind::Country))
        .collect();
    assert_eq!(countries.len(), 213);
    for z in &countries {
        assert!(
            z.annual
                .iter()
                .any(|a| a.source.starts_with("Our World in Data")),
            "{}",
            z.key
        );
    }
    for z in r.zones() {
        for a in &z.annual {
            assert!((0.0..=1500.0).contains(&a.value.0), "{} {a:?}", z.key);
            // The oldest is Western Sahara's OWID figure (ESH, year 2009).
            assert!((2009..=2025).contains(&a.year), "{} {a:?}", z.key);
        }
    }
    // global_energy_mix.json: DEU carbon_intensity 380.95, year 2023.
    let de = r.resolve("DE").unwrap();
    let owid = de.annual_mean(Signal::AVERAGE_LIFECYCLE).unwrap();
    assert_eq!((owid.value.0, owid.year), (380.95, 2023));
    assert_eq!(
        owid.source,
        "Our World in Data (Ember) via CodeCarbon 3.3.2"
    );
    // Mean of grid/em-greendcc-lca/US-CAL-CISO.csv over 2022: 262.32.
    let ciso = r.resolve("US-CAL-CISO").unwrap();
    let first = &ciso.annual[0];
    assert_eq!(first.source, "em-greendcc-lca (embedded)");
    assert_eq!(first.year, 2022);
    assert!((first.value.0 - 262.32).abs() < 0.01);
    // Best first: average-lifecycle entries come before average-direct ones.
    let signals: Vec<Signal> = ciso.annual.iter().map(|a| a.signal).collect();
    let mut sorted = signals.clone();
    sorted.sort_by_key(|s| Signal::ALL.iter().position(|x| x == s));
    assert_eq!(signals, sorted);
    // A zone known only through a cloud region gets that region's published factor
    // (google-region-carbon-info/yearly/2024.csv: asia-northeast1 452.85, direct since 2021).
    let tk = r.resolve("JP-TK").unwrap();
    assert_eq!(tk.annual[0].value.0, 452.85);
    assert_eq!(tk.annual[0].signal, Signal::AVERAGE_DIRECT);
}

#[test]
fn registry_is_sorted_and_consistent() {
    let r = Registry::embedded();
    assert!(r.len() >= 300);
    let keys: Vec<&str> = r.zones().map(|z| z.key.as_str()).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    for z in r.zones() {
        assert_eq!(r.get(&z.key).map(|x| &x.key), Some(&z.key));
        // Every alias resolves back to its own zone.
        for a in &z.aliases {
            let input = match a.kind.cloud() {
                Some(c) => format!("{c}:{}", a.name),
                None => a.name.clone(),
            };
            assert_eq!(r.resolve(&input).unwrap().key, z.key, "{input}");
        }
    }
    let pjm = r.resolve("PJM").unwrap();
    let aws: Vec<&str> = pjm.cloud_regions(Some(Cloud::Aws)).collect();
    assert!(aws.contains(&"us-east-1") && aws.contains(&"us-east-2"));
    assert!(pjm.cloud_regions(None).count() > aws.len());
    assert_eq!(Cloud::parse("GCP"), Some(Cloud::Gcp));
    assert_eq!(Cloud::parse("oracle"), None);
}

#[test]
fn cold_start_is_cheap() {
    let t0 = std::time::Instant::now();
    let fresh = Registry::parse(
        include_str!("../../../data/regions/zones.csv"),
        include_str!("../../../data/regions/aliases.csv"),
        include_str!("../../../data/regions/annual.csv"),
    )
    .unwrap();
    assert_eq!(fresh.len(), Registry::embedded().len());
    // A generous bound, so a debug build on a busy machine passes too.
    assert!(t0.elapsed() < std::time::Duration::from_millis(50));
}
