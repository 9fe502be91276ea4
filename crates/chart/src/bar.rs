//! Bar charts: one bar per category, grouped side by side or stacked, with value tooltips and
//! a "no data" mark where a category has no value (never a zero-height bar).

use crate::ink;
use crate::line::YAxis;
use crate::scale::Linear;
use crate::svg::{Rect, Svg};

/// One series of bars: a value per category (`NaN` = no data).
#[derive(Debug, Clone)]
pub struct BarSeries {
    /// Legend and tooltip name.
    pub name: String,
    /// Fill colour.
    pub colour: String,
    /// One value per category, in the chart's category order.
    pub values: Vec<f64>,
}

impl BarSeries {
    /// A series.
    pub fn new(name: impl Into<String>, colour: &str, values: Vec<f64>) -> Self {
        BarSeries {
            name: name.into(),
            colour: colour.to_owned(),
            values,
        }
    }
}

/// Bars per category: grouped (side by side) or stacked.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Category names, left to right.
    pub categories: Vec<String>,
    /// The series.
    pub series: Vec<BarSeries>,
    /// Stack the series instead of grouping them.
    pub stacked: bool,
    /// The value axis.
    pub y: YAxis,
    /// Write each bar's value (or a stack's total) above it.
    pub value_labels: bool,
    /// Decimals of tooltips and value labels.
    pub decimals: usize,
}

impl BarChart {
    /// Grouped bars for these categories.
    pub fn new(categories: Vec<String>) -> Self {
        BarChart {
            categories,
            series: Vec::new(),
            stacked: false,
            y: YAxis::default(),
            value_labels: false,
            decimals: 1,
        }
    }

    /// Stacks the series.
    pub fn stacked(mut self) -> Self {
        self.stacked = true;
        self
    }

    /// Sets the y axis.
    pub fn y(mut self, y: YAxis) -> Self {
        self.y = y;
        self
    }

    /// Adds a series.
    pub fn series(mut self, s: BarSeries) -> Self {
        self.series.push(s);
        self
    }

    /// Writes values above the bars.
    pub fn value_labels(mut self) -> Self {
        self.value_labels = true;
        self
    }

    /// Sets the decimals of tooltips and labels.
    pub fn decimals(mut self, d: usize) -> Self {
        self.decimals = d;
        self
    }

    fn value(&self, s: &BarSeries, i: usize) -> Option<f64> {
        s.values.get(i).copied().filter(|v| v.is_finite())
    }

