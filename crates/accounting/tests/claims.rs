//! Claims checked against hand-worked books.
#![allow(clippy::unwrap_used)]

mod util;

use kite_accounting::{
    BooksOptions, ClaimResult, ClaimsError, Record, Severity, Verification, check, parse_claims,
};
use serde_json::json;
use util::{close, october, rec, run};

fn verified() -> Verification {
    Verification::Verified {
        entries: 10,
        unsigned: 0,
        checkpoint: None,
    }
}

fn one(toml: &str, records: &[Record], v: &Verification) -> ClaimResult {
    let claims = parse_claims(toml).unwrap();
    check(&claims, records, v, &BooksOptions::standard()).remove(0)
}

#[track_caller]
fn finding<'a>(r: &'a ClaimResult, check: &str) -> &'a kite_accounting::Finding {
    r.findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no `{check}` finding in {:#?}", r.findings))
}

/// Load 10 kWh in each of two hours; a PPA of 20 kWh delivered in the first hour only.
fn annual_only() -> Vec<Record> {
    vec![
        run(
            "r",
            "llm",
            "training",
            "DE",
            &[
                ("2026-10-01T00:00:00Z", 10.0, 300.0),
                ("2026-10-01T01:00:00Z", 10.0, 300.0),
            ],
            0.0,
            0.0,
            json!([]),
        ),
        rec(
            json!({"kind": "contract", "v": 1, "id": "ppa", "instrument": "ppa", "market": "DE",
                   "start": "2026-10-01T00:00:00Z", "end": "2026-10-02T00:00:00Z", "mwh": 0.020,
                   "technology": "solar", "retired": true,
                   "hourly": [{"hour": "2026-10-01T00:00:00Z", "mwh": 0.020}]}),
        ),
    ]
}

#[test]
fn hundred_percent_renewable_on_annual_matching_fails_hourly() {
    let claim = r#"
        [[claim]]
        id = "re100"
        kind = "renewable_percent"
        text = "100 % renewable"
        period = "2026-10-01"
        percent = 100
        reports = ["market_based", "location_based"]
    "#;
    let r = one(claim, &annual_only(), &verified());
    assert!(!r.passed());
    // Annual: 20 kWh of solar for 20 kWh of load = 100 %; hourly: 10 of 20 = 50 %.
    let f = finding(&r, "hourly_gap");
    assert_eq!(f.severity, Severity::Fail);
    close(f.numbers["annual_renewable_pct"], 100.0);
    close(f.numbers["hourly_cfe_pct"], 50.0);
    assert!(f.message.contains("50.0 %"), "{}", f.message);
    assert!(r.findings.iter().all(|f| f.check != "annual_matching"));

    // Disclosed as annual matching: still flagged, as a warning, and the claim stands.
    let r = one(
        &claim.replace("percent = 100", "percent = 100\nbasis = \"annual\""),
        &annual_only(),
        &verified(),
    );
    assert_eq!(finding(&r, "hourly_gap").severity, Severity::Warning);
    assert!(r.passed(), "{:#?}", r.findings);
}

#[test]
fn october_claims() {
    let records = october();
    // Renewable: only 10 of 25 kWh are covered by an eligible instrument (40 %): fails even
    // annually; the US REC and the 2024 GO are named as not counted.
    let r = one(
        r#"[[claim]]
           kind = "renewable_percent"
           period = "2026-10"
           percent = 100"#,
        &records,
        &verified(),
    );
    let f = finding(&r, "annual_matching");
    assert_eq!(f.severity, Severity::Fail);
    close(f.numbers["annual_renewable_pct"], 40.0);
    let q: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.check == "instrument_quality")
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        q.iter()
            .any(|m| m.contains("rec-us") && m.contains("same market")),
        "{q:?}"
    );
    assert!(
        q.iter()
            .any(|m| m.contains("go-fr-2024") && m.contains("vintage")),
        "{q:?}"
    );
    // Coverage: 3 of 31 days have entries: a warning, not a failure (no month is empty).
    assert_eq!(finding(&r, "coverage").severity, Severity::Warning);

    // Carbon neutral by a 1 t offset: market-based emissions without embodied are
    // 26600 + 3250 = 29850 g with the FR residual mix absent → FR charged location-based:
    // 26600 + 3000 + 300 = 29900 g; the offset (1,000,000 g) covers it: neutral only by
    // netting. Embodied (64.27 g) is left out of the claim.
    let r = one(
        r#"[[claim]]
           id = "cn"
           kind = "carbon_neutral"
           period = "2026-10"
           reports = ["market_based"]"#,
        &records,
        &verified(),
    );
    let f = finding(&r, "offsets_netted");
    assert_eq!(f.severity, Severity::Warning);
    close(f.numbers["market_based_g"], 29_900.0);
    close(f.numbers["offsets_g"], 1e6);
    // Market-based reported alone.
    assert_eq!(
        finding(&r, "market_without_location").severity,
        Severity::Fail
    );
    let e = finding(&r, "embodied_omitted");
    close(e.numbers["embodied_g"], 50.0 + 1e6 / 35_040.0 * 0.5);
    assert!(!r.passed());

    // Net zero without a baseline fails.
    let r = one(
        r#"[[claim]]
           kind = "net_zero"
           period = "2026-10"
           includes_embodied = true"#,
        &records,
        &verified(),
    );
    assert_eq!(finding(&r, "net_zero_depth").severity, Severity::Fail);
    assert!(r.findings.iter().all(|f| f.check != "embodied_omitted"));
}

