//! The report's charts, drawn with kite-chart from the statement: emissions by scope under
//! both scope-2 methods, hourly load against carbon-free supply, hourly against annual matching
//! per zone, and the monthly trend.

use crate::palette;
use kite_accounting::Statement;
use kite_chart::{BarChart, BarSeries, Frame, LegendItem, LineChart, Series, XAxis, YAxis, frame};

const WIDTH: f64 = 960.0;

/// Every chart the statement has data for, by name.
pub fn all(st: &Statement) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(s) = scopes(st) {
        out.push(("scopes", s));
    }
    if let Some(s) = cfe_hourly(st) {
        out.push(("cfe-hourly", s));
    }
    if let Some(s) = cfe_zones(st) {
        out.push(("cfe-zones", s));
    }
    if let Some(s) = trend(st) {
        out.push(("trend", s));
    }
    out
}

/// Scope 1, 2 and 3 stacked, once with scope 2 location-based and once market-based.
fn scopes(st: &Statement) -> Option<String> {
    let totals = st.totals.as_ref()?;
    let kg = |g: f64| g / 1000.0;
    let s1 = st.scope1.as_ref().map_or(0.0, |s| kg(s.total_g));
    let s2l = st
        .scope2_location
        .as_ref()
        .map_or(f64::NAN, |s| kg(s.total_g));
    let s2m = st
        .scope2_market
        .as_ref()
        .map_or(f64::NAN, |s| kg(s.total_g));
    let s3 = st.scope3_embodied.as_ref().map_or(0.0, |s| kg(s.total_g));
    let legend = vec![
        LegendItem::boxed("Scope 1 (on-site)", palette::SCOPE1),
        LegendItem::boxed("Scope 2 (electricity)", palette::SCOPE2),
        LegendItem::boxed("Scope 3 (embodied)", palette::SCOPE3),
    ];
    let description = format!(
        "Stacked bars of emissions by scope. Location-based total {:.3} kg CO2e; market-based \
         total {:.3} kg CO2e (they differ only in scope 2).",
        kg(totals.location_based_g),
        kg(totals.market_based_g)
    );
    let (mut svg, plot) = frame(
        &Frame::new("Emissions by scope, both scope 2 methods", WIDTH, 340.0)
            .subtitle("kg CO2e; offsets are not subtracted")
            .description(description)
            .legend(legend),
    );
    BarChart::new(vec!["Location-based".to_owned(), "Market-based".to_owned()])
        .stacked()
        .value_labels()
        .decimals(2)
        .y(YAxis::new("kg CO2e", ""))
        .series(BarSeries::new("Scope 1", palette::SCOPE1, vec![s1, s1]))
        .series(BarSeries::new("Scope 2", palette::SCOPE2, vec![s2l, s2m]))
        .series(BarSeries::new("Scope 3", palette::SCOPE3, vec![s3, s3]))
        .draw(&mut svg, plot);
    Some(svg.finish())
}

/// Load and the carbon-free energy matched to it, hour by hour, over the period.
fn cfe_hourly(st: &Statement) -> Option<String> {
    let cfe = st.cfe.as_ref()?;
    if st.hourly.is_empty() {
        return None;
    }
    // The days with load, not the whole period: a month of mostly empty hours would squeeze
    // the hours that matter into a few pixels.
    let first = st.hourly.iter().map(|h| h.hour.as_second()).min()?;
    let last = st.hourly.iter().map(|h| h.hour.as_second()).max()? + 3600;
    let from = first.div_euclid(86_400) * 86_400;
    let to = (last + 86_399).div_euclid(86_400) * 86_400;
    let pts = |f: &dyn Fn(&kite_accounting::HourLine) -> f64| -> Vec<(f64, f64)> {
        st.hourly
            .iter()
            .map(|h| (h.hour.as_second() as f64, f(h)))
            .collect()
    };
    let description = format!(
        "Hourly facility energy (black line) and the carbon-free energy matched to it in the same \
         hour (green area). 24/7 CFE score {:.1} %, annual matching {:.1} %.",
        cfe.hourly_pct, cfe.annual_pct
    );
    let (mut svg, plot) = frame(
        &Frame::new(
            "Hourly load and carbon-free supply (24/7 matching)",
            WIDTH,
            340.0,
        )
        .subtitle(format!(
            "kWh per hour; 24/7 CFE {:.1} % vs annual matching {:.1} %",
            cfe.hourly_pct, cfe.annual_pct
        ))
        .description(description)
        .legend(vec![
            LegendItem::boxed("Carbon-free, matched", palette::CLEAN),
            LegendItem::line("Load", palette::LOAD),
        ]),
    );
    LineChart::new(XAxis::Time { from, to })
        .y(YAxis::new("kWh", ""))
        .series(
            Series::step(
                "Carbon-free, matched",
                palette::CLEAN,
                pts(&|h| h.matched_kwh),
                3600.0,
            )
            .area(),
        )
        .series(
            Series::step("Load", palette::LOAD, pts(&|h| h.facility_kwh), 3600.0).stroke_width(2.0),
        )
        .draw(&mut svg, plot);
    Some(svg.finish())
}

