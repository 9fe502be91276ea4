//! The renderers on hand-built statements: every format carries the checkpoint and the
//! verification result, a period with no data says so (never 0), the HTML is self-contained
//! and its charts are drawn from the statement's numbers.

#![allow(clippy::unwrap_used)]

use kite_accounting::*;
use kite_report::{
    Format, LedgerCheckpoint, LedgerProvenance, Report, Verification, charts, palette, render,
};

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn provenance(ok: bool) -> LedgerProvenance {
    LedgerProvenance {
        checkpoint: LedgerCheckpoint {
            origin: "kite.example/ledger".into(),
            tree_size: 42,
            root_hash: "q1Yd3kP3h2fX0S6Vb3Q8M1nVq5Yh2bU0K6q1Yd3kP3g=".into(),
            key_id: "9f3a5c21".into(),
            time: Some("2026-11-01T00:00:05Z".into()),
            signed_note: Some("kite.example/ledger\n42\nq1Yd...\n\n— kite 9f3a5c21AAAA\n".into()),
        },
        verification: if ok {
            Verification::Verified {
                detail: "42 entries, root and Ed25519 signature".into(),
            }
        } else {
            Verification::Failed {
                error: "entry 17: leaf hash does not match the tree".into(),
            }
        },
    }
}

fn empty(no_data: Option<&str>) -> Statement {
    Statement {
        version: STATEMENT_VERSION,
        period: Period {
            start: ts("2026-10-01T00:00:00Z"),
            end: ts("2026-11-01T00:00:00Z"),
            label: "2026-10".into(),
        },
        filter: Filter {
            project: Some("llm <&> search".into()),
            team: None,
        },
        no_data: no_data.map(str::to_owned),
        coverage: Coverage {
            period_hours: 744,
            hours_with_data: 0,
            period_days: 31,
            days_with_data: 0,
            first: None,
            last: None,
            gaps: vec![],
            months_without_data: vec!["2026-10".into()],
        },
        energy: None,
        scope1: None,
        scope2_location: None,
        scope2_market: None,
        scope3_embodied: None,
        totals: None,
        offsets: Offsets::default(),
        water: None,
        stages: vec![],
        sci: vec![],
        cfe: None,
        top_jobs: vec![],
        job_outcomes: None,
        trend: vec![],
        hourly: vec![],
        caveats: vec![],
    }
}

