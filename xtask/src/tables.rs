//! Hand-curated tables the upstream data does not provide: names of sub-national grid zones,
//! US balancing authorities, the UK Carbon Intensity API regions, and cloud regions whose
//! upstream mapping is missing or wrong.
//!
//! Invariant: every row states where it comes from. Zone keys follow Electricity Maps; US
//! balancing-authority codes are the EIA's (Form EIA-930), which Electricity Maps uses as the last
//! part of its US zone keys and CarbonCast uses as region names.

/// Sub-national Electricity Maps zones outside the US: `(key, name, country alpha-2)`.
pub const SUBNATIONAL_ZONES: &[(&str, &str, &str)] = &[
    ("AUS-NSW", "New South Wales", "AU"),
    ("AUS-VIC", "Victoria", "AU"),
    ("BR-CS", "Central Brazil", "BR"),
    ("CA-ON", "Ontario", "CA"),
    ("CA-QC", "Quebec", "CA"),
    ("CL-SEN", "Chile (National Electric System)", "CL"),
    ("IN-MH", "Maharashtra", "IN"),
    ("IN-SO", "Southern India", "IN"),
    ("IN-UP", "Uttar Pradesh", "IN"),
    ("IN-WE", "Western India", "IN"),
    ("IT-NO", "North Italy", "IT"),
    ("JP-KN", "Kansai", "JP"),
    ("JP-TK", "Tokyo", "JP"),
    ("NZ-NZN", "New Zealand North Island", "NZ"),
];

/// US balancing authorities: `(Electricity Maps zone key, EIA code, name)`.
pub const US_BALANCING_AUTHORITIES: &[(&str, &str, &str)] = &[
    (
        "US-CAL-BANC",
        "BANC",
        "Balancing Authority of Northern California",
    ),
    ("US-CAL-CISO", "CISO", "California ISO"),
    ("US-CAL-IID", "IID", "Imperial Irrigation District"),
    (
        "US-CAL-LDWP",
        "LDWP",
        "Los Angeles Department of Water and Power",
    ),
    ("US-CAL-TIDC", "TIDC", "Turlock Irrigation District"),
    ("US-CAR-CPLE", "CPLE", "Duke Energy Progress East"),
    ("US-CAR-CPLW", "CPLW", "Duke Energy Progress West"),
    ("US-CAR-DUK", "DUK", "Duke Energy Carolinas"),
    ("US-CAR-SC", "SC", "South Carolina Public Service Authority"),
    ("US-CAR-SCEG", "SCEG", "Dominion Energy South Carolina"),
    ("US-CAR-YAD", "YAD", "Alcoa Power Generating (Yadkin)"),
    ("US-CENT-SPA", "SPA", "Southwestern Power Administration"),
    ("US-CENT-SWPP", "SWPP", "Southwest Power Pool"),
    ("US-FLA-FMPP", "FMPP", "Florida Municipal Power Pool"),
    ("US-FLA-FPC", "FPC", "Duke Energy Florida"),
    ("US-FLA-FPL", "FPL", "Florida Power & Light"),
    ("US-FLA-GVL", "GVL", "Gainesville Regional Utilities"),
    ("US-FLA-HST", "HST", "City of Homestead"),
    ("US-FLA-JEA", "JEA", "JEA"),
    ("US-FLA-SEC", "SEC", "Seminole Electric Cooperative"),
    ("US-FLA-TAL", "TAL", "City of Tallahassee"),
    ("US-FLA-TEC", "TEC", "Tampa Electric"),
    ("US-MIDA-PJM", "PJM", "PJM Interconnection"),
    ("US-MIDW-AECI", "AECI", "Associated Electric Cooperative"),
    (
        "US-MIDW-LGEE",
        "LGEE",
        "Louisville Gas and Electric and Kentucky Utilities",
    ),
    ("US-MIDW-MISO", "MISO", "Midcontinent ISO"),
    ("US-NE-ISNE", "ISNE", "ISO New England"),
    ("US-NW-AVA", "AVA", "Avista"),
    ("US-NW-BPAT", "BPAT", "Bonneville Power Administration"),
    ("US-NW-CHPD", "CHPD", "Chelan County PUD"),
    ("US-NW-DOPD", "DOPD", "Douglas County PUD"),
    ("US-NW-GCPD", "GCPD", "Grant County PUD"),
    ("US-NW-GRID", "GRID", "Gridforce Energy Management"),
    ("US-NW-IPCO", "IPCO", "Idaho Power"),
    ("US-NW-NEVP", "NEVP", "Nevada Power"),
    ("US-NW-NWMT", "NWMT", "NorthWestern Energy"),
    ("US-NW-PACE", "PACE", "PacifiCorp East"),
    ("US-NW-PACW", "PACW", "PacifiCorp West"),
    ("US-NW-PGE", "PGE", "Portland General Electric"),
    ("US-NW-PSCO", "PSCO", "Public Service Company of Colorado"),
    ("US-NW-PSEI", "PSEI", "Puget Sound Energy"),
    ("US-NW-SCL", "SCL", "Seattle City Light"),
    ("US-NW-TPWR", "TPWR", "Tacoma Power"),
    ("US-NW-WACM", "WACM", "WAPA Rocky Mountain"),
    ("US-NW-WAUW", "WAUW", "WAPA Upper Great Plains West"),
    ("US-NY-NYIS", "NYIS", "New York ISO"),
    ("US-SE-SEPA", "SEPA", "Southeastern Power Administration"),
    ("US-SE-SOCO", "SOCO", "Southern Company"),
    ("US-SW-AZPS", "AZPS", "Arizona Public Service"),
    ("US-SW-EPE", "EPE", "El Paso Electric"),
    ("US-SW-PNM", "PNM", "Public Service Company of New Mexico"),
    ("US-SW-SRP", "SRP", "Salt River Project"),
    ("US-SW-TEPC", "TEPC", "Tucson Electric Power"),
    ("US-SW-WALC", "WALC", "WAPA Desert Southwest"),
    ("US-TEN-TVA", "TVA", "Tennessee Valley Authority"),
    ("US-TEX-ERCO", "ERCO", "ERCOT"),
];