#[test]
fn uncovered_months_and_failed_verification() {
    // The claim covers Q4; only October has entries.
    let r = one(
        r#"[[claim]]
           kind = "carbon_neutral"
           period = "2026-Q4"
           includes_embodied = true"#,
        &october(),
        &Verification::Failed {
            first_failure: "entry 3: bytes do not match the leaf hash".into(),
        },
    );
    let f = finding(&r, "coverage");
    assert_eq!(f.severity, Severity::Fail);
    assert!(f.message.contains("2026-11, 2026-12"), "{}", f.message);
    let v = finding(&r, "ledger_verification");
    assert_eq!(v.severity, Severity::Fail);
    assert!(v.message.contains("entry 3"));

    // A period with no data at all.
    let r = one(
        r#"[[claim]]
           kind = "renewable_percent"
           period = "2025"
           percent = 50"#,
        &october(),
        &verified(),
    );
    assert_eq!(finding(&r, "no_data").severity, Severity::Fail);
}

/// One run a month, 1 kWh × intensity: baseline 2025-06 at 200 g, March-May 2025 at 100 g,
/// 2026-06 at 120 g. Claimed: 40 % lower than June 2025. Against the baseline: 1 − 120/200 =
/// 40 % (true); but the baseline is 100 % above the median of the other months (100 g), and
/// against it the "reduction" is 1 − 120/100 = −20 %.
#[test]
fn a_flattering_baseline_is_flagged() {
    let mut records = Vec::new();
    for (i, (month, g)) in [
        ("2025-03", 100.0),
        ("2025-04", 100.0),
        ("2025-05", 100.0),
        ("2025-06", 200.0),
        ("2026-06", 120.0),
    ]
    .iter()
    .enumerate()
    {
        records.push(run(
            &format!("r{i}"),
            "p",
            "training",
            "DE",
            &[(&format!("{month}-10T00:00:00Z"), 1.0, *g)],
            0.0,
            0.0,
            json!([]),
        ));
    }
    let r = one(
        r#"[[claim]]
           kind = "reduction"
           period = "2026-06"
           baseline = "2025-06"
           percent = 40
           includes_embodied = true"#,
        &records,
        &verified(),
    );
    assert!(
        r.findings.iter().all(|f| f.check != "reduction_short"),
        "{:#?}",
        r.findings
    );
    let f = finding(&r, "baseline_flatters");
    assert_eq!(f.severity, Severity::Fail);
    close(f.numbers["median_other_g"], 100.0);
    close(f.numbers["reduction_vs_median_pct"], -20.0);

    // Claiming 50 % is simply false: 40 % is what the numbers give.
    let r = one(
        r#"[[claim]]
           kind = "reduction"
           period = "2026-06"
           baseline = "2025-06"
           percent = 50"#,
        &records,
        &verified(),
    );
    let f = finding(&r, "reduction_short");
    close(f.numbers["actual_pct"], 40.0);
}

#[test]
fn malformed_claims_name_the_field() {
    // Wrong type: toml names the key and line.
    let e =
        parse_claims("[[claim]]\nkind = \"reduction\"\nperiod = \"2026\"\npercent = \"lots\"\n")
            .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("percent") && text.contains("line 4"),
        "{text}"
    );

    // Unknown field.
    let e =
        parse_claims("[[claim]]\nkind = \"net_zero\"\nperiod = \"2026\"\nscope = 3\n").unwrap_err();
    assert!(e.to_string().contains("scope"), "{e}");

    // Unknown kind.
    let e = parse_claims("[[claim]]\nkind = \"green\"\nperiod = \"2026\"\n").unwrap_err();
    assert!(e.to_string().contains("green"), "{e}");

    // Out of range, bad period, missing baseline: field-level errors with the value.
    let field = |toml: &str| match parse_claims(toml).unwrap_err() {
        ClaimsError::Field(f) => *f,
        other => panic!("{other}"),
    };
    let f = field(
        "[[claim]]\nid = \"x\"\nkind = \"renewable_percent\"\nperiod = \"2026\"\npercent = 150\n",
    );
    assert_eq!(
        (f.field.as_str(), f.value.as_str(), f.id.as_str()),
        ("percent", "150", " (id x)")
    );
    let f = field("[[claim]]\nkind = \"net_zero\"\nperiod = \"2026-13\"\n");
    assert_eq!(f.field, "period");
    assert!(f.value.contains("2026-13"));
    let f = field("[[claim]]\nkind = \"reduction\"\nperiod = \"2026\"\npercent = 10\n");
    assert_eq!(
        (f.field.as_str(), f.value.as_str()),
        ("baseline", "(missing)")
    );
    assert!(parse_claims("").is_err());
}

/// The PPA zeroes the market-based figure (20 kWh of certificates for 20 kWh of load), so
/// "carbon neutral" holds on paper with no offsets; the grid still emitted 2 × 10 kWh × 300 g =
/// 6000 g for this load, which the check says.
#[test]
fn neutral_only_through_certificates_is_flagged_with_the_location_based_figure() {
    let r = one(
        r#"[[claim]]
           kind = "carbon_neutral"
           period = "2026-10"
           includes_embodied = true"#,
        &annual_only(),
        &verified(),
    );
    let f = finding(&r, "market_based_only");
    assert_eq!(f.severity, Severity::Warning);
    close(f.numbers["market_based_g"], 0.0);
    close(f.numbers["location_based_g"], 6000.0);
    assert!(f.message.contains("6.000 kg"), "{}", f.message);
    assert!(r.findings.iter().all(|f| f.check != "offsets_netted"));
}
