//! The SVG document builder: elements with escaped attributes and text, numbers written short.

use std::fmt::Write;

/// Escapes text for use in SVG/XML text content and in double- or single-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate or length as SVG text: at most two decimals, trailing zeros dropped, and 0 for
/// a non-finite value (so a bad input shows as a wrong mark, never as an unparsable document).
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// A rectangle in document coordinates (px, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// The right edge.
    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    /// The bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

/// An SVG document being written. Start it with [`Svg::new`], add elements, end with
/// [`Svg::finish`].
#[derive(Debug, Clone)]
pub struct Svg {
    out: String,
    width: f64,
    height: f64,
}

impl Svg {
    /// Opens a document of the given size, as an accessible image named by `title`.
    ///
    /// The `viewBox` lets an HTML page scale it (`max-width: 100%; height: auto`).
    pub fn new(width: f64, height: f64, title: &str) -> Self {
        let mut out = String::new();
        let (w, h, t) = (num(width), num(height), escape(title));
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" font-size="11">"#
        );
        let _ = writeln!(out, "<title>{t}</title>");
        Svg { out, width, height }
    }

    /// Adds a `<desc>`: a longer description for screen readers.
    pub fn desc(&mut self, text: &str) {
        let _ = writeln!(self.out, "<desc>{}</desc>", escape(text));
    }

    /// Width of the document.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Height of the document.
    pub fn height(&self) -> f64 {
        self.height
    }

    /// Starts an element; set its attributes and end it with [`Element::finish`].
    pub fn el(&mut self, name: &'static str) -> Element<'_> {
        Element {
            svg: self,
            name,
            attrs: String::new(),
            title: None,
            text: None,
        }
    }

    /// A line from (x1, y1) to (x2, y2) in a stroke colour.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str) -> Element<'_> {
        self.el("line")
            .num("x1", x1)
            .num("y1", y1)
            .num("x2", x2)
            .num("y2", y2)
            .attr("stroke", stroke)
    }

    /// A filled rectangle.
    pub fn rect(&mut self, r: Rect, fill: &str) -> Element<'_> {
        self.el("rect")
            .num("x", r.x)
            .num("y", r.y)
            .num("width", r.w.max(0.0))
            .num("height", r.h.max(0.0))
            .attr("fill", fill)
    }

    /// Text at (x, y) (the baseline of its start, unless `text-anchor` says otherwise).
    pub fn text(&mut self, x: f64, y: f64, text: &str) -> Element<'_> {
        self.el("text").num("x", x).num("y", y).text(text)
    }

    /// An open polyline through the points.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str) -> Element<'_> {
        self.el("polyline")
            .attr("points", &points_attr(points))
            .attr("fill", "none")
            .attr("stroke", stroke)
    }

    /// A closed, filled polygon.
    pub fn polygon(&mut self, points: &[(f64, f64)], fill: &str) -> Element<'_> {
        self.el("polygon")
            .attr("points", &points_attr(points))
            .attr("fill", fill)
    }

    /// Opens a group (`<g>`); close it with [`Svg::close_group`].
    pub fn open_group(&mut self, label: Option<&str>) {
        match label {
            Some(l) => {
                let _ = writeln!(self.out, r#"<g role="group" aria-label="{}">"#, escape(l));
            }
            None => self.out.push_str("<g>\n"),
        }
    }

    /// Closes the group opened last.
    pub fn close_group(&mut self) {
        self.out.push_str("</g>\n");
    }

    /// Closes the document and returns its text.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

fn points_attr(points: &[(f64, f64)]) -> String {
    let mut s = String::with_capacity(points.len() * 12);
    for (i, (x, y)) in points.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&num(*x));
        s.push(',');
        s.push_str(&num(*y));
    }
    s
}

/// One element being written; nothing is added to the document until [`Element::finish`].
#[derive(Debug)]
#[must_use = "an element is only written by `finish`"]
pub struct Element<'a> {
    svg: &'a mut Svg,
    name: &'static str,
    attrs: String,
    title: Option<String>,
    text: Option<String>,
}

impl Element<'_> {
    /// A text attribute (escaped).
    pub fn attr(mut self, key: &str, value: &str) -> Self {
        let _ = write!(self.attrs, r#" {key}="{}""#, escape(value));
        self
    }

    /// A numeric attribute, written with [`num`].
    pub fn num(mut self, key: &str, value: f64) -> Self {
        let _ = write!(self.attrs, r#" {key}="{}""#, num(value));
        self
    }

    /// A tooltip: a `<title>` child, which browsers show on hover and screen readers read.
    pub fn title(mut self, text: &str) -> Self {
        self.title = Some(text.to_owned());
        self
    }

    /// Text content (for `<text>`).
    pub fn text(mut self, text: &str) -> Self {
        self.text = Some(text.to_owned());
        self
    }

    /// Writes the element into the document.
    pub fn finish(self) {
        let out = &mut self.svg.out;
        let _ = write!(out, "<{}{}", self.name, self.attrs);
        if self.title.is_none() && self.text.is_none() {
            out.push_str("/>\n");
            return;
        }
        out.push('>');
        if let Some(t) = &self.title {
            let _ = write!(out, "<title>{}</title>", escape(t));
        }
        if let Some(t) = &self.text {
            out.push_str(&escape(t));
        }
        let _ = writeln!(out, "</{}>", self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;"
        );
        assert_eq!(escape("x\u{1}y\tz"), "x\u{fffd}y\tz");
    }

    #[test]
    fn numbers_are_short_and_never_nan() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(1.005_1), "1.01");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
    }

    #[test]
    fn a_document_is_an_accessible_image_and_escapes_its_content() {
        let mut svg = Svg::new(100.0, 50.0, "A & B");
        svg.desc("long <text>");
        svg.rect(
            Rect {
                x: 1.0,
                y: 2.0,
                w: 3.0,
                h: -4.0,
            },
            "#fff",
        )
        .title("tip \"x\"")
        .finish();
        svg.text(5.0, 6.0, "<b>")
            .attr("text-anchor", "end")
            .finish();
        let s = svg.finish();
        assert!(s.starts_with("<svg "), "{s}");
        assert!(s.contains(r#"role="img" aria-label="A &amp; B""#), "{s}");
        assert!(s.contains("<title>A &amp; B</title>"), "{s}");
        assert!(s.contains("<desc>long &lt;text&gt;</desc>"), "{s}");
        assert!(
            s.contains(r##"<rect x="1" y="2" width="3" height="0" fill="#fff"><title>tip &quot;x&quot;</title></rect>"##),
            "{s}"
        );
        assert!(
            s.contains(r#"<text x="5" y="6" text-anchor="end">&lt;b&gt;</text>"#),
            "{s}"
        );
        assert!(s.trim_end().ends_with("</svg>"));
    }
}
