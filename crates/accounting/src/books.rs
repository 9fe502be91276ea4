//! The books: a [`Statement`] for one period and filter, from ledger records.
//!
//! Formulas (sources in `docs/accounting.md`):
//! - An hour of a run belongs to the period when the hour's start is inside it.
//! - Scope 2 location-based = Σ over run hours of facility kWh × the grid intensity of that hour.
//! - Scope 2 market-based (GHG Protocol Scope 2 Guidance, 2015): per zone, load covered by
//!   instruments that pass the quality criteria checked here (not an offset; same market;
//!   generation period overlapping the consumption period; retired for the reporting entity)
//!   at the instrument's emission factor, the rest at the residual mix if given, otherwise at the
//!   location-based intensity, with a caveat saying so.
//! - Scope 1: on-site entries, pro rata to the time their period overlaps the statement's.
//! - Scope 3 embodied: per run, Σ over its inventory items TE × (hours used / EL) × share;
//!   runs without (known) inventory items keep their own SCI `M`.
//! - 24/7 CFE ([`crate::cfe`]) and SCI ([`crate::sci`]).

use crate::cfe::{self, HourLoad};
use crate::period::PeriodError;
use crate::record::{
    Contract, HardwareItem, HourUse, Instrument, Record, RunFootprint, is_carbon_free, is_renewable,
};
use crate::sci;
use crate::statement::*;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// A residual-mix emission factor for a zone (what uncovered load emits under the market-based
/// method), e.g. from the AIB European Residual Mixes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResidualMix {
    /// Grid zone.
    pub zone: String,
    /// gCO2e per kWh.
    pub g_per_kwh: f64,
    /// Source, e.g. `AIB European Residual Mixes 2025`.
    pub source: String,
}

/// Choices for building a statement.
#[derive(Debug, Clone, PartialEq)]
pub struct BooksOptions {
    /// Residual-mix factors by zone; zones without one fall back to location-based.
    pub residual_mix: Vec<ResidualMix>,
    /// How many runs `top_jobs` lists.
    pub top_jobs: usize,
}

impl BooksOptions {
    /// No residual mixes, ten top jobs.
    pub fn standard() -> BooksOptions {
        BooksOptions {
            residual_mix: Vec::new(),
            top_jobs: 10,
        }
    }
}

/// The part of one run inside the period.
struct Part<'a> {
    run: &'a RunFootprint,
    hours: Vec<&'a HourUse>,
    kwh: f64,
    g: f64,
    secs: f64,
    /// In-period seconds / the run's seconds.
    frac_time: f64,
    embodied_g: f64,
}

fn matches_filter(filter: &Filter, project: Option<&str>, team: Option<&str>) -> bool {
    filter.project.as_deref().is_none_or(|p| project == Some(p))
        && filter.team.as_deref().is_none_or(|t| team == Some(t))
}

fn parts<'a>(runs: &[&'a RunFootprint], period: &Period) -> Vec<Part<'a>> {
    let mut out = Vec::new();
    for run in runs {
        let hours: Vec<&HourUse> = run
            .hours
            .iter()
            .filter(|h| period.contains(h.hour))
            .collect();
        if hours.is_empty() {
            continue;
        }
        let total_secs: f64 = run.hours.iter().map(|h| h.seconds).sum();
        let secs: f64 = hours.iter().map(|h| h.seconds).sum();
        out.push(Part {
            run,
            kwh: hours.iter().map(|h| h.kwh).sum(),
            g: hours.iter().map(|h| h.g).sum(),
            frac_time: if total_secs > 0.0 {
                secs / total_secs
            } else {
                1.0
            },
            secs,
            hours,
            embodied_g: 0.0,
        });
    }
    out
}

/// Builds the statement of `period` for `filter` from `records`.
pub fn statement(
    records: &[Record],
    period: &Period,
    filter: &Filter,
    options: &BooksOptions,
) -> Statement {
    let mut st = build(records, period, filter, options);
    let months = period.months();
    if months.len() > 1 {
        st.trend = months
            .iter()
            .map(|m| {
                let s = build(records, m, filter, options);
                TrendPoint {
                    month: m.label.clone(),
                    facility_kwh: s.energy.as_ref().map(|e| e.facility_kwh),
                    location_g: s.scope2_location.as_ref().map(|x| x.total_g),
                    market_g: s.scope2_market.as_ref().map(|x| x.total_g),
                    embodied_g: s.scope3_embodied.as_ref().map(|x| x.total_g),
                }
            })
            .collect();
    }
    st
}