/// A month with two zones: 40 kg location-based scope 2, 10 kg market-based, 2 kg scope 1,
/// 5 kg embodied; a CFE score of 30 % against 100 % annual matching.
fn full() -> Statement {
    let mut st = empty(None);
    st.coverage.hours_with_data = 48;
    st.coverage.days_with_data = 2;
    st.coverage.first = Some(ts("2026-10-05T00:00:00Z"));
    st.coverage.last = Some(ts("2026-10-07T00:00:00Z"));
    st.coverage.months_without_data = vec![];
    let zone = |z: &str, kwh: f64, g: f64| ZoneEnergy {
        zone: z.into(),
        facility_kwh: kwh,
        location_g: g,
        mean_intensity: Some(g / kwh),
        estimated_fraction: 0.0,
    };
    let zones = vec![zone("DE", 80.0, 32_000.0), zone("FR", 40.0, 8_000.0)];
    st.energy = Some(Energy {
        it_kwh: 100.0,
        facility_kwh: 120.0,
        measured_fraction: 0.75,
        runs: 3,
        by_zone: zones.clone(),
    });
    st.scope1 = Some(Scope1 {
        total_g: 2_000.0,
        items: vec![Scope1Line {
            description: "diesel backup test".into(),
            fuel: "diesel".into(),
            quantity: 0.75,
            unit: "litre".into(),
            g: 2_000.0,
            source: "DEFRA 2025".into(),
        }],
    });
    st.scope2_location = Some(Scope2Location {
        total_g: 40_000.0,
        by_zone: zones,
    });
    st.scope2_market = Some(Scope2Market {
        total_g: 10_000.0,
        covered_kwh: 90.0,
        uncovered_kwh: 30.0,
        by_zone: vec![MarketZone {
            zone: "DE".into(),
            load_kwh: 80.0,
            covered_kwh: 80.0,
            covered_g: 0.0,
            uncovered_g: 0.0,
            uncovered_basis: "residual mix 412 g/kWh (AIB 2025)".into(),
        }],
        instruments: vec![InstrumentUse {
            id: "ppa-de-wind".into(),
            instrument: "ppa".into(),
            market: "DE".into(),
            technology: "wind".into(),
            allocated_kwh: 200.0,
            used_kwh: 90.0,
            eligible: true,
            failures: vec![],
            notes: vec!["no hourly profile: delivered flat over its period".into()],
        }],
    });
    st.scope3_embodied = Some(Scope3Embodied {
        total_g: 5_000.0,
        from_inventory_g: 5_000.0,
        from_runs_g: 0.0,
        unallocated_g: Some(1_000.0),
        items: vec![EmbodiedLine {
            hardware_id: "gpu-node-1".into(),
            embodied_kg: 1_500.0,
            lifetime_hours: 35_040.0,
            used_hours: 116.8,
            g: 5_000.0,
            source: "Boavizta".into(),
        }],
    });
    st.totals = Some(Totals {
        location_based_g: 47_000.0,
        market_based_g: 17_000.0,
        operational_location_g: 42_000.0,
        operational_market_g: 12_000.0,
    });
    st.offsets = Offsets {
        retired_g: 50_000.0,
        ids: vec!["offset-forest".into()],
    };
    st.water = Some(Water { litres: 210.5 });
    st.stages = vec![StageLine {
        stage: Stage::Training,
        facility_kwh: Some(120.0),
        g: 40_000.0,
        runs: Some(3),
    }];
    st.sci = vec![SciScore {
        project: None,
        unit: "run".into(),
        units: 3.0,
        operational_g: 40_000.0,
        embodied_g: 5_000.0,
        sci_g_per_unit: 15_000.0,
        source: "count of runs".into(),
    }];
    st.cfe = Some(CfeScore {
        hourly_pct: 30.0,
        annual_pct: 100.0,
        gap_pct: 70.0,
        renewable_annual_pct: 100.0,
        notes: vec!["contracts without an hourly profile delivered flat".into()],
        by_zone: vec![CfeZone {
            zone: "DE".into(),
            load_kwh: 120.0,
            matched_kwh: 36.0,
            matched_contract_kwh: 30.0,
            matched_grid_kwh: 6.0,
            contracted_kwh: 200.0,
            hourly_pct: 30.0,
            annual_pct: 100.0,
            grid_share_source: "embedded typical week".into(),
            hours_without_grid_share: 2,
        }],
    });
    st.hourly = (0..48)
        .map(|h| HourLine {
            hour: jiff::Timestamp::from_second(ts("2026-10-05T00:00:00Z").as_second() + h * 3600)
                .unwrap(),
            facility_kwh: 2.5,
            location_g: 800.0,
            matched_kwh: if (h % 24) >= 8 && (h % 24) < 16 {
                2.25
            } else {
                0.0
            },
        })
        .collect();
    st.top_jobs = vec![JobLine {
        run_id: "run-7".into(),
        project: "llm <&> search".into(),
        team: Some("ml".into()),
        stage: Stage::Training,
        zone: "DE".into(),
        start: ts("2026-10-05T00:00:00Z"),
        facility_kwh: 80.0,
        operational_g: 32_000.0,
        embodied_g: 3_000.0,
    }];
    st.trend = vec![];
    st
}

#[test]
fn every_format_carries_the_checkpoint_and_the_verification_result() {
    for ok in [true, false] {
        let report = Report::new(full(), provenance(ok));
        for format in [Format::Html, Format::Markdown, Format::Json, Format::Csv] {
            let out = render(&report, format).unwrap();
            for needle in [
                "42",
                "q1Yd3kP3h2fX0S6Vb3Q8M1nVq5Yh2bU0K6q1Yd3kP3g=",
                "9f3a5c21",
            ] {
                assert!(out.contains(needle), "{format:?} lacks {needle}:\n{out}");
            }
            let verdict = if ok {
                "verified"
            } else {
                "entry 17: leaf hash does not match"
            };
            assert!(
                out.to_lowercase().contains(verdict),
                "{format:?} lacks the verification result:\n{out}"
            );
        }
    }
    let json: serde_json::Value = serde_json::from_str(
        &render(&Report::new(full(), provenance(false)), Format::Json).unwrap(),
    )
    .unwrap();
    assert_eq!(json["ledger"]["verification"]["status"], "failed");
    assert_eq!(json["ledger"]["checkpoint"]["tree_size"], 42);
    assert_eq!(json["statement"]["totals"]["market_based_g"], 17_000.0);
    // The JSON reads back as the same report.
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, Report::new(full(), provenance(false)));
}

