//! The books of hand-worked cases: every expected number is derived in the comments.
#![allow(clippy::unwrap_used)]

mod util;

use kite_accounting::{BooksOptions, Filter, Period, ResidualMix, Stage, statement};
use serde_json::json;
use util::{close, october, rec, run};

fn options_fr_residual() -> BooksOptions {
    BooksOptions {
        residual_mix: vec![ResidualMix {
            zone: "FR".into(),
            g_per_kwh: 50.0,
            source: "test residual mix".into(),
        }],
        top_jobs: 10,
    }
}

#[test]
fn october_books() {
    let st = statement(
        &october(),
        &Period::parse("2026-10").unwrap(),
        &Filter::default(),
        &options_fr_residual(),
    );
    assert_eq!(st.no_data, None);

    // Energy: run a 10 + 10 kWh (DE), run b 5 kWh (FR).
    let e = st.energy.as_ref().unwrap();
    close(e.facility_kwh, 25.0);
    assert_eq!(e.runs, 2);

    // Location-based: 10 × 400 + 10 × 200 = 6000 g (DE) + 5 × 60 = 300 g (FR) = 6300 g.
    let loc = st.scope2_location.as_ref().unwrap();
    close(loc.total_g, 6300.0);

    // Market-based. DE: the PPA covers 10 kWh at 0 g; 10 kWh uncovered, no residual mix, so
    // charged location-based: 6000 × 10/20 = 3000 g. FR: the 2024 GO fails vintage, so 5 kWh
    // at the residual mix 50 g/kWh = 250 g. Total 3250 g.
    let mkt = st.scope2_market.as_ref().unwrap();
    close(mkt.total_g, 3250.0);
    close(mkt.covered_kwh, 10.0);
    close(mkt.uncovered_kwh, 15.0);
    let by_id = |id: &str| mkt.instruments.iter().find(|u| u.id == id).unwrap();
    assert!(by_id("ppa-de").eligible);
    close(by_id("ppa-de").used_kwh, 10.0);
    let us = by_id("rec-us");
    assert!(!us.eligible);
    assert!(us.failures[0].contains("same market"), "{:?}", us.failures);
    let fr = by_id("go-fr-2024");
    assert!(!fr.eligible);
    assert!(
        fr.failures.iter().any(|f| f.contains("vintage")),
        "{:?}",
        fr.failures
    );
    assert!(fr.notes.iter().any(|n| n.contains("assumed retired")));
    let off = by_id("offset-1");
    assert!(!off.eligible && off.failures[0].contains("not a scope 2 instrument"));
    assert!(
        st.caveats
            .iter()
            .any(|c| c.contains("no residual mix given for DE"))
    );

    // Scope 1: 10 litres × 2.66 kg/litre = 26.6 kg = 26600 g.
    close(st.scope1.as_ref().unwrap().total_g, 26_600.0);

    // Embodied: run a has no inventory item: its own 50 g. Run b uses srv-1 for 1 h at share
    // 0.5: 1,000,000 g × 1/35040 × 0.5 = 14.269406 g (its own 999 g is not used).
    let s3 = st.scope3_embodied.as_ref().unwrap();
    close(s3.from_runs_g, 50.0);
    close(s3.from_inventory_g, 1_000_000.0 / 35_040.0 * 0.5);
    // srv-1 was in service all 744 h of October: 1e6 × 744/35040 = 21232.876712 g, minus the
    // 14.269406 g charged to run b.
    close(
        s3.unallocated_g.unwrap(),
        1e6 * 744.0 / 35_040.0 - 1e6 / 35_040.0 * 0.5,
    );

    // Totals: 26600 + 6300 + 64.269406 and 26600 + 3250 + 64.269406.
    let m = 50.0 + 1e6 / 35_040.0 * 0.5;
    let tot = st.totals.as_ref().unwrap();
    close(tot.location_based_g, 26_600.0 + 6300.0 + m);
    close(tot.market_based_g, 26_600.0 + 3250.0 + m);
    // The offset (1 t) is reported apart and reduces nothing.
    close(st.offsets.retired_g, 1e6);

    // Water: 3 + 2 litres.
    close(st.water.as_ref().unwrap().litres, 5.0);

    // Stages kept apart.
    let stage = |s: Stage| st.stages.iter().find(|l| l.stage == s).unwrap();
    close(stage(Stage::Training).g, 6000.0);
    close(stage(Stage::Inference).g, 300.0);
    close(stage(Stage::Manufacturing).g, m);

    // CFE. DE hour 00: load 10, PPA 10 → 10. Hour 01: load 10, no supply, grid share 0.5 → 5.
    // FR: no supply, no grid share → 0. Hourly = 15 / 25 = 60 %; annual = 10 / 25 = 40 %.
    let cfe = st.cfe.as_ref().unwrap();
    close(cfe.hourly_pct, 60.0);
    close(cfe.annual_pct, 40.0);
    close(cfe.gap_pct, -20.0);
    let fr = cfe.by_zone.iter().find(|z| z.zone == "FR").unwrap();
    assert!(fr.grid_share_source.contains("counted as 0"));

    // SCI per run: (6300 + m) / 2; per 1k inferences: (6300 + m) / 1000.
    close(st.sci[0].sci_g_per_unit, (6300.0 + m) / 2.0);
    let fu = st.sci.iter().find(|s| s.unit == "1k inferences").unwrap();
    close(fu.sci_g_per_unit, (6300.0 + m) / 1000.0);

    // Coverage: days 1, 2 (runs) and 15 (generator) of 31; 3 hours of 744.
    assert_eq!(st.coverage.period_days, 31);
    assert_eq!(st.coverage.days_with_data, 3);
    assert_eq!(st.coverage.hours_with_data, 3);
    assert_eq!(st.coverage.period_hours, 744);
    assert!(st.coverage.months_without_data.is_empty());

    // Top jobs: run a (6050 g) before run b.
    assert_eq!(st.top_jobs[0].run_id, "a");
    // Hourly lines carry the matched energy.
    close(st.hourly[1].matched_kwh, 5.0);

    // The statement round-trips through JSON (floats to within serde_json's last-digit parsing).
    let text = serde_json::to_string(&st).unwrap();
    let back: kite_accounting::Statement = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (&back.period, &back.coverage, &back.caveats),
        (&st.period, &st.coverage, &st.caveats)
    );
    close(back.totals.unwrap().market_based_g, tot.market_based_g);
}

