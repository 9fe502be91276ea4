//! An SVG chart (drawn with kite-chart) of one experiment: the actual intensity of the zones the jobs may
//! use (top panel) and, below it, one lane per policy with seed 0's job pieces placed on the same
//! time axis. Colour means zone, in the lines and in the bars, so a moved job shows its zone.

use crate::error::{SimError, invalid};
use crate::report::{ExperimentSample, Report};
use crate::trace::Traces;
use kite_chart::{
    Frame, LegendItem, LineChart, PALETTE, Rect, Series, XAxis, YAxis, ink, time_ticks,
};
use kite_core::Timestamp;

/// Which experiment and which stretch of time to draw.
#[derive(Debug, Clone)]
pub struct ChartOptions {
    /// Home zone of the experiment (default: the first).
    pub home: Option<String>,
    /// Variant of the experiment (default: the first).
    pub variant: Option<String>,
    /// Start of the chart (default: midnight before the first job's nominal start).
    pub from: Option<Timestamp>,
    /// Length of the chart in days.
    pub days: u32,
}

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 60.0;
const PANEL: f64 = 220.0;
const ROW: f64 = 7.0;
const MAX_ROWS: usize = 60;

fn pick<'a>(report: &'a Report, opts: &ChartOptions) -> Result<&'a ExperimentSample, SimError> {
    report
        .samples
        .iter()
        .find(|s| {
            opts.home.as_deref().is_none_or(|h| s.home == h)
                && opts.variant.as_deref().is_none_or(|v| s.variant == v)
        })
        .ok_or_else(|| {
            let have: Vec<String> = report
                .samples
                .iter()
                .map(|s| format!("{}/{}", s.home, s.variant))
                .collect();
            invalid(
                "--chart-experiment",
                format!(
                    "no experiment matches; this scenario has {}",
                    have.join(", ")
                ),
            )
        })
}

/// The chart as an SVG document.
pub fn chart_svg(
    report: &Report,
    traces: &Traces,
    opts: &ChartOptions,
) -> Result<String, SimError> {
    let sample = pick(report, opts)?;
    if opts.days == 0 {
        return Err(invalid("--chart-days", "is 0; give at least 1"));
    }
    let first_start = sample.policies.first().and_then(|p| {
        p.jobs
            .iter()
            .filter_map(|j| j.pieces.first())
            .map(|p| p.0)
            .min()
    });
    let from = opts
        .from
        .or_else(|| {
            first_start.map(|t| {
                Timestamp::from_second(t.as_second().div_euclid(86_400) * 86_400).unwrap_or(t)
            })
        })
        .unwrap_or(report.from)
        .as_second();
    let to = from + i64::from(opts.days) * 86_400;
    let x = |t: i64| LEFT + (t - from) as f64 / (to - from) as f64 * (WIDTH - LEFT - RIGHT);

    // Zones drawn: the home first, then any other zone a job ran in.
    let mut zones: Vec<String> = vec![sample.home.clone()];
    for p in &sample.policies {
        for j in &p.jobs {
            if !zones.contains(&j.region) {
                zones.push(j.region.clone());
            }
        }
    }
    let colour = |zone: &str| {
        let i = zones.iter().position(|z| z == zone).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };

    // Intensity: one step series per zone, dashed for the zones other than the home.
    let mut panel =
        LineChart::new(XAxis::Time { from, to }).y(YAxis::new("gCO2e/kWh (actual)", ""));
    panel.max_x_labels = 15;
    for zone in &zones {
        let Some(zt) = traces.zones.iter().find(|z| z.zone.as_str() == zone) else {
            continue;
        };
        let pts: Vec<(f64, f64)> = zt
            .values
            .iter()
            .enumerate()
            .map(|(k, v)| ((traces.start + k as i64 * traces.step) as f64, *v))
            .filter(|(t, _)| *t + traces.step as f64 > from as f64 && *t < to as f64)
            .collect();
        let series =
            Series::step(zone.clone(), colour(zone), pts, traces.step as f64).stroke_width(1.2);
        panel = panel.series(if zone == &sample.home {
            series
        } else {
            series.dashed()
        });
    }

    // Lanes: pack each policy's jobs into rows by their span.
    let mut lanes = Vec::new();
    for p in &sample.policies {
        let mut row_end: Vec<i64> = Vec::new();
        let mut bars = Vec::new();
        let mut visible: Vec<_> = p
            .jobs
            .iter()
            .filter_map(|j| {
                let a = j.pieces.first()?.0.as_second();
                let b = j.pieces.last()?.1.as_second();
                (b > from && a < to).then_some((a, b, j))
            })
            .collect();
        visible.sort_by_key(|v| v.0);
        for (a, b, j) in visible {
            let row = match row_end.iter().position(|&e| e <= a) {
                Some(r) => r,
                None if row_end.len() < MAX_ROWS => {
                    row_end.push(i64::MIN);
                    row_end.len() - 1
                }
                None => MAX_ROWS - 1,
            };
            row_end[row] = b;
            bars.push((row, j));
        }
        lanes.push((p.policy.clone(), row_end.len().max(1), bars));
    }
    let lanes_h: f64 = lanes
        .iter()
        .map(|(_, rows, _)| *rows as f64 * ROW + 30.0)
        .sum();
    let height = TOP + PANEL + 40.0 + lanes_h + 30.0;

    let legend = zones
        .iter()
        .map(|z| LegendItem::boxed(z.clone(), colour(z)))
        .collect();
    let frame = Frame::new(
        format!(
            "{}: home {}, variant {}",
            report.scenario, sample.home, sample.variant
        ),
        WIDTH,
        height,
    )
    .subtitle(format!(
        "placements of forecast seed 0 ({}); {} day(s) from {}",
        report.forecast,
        opts.days,
        crate::text::fmt_instant(from),
    ))
    .description(
        "Top: the actual grid intensity of each zone the jobs may use. Below: one lane per \
         policy, each job a bar at the hours it ran, coloured by its zone.",
    )
    .legend(legend)
    .margins(LEFT, RIGHT, TOP, height - TOP - PANEL);
    let (mut svg, plot) = kite_chart::frame(&frame);
    panel.draw(&mut svg, plot);

    // The day grid continues through the lanes, so a moved job can be read against the days.
    let lanes_top = TOP + PANEL + 40.0;
    for tick in time_ticks(from, to, 15) {
        svg.line(
            x(tick.at),
            lanes_top,
            x(tick.at),
            height - 30.0,
            ink::GRID_LIGHT,
        )
        .finish();
    }
    let mut top = lanes_top;
    for (policy, rows, bars) in &lanes {
        svg.open_group(Some(policy));
        svg.text(LEFT, top + 12.0, policy)
            .attr("font-weight", "bold")
            .finish();
        svg.line(LEFT, top + 16.0, WIDTH - RIGHT, top + 16.0, "#999999")
            .finish();
        let lane_top = top + 20.0;
        for (row, job) in bars {
            for (a, b) in &job.pieces {
                let (a, b) = (a.as_second().max(from), b.as_second().min(to));
                if b <= a {
                    continue;
                }
                let r = Rect {
                    x: x(a),
                    y: lane_top + *row as f64 * ROW,
                    w: (x(b) - x(a)).max(0.5),
                    h: ROW - 1.5,
                };
                svg.rect(r, colour(&job.region))
                    .num("fill-opacity", 0.75)
                    .title(&format!("{} ({})", job.id, job.region))
                    .finish();
            }
        }
        svg.close_group();
        top += *rows as f64 * ROW + 30.0;
    }
    Ok(svg.finish())
}
