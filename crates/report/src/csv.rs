//! CSV: one row per figure, `section,metric,key,value,unit,note`, values unrounded in the
//! statement's own units (grams CO2e, kWh, litres, percent). A figure with no data has an empty
//! value and the note `no data`.

use crate::{Report, Verification};
use std::fmt::Write;

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

struct Rows(String);

impl Rows {
    fn row(&mut self, section: &str, metric: &str, key: &str, value: &str, unit: &str, note: &str) {
        let _ = writeln!(
            self.0,
            "{},{},{},{},{},{}",
            field(section),
            field(metric),
            field(key),
            field(value),
            field(unit),
            field(note)
        );
    }

    fn num(&mut self, section: &str, metric: &str, key: &str, value: f64, unit: &str) {
        self.row(section, metric, key, &value.to_string(), unit, "");
    }

    fn opt(&mut self, section: &str, metric: &str, key: &str, value: Option<f64>, unit: &str) {
        match value {
            Some(v) => self.num(section, metric, key, v, unit),
            None => self.row(section, metric, key, "", unit, "no data"),
        }
    }
}

/// Renders the rows.
pub fn render(report: &Report) -> String {
    let st = &report.statement;
    let cp = &report.ledger.checkpoint;
    let mut r = Rows(String::from("section,metric,key,value,unit,note\n"));
    r.row("ledger", "origin", "", &cp.origin, "", "");
    r.row(
        "ledger",
        "tree_size",
        "",
        &cp.tree_size.to_string(),
        "entries",
        "",
    );
    r.row("ledger", "root_hash", "", &cp.root_hash, "base64", "");
    r.row("ledger", "key_id", "", &cp.key_id, "", "");
    if let Some(t) = &cp.time {
        r.row("ledger", "checkpoint_time", "", t, "", "");
    }
    match &report.ledger.verification {
        Verification::Verified { detail } => {
            r.row("ledger", "verification", "", "verified", "", detail)
        }
        Verification::Failed { error } => r.row("ledger", "verification", "", "failed", "", error),
    }
    r.row("period", "label", "", &st.period.label, "", "");
    r.row("period", "start", "", &st.period.start.to_string(), "", "");
    r.row(
        "period",
        "end",
        "",
        &st.period.end.to_string(),
        "",
        "exclusive",
    );
    if let Some(p) = &st.filter.project {
        r.row("filter", "project", "", p, "", "");
    }
    if let Some(t) = &st.filter.team {
        r.row("filter", "team", "", t, "", "");
    }
    if let Some(reason) = &st.no_data {
        r.row("statement", "no_data", "", "", "", reason);
    }
    match &st.energy {
        Some(e) => {
            r.num("energy", "it", "", e.it_kwh, "kWh");
            r.num("energy", "facility", "", e.facility_kwh, "kWh");
            r.num(
                "energy",
                "measured_fraction",
                "",
                e.measured_fraction,
                "ratio",
            );
            r.num("energy", "runs", "", e.runs as f64, "runs");
        }
        None => r.opt("energy", "facility", "", None, "kWh"),
    }
    match &st.scope1 {
        Some(s) => {
            r.num("scope1", "total", "", s.total_g, "gCO2e");
            for l in &s.items {
                r.row(
                    "scope1",
                    "item",
                    &l.description,
                    &l.g.to_string(),
                    "gCO2e",
                    &format!("{} {} {}; {}", l.quantity, l.unit, l.fuel, l.source),
                );
            }
        }
        None => r.row("scope1", "total", "", "", "gCO2e", "no on-site entries"),
    }
    match &st.scope2_location {
        Some(s) => {
            r.num("scope2_location", "total", "", s.total_g, "gCO2e");
            for z in &s.by_zone {
                r.num("scope2_location", "zone", &z.zone, z.location_g, "gCO2e");
                r.num(
                    "scope2_location",
                    "zone_energy",
                    &z.zone,
                    z.facility_kwh,
                    "kWh",
                );
            }
        }
        None => r.opt("scope2_location", "total", "", None, "gCO2e"),
    }
    match &st.scope2_market {
        Some(s) => {
            r.num("scope2_market", "total", "", s.total_g, "gCO2e");
            r.num("scope2_market", "covered", "", s.covered_kwh, "kWh");
            r.num("scope2_market", "uncovered", "", s.uncovered_kwh, "kWh");
            for z in &s.by_zone {
                r.row(
                    "scope2_market",
                    "zone",
                    &z.zone,
                    &(z.covered_g + z.uncovered_g).to_string(),
                    "gCO2e",
                    &z.uncovered_basis,
                );
            }
            for u in &s.instruments {
                let mut why = vec![
                    if u.eligible {
                        "eligible"
                    } else {
                        "not eligible"
                    }
                    .to_owned(),
                ];
                why.extend(u.failures.iter().cloned());
                why.extend(u.notes.iter().cloned());
                r.row(
                    "scope2_market",
                    "instrument_used",
                    &u.id,
                    &u.used_kwh.to_string(),
                    "kWh",
                    &why.join("; "),
                );
            }
        }
        None => r.opt("scope2_market", "total", "", None, "gCO2e"),
    }
    match &st.scope3_embodied {
        Some(s) => {
            r.num("scope3_embodied", "total", "", s.total_g, "gCO2e");
            r.num(
                "scope3_embodied",
                "from_inventory",
                "",
                s.from_inventory_g,
                "gCO2e",
            );
            r.num("scope3_embodied", "from_runs", "", s.from_runs_g, "gCO2e");
            if let Some(u) = s.unallocated_g {
                r.num("scope3_embodied", "unallocated", "", u, "gCO2e");
            }
            for l in &s.items {
                r.row(
                    "scope3_embodied",
                    "item",
                    &l.hardware_id,
                    &l.g.to_string(),
                    "gCO2e",
                    &l.source,
                );
            }
        }
        None => r.opt("scope3_embodied", "total", "", None, "gCO2e"),
    }
    let t = st.totals.as_ref();
    r.opt(
        "totals",
        "location_based",
        "",
        t.map(|t| t.location_based_g),
        "gCO2e",
    );
    r.opt(
        "totals",
        "market_based",
        "",
        t.map(|t| t.market_based_g),
        "gCO2e",
    );
    r.opt(
        "totals",
        "operational_location",
        "",
        t.map(|t| t.operational_location_g),
        "gCO2e",
    );
    r.opt(
        "totals",
        "operational_market",
        "",
        t.map(|t| t.operational_market_g),
        "gCO2e",
    );
    r.row(
        "offsets",
        "retired",
        "",
        &st.offsets.retired_g.to_string(),
        "gCO2e",
        &format!("not netted; {}", st.offsets.ids.join(" ")),
    );
    r.opt(
        "water",
        "total",
        "",
        st.water.as_ref().map(|w| w.litres),
        "litres",
    );
    for s in &st.stages {
        r.num("stage", s.stage.as_str(), "", s.g, "gCO2e");
    }
    for s in &st.sci {
        r.row(
            "sci",
            s.project.as_deref().unwrap_or("all"),
            &s.unit,
            &s.sci_g_per_unit.to_string(),
            "gCO2e/unit",
            &format!(
                "R={} ({}); E*I={} g; M={} g",
                s.units, s.source, s.operational_g, s.embodied_g
            ),
        );
    }
    match &st.cfe {
        Some(c) => {
            r.num("cfe", "hourly", "", c.hourly_pct, "%");
            r.num("cfe", "annual", "", c.annual_pct, "%");
            r.num("cfe", "gap", "", c.gap_pct, "pp");
            r.num("cfe", "renewable_annual", "", c.renewable_annual_pct, "%");
            for n in &c.notes {
                r.row("cfe", "note", "", "", "", n);
            }
            for z in &c.by_zone {
                r.num("cfe", "zone_hourly", &z.zone, z.hourly_pct, "%");
                r.num("cfe", "zone_annual", &z.zone, z.annual_pct, "%");
            }
        }
        None => r.opt("cfe", "hourly", "", None, "%"),
    }
    for j in &st.top_jobs {
        r.row(
            "top_job",
            "emissions",
            &j.run_id,
            &(j.operational_g + j.embodied_g).to_string(),
            "gCO2e",
            &format!("project={}; zone={}; start={}", j.project, j.zone, j.start),
        );
    }
    if let Some(o) = &st.job_outcomes {
        r.num("job_outcomes", "actual", "", o.actual_g, "gCO2e");
        r.num(
            "job_outcomes",
            "counterfactual",
            "",
            o.counterfactual_g,
            "gCO2e",
        );
        r.num("job_outcomes", "avoided", "", o.avoided_g, "gCO2e");
    }
    for p in &st.trend {
        r.opt("trend", "energy", &p.month, p.facility_kwh, "kWh");
        r.opt("trend", "scope2_location", &p.month, p.location_g, "gCO2e");
        r.opt("trend", "scope2_market", &p.month, p.market_g, "gCO2e");
        r.opt("trend", "scope3_embodied", &p.month, p.embodied_g, "gCO2e");
    }
    let c = &st.coverage;
    r.row(
        "coverage",
        "hours_with_data",
        "",
        &c.hours_with_data.to_string(),
        "hours",
        &format!("of {}", c.period_hours),
    );
    r.row(
        "coverage",
        "days_with_data",
        "",
        &c.days_with_data.to_string(),
        "days",
        &format!("of {}", c.period_days),
    );
    for cav in &st.caveats {
        r.row("caveat", "", "", "", "", cav);
    }
    r.0
}
