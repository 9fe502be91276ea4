//! Legends: a colour swatch and a name per entry, in a row or a column.

use crate::ink;
use crate::svg::{Rect, Svg};

/// How an entry's colour is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swatch {
    /// A filled square (bars, areas, lanes).
    Box,
    /// A short line (line series).
    Line,
    /// A short dashed line (dashed series).
    Dashed,
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendItem {
    /// The name.
    pub name: String,
    /// The colour.
    pub colour: String,
    /// How the colour is shown.
    pub swatch: Swatch,
}

impl LegendItem {
    /// An entry with a filled square.
    pub fn boxed(name: impl Into<String>, colour: &str) -> Self {
        LegendItem {
            name: name.into(),
            colour: colour.to_owned(),
            swatch: Swatch::Box,
        }
    }

    /// An entry with a line.
    pub fn line(name: impl Into<String>, colour: &str) -> Self {
        LegendItem {
            swatch: Swatch::Line,
            ..LegendItem::boxed(name, colour)
        }
    }

    /// An entry with a dashed line.
    pub fn dashed(name: impl Into<String>, colour: &str) -> Self {
        LegendItem {
            swatch: Swatch::Dashed,
            ..LegendItem::boxed(name, colour)
        }
    }
}

/// The approximate width of `text` at the 11 px chart font: what legends and labels use to
/// lay themselves out without a font engine.
pub fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.2
}

const SWATCH: f64 = 12.0;
const GAP: f64 = 16.0;

fn swatch(svg: &mut Svg, x: f64, y: f64, item: &LegendItem) {
    match item.swatch {
        Swatch::Box => svg
            .rect(
                Rect {
                    x,
                    y: y - 9.0,
                    w: SWATCH,
                    h: 10.0,
                },
                &item.colour,
            )
            .finish(),
        Swatch::Line | Swatch::Dashed => {
            let el = svg
                .line(x, y - 4.0, x + SWATCH, y - 4.0, &item.colour)
                .num("stroke-width", 2.5);
            if item.swatch == Swatch::Dashed {
                el.attr("stroke-dasharray", "4 2").finish();
            } else {
                el.finish();
            }
        }
    }
}

/// A legend in one row whose right end is at `right`, with its text baseline at `y`.
pub fn legend_row(svg: &mut Svg, right: f64, y: f64, items: &[LegendItem]) {
    let widths: Vec<f64> = items
        .iter()
        .map(|i| SWATCH + 4.0 + text_width(&i.name))
        .collect();
    let total: f64 = widths.iter().sum::<f64>() + GAP * items.len().saturating_sub(1) as f64;
    let mut x = right - total;
    svg.open_group(Some("legend"));
    for (item, w) in items.iter().zip(widths) {
        swatch(svg, x, y, item);
        svg.text(x + SWATCH + 4.0, y, &item.name)
            .attr("fill", ink::TEXT)
            .finish();
        x += w + GAP;
    }
    svg.close_group();
}

/// A legend in one column starting at (`x`, `y`), 20 px per entry.
pub fn legend_column(svg: &mut Svg, x: f64, y: f64, items: &[LegendItem]) {
    svg.open_group(Some("legend"));
    for (i, item) in items.iter().enumerate() {
        let yy = y + 20.0 * i as f64 + 10.0;
        swatch(svg, x, yy, item);
        svg.text(x + SWATCH + 5.0, yy, &item.name)
            .attr("fill", ink::TEXT)
            .finish();
    }
    svg.close_group();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_ends_at_its_right_edge_and_names_every_entry() {
        let mut svg = Svg::new(300.0, 50.0, "t");
        let items = [
            LegendItem::boxed("scope 1", "#111111"),
            LegendItem::dashed("b & c", "#222222"),
        ];
        legend_row(&mut svg, 300.0, 20.0, &items);
        let s = svg.finish();
        assert!(s.contains(">scope 1</text>"), "{s}");
        assert!(s.contains(">b &amp; c</text>"), "{s}");
        assert!(s.contains(r#"stroke-dasharray="4 2""#), "{s}");
        let start =
            300.0 - (2.0 * (SWATCH + 4.0) + text_width("scope 1") + text_width("b & c") + GAP);
        assert!(
            s.contains(&format!(r#"<rect x="{}""#, crate::num(start))),
            "{s}"
        );
    }
}