/// Per zone: hourly-matched percent beside annual-matching percent.
fn cfe_zones(st: &Statement) -> Option<String> {
    let cfe = st.cfe.as_ref()?;
    if cfe.by_zone.is_empty() {
        return None;
    }
    let mut zones: Vec<String> = cfe.by_zone.iter().map(|z| z.zone.clone()).collect();
    zones.push("All zones".to_owned());
    let mut hourly: Vec<f64> = cfe.by_zone.iter().map(|z| z.hourly_pct).collect();
    hourly.push(cfe.hourly_pct);
    let mut annual: Vec<f64> = cfe.by_zone.iter().map(|z| z.annual_pct).collect();
    annual.push(cfe.annual_pct);
    let (mut svg, plot) = frame(
        &Frame::new("Hourly (24/7) against annual matching", WIDTH, 300.0)
            .subtitle(format!(
                "percent of load; the gap is {:.1} percentage points",
                cfe.gap_pct
            ))
            .description(
                "Grouped bars per zone: the share of load matched by carbon-free energy in the \
                 same hour, beside the share claimed by annual matching.",
            )
            .legend(vec![
                LegendItem::boxed("Hourly (24/7 CFE)", palette::CLEAN),
                LegendItem::boxed("Annual matching", palette::ANNUAL),
            ]),
    );
    BarChart::new(zones)
        .value_labels()
        .decimals(1)
        .y(YAxis {
            max: Some(100.0),
            ..YAxis::new("%", " %")
        })
        .series(BarSeries::new("Hourly (24/7 CFE)", palette::CLEAN, hourly))
        .series(BarSeries::new("Annual matching", palette::ANNUAL, annual))
        .draw(&mut svg, plot);
    Some(svg.finish())
}

/// Monthly scope 2 (both methods) and embodied emissions.
fn trend(st: &Statement) -> Option<String> {
    if st.trend.len() < 2 {
        return None;
    }
    let months: Vec<String> = st.trend.iter().map(|t| t.month.clone()).collect();
    let kg = |v: Option<f64>| v.map_or(f64::NAN, |g| g / 1000.0);
    let (mut svg, plot) = frame(
        &Frame::new("Monthly trend", WIDTH, 320.0)
            .subtitle("kg CO2e per month; months without data say so")
            .description(
                "Grouped bars per month: scope 2 location-based, scope 2 market-based and \
                 scope 3 embodied emissions.",
            )
            .legend(vec![
                LegendItem::boxed("Scope 2 location-based", palette::SCOPE2),
                LegendItem::boxed("Scope 2 market-based", palette::MARKET),
                LegendItem::boxed("Scope 3 embodied", palette::SCOPE3),
            ]),
    );
    BarChart::new(months)
        .decimals(2)
        .y(YAxis::new("kg CO2e", ""))
        .series(BarSeries::new(
            "Scope 2 location-based",
            palette::SCOPE2,
            st.trend.iter().map(|t| kg(t.location_g)).collect(),
        ))
        .series(BarSeries::new(
            "Scope 2 market-based",
            palette::MARKET,
            st.trend.iter().map(|t| kg(t.market_g)).collect(),
        ))
        .series(BarSeries::new(
            "Scope 3 embodied",
            palette::SCOPE3,
            st.trend.iter().map(|t| kg(t.embodied_g)).collect(),
        ))
        .draw(&mut svg, plot);
    Some(svg.finish())
}
