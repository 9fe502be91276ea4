//! Markdown: the same sections and tables as the HTML page (charts are named, not drawn).

use crate::Report;
use crate::doc::{Block, Tone, build};
use std::fmt::Write;

/// A cell: pipes escaped and line breaks flattened, so one value stays one cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Renders the document.
pub fn render(report: &Report) -> String {
    let doc = build(report);
    let mut m = String::new();
    let _ = writeln!(m, "# {}\n\n{}\n", doc.title, doc.subtitle);
    for s in &doc.sections {
        let _ = writeln!(m, "## {}\n", s.title);
        for b in &s.blocks {
            match b {
                Block::Para(t) => {
                    let _ = writeln!(m, "{t}\n");
                }
                Block::Callout { tone, title, text } => {
                    let mark = match tone {
                        Tone::Ok => "✔",
                        Tone::Bad => "✘",
                        Tone::Warn => "⚠",
                    };
                    let _ = writeln!(m, "> {mark} **{title}.** {text}\n");
                }
                Block::Cards(cards) => {
                    for c in cards {
                        let _ = writeln!(m, "- **{}:** {} ({})", c.label, c.value, c.note);
                    }
                    m.push('\n');
                }
                Block::Facts(facts) => {
                    for (k, v) in facts {
                        let _ = writeln!(m, "- {k}: `{v}`");
                    }
                    m.push('\n');
                }
                Block::Table(t) => {
                    let _ = writeln!(m, "**{}**\n", t.caption);
                    let _ = writeln!(
                        m,
                        "| {} |",
                        t.head
                            .iter()
                            .map(|h| cell(h))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    );
                    let rule: Vec<&str> = (0..t.head.len())
                        .map(|i| {
                            if t.numeric.get(i).copied().unwrap_or(false) {
                                "---:"
                            } else {
                                "---"
                            }
                        })
                        .collect();
                    let _ = writeln!(m, "| {} |", rule.join(" | "));
                    for r in &t.rows {
                        let _ = writeln!(
                            m,
                            "| {} |",
                            r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
                        );
                    }
                    for r in &t.foot {
                        let _ = writeln!(
                            m,
                            "| {} |",
                            r.iter()
                                .map(|c| if c.is_empty() {
                                    String::new()
                                } else {
                                    format!("**{}**", cell(c))
                                })
                                .collect::<Vec<_>>()
                                .join(" | ")
                        );
                    }
                    m.push('\n');
                }
                Block::Chart { caption, .. } => {
                    let _ = writeln!(m, "_Chart (in the HTML report): {caption}_\n");
                }
                Block::Pre { summary, text } => {
                    let _ = writeln!(m, "{summary}:\n\n```\n{}\n```\n", text.trim_end());
                }
                Block::List(items) => {
                    for i in items {
                        let _ = writeln!(m, "- {i}");
                    }
                    m.push('\n');
                }
            }
        }
    }
    m
}
