//! A hand-written SVG chart of one experiment: the actual intensity of the zones the jobs may
//! use (top panel) and, below it, one lane per policy with seed 0's job pieces placed on the same
//! time axis. Colour means zone, in the lines and in the bars, so a moved job shows its zone.

use crate::error::{SimError, invalid};
use crate::report::{ExperimentSample, Report};
use crate::trace::Traces;
use kite_core::Timestamp;
use std::fmt::Write;

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
const ZONE_COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

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
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |t: i64| LEFT + (t - from) as f64 / (to - from) as f64 * plot_w;

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
        ZONE_COLOURS[i % ZONE_COLOURS.len()]
    };

    // Intensity lines.
    let mut max_v: f64 = 0.0;
    let mut lines = Vec::new();
    for zone in &zones {
        let Some(zt) = traces.zones.iter().find(|z| z.zone.as_str() == zone) else {
            continue;
        };
        let mut pts: Vec<(i64, f64)> = Vec::new();
        for (k, v) in zt.values.iter().enumerate() {
            let t = traces.start + k as i64 * traces.step;
            if t + traces.step <= from || t >= to || v.is_nan() {
                continue;
            }
            max_v = max_v.max(*v);
            pts.push((t, *v));
        }
        lines.push((zone.clone(), pts));
    }
    let y_max = ((max_v / 100.0).ceil() * 100.0).max(100.0);
    let y = |v: f64| TOP + PANEL - v / y_max * PANEL;

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

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="18" font-size="14">{}: home {}, variant {}</text>"#,
        escape(&report.scenario),
        escape(&sample.home),
        escape(&sample.variant),
    );
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="34" fill="#555">placements of forecast seed 0 ({}); {} day(s) from {}</text>"##,
        escape(&report.forecast),
        opts.days,
        crate::text::fmt_instant(from),
    );
    // Axes and grid.
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.0}</text>"##,
            WIDTH - RIGHT,
            y(v),
            y(v),
            LEFT - 6.0,
            y(v) + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">gCO2e/kWh (actual)</text>"#,
        TOP + PANEL / 2.0,
        TOP + PANEL / 2.0
    );
    let bottom = height - 30.0;
    let mut day = from;
    let label_every = (i64::from(opts.days) / 14 + 1) * 86_400;
    while day <= to {
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{TOP}" y2="{bottom:.1}" stroke="#eee"/>"##,
            x(day)
        );
        if (day - from) % label_every == 0 && day < to {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x(day),
                bottom + 15.0,
                crate::text::fmt_instant(day).get(..10).unwrap_or("")
            );
        }
        day += 86_400;
    }
    for (zone, pts) in &lines {
        let path: Vec<String> = pts
            .iter()
            .flat_map(|&(t, v)| {
                [
                    format!("{:.1},{:.1}", x(t.max(from)), y(v)),
                    format!("{:.1},{:.1}", x((t + traces.step).min(to)), y(v)),
                ]
            })
            .collect();
        let dash = if zone == &sample.home {
            ""
        } else {
            r#" stroke-dasharray="4 3""#
        };
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.2"{dash} points="{}"><title>{}</title></polyline>"#,
            colour(zone),
            path.join(" "),
            escape(zone)
        );
    }
    // Legend.
    for (i, zone) in zones.iter().enumerate() {
        let lx = WIDTH - RIGHT - 90.0 * (zones.len() - i) as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="8" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            TOP - 14.0,
            colour(zone),
            lx + 16.0,
            TOP - 6.0,
            escape(zone)
        );
    }
    // Lanes.
    let mut top = TOP + PANEL + 40.0;
    for (policy, rows, bars) in &lanes {
        let _ = writeln!(
            svg,
            r##"<text x="{LEFT}" y="{:.1}" font-weight="bold">{}</text><line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#999"/>"##,
            top + 12.0,
            escape(policy),
            WIDTH - RIGHT,
            top + 16.0,
            top + 16.0
        );
        let lane_top = top + 20.0;
        for (row, job) in bars {
            for (a, b) in &job.pieces {
                let (a, b) = (a.as_second().max(from), b.as_second().min(to));
                if b <= a {
                    continue;
                }
                let _ = writeln!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.2}" height="{:.1}" fill="{}" fill-opacity="0.75"><title>{} ({})</title></rect>"#,
                    x(a),
                    lane_top + *row as f64 * ROW,
                    (x(b) - x(a)).max(0.5),
                    ROW - 1.5,
                    colour(&job.region),
                    escape(&job.id),
                    escape(&job.region)
                );
            }
        }
        top += *rows as f64 * ROW + 30.0;
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}
