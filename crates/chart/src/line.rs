//! Line, step and area series on a time, category or numeric x axis, with a value y axis.

use crate::scale::{Linear, nice_ticks, time_ticks};
use crate::svg::{Rect, Svg};
use crate::{ink, num};

/// What the x axis shows.
#[derive(Debug, Clone)]
pub enum XAxis {
    /// Unix seconds from `from` to `to`, with UTC day or hour grid lines and date labels.
    Time {
        /// Left edge.
        from: i64,
        /// Right edge.
        to: i64,
    },
    /// Named bands; point `x = i` sits in the middle of band `i`.
    Categories(Vec<String>),
    /// A numeric axis with round ticks and a label.
    Linear {
        /// Left edge.
        min: f64,
        /// Right edge.
        max: f64,
        /// Axis title, under the axis.
        label: String,
    },
}

/// The value axis: its title, a unit appended to tick labels, and its extent.
#[derive(Debug, Clone, Default)]
pub struct YAxis {
    /// Axis title, written vertically on the left.
    pub label: String,
    /// Appended to each tick label, e.g. `" %"`.
    pub unit: String,
    /// Lowest value shown (the axis still extends to include the data).
    pub min: f64,
    /// Highest value shown at least (the axis still extends to include the data).
    pub max: Option<f64>,
    /// Decimals of the tick labels (default: as few as the ticks need).
    pub decimals: Option<usize>,
}

impl YAxis {
    /// An axis from 0 with a title and a tick unit.
    pub fn new(label: impl Into<String>, unit: impl Into<String>) -> Self {
        YAxis {
            label: label.into(),
            unit: unit.into(),
            ..YAxis::default()
        }
    }

    /// The ticks for data reaching `lo..hi`.
    pub(crate) fn ticks(&self, lo: f64, hi: f64) -> Vec<f64> {
        let lo = if lo.is_finite() {
            lo.min(self.min)
        } else {
            self.min
        };
        let hi = match (hi.is_finite(), self.max) {
            (true, Some(m)) => hi.max(m),
            (true, None) => hi,
            (false, Some(m)) => m,
            (false, None) => lo + 1.0,
        };
        // A little headroom, so a series at its maximum does not run along the plot's edge.
        nice_ticks(lo, hi + (hi - lo).abs() * 0.02, 5)
    }

    pub(crate) fn tick_label(&self, v: f64, ticks: &[f64]) -> String {
        let decimals = self.decimals.unwrap_or_else(|| {
            let step = ticks
                .windows(2)
                .map(|w| w[1] - w[0])
                .fold(f64::INFINITY, f64::min);
            // As many decimals as the step needs to be written exactly (0.25 → 2, 0.5 → 1);
            // finer steps than 1e-4 are written in scientific notation by `format_value`.
            (0..=4)
                .find(|&d| {
                    let scaled = step * 10f64.powi(d);
                    (scaled - scaled.round()).abs() < 1e-6
                })
                .unwrap_or(4) as usize
        });
        format!("{}{}", crate::format_value(v, decimals), self.unit)
    }

    /// Draws grid lines and tick labels across `plot`, and the axis title; returns the scale.
    pub(crate) fn draw(&self, svg: &mut Svg, plot: Rect, ticks: &[f64]) -> Linear {
        let lo = ticks.first().copied().unwrap_or(0.0);
        let hi = ticks.last().copied().unwrap_or(1.0);
        let y = Linear::new((lo, hi), (plot.bottom(), plot.y));
        for &v in ticks {
            let colour = if v == 0.0 { ink::AXIS } else { ink::GRID };
            svg.line(plot.x, y.map(v), plot.right(), y.map(v), colour)
                .finish();
            svg.text(plot.x - 6.0, y.map(v) + 4.0, &self.tick_label(v, ticks))
                .attr("text-anchor", "end")
                .attr("fill", ink::MUTED)
                .finish();
        }
        if !self.label.is_empty() {
            let (lx, ly) = (14.0, plot.y + plot.h / 2.0);
            svg.text(lx, ly, &self.label)
                .attr("transform", &format!("rotate(-90 {} {})", num(lx), num(ly)))
                .attr("text-anchor", "middle")
                .attr("fill", ink::MUTED)
                .finish();
        }
        y
    }
}