/// Names people use for US grid operators besides the EIA code: `(alias, zone key)`.
pub const US_COMMON_NAMES: &[(&str, &str)] = &[
    ("CAISO", "US-CAL-CISO"),
    ("ERCOT", "US-TEX-ERCO"),
    ("ISO-NE", "US-NE-ISNE"),
    ("ISONE", "US-NE-ISNE"),
    ("NYISO", "US-NY-NYIS"),
    ("SPP", "US-CENT-SWPP"),
];

/// The regions of the UK Carbon Intensity API (`regionid` 1..=17), as the API names them.
pub const UK_REGIONS: &[(u8, &str)] = &[
    (1, "North Scotland"),
    (2, "South Scotland"),
    (3, "North West England"),
    (4, "North East England"),
    (5, "Yorkshire"),
    (6, "North Wales & Merseyside"),
    (7, "South Wales"),
    (8, "West Midlands"),
    (9, "East Midlands"),
    (10, "East England"),
    (11, "South West England"),
    (12, "South England"),
    (13, "London"),
    (14, "South East England"),
    (15, "England"),
    (16, "Scotland"),
    (17, "Wales"),
];

/// Zone names that differ from Our World in Data's country names: `(key, name)`.
pub const NAME_OVERRIDES: &[(&str, &str)] = &[
    // Electricity Maps' GB zone, and the UK Carbon Intensity API's national figure, cover Great
    // Britain; Northern Ireland is on the all-island grid. (OWID's row is the United Kingdom.)
    ("GB", "Great Britain"),
];

/// AWS regions that `region-metadata.csv` leaves without an Electricity Maps zone:
/// `(region, zone, why)`.
pub const AWS_FILL: &[(&str, &str, &str)] = &[
    ("cn-north-1", "CN", "Beijing; CCF lists the country, China"),
    (
        "cn-northwest-1",
        "CN",
        "Ningxia; CCF lists the country, China",
    ),
    (
        "ap-south-2",
        "IN-SO",
        "Hyderabad, Telangana, on India's southern regional grid",
    ),
];