#[test]
fn a_period_without_data_is_no_data_not_zero() {
    let st = statement(
        &october(),
        &Period::parse("2026-09").unwrap(),
        &Filter::default(),
        &BooksOptions::standard(),
    );
    let why = st.no_data.as_deref().unwrap();
    assert!(why.contains("no data, not zero"), "{why}");
    assert!(st.energy.is_none() && st.totals.is_none() && st.scope2_location.is_none());
    assert_eq!(st.coverage.days_with_data, 0);
    assert_eq!(st.coverage.months_without_data, vec!["2026-09".to_string()]);
    let v = serde_json::to_value(&st).unwrap();
    assert_eq!(v["totals"], serde_json::Value::Null);
    assert_eq!(v["scope2_location"], serde_json::Value::Null);

    // A project with no runs in a month that has data is also no data.
    let st = statement(
        &october(),
        &Period::parse("2026-10").unwrap(),
        &Filter {
            project: Some("nobody".into()),
            team: None,
        },
        &BooksOptions::standard(),
    );
    assert!(st.no_data.as_deref().unwrap().contains("project `nobody`"));
}

#[test]
fn trend_over_a_quarter_says_which_months_have_no_data() {
    let st = statement(
        &october(),
        &Period::parse("2026-Q4").unwrap(),
        &Filter::default(),
        &BooksOptions::standard(),
    );
    assert_eq!(st.trend.len(), 3);
    close(st.trend[0].location_g.unwrap(), 6300.0);
    assert_eq!(st.trend[1].location_g, None);
    assert_eq!(st.trend[2].facility_kwh, None);
    assert_eq!(
        st.coverage.months_without_data,
        vec!["2026-11".to_string(), "2026-12".to_string()]
    );
}

