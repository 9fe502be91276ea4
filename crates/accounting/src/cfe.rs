//! The 24/7 carbon-free-energy (CFE) score, hourly matching as in Google's 24/7 CFE
//! methodology (2021) and the UN 24/7 Carbon-free Energy Compact: per grid zone and hour,
//!
//! `matched_h = min(load_h, supply_h + grid_share_h × max(0, load_h − supply_h))`
//!
//! where `supply_h` is the contracted carbon-free energy delivered in that hour and zone and
//! `grid_share_h` the grid's carbon-free share. Surplus in one hour is lost: nothing carries to
//! another hour. `CFE % = Σ matched / Σ load`, shown beside the annual-matching percentage
//! `min(100, Σ contracted carbon-free kWh / Σ load)`.
//!
//! Contracts without an hourly profile deliver flat over their period. Where no `grid_cfe`
//! record gives a zone's hourly share, the share is taken as 0 (conservative: the score then
//! counts contracts only) and the zone says so.

use crate::books::Supply;
use crate::record::GridCfe;
use crate::statement::{CfeScore, CfeZone};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// Load of one zone-hour.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HourLoad {
    /// Facility energy, kWh.
    pub kwh: f64,
    /// Location-based emissions, grams.
    pub g: f64,
}

/// One hour's match: `(matched, from contracts, from the grid)`, kWh.
pub fn match_hour(load: f64, supply: f64, grid_share: f64) -> (f64, f64, f64) {
    let from_contract = supply.min(load).max(0.0);
    let from_grid = grid_share.clamp(0.0, 1.0) * (load - from_contract).max(0.0);
    (from_contract + from_grid, from_contract, from_grid)
}

/// Σ matched over hours given as `(load, supply, grid_share)`, with no carry-over.
pub fn hourly_matched(hours: &[(f64, f64, f64)]) -> f64 {
    hours.iter().map(|&(l, s, g)| match_hour(l, s, g).0).sum()
}

fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        (100.0 * a / b).min(100.0)
    } else {
        0.0
    }
}

pub(crate) fn score(
    load: &BTreeMap<(String, Timestamp), HourLoad>,
    supplies: &[Supply],
    grid: &[&GridCfe],
    total_load: f64,
) -> (CfeScore, BTreeMap<Timestamp, f64>) {
    let mut shares: BTreeMap<(&str, Timestamp), f64> = BTreeMap::new();
    let mut sources: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for g in grid {
        for h in &g.hours {
            shares.insert((g.zone.as_str(), h.hour), h.share);
        }
        sources
            .entry(g.zone.as_str())
            .or_default()
            .insert(g.source.as_str());
    }
    let mut notes = Vec::new();
    if supplies.iter().any(|s| s.carbon_free && s.hourly.is_none()) {
        notes.push(
            "contracts without an hourly profile are taken to deliver flat over their period"
                .to_string(),
        );
    }
    let zones: BTreeSet<&str> = load.keys().map(|(z, _)| z.as_str()).collect();
    let mut by_zone = Vec::new();
    let mut matched_by_hour: BTreeMap<Timestamp, f64> = BTreeMap::new();
    let (mut all_matched, mut all_contracted, mut all_renewable) = (0.0, 0.0, 0.0);
    for zone in zones {
        let mut z = CfeZone {
            zone: zone.to_string(),
            load_kwh: 0.0,
            matched_kwh: 0.0,
            matched_contract_kwh: 0.0,
            matched_grid_kwh: 0.0,
            contracted_kwh: 0.0,
            hourly_pct: 0.0,
            annual_pct: 0.0,
            grid_share_source: String::new(),
            hours_without_grid_share: 0,
        };
        for s in supplies {
            let Some(kwh) = s.by_zone.get(zone) else {
                continue;
            };
            if s.carbon_free {
                z.contracted_kwh += kwh;
            }
            if s.renewable {
                all_renewable += kwh;
            }
        }
        for ((_, hour), l) in
            load.range((zone.to_string(), Timestamp::MIN)..=(zone.to_string(), Timestamp::MAX))
        {
            let supply: f64 = supplies
                .iter()
                .filter(|s| s.carbon_free)
                .filter_map(|s| {
                    let share = s.zone_share.get(zone)?;
                    let delivered = match &s.hourly {
                        Some(m) => m.get(hour).copied().unwrap_or(0.0),
                        None if s.start <= *hour && *hour < s.end => s.flat_per_hour,
                        None => 0.0,
                    };
                    Some(delivered * share)
                })
                .sum();
            let grid_share = match shares.get(&(zone, *hour)) {
                Some(x) => *x,
                None => {
                    z.hours_without_grid_share += 1;
                    0.0
                }
            };
            let (m, c, g) = match_hour(l.kwh, supply, grid_share);
            z.load_kwh += l.kwh;
            z.matched_kwh += m;
            z.matched_contract_kwh += c;
            z.matched_grid_kwh += g;
            *matched_by_hour.entry(*hour).or_insert(0.0) += m;
        }
        z.hourly_pct = pct(z.matched_kwh, z.load_kwh);
        z.annual_pct = pct(z.contracted_kwh, z.load_kwh);
        z.grid_share_source = match sources.get(zone) {
            Some(s) if z.hours_without_grid_share == 0 => s.iter().copied().collect::<Vec<_>>().join(", "),
            Some(s) => format!(
                "{} ({} hours without a value counted as 0)",
                s.iter().copied().collect::<Vec<_>>().join(", "),
                z.hours_without_grid_share
            ),
            None => "none: no grid_cfe records for this zone; grid clean share counted as 0 (conservative)".into(),
        };
        all_matched += z.matched_kwh;
        all_contracted += z.contracted_kwh;
        by_zone.push(z);
    }
    let hourly_pct = pct(all_matched, total_load);
    let annual_pct = pct(all_contracted, total_load);
    (
        CfeScore {
            hourly_pct,
            annual_pct,
            gap_pct: annual_pct - hourly_pct,
            renewable_annual_pct: pct(all_renewable, total_load),
            notes,
            by_zone,
        },
        matched_by_hour,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Surplus in one hour does not cover a deficit in the next.
    #[test]
    fn no_carry_over() {
        // Hour 1: load 10, supply 30 → matched 10 (20 lost). Hour 2: load 10, supply 0 → 0.
        // Annual matching would say 30/20 → 100 %; hourly is 10/20 = 50 %.
        let m = hourly_matched(&[(10.0, 30.0, 0.0), (10.0, 0.0, 0.0)]);
        assert_eq!(m, 10.0);
        // The grid's clean share applies to the remainder only: load 10, supply 4, share 0.5
        // → 4 + 0.5 × 6 = 7.
        assert_eq!(match_hour(10.0, 4.0, 0.5), (7.0, 4.0, 3.0));
    }
}