/// Parses `label` and builds its statement.
pub fn statement_for(
    records: &[Record],
    label: &str,
    filter: &Filter,
    options: &BooksOptions,
) -> Result<Statement, PeriodError> {
    Ok(statement(records, &Period::parse(label)?, filter, options))
}

fn build(
    records: &[Record],
    period: &Period,
    filter: &Filter,
    options: &BooksOptions,
) -> Statement {
    let mut caveats = Vec::new();
    let all_runs: Vec<&RunFootprint> = records
        .iter()
        .filter_map(|r| match r {
            Record::Run(x) => Some(x),
            _ => None,
        })
        .collect();
    let runs: Vec<&RunFootprint> = all_runs
        .iter()
        .copied()
        .filter(|r| matches_filter(filter, Some(&r.project), r.team.as_deref()))
        .collect();
    let mut parts = parts(&runs, period);
    let all_parts = parts_all(&all_runs, period);
    let inventory: BTreeMap<&str, &HardwareItem> = records
        .iter()
        .filter_map(|r| match r {
            Record::Hardware(h) => Some((h.id.as_str(), h)),
            _ => None,
        })
        .collect();
    let filtered = filter.project.is_some() || filter.team.is_some();

    // Scope 1.
    let mut s1_lines = Vec::new();
    let mut onsite_days = Vec::new();
    for r in records {
        let Record::Onsite(o) = r else { continue };
        let overlap = period.overlap_secs(o.start, o.end);
        if overlap <= 0.0 {
            continue;
        }
        if o.project.is_none() && o.team.is_none() && filtered {
            caveats.push(format!(
                "on-site entry `{}` has no project or team and is left out of this filtered statement",
                o.id
            ));
            continue;
        }
        if !matches_filter(filter, o.project.as_deref(), o.team.as_deref()) {
            continue;
        }
        let frac = overlap / ((o.end.as_millisecond() - o.start.as_millisecond()) as f64 / 1000.0);
        onsite_days.push((period.start.max(o.start), period.end.min(o.end)));
        s1_lines.push(Scope1Line {
            description: o.description.clone(),
            fuel: o.fuel.clone(),
            quantity: o.quantity * frac,
            unit: o.unit.clone(),
            g: o.grams() * frac,
            source: o.source.clone(),
        });
    }
    let scope1 = (!s1_lines.is_empty()).then(|| Scope1 {
        total_g: s1_lines.iter().map(|l| l.g).sum(),
        items: s1_lines,
    });

    // Offsets: reported apart, never netted.
    let mut offsets = Offsets::default();
    for r in records {
        let Record::Contract(k) = r else { continue };
        if k.instrument != Instrument::Offset || !contract_in_scope(k, filter) {
            continue;
        }
        let overlap = period.overlap_secs(k.start, k.end);
        if overlap <= 0.0 {
            continue;
        }
        let frac = overlap / secs_between(k.start, k.end);
        offsets.retired_g += k.tonnes_co2e.unwrap_or(0.0) * 1e6 * frac;
        offsets.ids.push(k.id.clone());
    }

    let job_outcomes = job_outcomes(records, period, filter);
    let coverage = coverage(period, &parts, &onsite_days, records, filter);

    if parts.is_empty() {
        let who = match (&filter.project, &filter.team) {
            (Some(p), Some(t)) => format!(" for project `{p}`, team `{t}`"),
            (Some(p), None) => format!(" for project `{p}`"),
            (None, Some(t)) => format!(" for team `{t}`"),
            (None, None) => String::new(),
        };
        let no_data = if scope1.is_none() {
            Some(format!(
                "no runs or on-site entries in the ledger for {}{who}: no data, not zero",
                period.label
            ))
        } else {
            caveats.push(format!(
                "no runs in the ledger for {}{who}: energy, scope 2, scope 3, water and CFE are \
                 no data, not zero",
                period.label
            ));
            None
        };
        return Statement {
            version: STATEMENT_VERSION,
            period: period.clone(),
            filter: filter.clone(),
            no_data,
            coverage,
            energy: None,
            scope1,
            scope2_location: None,
            scope2_market: None,
            scope3_embodied: None,
            totals: None,
            offsets,
            water: None,
            stages: Vec::new(),
            sci: Vec::new(),
            cfe: None,
            top_jobs: Vec::new(),
            job_outcomes,
            trend: Vec::new(),
            hourly: Vec::new(),
            caveats,
        };
    }

    // Energy and location-based, per zone.
    let mut zones: BTreeMap<&str, ZoneEnergy> = BTreeMap::new();
    let mut it_kwh = 0.0;
    let mut measured_it = 0.0;
    let mut unknown_kwh = 0.0;
    for p in &parts {
        let it = if p.run.facility_kwh > 0.0 {
            p.run.it_kwh * p.kwh / p.run.facility_kwh
        } else {
            p.run.it_kwh * p.frac_time
        };
        it_kwh += it;
        measured_it += it * p.run.measured_fraction;
        let z = zones
            .entry(p.run.zone.as_str())
            .or_insert_with(|| ZoneEnergy {
                zone: p.run.zone.clone(),
                facility_kwh: 0.0,
                location_g: 0.0,
                mean_intensity: None,
                estimated_fraction: 0.0,
            });
        z.facility_kwh += p.kwh;
        z.location_g += p.g;
        for h in &p.hours {
            if h.intensity.is_none() {
                unknown_kwh += h.kwh;
            }
            if h.intensity.is_none() || h.provenance.starts_with("estimated") {
                // Accumulated as kWh here, turned into a fraction below.
                z.estimated_fraction += h.kwh;
            }
        }
    }
    for z in zones.values_mut() {
        z.mean_intensity = (z.facility_kwh > 0.0).then(|| z.location_g / z.facility_kwh);
        z.estimated_fraction = if z.facility_kwh > 0.0 {
            (z.estimated_fraction / z.facility_kwh).clamp(0.0, 1.0)
        } else {
            0.0
        };
    }
    if unknown_kwh > 0.0 {
        caveats.push(format!(
            "{unknown_kwh:.3} kWh ran in hours with no known grid intensity; their location-based \
             emissions are missing from the totals (not zero)"
        ));
    }
    let by_zone: Vec<ZoneEnergy> = zones.values().cloned().collect();
    let facility_kwh: f64 = parts.iter().map(|p| p.kwh).sum();
    let location_g: f64 = parts.iter().map(|p| p.g).sum();
    let energy = Energy {
        it_kwh,
        facility_kwh,
        measured_fraction: if it_kwh > 0.0 {
            measured_it / it_kwh
        } else {
            0.0
        },
        runs: parts.len() as u64,
        by_zone: by_zone.clone(),
    };

    // Hourly load per zone, filtered and of everyone (to share organisation-wide contracts).
    let mut load: BTreeMap<(String, Timestamp), HourLoad> = BTreeMap::new();
    for p in &parts {
        for h in &p.hours {
            let e = load.entry((p.run.zone.clone(), h.hour)).or_default();
            e.kwh += h.kwh;
            e.g += h.g;
        }
    }
    let mut all_load_zone: BTreeMap<String, f64> = BTreeMap::new();
    for p in &all_parts {
        *all_load_zone.entry(p.run.zone.clone()).or_insert(0.0) += p.kwh;
    }

    // Contracts.
    let load_zones: BTreeSet<&str> = zones.keys().copied().collect();
    let mut instruments = Vec::new();
    let mut supplies = Vec::new();
    for r in records {
        let Record::Contract(k) = r else { continue };
        if !contract_in_scope(k, filter) {
            continue;
        }
        let overlaps = period.overlap_secs(k.start, k.end) > 0.0;
        let applied = k
            .applied_to
            .as_deref()
            .and_then(|a| Period::parse(a).ok())
            .is_some_and(|a| a.overlap_secs(period.start, period.end) > 0.0);
        if !overlaps && !applied {
            continue;
        }
        let (use_, supply) = assess(k, period, filter, &load_zones, &zones, &all_load_zone);
        instruments.push(use_);
        if let Some(s) = supply {
            supplies.push(s);
        }
    }

    // Market-based per zone: eligible instruments in listed order until the load is covered.
    let residual: BTreeMap<&str, &ResidualMix> = options
        .residual_mix
        .iter()
        .map(|m| (m.zone.as_str(), m))
        .collect();
    let mut market_zones = Vec::new();
    let mut location_fallback = Vec::new();
    for z in zones.values() {
        let mut remaining = z.facility_kwh;
        let mut covered_g = 0.0;
        for s in supplies.iter_mut() {
            let Some(avail) = s.by_zone.get(&z.zone).copied() else {
                continue;
            };
            let used = avail.min(remaining);
            remaining -= used;
            covered_g += used * s.factor;
            if let Some(u) = instruments.iter_mut().find(|u| u.id == s.id) {
                u.used_kwh += used;
            }
        }
        let covered = z.facility_kwh - remaining;
        let (uncovered_g, basis) = match residual.get(z.zone.as_str()) {
            Some(m) => (
                remaining * m.g_per_kwh,
                format!("residual mix {} g/kWh ({})", m.g_per_kwh, m.source),
            ),
            None => {
                if remaining > 0.0 {
                    location_fallback.push(z.zone.clone());
                }
                let share = if z.facility_kwh > 0.0 {
                    remaining / z.facility_kwh
                } else {
                    0.0
                };
                (
                    z.location_g * share,
                    "location-based (no residual mix given)".to_string(),
                )
            }
        };
        market_zones.push(MarketZone {
            zone: z.zone.clone(),
            load_kwh: z.facility_kwh,
            covered_kwh: covered,
            covered_g,
            uncovered_g,
            uncovered_basis: basis,
        });
    }
    for u in &mut instruments {
        if u.eligible && u.allocated_kwh > u.used_kwh + 1e-9 {
            u.notes.push(format!(
                "{:.3} kWh exceed the load they could cover and are not carried to other periods or markets",
                u.allocated_kwh - u.used_kwh
            ));
        }
    }
    if !location_fallback.is_empty() {
        caveats.push(format!(
            "market-based: no residual mix given for {}; uncovered load is charged at the \
             location-based intensity, which understates market-based emissions where the \
             residual mix is dirtier than the grid average",
            location_fallback.join(", ")
        ));
    }
    let covered_kwh: f64 = market_zones.iter().map(|m| m.covered_kwh).sum();
    let scope2_market = Scope2Market {
        total_g: market_zones
            .iter()
            .map(|m| m.covered_g + m.uncovered_g)
            .sum(),
        covered_kwh,
        uncovered_kwh: facility_kwh - covered_kwh,
        by_zone: market_zones,
        instruments,
    };

    // Embodied.
    let mut items: BTreeMap<&str, EmbodiedLine> = BTreeMap::new();
    let (mut from_inventory, mut from_runs) = (0.0, 0.0);
    for p in parts.iter_mut() {
        let known = !p.run.hardware.is_empty()
            && p.run
                .hardware
                .iter()
                .all(|h| inventory.contains_key(h.id.as_str()));
        if known {
            let mut g = 0.0;
            for hu in &p.run.hardware {
                let Some(item) = inventory.get(hu.id.as_str()) else {
                    continue;
                };
                let used_h = p.secs / 3600.0;
                let m = sci::embodied_m(
                    item.embodied_kg * 1000.0,
                    used_h,
                    item.lifetime_hours,
                    hu.share,
                    1.0,
                );
                g += m;
                let line = items
                    .entry(item.id.as_str())
                    .or_insert_with(|| EmbodiedLine {
                        hardware_id: item.id.clone(),
                        embodied_kg: item.embodied_kg,
                        lifetime_hours: item.lifetime_hours,
                        used_hours: 0.0,
                        g: 0.0,
                        source: item.source.clone(),
                    });
                line.used_hours += used_h * hu.share;
                line.g += m;
            }
            from_inventory += g;
            p.embodied_g = g;
        } else {
            if let Some(h) = p
                .run
                .hardware
                .iter()
                .find(|h| !inventory.contains_key(h.id.as_str()))
            {
                caveats.push(format!(
                    "run {}: hardware `{}` is not in the inventory; its own embodied estimate is used",
                    p.run.run_id, h.id
                ));
            }
            p.embodied_g = p.run.embodied_g * p.frac_time;
            from_runs += p.embodied_g;
        }
    }
    let unallocated = (!filtered && !inventory.is_empty()).then(|| {
        inventory
            .values()
            .map(|item| {
                let end = item.retired.unwrap_or(period.end);
                let in_service_h = period.overlap_secs(item.in_service, end) / 3600.0;
                let total = sci::embodied_m(
                    item.embodied_kg * 1000.0,
                    in_service_h,
                    item.lifetime_hours,
                    1.0,
                    1.0,
                );
                let used = items.get(item.id.as_str()).map_or(0.0, |l| l.g);
                (total - used).max(0.0)
            })
            .sum::<f64>()
    });
    let scope3 = Scope3Embodied {
        total_g: from_inventory + from_runs,
        from_inventory_g: from_inventory,
        from_runs_g: from_runs,
        unallocated_g: unallocated,
        items: items.into_values().collect(),
    };

    // CFE.
    let grid: Vec<&crate::record::GridCfe> = records
        .iter()
        .filter_map(|r| match r {
            Record::GridCfe(g) => Some(g),
            _ => None,
        })
        .collect();
    let (cfe, matched_by_hour) = cfe::score(&load, &supplies, &grid, facility_kwh);

    // Stages.
    let mut stages: BTreeMap<Stage, StageLine> = BTreeMap::new();
    for p in &parts {
        let s = stages.entry(p.run.stage).or_insert(StageLine {
            stage: p.run.stage,
            facility_kwh: Some(0.0),
            g: 0.0,
            runs: Some(0),
        });
        s.facility_kwh = Some(s.facility_kwh.unwrap_or(0.0) + p.kwh);
        s.g += p.g;
        s.runs = Some(s.runs.unwrap_or(0) + 1);
    }
    stages.insert(
        Stage::Manufacturing,
        StageLine {
            stage: Stage::Manufacturing,
            facility_kwh: None,
            g: scope3.total_g,
            runs: None,
        },
    );

    // SCI.
    let mut scis = vec![SciScore {
        project: filter.project.clone(),
        unit: "run".into(),
        units: parts.len() as f64,
        operational_g: location_g,
        embodied_g: scope3.total_g,
        sci_g_per_unit: sci::sci(location_g, scope3.total_g, parts.len() as f64).unwrap_or(0.0),
        source: "count of runs in the period".into(),
    }];
    for r in records {
        let Record::FunctionalUnits(fu) = r else {
            continue;
        };
        if filter.project.as_deref().is_some_and(|p| p != fu.project) {
            continue;
        }
        let overlap = period.overlap_secs(fu.start, fu.end);
        if overlap <= 0.0 {
            continue;
        }
        let window = Period::between(period.start.max(fu.start), period.end.min(fu.end));
        let (mut e_i, mut m) = (0.0, 0.0);
        for p in parts.iter().filter(|p| p.run.project == fu.project) {
            let in_w: Vec<&&HourUse> = p.hours.iter().filter(|h| window.contains(h.hour)).collect();
            let secs: f64 = in_w.iter().map(|h| h.seconds).sum();
            e_i += in_w.iter().map(|h| h.g).sum::<f64>();
            if p.secs > 0.0 {
                m += p.embodied_g * secs / p.secs;
            }
        }
        let units = fu.count * overlap / secs_between(fu.start, fu.end);
        if let Some(score) = sci::sci(e_i, m, units) {
            scis.push(SciScore {
                project: Some(fu.project.clone()),
                unit: fu.unit.clone(),
                units,
                operational_g: e_i,
                embodied_g: m,
                sci_g_per_unit: score,
                source: format!(
                    "functional_units record {}..{} ({} {}), pro rata to the overlap",
                    fu.start, fu.end, fu.count, fu.unit
                ),
            });
        }
    }

    // Top jobs.
    let mut top: Vec<JobLine> = parts
        .iter()
        .map(|p| JobLine {
            run_id: p.run.run_id.clone(),
            project: p.run.project.clone(),
            team: p.run.team.clone(),
            stage: p.run.stage,
            zone: p.run.zone.clone(),
            start: p.run.start,
            facility_kwh: p.kwh,
            operational_g: p.g,
            embodied_g: p.embodied_g,
        })
        .collect();
    top.sort_by(|a, b| {
        (b.operational_g + b.embodied_g)
            .total_cmp(&(a.operational_g + a.embodied_g))
            .then_with(|| a.run_id.cmp(&b.run_id))
    });
    top.truncate(options.top_jobs);

    // Hourly lines, all zones together.
    let mut hourly: BTreeMap<Timestamp, HourLine> = BTreeMap::new();
    for ((_, hour), l) in &load {
        let e = hourly.entry(*hour).or_insert(HourLine {
            hour: *hour,
            facility_kwh: 0.0,
            location_g: 0.0,
            matched_kwh: 0.0,
        });
        e.facility_kwh += l.kwh;
        e.location_g += l.g;
    }
    for (hour, m) in matched_by_hour {
        if let Some(e) = hourly.get_mut(&hour) {
            e.matched_kwh += m;
        }
    }

    let water: f64 = parts.iter().map(|p| p.run.water_litres * p.frac_time).sum();
    let s1 = scope1.as_ref().map_or(0.0, |s| s.total_g);
    if scope1.is_none() {
        caveats.push(
            "no on-site (scope 1) entries in the ledger for the period: scope 1 is no data, and \
             the totals hold scopes 2 and 3 only"
                .into(),
        );
    }
    let totals = Totals {
        location_based_g: s1 + location_g + scope3.total_g,
        market_based_g: s1 + scope2_market.total_g + scope3.total_g,
        operational_location_g: s1 + location_g,
        operational_market_g: s1 + scope2_market.total_g,
    };

    Statement {
        version: STATEMENT_VERSION,
        period: period.clone(),
        filter: filter.clone(),
        no_data: None,
        coverage,
        energy: Some(energy),
        scope1,
        scope2_location: Some(Scope2Location {
            total_g: location_g,
            by_zone,
        }),
        scope2_market: Some(scope2_market),
        scope3_embodied: Some(scope3),
        totals: Some(totals),
        offsets,
        water: Some(Water { litres: water }),
        stages: stages.into_values().collect(),
        sci: scis,
        cfe: Some(cfe),
        top_jobs: top,
        job_outcomes,
        trend: Vec::new(),
        hourly: hourly.into_values().collect(),
        caveats,
    }
}