/// How a series joins its points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Straight lines between points.
    Line,
    /// Each point holds its value for `width` x units (an hourly series: 3600 s), as a meter
    /// or a market interval does; consecutive intervals join with a vertical step.
    Step {
        /// How long each value holds, in x units.
        width: f64,
    },
}

/// One data point, with an optional tooltip for its marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// x in the axis' units (Unix seconds, category index, or number).
    pub x: f64,
    /// The value; a non-finite value breaks the line.
    pub y: f64,
    /// Tooltip of the point's marker (only drawn with markers).
    pub tip: Option<String>,
}

/// A named, coloured series.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend and tooltip name.
    pub name: String,
    /// Stroke (and fill) colour.
    pub colour: String,
    /// The points, in x order.
    pub points: Vec<Point>,
    /// Line or step.
    pub shape: Shape,
    /// Dashed stroke (a secondary series).
    pub dashed: bool,
    /// A circle at each point, with the point's tooltip.
    pub markers: bool,
    /// Fill the area between the series and zero.
    pub area: bool,
    /// Stroke width in px.
    pub stroke_width: f64,
}

impl Series {
    /// A line through `(x, y)` points.
    pub fn line(name: impl Into<String>, colour: &str, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            colour: colour.to_owned(),
            points: points
                .into_iter()
                .map(|(x, y)| Point { x, y, tip: None })
                .collect(),
            shape: Shape::Line,
            dashed: false,
            markers: false,
            area: false,
            stroke_width: 2.0,
        }
    }

    /// A step series: each value holds for `width` x units.
    pub fn step(
        name: impl Into<String>,
        colour: &str,
        points: Vec<(f64, f64)>,
        width: f64,
    ) -> Self {
        Series {
            shape: Shape::Step { width },
            stroke_width: 1.5,
            ..Series::line(name, colour, points)
        }
    }

    /// Dashed stroke.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// Filled down to zero.
    pub fn area(mut self) -> Self {
        self.area = true;
        self
    }

    /// Markers at the points, with one tooltip per point (matched by position).
    pub fn markers(mut self, tips: Vec<String>) -> Self {
        self.markers = true;
        for (p, t) in self.points.iter_mut().zip(tips) {
            p.tip = Some(t);
        }
        self
    }

    /// Sets the stroke width.
    pub fn stroke_width(mut self, w: f64) -> Self {
        self.stroke_width = w;
        self
    }
}

/// A line chart: series over an x axis, drawn into a plot area.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// The x axis.
    pub x: XAxis,
    /// The value axis.
    pub y: YAxis,
    /// The series, drawn in order (later on top).
    pub series: Vec<Series>,
    /// Most x labels to write.
    pub max_x_labels: usize,
}

impl LineChart {
    /// A chart with no series on an x axis, a y axis from 0.
    pub fn new(x: XAxis) -> Self {
        LineChart {
            x,
            y: YAxis::default(),
            series: Vec::new(),
            max_x_labels: 8,
        }
    }

    /// Sets the y axis.
    pub fn y(mut self, y: YAxis) -> Self {
        self.y = y;
        self
    }

    /// Adds a series.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    /// The x extent in data units.
    fn x_domain(&self) -> (f64, f64) {
        match &self.x {
            XAxis::Time { from, to } => (*from as f64, *to as f64),
            XAxis::Categories(c) => (-0.5, c.len().max(1) as f64 - 0.5),
            XAxis::Linear { min, max, .. } => (*min, *max),
        }
    }