/// Surplus in one hour never covers another: 20 kWh contracted in hour 0, 10 kWh load in each
/// of hours 0 and 1. Annual matching 20/20 = 100 %; hourly 10/20 = 50 %.
#[test]
fn cfe_has_no_carry_over_between_hours() {
    let records = vec![
        run(
            "r",
            "p",
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
    ];
    let st = statement(
        &records,
        &Period::parse("2026-10-01").unwrap(),
        &Filter::default(),
        &BooksOptions::standard(),
    );
    let cfe = st.cfe.unwrap();
    close(cfe.annual_pct, 100.0);
    close(cfe.renewable_annual_pct, 100.0);
    close(cfe.hourly_pct, 50.0);
    close(cfe.gap_pct, 50.0);
    // Market-based is annual (period) matching: all 20 kWh covered at 0 g.
    close(st.scope2_market.unwrap().total_g, 0.0);
}

/// A contract without a profile delivers flat: 24 kWh over a day is 1 kWh per hour, so a
/// 2-hour, 10 kWh/h load matches 1 + 1 = 2 kWh hourly (10 %), while annual matching says 24/20
/// → capped at 100 %.
#[test]
fn flat_delivery_without_profile() {
    let records = vec![
        run(
            "r",
            "p",
            "other",
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
            json!({"kind": "contract", "v": 1, "id": "go", "instrument": "go", "market": "DE",
                   "start": "2026-10-01T00:00:00Z", "end": "2026-10-02T00:00:00Z", "mwh": 0.024,
                   "technology": "wind", "retired": true}),
        ),
    ];
    let st = statement(
        &records,
        &Period::parse("2026-10-01").unwrap(),
        &Filter::default(),
        &BooksOptions::standard(),
    );
    let cfe = st.cfe.as_ref().unwrap();
    close(cfe.hourly_pct, 10.0);
    close(cfe.annual_pct, 100.0);
    assert!(cfe.notes.iter().any(|n| n.contains("flat")));
    let m = st.scope2_market.as_ref().unwrap();
    assert!(m.instruments[0].notes.iter().any(|n| n.contains("flat")));
    // 24 kWh allocated, 20 used, 4 left unused (not carried over).
    close(m.instruments[0].allocated_kwh, 24.0);
    close(m.instruments[0].used_kwh, 20.0);
}

/// An organisation-wide contract is shared with a project pro rata to its load: project p uses
/// 10 of the zone's 40 kWh, so it gets a quarter of a 20 kWh PPA.
#[test]
fn shared_contract_is_allocated_pro_rata() {
    let records = vec![
        run(
            "p1",
            "p",
            "other",
            "DE",
            &[("2026-10-01T00:00:00Z", 10.0, 100.0)],
            0.0,
            0.0,
            json!([]),
        ),
        run(
            "q1",
            "q",
            "other",
            "DE",
            &[("2026-10-01T00:00:00Z", 30.0, 100.0)],
            0.0,
            0.0,
            json!([]),
        ),
        rec(
            json!({"kind": "contract", "v": 1, "id": "ppa", "instrument": "ppa", "market": "DE",
                   "start": "2026-10-01T00:00:00Z", "end": "2026-10-01T01:00:00Z", "mwh": 0.020,
                   "technology": "wind", "retired": true}),
        ),
    ];
    let st = statement(
        &records,
        &Period::parse("2026-10-01").unwrap(),
        &Filter {
            project: Some("p".into()),
            team: None,
        },
        &BooksOptions::standard(),
    );
    let m = st.scope2_market.unwrap();
    close(m.instruments[0].allocated_kwh, 5.0);
    // 5 kWh covered at 0 g, 5 kWh at the location-based 100 g/kWh = 500 g.
    close(m.total_g, 500.0);
    close(st.cfe.unwrap().hourly_pct, 50.0);
}