/// GCP regions in Google's yearly carbon files but not in `region-metadata.csv`:
/// `(region, zone, location as Google's file gives it)`.
pub const GCP_FILL: &[(&str, &str, &str)] = &[
    ("africa-south1", "ZA", "Johannesburg"),
    ("europe-north2", "SE", "Stockholm"),
    ("europe-west10", "DE", "Berlin"),
    ("me-central1", "QA", "Doha"),
    ("me-central2", "SA", "Dammam"),
    ("northamerica-south1", "MX", "Mexico (Querétaro)"),
    ("us-central2", "US-CENT-SWPP", "Oklahoma"),
    ("us-east2", "US-SE-SOCO", "Georgia"),
];

/// Every Azure region name found in the sources, mapped by hand: `(name, zone or "" to skip,
/// location or reason)`.
///
/// `region-metadata.csv`'s Azure rows (all dated 2024) copy AWS locations: westeurope → FR
/// (Paris), northeurope → SE, centralus → ERCOT, westus2/westus3 → CAISO, and so on, which
/// contradicts Microsoft's published locations (also in CCF's `grid-emissions-factors-azure.csv`:
/// West Europe = Netherlands, North Europe = Ireland, Central US = Iowa). The starting point here
/// is Cloud Carbon Footprint's `AZURE_MAPPED_REGIONS_TO_ELECTRICITY_MAPS_ZONES`
/// (packages/azure/src/lib/AzureRegions.ts, Apache-2.0), corrected where the physical location
/// says otherwise (noted per row), with Electricity Maps' current keys (AUS-NSW, not AU-NSW).
/// Where kite has no sub-zone data (NO-NO1, SE-SE3), the country zone is used.
pub const AZURE: &[(&str, &str, &str)] = &[
    (
        "asia",
        "",
        "skipped: a multi-country geography, not a datacenter region",
    ),
    (
        "asiapacific",
        "",
        "skipped: a multi-country geography, not a datacenter region",
    ),
    ("australia", "AU", "geography: Australia"),
    (
        "australiacentral",
        "AUS-NSW",
        "Canberra (the ACT is in the NEM's NSW region)",
    ),
    (
        "australiacentral2",
        "AUS-NSW",
        "Canberra (the ACT is in the NEM's NSW region)",
    ),
    ("australiaeast", "AUS-NSW", "New South Wales"),
    ("australiasoutheast", "AUS-VIC", "Victoria"),
    ("belgiumcentral", "BE", "Brussels"),
    ("brazil", "BR", "geography: Brazil"),
    ("brazilsouth", "BR-CS", "Sao Paulo State"),
    ("brazilsoutheast", "BR-CS", "Rio de Janeiro"),
    (
        "brazilus",
        "",
        "skipped: a logical region without a published physical location",
    ),
    ("canada", "CA", "geography: Canada"),
    ("canadacentral", "CA-ON", "Toronto"),
    ("canadaeast", "CA-QC", "Quebec City"),
    (
        "centralindia",
        "IN-MH",
        "Pune, Maharashtra (as AWS/GCP Mumbai in region-metadata.csv)",
    ),
    ("centralus", "US-MIDW-MISO", "Iowa"),
    (
        "centraluseuap",
        "US-MIDW-MISO",
        "early-access ring of centralus",
    ),
    (
        "centralusstage",
        "US-MIDW-MISO",
        "staging ring of centralus",
    ),
    ("eastasia", "HK", "Hong Kong"),
    ("eastasiastage", "HK", "staging ring of eastasia"),
    ("eastus", "US-MIDA-PJM", "Virginia"),
    ("eastus2", "US-MIDA-PJM", "Virginia"),
    ("eastus2euap", "US-MIDA-PJM", "early-access ring of eastus2"),
    ("eastus2stage", "US-MIDA-PJM", "staging ring of eastus2"),
    (
        "eastus3",
        "US-SE-SOCO",
        "Georgia (CCF maps it to PJM; Georgia is Southern Company's area)",
    ),
    ("eastusstage", "US-MIDA-PJM", "staging ring of eastus"),
    ("eastusstg", "US-MIDA-PJM", "staging ring of eastus"),
    (
        "europe",
        "",
        "skipped: a multi-country geography, not a datacenter region",
    ),
    ("finlandcentral", "FI", "Helsinki"),
    ("france", "FR", "geography: France"),
    ("francecentral", "FR", "Paris"),
    ("francesouth", "FR", "Marseille"),
    ("germany", "DE", "geography: Germany"),
    ("germanynorth", "DE", "Berlin"),
    ("germanywestcentral", "DE", "Frankfurt"),
    ("global", "", "skipped: not a region"),
    ("india", "IN", "geography: India"),
    ("israelcentral", "IL", "Israel"),
    (
        "italynorth",
        "IT",
        "Milan (as AWS eu-south-1 in region-metadata.csv)",
    ),
    ("japan", "JP", "geography: Japan"),
    ("japaneast", "JP-TK", "Tokyo, Saitama"),
    ("japanwest", "JP-KN", "Osaka"),
    ("jioindiacentral", "IN-MH", "Nagpur, Maharashtra"),
    ("jioindiawest", "IN-WE", "Jamnagar, Gujarat"),
    ("korea", "KR", "geography: Korea"),
    ("koreacentral", "KR", "Seoul"),
    ("koreasouth", "KR", "Busan"),
    (
        "northcentralus",
        "US-MIDA-PJM",
        "Illinois, Chicago area: ComEd, in PJM (CCF says MISO)",
    ),
    (
        "northcentralusstage",
        "US-MIDA-PJM",
        "staging ring of northcentralus",
    ),
    ("northeurope", "IE", "Ireland"),
    ("norway", "NO", "geography: Norway"),
    ("norwayeast", "NO", "Oslo"),
    ("norwaywest", "NO", "Stavanger"),
    ("polandcentral", "PL", "Warsaw"),
    (
        "qatarcentral",
        "QA",
        "Doha (region-metadata.csv writes QT, not an ISO code)",
    ),
    ("singapore", "SG", "geography: Singapore"),
    ("southafrica", "ZA", "geography: South Africa"),
    ("southafricanorth", "ZA", "Johannesburg"),
    ("southafricawest", "ZA", "Cape Town"),
    ("southcentralus", "US-TEX-ERCO", "Texas (San Antonio)"),
    (
        "southcentralusstage",
        "US-TEX-ERCO",
        "staging ring of southcentralus",
    ),
    ("southeastasia", "SG", "Singapore"),
    ("southeastasiastage", "SG", "staging ring of southeastasia"),
    ("southindia", "IN-SO", "Chennai"),
    ("sweden", "SE", "geography: Sweden"),
    ("swedencentral", "SE", "Gavle"),
    ("switzerland", "CH", "geography: Switzerland"),
    ("switzerlandnorth", "CH", "Zurich"),
    ("switzerlandwest", "CH", "Geneva"),
    ("uae", "AE", "geography: United Arab Emirates"),
    ("uaecentral", "AE", "Abu Dhabi"),
    ("uaenorth", "AE", "Dubai"),
    ("uk", "GB", "geography: United Kingdom"),
    ("uksouth", "GB", "London"),
    ("ukwest", "GB", "Cardiff"),
    ("unitedstates", "US", "geography: United States"),
    (
        "unitedstateseuap",
        "US",
        "geography: United States (early access)",
    ),
    (
        "westcentralus",
        "US-NW-WACM",
        "Cheyenne, Wyoming: WAPA Rocky Mountain area (CCF says PACE)",
    ),
    ("westeurope", "NL", "Netherlands"),
    ("westindia", "IN-MH", "Mumbai, Maharashtra"),
    ("westus", "US-CAL-CISO", "California"),
    (
        "westus2",
        "US-NW-GCPD",
        "Quincy, Washington: Grant County PUD (CCF says PACE)",
    ),
    ("westus2stage", "US-NW-GCPD", "staging ring of westus2"),
    ("westus3", "US-SW-AZPS", "Phoenix, Arizona (CCF says PACE)"),
    ("westusstage", "US-CAL-CISO", "staging ring of westus"),
];