    /// Draws the axes, grid and series into `plot`, and returns the x and y scales, so a
    /// caller can add its own marks on the same axes.
    pub fn draw(&self, svg: &mut Svg, plot: Rect) -> (Linear, Linear) {
        let (x0, x1) = self.x_domain();
        let x = Linear::new((x0, x1), (plot.x, plot.right()));
        let (lo, hi) = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter(|p| visible(s, p, x0, x1)))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.y), hi.max(p.y))
            });
        let ticks = self.y.ticks(lo, hi);
        let y = self.y.draw(svg, plot, &ticks);
        self.draw_x_axis(svg, plot, &x);

        for s in &self.series {
            let label = s.name.clone();
            svg.open_group(Some(&label));
            for run in runs(s, x0, x1) {
                let pts: Vec<(f64, f64)> = run.iter().map(|&(a, b)| (x.map(a), y.map(b))).collect();
                if s.area && pts.len() > 1 {
                    let base = y.map(0f64.clamp(y.domain().0, y.domain().1));
                    let mut poly = pts.clone();
                    poly.push((pts[pts.len() - 1].0, base));
                    poly.push((pts[0].0, base));
                    svg.polygon(&poly, &s.colour)
                        .num("fill-opacity", 0.35)
                        .finish();
                }
                let mut el = svg
                    .polyline(&pts, &s.colour)
                    .num("stroke-width", s.stroke_width)
                    .attr("stroke-linejoin", "round");
                if s.dashed {
                    el = el.attr("stroke-dasharray", "5 3");
                }
                el.title(&s.name).finish();
            }
            if s.markers {
                for p in s.points.iter().filter(|p| visible(s, p, x0, x1)) {
                    let el = svg
                        .el("circle")
                        .num("cx", x.map(p.x))
                        .num("cy", y.map(p.y))
                        .num("r", 3.0)
                        .attr("fill", &s.colour);
                    match &p.tip {
                        Some(t) => el.title(t).finish(),
                        None => el.finish(),
                    }
                }
            }
            svg.close_group();
        }
        (x, y)
    }

    fn draw_x_axis(&self, svg: &mut Svg, plot: Rect, x: &Linear) {
        let below = plot.bottom() + 15.0;
        match &self.x {
            XAxis::Time { from, to } => {
                for t in time_ticks(*from, *to, self.max_x_labels) {
                    let px = x.map(t.at as f64);
                    svg.line(px, plot.y, px, plot.bottom(), ink::GRID_LIGHT)
                        .finish();
                    if let Some(l) = t.label {
                        // The last label may not fit right of the plot: anchor it at its end.
                        let anchor = if px > plot.right() - 30.0 {
                            "end"
                        } else {
                            "middle"
                        };
                        svg.text(px, below, &l)
                            .attr("text-anchor", anchor)
                            .attr("fill", ink::MUTED)
                            .finish();
                    }
                }
            }
            XAxis::Categories(cats) => {
                let every = cats.len().div_ceil(self.max_x_labels.max(1)).max(1);
                for (i, c) in cats.iter().enumerate().filter(|(i, _)| i % every == 0) {
                    svg.text(x.map(i as f64), below, c)
                        .attr("text-anchor", "middle")
                        .attr("fill", ink::MUTED)
                        .finish();
                }
            }
            XAxis::Linear { min, max, label } => {
                for v in nice_ticks(*min, *max, self.max_x_labels.min(8))
                    .into_iter()
                    .filter(|v| v >= min && v <= max)
                {
                    svg.line(x.map(v), plot.y, x.map(v), plot.bottom(), ink::GRID_LIGHT)
                        .finish();
                    svg.text(x.map(v), below, &format!("{v}"))
                        .attr("text-anchor", "middle")
                        .attr("fill", ink::MUTED)
                        .finish();
                }
                svg.text(plot.x + plot.w / 2.0, below + 16.0, label)
                    .attr("text-anchor", "middle")
                    .attr("fill", ink::MUTED)
                    .finish();
            }
        }
    }
}