#[test]
fn both_scope_2_methods_sit_side_by_side_and_offsets_are_not_netted() {
    let report = Report::new(full(), provenance(true));
    let md = render(&report, Format::Markdown).unwrap();
    assert!(
        md.contains("| Scope 2 | Purchased electricity | 40.00 | 10.00 |"),
        "{md}"
    );
    assert!(
        md.contains("| Scope 1 | On-site combustion | 2.00 | 2.00 |"),
        "{md}"
    );
    assert!(
        md.contains("| **Total** | **Scopes 1 + 2 + 3** | **47.00** | **17.00** |"),
        "{md}"
    );
    assert!(md.contains("never subtracted"), "{md}");
    let csv = render(&report, Format::Csv).unwrap();
    assert!(csv.starts_with("section,metric,key,value,unit,note\n"));
    assert!(
        csv.contains("\ntotals,location_based,,47000,gCO2e,\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\ntotals,market_based,,17000,gCO2e,\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\noffsets,retired,,50000,gCO2e,not netted; offset-forest\n"),
        "{csv}"
    );
    // Every row has six fields (quoted commas counted once).
    for line in csv.lines() {
        let mut fields = 1;
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => fields += 1,
                _ => {}
            }
        }
        assert_eq!(fields, 6, "{line}");
    }
}

#[test]
fn a_period_without_data_says_so_and_never_reports_zero() {
    let report = Report::new(
        empty(Some(
            "no runs or on-site entries between 2026-10-01 and 2026-11-01",
        )),
        provenance(true),
    );
    let md = render(&report, Format::Markdown).unwrap();
    assert!(md.contains("No data for 2026-10"), "{md}");
    assert!(
        md.contains("| Scope 2 | Purchased electricity | no data | no data |"),
        "{md}"
    );
    assert!(
        md.contains("| **Total** | **Scopes 1 + 2 + 3** | **no data** | **no data** |"),
        "{md}"
    );
    assert!(!md.contains("0.00"), "{md}");
    let html = render(&report, Format::Html).unwrap();
    assert!(html.contains("No data for 2026-10"));
    assert!(!html.contains("<svg"), "no chart without data: {html}");
    let csv = render(&report, Format::Csv).unwrap();
    assert!(
        csv.contains("\ntotals,location_based,,,gCO2e,no data\n"),
        "{csv}"
    );
    assert!(
        csv.contains("statement,no_data,,,,no runs or on-site entries"),
        "{csv}"
    );
}

#[test]
fn the_html_is_self_contained_escaped_and_accessible() {
    let html = render(&Report::new(full(), provenance(true)), Format::Html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for banned in [
        "<script",
        "<link",
        "@import",
        "url(",
        "src=",
        "https://",
        "http://www.w3.org/1999",
    ] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    // The only URL is the SVG namespace, which is a name, not a fetch.
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(html.contains("llm &lt;&amp;&gt; search"));
    assert!(!html.contains("llm <&> search"));
    assert!(html.contains("<html lang=\"en\">"));
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "scopes, CFE hourly and CFE by zone"
    );
    assert_eq!(html.matches("role=\"img\"").count(), 3);
    assert!(html.contains("<caption>Emissions by scope, GHG Protocol (kg CO2e)</caption>"));
    assert!(html.contains("<th scope=\"col\" class=\"n\">Location-based</th>"));
}

#[test]
fn the_scope_chart_is_drawn_from_the_statement() {
    let report = Report::new(full(), provenance(true));
    let all = charts(&report);
    let names: Vec<_> = all.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["scopes", "cfe-hourly", "cfe-zones"]);
    let scopes = &all[0].1;
    // One scope-2 segment per method, with the numbers in their tooltips.
    assert!(
        scopes.contains("<title>Scope 2, Location-based: 40.00</title>"),
        "{scopes}"
    );
    assert!(
        scopes.contains("<title>Scope 2, Market-based: 10.00</title>"),
        "{scopes}"
    );
    let heights: Vec<f64> = scopes
        .lines()
        .filter(|l| {
            // Bars carry a tooltip; the legend's swatch of the same colour does not.
            l.starts_with("<rect")
                && l.contains(&format!("fill=\"{}\"", palette::SCOPE2))
                && l.contains("<title>")
        })
        .map(|l| {
            let h = l.split("height=\"").nth(1).unwrap();
            h[..h.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(heights.len(), 2, "{scopes}");
    assert!((heights[0] / heights[1] - 4.0).abs() < 0.05, "{heights:?}");
}

#[test]
fn the_trend_chart_marks_months_without_data_instead_of_drawing_zero() {
    let mut st = full();
    let month = |m: &str, g: Option<f64>| TrendPoint {
        month: m.into(),
        facility_kwh: g.map(|_| 1.0),
        location_g: g,
        market_g: g,
        embodied_g: g,
    };
    st.trend = vec![month("2026-09", None), month("2026-10", Some(40_000.0))];
    let all = charts(&Report::new(st, provenance(true)));
    let (name, svg) = all.last().unwrap();
    assert_eq!(*name, "trend");
    assert_eq!(svg.matches(">no data</text>").count(), 1, "{svg}");
    assert!(
        svg.contains("<title>Scope 2 location-based, 2026-10: 40.00</title>"),
        "{svg}"
    );
    assert!(
        !svg.contains("2026-09: "),
        "no bar for the empty month: {svg}"
    );
}
