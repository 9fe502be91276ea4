//! Small, dependency-free SVG charts: the one place kite writes SVG.
//!
//! The pieces compose: [`Svg`] is a document builder that escapes every text and attribute;
//! [`frame`] starts a chart with a title, subtitle and legend and hands back the plot area;
//! [`LineChart`] (line, step and area series on a time, category or numeric axis) and
//! [`BarChart`] (grouped or stacked bars) draw into that area; [`legend_row`] and
//! [`legend_column`] label the colours. Callers with a bespoke layout (the simulator's job
//! lanes) use the same builder, scales and ticks directly.
//!
//! Invariants: the output is well-formed SVG 1.1 with no external references (no fonts, CSS or
//! scripts), so it can be inlined in a self-contained HTML page; every document is an
//! accessible image (`role="img"`, `aria-label` and a `<title>`); non-finite values are never
//! written (a NaN point breaks a line instead of drawing to `NaN`).
//!
//! ```ignore
//! let (mut svg, plot) = kite_chart::frame(&kite_chart::Frame::new("Load", 640.0, 300.0));
//! kite_chart::LineChart::new(kite_chart::XAxis::Categories(vec!["a".into(), "b".into()]))
//!     .series(kite_chart::Series::line("load", kite_chart::PALETTE[0], vec![(0.0, 1.0), (1.0, 2.0)]))
//!     .draw(&mut svg, plot);
//! let text: String = svg.finish();
//! ```

mod bar;
mod legend;
mod line;
mod scale;
mod svg;

pub use bar::{BarChart, BarSeries};
pub use legend::{LegendItem, Swatch, legend_column, legend_row, text_width};
pub use line::{LineChart, Point, Series, Shape, XAxis, YAxis};
pub use scale::{
    Linear, Tick, format_date, format_date_time, format_value, nice_ticks, time_ticks,
};
pub use svg::{Element, Rect, Svg, escape, num};

/// A colour-blind-safe categorical palette (Okabe–Ito, with black moved last), in drawing order.
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000",
];

/// Grid lines, axis text and the muted subtitle.
pub mod ink {
    /// Horizontal grid lines.
    pub const GRID: &str = "#dddddd";
    /// Vertical (time) grid lines, lighter than the value grid.
    pub const GRID_LIGHT: &str = "#eeeeee";
    /// Axis lines.
    pub const AXIS: &str = "#888888";
    /// Tick labels and subtitles.
    pub const MUTED: &str = "#555555";
    /// Titles and labels.
    pub const TEXT: &str = "#222222";
}

/// Title, size and legend of a chart: what [`frame`] draws around the plot area.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Shown at the top and read out by screen readers.
    pub title: String,
    /// A muted line under the title (units, period, source).
    pub subtitle: Option<String>,
    /// A longer text description for screen readers (`<desc>`).
    pub description: Option<String>,
    /// Width of the document in px.
    pub width: f64,
    /// Height of the document in px.
    pub height: f64,
    /// Legend entries, drawn in one row at the top right.
    pub legend: Vec<LegendItem>,
    /// Space around the plot area: left, right, top, bottom (px).
    pub margins: (f64, f64, f64, f64),
}

impl Frame {
    /// A frame with the default margins (room for y tick labels on the left, dates below).
    pub fn new(title: impl Into<String>, width: f64, height: f64) -> Self {
        Frame {
            title: title.into(),
            subtitle: None,
            description: None,
            width,
            height,
            legend: Vec::new(),
            margins: (70.0, 20.0, 60.0, 40.0),
        }
    }

    /// Sets the subtitle.
    pub fn subtitle(mut self, text: impl Into<String>) -> Self {
        self.subtitle = Some(text.into());
        self
    }

    /// Sets the screen-reader description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Sets the legend.
    pub fn legend(mut self, items: Vec<LegendItem>) -> Self {
        self.legend = items;
        self
    }

    /// Sets the margins around the plot area: left, right, top, bottom.
    pub fn margins(mut self, left: f64, right: f64, top: f64, bottom: f64) -> Self {
        self.margins = (left, right, top, bottom);
        self
    }
}

/// Starts a chart: white background, title, subtitle and legend; returns the document and the
/// plot area left for a [`LineChart`] or [`BarChart`].
pub fn frame(f: &Frame) -> (Svg, Rect) {
    let mut svg = Svg::new(f.width, f.height, &f.title);
    if let Some(d) = &f.description {
        svg.desc(d);
    }
    svg.el("rect")
        .attr("width", "100%")
        .attr("height", "100%")
        .attr("fill", "#ffffff")
        .finish();
    let (left, right, top, bottom) = f.margins;
    // No font engine here: shrink a long title to fit (down to 11 px), then cut it; the full
    // title stays in the document's <title> and aria-label.
    let room = f.width - left - 10.0;
    let size = (14.0 * room / (text_width(&f.title) * 14.0 / 11.0 * 1.05)).clamp(11.0, 14.0);
    let fits = (room / (size * 0.62)) as usize;
    let shown = if f.title.chars().count() > fits {
        let cut: String = f.title.chars().take(fits.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        f.title.clone()
    };
    svg.text(left, 18.0, &shown)
        .num("font-size", size)
        .attr("font-weight", "600")
        .attr("fill", ink::TEXT)
        .finish();
    if let Some(s) = &f.subtitle {
        svg.text(left, 34.0, s).attr("fill", ink::MUTED).finish();
    }
    if !f.legend.is_empty() {
        legend_row(&mut svg, f.width - right, (top - 14.0).max(40.0), &f.legend);
    }
    let plot = Rect {
        x: left,
        y: top,
        w: (f.width - left - right).max(1.0),
        h: (f.height - top - bottom).max(1.0),
    };
    (svg, plot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_title_is_shrunk_and_cut_but_kept_whole_for_screen_readers() {
        let title = "A very long title ".repeat(10);
        let (svg, plot) = frame(&Frame::new(title.clone(), 400.0, 200.0));
        let s = svg.finish();
        assert!(s.contains(&format!("<title>{title}</title>")), "{s}");
        assert!(s.contains(r#"font-size="11""#), "{s}");
        assert!(s.contains("…</text>"), "{s}");
        assert_eq!(
            plot,
            Rect {
                x: 70.0,
                y: 60.0,
                w: 310.0,
                h: 100.0
            }
        );
        let (svg, _) = frame(&Frame::new("Short", 400.0, 200.0));
        assert!(
            svg.finish()
                .contains(r##"font-size="14" font-weight="600" fill="#222222">Short</text>"##)
        );
    }
}