/// Whether a point has a finite value and is (partly) inside the x domain.
fn visible(s: &Series, p: &Point, x0: f64, x1: f64) -> bool {
    let width = match s.shape {
        Shape::Step { width } => width,
        Shape::Line => 0.0,
    };
    p.y.is_finite() && p.x + width >= x0 && p.x <= x1
}

/// The series as unbroken runs of data points in x (clipped to the axis): a non-finite value,
/// or for a step series a hole between intervals, starts a new run.
fn runs(s: &Series, x0: f64, x1: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let mut prev_end = f64::NAN;
    for p in &s.points {
        let (a, b) = match s.shape {
            Shape::Line => (p.x, p.x),
            Shape::Step { width } => (p.x, p.x + width),
        };
        if b < x0 || a > x1 {
            continue;
        }
        if !p.y.is_finite() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        match s.shape {
            Shape::Line => cur.push((p.x, p.y)),
            Shape::Step { .. } => {
                if !cur.is_empty() && (a - prev_end).abs() > 1e-9 {
                    out.push(std::mem::take(&mut cur));
                }
                cur.push((a.max(x0), p.y));
                cur.push((b.min(x1), p.y));
                prev_end = b;
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(chart: &LineChart) -> String {
        let mut svg = Svg::new(400.0, 200.0, "t");
        chart.draw(
            &mut svg,
            Rect {
                x: 50.0,
                y: 10.0,
                w: 300.0,
                h: 150.0,
            },
        );
        svg.finish()
    }

    #[test]
    fn a_nan_breaks_a_line_into_two_polylines() {
        let chart = LineChart::new(XAxis::Linear {
            min: 0.0,
            max: 4.0,
            label: "x".into(),
        })
        .series(Series::line(
            "s",
            "#123456",
            vec![
                (0.0, 1.0),
                (1.0, 2.0),
                (2.0, f64::NAN),
                (3.0, 2.0),
                (4.0, 1.0),
            ],
        ));
        let s = draw(&chart);
        assert_eq!(s.matches("<polyline").count(), 2, "{s}");
        assert!(!s.contains("NaN"), "{s}");
    }

    #[test]
    fn step_series_hold_each_value_and_break_at_holes() {
        let s = Series::step(
            "load",
            "#000",
            vec![(0.0, 1.0), (10.0, 2.0), (30.0, 3.0)],
            10.0,
        );
        let r = runs(&s, 0.0, 35.0);
        assert_eq!(
            r,
            vec![
                vec![(0.0, 1.0), (10.0, 1.0), (10.0, 2.0), (20.0, 2.0)],
                vec![(30.0, 3.0), (35.0, 3.0)],
            ]
        );
    }

    #[test]
    fn the_y_axis_covers_the_data_and_labels_its_unit() {
        let chart = LineChart::new(XAxis::Categories(vec!["day 1".into(), "day 2".into()]))
            .y(YAxis::new("MAPE", " %"))
            .series(
                Series::line("m", "#0072b2", vec![(0.0, 3.2), (1.0, 17.9)])
                    .markers(vec!["m day 1".into(), "m day 2".into()]),
            );
        let s = draw(&chart);
        assert!(s.contains(">20 %</text>"), "{s}");
        assert!(s.contains(">0 %</text>"), "{s}");
        assert!(s.contains("<title>m day 2</title></circle>"), "{s}");
        assert!(s.contains(">day 2</text>"), "{s}");
        // The top marker is inside the plot area.
        assert!(s.contains(r#"cy="#), "{s}");
    }

    #[test]
    fn fractional_ticks_get_decimals() {
        let y = YAxis::new("", "");
        let t = y.ticks(0.0, 2.0);
        assert_eq!(t[1], 0.5);
        assert_eq!(y.tick_label(0.5, &t), "0.5");
        let t = y.ticks(0.0, 0.09);
        assert_eq!(y.tick_label(0.04, &t), "0.04");
        let t = y.ticks(0.0, 437.0);
        assert_eq!(y.tick_label(300.0, &t), "300");
    }
}