    /// The lowest and highest value drawn: sums of a stack's positive and negative parts.
    fn extent(&self) -> (f64, f64) {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for i in 0..self.categories.len() {
            let vals = self.series.iter().filter_map(|s| self.value(s, i));
            if self.stacked {
                let (neg, pos) =
                    vals.fold(
                        (0.0, 0.0),
                        |(n, p), v| {
                            if v < 0.0 { (n + v, p) } else { (n, p + v) }
                        },
                    );
                if self.series.iter().any(|s| self.value(s, i).is_some()) {
                    lo = lo.min(neg);
                    hi = hi.max(pos);
                }
            } else {
                for v in vals {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
        (lo, hi)
    }

    /// Draws axes and bars into `plot`; returns the y scale.
    pub fn draw(&self, svg: &mut Svg, plot: Rect) -> Linear {
        let (lo, hi) = self.extent();
        let ticks = self.y.ticks(lo, hi);
        let y = self.y.draw(svg, plot, &ticks);
        let n = self.categories.len().max(1);
        let band = plot.w / n as f64;
        let bar_w = band * 0.62;
        let zero = y.map(0f64.clamp(y.domain().0, y.domain().1));
        let d = self.decimals;
        let unit = &self.y.unit;
        for (i, cat) in self.categories.iter().enumerate() {
            let left = plot.x + band * i as f64 + (band - bar_w) / 2.0;
            let centre = plot.x + band * (i as f64 + 0.5);
            svg.open_group(Some(cat));
            let present: Vec<(&BarSeries, f64)> = self
                .series
                .iter()
                .filter_map(|s| self.value(s, i).map(|v| (s, v)))
                .collect();
            if present.is_empty() {
                svg.text(centre, zero - 6.0, "no data")
                    .attr("text-anchor", "middle")
                    .attr("fill", ink::MUTED)
                    .attr("font-style", "italic")
                    .finish();
            }
            let (mut pos, mut neg) = (0.0, 0.0);
            let k = self.series.len().max(1) as f64;
            for (j, s) in self.series.iter().enumerate() {
                let Some(v) = self.value(s, i) else { continue };
                let (x, w, base) = if self.stacked {
                    let base = if v < 0.0 { neg } else { pos };
                    if v < 0.0 {
                        neg += v;
                    } else {
                        pos += v;
                    }
                    (left, bar_w, base)
                } else {
                    (left + bar_w / k * j as f64, bar_w / k, 0.0)
                };
                let (a, b) = (y.map(base), y.map(base + v));
                svg.rect(
                    Rect {
                        x,
                        y: a.min(b),
                        w: (w - 1.0).max(1.0),
                        h: (a - b).abs(),
                    },
                    &s.colour,
                )
                .title(&format!(
                    "{}, {cat}: {}{unit}",
                    s.name,
                    crate::format_value(v, d)
                ))
                .finish();
                if self.value_labels && !self.stacked {
                    svg.text(x + w / 2.0, a.min(b) - 4.0, &crate::format_value(v, d))
                        .attr("text-anchor", "middle")
                        .attr("fill", ink::TEXT)
                        .finish();
                }
            }
            if self.value_labels && self.stacked && !present.is_empty() {
                let total: f64 = present.iter().map(|(_, v)| v).sum();
                svg.text(centre, y.map(pos) - 4.0, &crate::format_value(total, d))
                    .attr("text-anchor", "middle")
                    .attr("fill", ink::TEXT)
                    .attr("font-weight", "600")
                    .finish();
            }
            svg.text(centre, plot.bottom() + 15.0, cat)
                .attr("text-anchor", "middle")
                .attr("fill", ink::MUTED)
                .finish();
            svg.close_group();
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plot() -> Rect {
        Rect {
            x: 0.0,
            y: 0.0,
            w: 200.0,
            h: 100.0,
        }
    }

    #[test]
    fn stacked_segments_sit_on_each_other_and_the_total_is_labelled() {
        let chart = BarChart::new(vec!["a".into()])
            .stacked()
            .value_labels()
            .series(BarSeries::new("s1", "#111111", vec![30.0]))
            .series(BarSeries::new("s2", "#222222", vec![50.0]));
        let mut svg = Svg::new(200.0, 100.0, "t");
        let y = chart.draw(&mut svg, plot());
        let s = svg.finish();
        // 0..80 → ticks 0..80 or 0..100; the segments meet at 30 and end at 80.
        let (y30, y80) = (crate::num(y.map(30.0)), crate::num(y.map(80.0)));
        assert!(s.contains(&format!(r#"y="{y30}""#)), "{s}");
        assert!(s.contains(&format!(r#"y="{y80}""#)), "{s}");
        assert!(s.contains("<title>s2, a: 50.0</title>"), "{s}");
        assert!(s.contains(">80.0</text>"), "{s}");
    }

    #[test]
    fn a_category_without_values_says_no_data_instead_of_a_zero_bar() {
        let chart = BarChart::new(vec!["full".into(), "empty".into()]).series(BarSeries::new(
            "s",
            "#111111",
            vec![3.0, f64::NAN],
        ));
        let mut svg = Svg::new(200.0, 100.0, "t");
        chart.draw(&mut svg, plot());
        let s = svg.finish();
        assert_eq!(s.matches(r##"fill="#111111""##).count(), 1, "{s}");
        assert!(s.contains(">no data</text>"), "{s}");
    }
}