fn parts_all<'a>(runs: &[&'a RunFootprint], period: &Period) -> Vec<Part<'a>> {
    parts(runs, period)
}

fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    ((b.as_millisecond() - a.as_millisecond()).max(1)) as f64 / 1000.0
}

/// Whether a contract belongs to the statement's scope: an organisation-wide contract (no
/// project / team) always does (shared pro rata by load), a project's only for that project.
fn contract_in_scope(k: &Contract, filter: &Filter) -> bool {
    let project_ok = match (&k.project, &filter.project) {
        (Some(kp), Some(fp)) => kp == fp,
        (Some(_), None) | (None, _) => true,
    };
    let team_ok = match (&k.team, &filter.team) {
        (Some(kt), Some(ft)) => kt == ft,
        (Some(_), None) | (None, _) => true,
    };
    project_ok && team_ok
}

/// An eligible instrument's supply to the statement.
#[derive(Debug, Clone)]
pub(crate) struct Supply {
    /// Contract id.
    pub id: String,
    /// Emission factor conveyed, g/kWh.
    pub factor: f64,
    /// Carbon-free technology (counts for CFE).
    pub carbon_free: bool,
    /// Renewable technology.
    pub renewable: bool,
    /// kWh allocated to the period, per zone.
    pub by_zone: BTreeMap<String, f64>,
    /// Hourly delivery in the period, kWh, before the zone split; `None`: flat.
    pub hourly: Option<BTreeMap<Timestamp, f64>>,
    /// Flat delivery per hour, kWh (when no profile).
    pub flat_per_hour: f64,
    /// Per zone, the statement's share of the organisation's load (pro rata for shared contracts).
    pub zone_share: BTreeMap<String, f64>,
    /// Contract period.
    pub start: Timestamp,
    /// Contract period end.
    pub end: Timestamp,
}

