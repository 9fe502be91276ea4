//! The HTML page: one self-contained document (inline CSS and SVG; no scripts, external styles
//! or fonts) with landmarks, captioned tables and labelled charts.

use crate::Report;
use crate::doc::{Block, Doc, Table, Tone, build};
use kite_chart::escape;
use std::fmt::Write;

const CSS: &str = r#"
:root{--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--panel:#f6f8fa;--ok:#1a7f37;--ok-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--warn:#7d4e00;--warn-bg:#fff8c5}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:#fff}
main{max-width:1040px;margin:0 auto;padding:32px 24px 64px}
header{border-bottom:3px solid var(--ink);padding-bottom:12px;margin-bottom:8px}
h1{font-size:26px;margin:0 0 4px;letter-spacing:-.01em}
.sub{color:var(--muted);margin:0}
section{margin-top:32px}
h2{font-size:18px;margin:0 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
p{margin:8px 0;max-width:80ch}
table{border-collapse:collapse;width:100%;margin:12px 0 4px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0 6px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--panel);font-weight:600;border-bottom:2px solid var(--line)}
.n{text-align:right}
td.n{white-space:nowrap}
.tw{overflow-x:auto}
tfoot td{font-weight:700;border-top:2px solid var(--ink)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:var(--panel)}
.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:20px;font-weight:650;margin:2px 0}
.card .s{color:var(--muted);font-size:12px}
.callout{border-left:5px solid;border-radius:6px;padding:10px 14px;margin:10px 0}
.callout strong{display:block}
.ok{border-color:var(--ok);background:var(--ok-bg)}
.bad{border-color:var(--bad);background:var(--bad-bg)}
.warn{border-color:#bf8700;background:var(--warn-bg);color:var(--warn)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px;overflow-x:auto}
figure{margin:16px 0}
figure svg{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px}
figcaption{color:var(--muted);font-size:12px;margin-top:4px}
footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
@media print{main{padding:0;max-width:none}section{break-inside:avoid-page}}
"#;

/// Renders the page.
pub fn render(report: &Report) -> String {
    let doc = build(report);
    page(&doc, report)
}

fn page(doc: &Doc, report: &Report) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"kite report\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n\
         <header><h1>{}</h1><p class=\"sub\">{}</p></header>\n",
        escape(&doc.title),
        escape(&doc.title),
        escape(&doc.subtitle)
    );
    for s in &doc.sections {
        let _ = writeln!(
            h,
            "<section id=\"{}\" aria-labelledby=\"h-{}\">\n<h2 id=\"h-{}\">{}</h2>",
            s.id,
            s.id,
            s.id,
            escape(&s.title)
        );
        for b in &s.blocks {
            block(&mut h, b);
        }
        h.push_str("</section>\n");
    }
    let cp = &report.ledger.checkpoint;
    let _ = writeln!(
        h,
        "<footer>Computed from ledger <code>{}</code> at tree size {}, root <code>{}</code>, key {}; \
         statement version {}, report version {}. Location-based and market-based scope 2 are \
         both shown (GHG Protocol Scope 2 Guidance); offsets are never netted.</footer>",
        escape(&cp.origin),
        cp.tree_size,
        escape(&cp.root_hash),
        escape(&cp.key_id),
        report.statement.version,
        report.report_version
    );
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

fn block(h: &mut String, b: &Block) {
    match b {
        Block::Para(t) => {
            let _ = writeln!(h, "<p>{}</p>", escape(t));
        }
        Block::Callout { tone, title, text } => {
            let (class, role) = match tone {
                Tone::Ok => ("ok", "status"),
                Tone::Bad => ("bad", "alert"),
                Tone::Warn => ("warn", "note"),
            };
            let _ = writeln!(
                h,
                "<div class=\"callout {class}\" role=\"{role}\"><strong>{}</strong>{}</div>",
                escape(title),
                escape(text)
            );
        }
        Block::Cards(cards) => {
            h.push_str("<div class=\"cards\">\n");
            for c in cards {
                let _ = writeln!(
                    h,
                    "<div class=\"card\"><div class=\"l\">{}</div><div class=\"v\">{}</div><div class=\"s\">{}</div></div>",
                    escape(&c.label),
                    escape(&c.value),
                    escape(&c.note)
                );
            }
            h.push_str("</div>\n");
        }
        Block::Facts(facts) => {
            h.push_str("<dl>\n");
            for (k, v) in facts {
                let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
            }
            h.push_str("</dl>\n");
        }
        Block::Table(t) => table(h, t),
        Block::Chart { svg, caption } => {
            let _ = writeln!(
                h,
                "<figure>\n{}<figcaption>{}</figcaption>\n</figure>",
                svg,
                escape(caption)
            );
        }
        Block::Pre { summary, text } => {
            let _ = writeln!(
                h,
                "<details><summary>{}</summary><pre>{}</pre></details>",
                escape(summary),
                escape(text)
            );
        }
        Block::List(items) => {
            h.push_str("<ul>\n");
            for i in items {
                let _ = writeln!(h, "<li>{}</li>", escape(i));
            }
            h.push_str("</ul>\n");
        }
    }
}

fn table(h: &mut String, t: &Table) {
    let class = |i: usize| {
        if t.numeric.get(i).copied().unwrap_or(false) {
            " class=\"n\""
        } else {
            ""
        }
    };
    let _ = writeln!(
        h,
        "<div class=\"tw\"><table>\n<caption>{}</caption>\n<thead><tr>",
        escape(&t.caption)
    );
    for (i, c) in t.head.iter().enumerate() {
        let _ = write!(h, "<th scope=\"col\"{}>{}</th>", class(i), escape(c));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let row = |h: &mut String, r: &[String]| {
        h.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if i == 0 {
                let _ = write!(h, "<th scope=\"row\">{}</th>", escape(c));
            } else {
                let _ = write!(h, "<td{}>{}</td>", class(i), escape(c));
            }
        }
        h.push_str("</tr>\n");
    };
    for r in &t.rows {
        row(h, r);
    }
    h.push_str("</tbody>\n");
    if !t.foot.is_empty() {
        h.push_str("<tfoot>\n");
        for r in &t.foot {
            h.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                let _ = write!(h, "<td{}>{}</td>", class(i), escape(c));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tfoot>\n");
    }
    h.push_str("</table></div>\n");
}