fn assess(
    k: &Contract,
    period: &Period,
    filter: &Filter,
    load_zones: &BTreeSet<&str>,
    zones: &BTreeMap<&str, ZoneEnergy>,
    all_load_zone: &BTreeMap<String, f64>,
) -> (InstrumentUse, Option<Supply>) {
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    if k.instrument == Instrument::Offset {
        failures.push(
            "an offset is not a scope 2 instrument (GHG Protocol Scope 2 Guidance): it is \
             reported apart and never reduces any total"
                .to_string(),
        );
    }
    let market_zones: Vec<&str> = if k.market_zones.is_empty() {
        vec![k.market.as_str()]
    } else {
        k.market_zones.iter().map(String::as_str).collect()
    };
    let matched: Vec<&str> = market_zones
        .iter()
        .copied()
        .filter(|z| load_zones.contains(z))
        .collect();
    if k.instrument != Instrument::Offset && matched.is_empty() {
        failures.push(format!(
            "market `{}` is not where this statement's load is ({}): GHG Protocol Scope 2 quality \
             criterion 6 requires instruments from the same market as the consumption",
            k.market,
            load_zones.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    let overlap = period.overlap_secs(k.start, k.end);
    if overlap <= 0.0 {
        failures.push(format!(
            "generated {}..{}, outside the consumption period {} it is applied to: GHG Protocol \
             Scope 2 quality criterion 5 requires the vintage to match the period of consumption",
            k.start, k.end, period.label
        ));
    }
    match k.retired {
        Some(false) => failures.push(
            "not retired or cancelled for the reporting entity (quality criterion 3): it may be \
             claimed by someone else"
                .into(),
        ),
        None => {
            notes.push("retirement not recorded; assumed retired for the reporting entity".into())
        }
        Some(true) => {}
    }
    // Volume falling in the period.
    let hours_in_contract = secs_between(k.start, k.end) / 3600.0;
    let total_kwh = k.mwh.unwrap_or(0.0) * 1000.0;
    let (in_period_kwh, hourly) = if k.hourly.is_empty() {
        if k.instrument != Instrument::Offset {
            notes.push("no hourly profile: delivered flat over its period".into());
        }
        (total_kwh * (overlap / 3600.0) / hours_in_contract, None)
    } else {
        let m: BTreeMap<Timestamp, f64> = k
            .hourly
            .iter()
            .filter(|h| period.contains(h.hour))
            .map(|h| (h.hour, h.mwh * 1000.0))
            .collect();
        (m.values().sum(), Some(m))
    };
    // Share of organisation-wide contracts for a filtered statement, per matched zone.
    let shared = k.project.is_none()
        && k.team.is_none()
        && (filter.project.is_some() || filter.team.is_some());
    let mut zone_share = BTreeMap::new();
    let matched_load: f64 = matched
        .iter()
        .map(|z| zones.get(z).map_or(0.0, |e| e.facility_kwh))
        .sum();
    let mut by_zone = BTreeMap::new();
    for z in &matched {
        let load = zones.get(z).map_or(0.0, |e| e.facility_kwh);
        let share = if shared {
            let all = all_load_zone.get(*z).copied().unwrap_or(0.0);
            if all > 0.0 { load / all } else { 0.0 }
        } else {
            1.0
        };
        let split = if matched_load > 0.0 {
            load / matched_load
        } else {
            0.0
        };
        zone_share.insert((*z).to_string(), share * split);
        by_zone.insert((*z).to_string(), in_period_kwh * share * split);
    }
    if shared {
        notes.push(
            "organisation-wide contract: shared with this statement pro rata to its load".into(),
        );
    }
    let eligible = failures.is_empty();
    let allocated: f64 = if eligible {
        by_zone.values().sum()
    } else {
        0.0
    };
    let use_ = InstrumentUse {
        id: k.id.clone(),
        instrument: k.instrument.as_str().into(),
        market: k.market.clone(),
        technology: k.technology.clone(),
        allocated_kwh: allocated,
        used_kwh: 0.0,
        eligible,
        failures,
        notes,
    };
    let supply = eligible.then(|| Supply {
        id: k.id.clone(),
        factor: k.emission_factor_g_per_kwh.unwrap_or(0.0),
        carbon_free: is_carbon_free(&k.technology)
            && k.emission_factor_g_per_kwh.unwrap_or(0.0) == 0.0,
        renewable: is_renewable(&k.technology),
        by_zone,
        hourly,
        flat_per_hour: total_kwh / hours_in_contract,
        zone_share,
        start: k.start,
        end: k.end,
    });
    (use_, supply)
}

fn job_outcomes(records: &[Record], period: &Period, filter: &Filter) -> Option<JobOutcomes> {
    let mut out = JobOutcomes {
        jobs: 0,
        actual_g: 0.0,
        counterfactual_g: 0.0,
        avoided_g: 0.0,
    };
    for r in records {
        let Record::JobOutcome(j) = r else { continue };
        if !period.contains(j.actual_start)
            || !matches_filter(filter, Some(&j.project), j.team.as_deref())
        {
            continue;
        }
        out.jobs += 1;
        out.actual_g += j.emissions_g;
        out.counterfactual_g += j.run_now_g;
    }
    out.avoided_g = out.counterfactual_g - out.actual_g;
    (out.jobs > 0).then_some(out)
}

const DAY: i64 = 86_400;

fn coverage(
    period: &Period,
    parts: &[Part<'_>],
    onsite: &[(Timestamp, Timestamp)],
    records: &[Record],
    filter: &Filter,
) -> Coverage {
    let start_s = period.start.as_second();
    let end_s = period.end.as_second();
    let period_hours = ((end_s - start_s) as f64 / 3600.0).ceil() as u64;
    let day0 = start_s.div_euclid(DAY);
    let day_n = (end_s - 1).div_euclid(DAY);
    let mut hours = BTreeSet::new();
    let mut days = BTreeSet::new();
    let mut first: Option<Timestamp> = None;
    let mut last: Option<Timestamp> = None;
    let mut mark = |a: Timestamp, b: Timestamp, days: &mut BTreeSet<i64>| {
        first = Some(first.map_or(a, |f| f.min(a)));
        last = Some(last.map_or(b, |l| l.max(b)));
        let mut d = a.as_second().div_euclid(DAY);
        let last_d = (b.as_second() - 1).max(a.as_second()).div_euclid(DAY);
        while d <= last_d {
            days.insert(d);
            d += 1;
        }
    };
    for p in parts {
        for h in &p.hours {
            hours.insert(h.hour.as_second());
            let a = period.start.max(p.run.start).max(h.hour);
            let b = period
                .end
                .min(p.run.end)
                .min(h.hour + jiff::SignedDuration::from_secs(3600));
            if a < b {
                mark(a, b, &mut days);
            }
        }
    }
    for (a, b) in onsite {
        mark(*a, *b, &mut days);
    }
    for r in records {
        if let Record::JobOutcome(j) = r
            && period.contains(j.actual_start)
            && matches_filter(filter, Some(&j.project), j.team.as_deref())
        {
            mark(
                j.actual_start,
                j.actual_start + jiff::SignedDuration::from_secs(1),
                &mut days,
            );
        }
    }
    let mut gaps = Vec::new();
    let mut gap_start: Option<i64> = None;
    for d in day0..=day_n + 1 {
        let empty = d <= day_n && !days.contains(&d);
        match (empty, gap_start) {
            (true, None) => gap_start = Some(d),
            (false, Some(s)) => {
                if let (Ok(a), Ok(b)) = (
                    Timestamp::from_second((s * DAY).max(start_s)),
                    Timestamp::from_second((d * DAY).min(end_s)),
                ) {
                    gaps.push(Gap { start: a, end: b });
                }
                gap_start = None;
            }
            _ => {}
        }
    }
    let months_without_data = period
        .months()
        .into_iter()
        .filter(|m| {
            let a = m.start.as_second().div_euclid(DAY);
            let b = (m.end.as_second() - 1).div_euclid(DAY);
            !days.iter().any(|d| (a..=b).contains(d))
        })
        .map(|m| m.label)
        .collect();
    Coverage {
        period_hours,
        hours_with_data: hours.len() as u64,
        period_days: (day_n - day0 + 1).max(0) as u64,
        days_with_data: days.iter().filter(|d| (day0..=day_n).contains(d)).count() as u64,
        first,
        last,
        gaps,
        months_without_data,
    }
}
