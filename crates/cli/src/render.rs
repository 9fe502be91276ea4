//! Rendering engine results as tables, JSON and CSV.
//!
//! The JSON types here are the CLI's wire format (documented on each type); they are separate
//! from the core types on purpose, so the format only changes when this file does. The
//! intensity JSON is `kite_engine::IntensityView`, which `GET /v1/intensity` returns too.

use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use kite_engine::{ImportSummary, IntensityAnswer, IntensityView};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// A table in kite's one terminal style.
pub fn table() -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled);
    t
}

/// How old a value is, for people: `25m`, `5h`, `3d`, `2y`.
pub fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7_200 => format!("{}m", s / 60),
        7_200..172_800 => format!("{}h", s / 3600),
        172_800..63_072_000 => format!("{}d", s / 86_400),
        _ => format!("{:.1}y", s as f64 / 31_557_600.0),
    }
}

/// An interval length for people: `1h`, `15m`, `19m29s`.
pub fn human_duration(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out += &format!("{h}h");
    }
    if m > 0 {
        out += &format!("{m}m");
    }
    if s > 0 || out.is_empty() {
        out += &format!("{s}s");
    }
    out
}

/// Age of a value at `now` (the engine's rule, shared with `kite serve`).
pub use kite_engine::age_secs;

pub fn intensity_table(answer: &IntensityAnswer, single: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}): {} from {} to {}",
        answer.zone.key,
        answer.zone.name,
        answer
            .segments
            .first()
            .map(|s| s.meta().signal.to_string())
            .unwrap_or_default(),
        answer.window.start(),
        answer.window.end()
    );
    let mut t = table();
    t.set_header(vec![
        "start (UTC)",
        "gCO2e/kWh",
        "for",
        "kind",
        "source",
        "age",
    ]);
    for (p, meta) in answer.points() {
        let age = age_secs(p, meta, answer.now)
            .map(human_age)
            .unwrap_or_else(|| "-".into());
        t.add_row(vec![
            p.start.to_string(),
            format!("{:.1}", p.value.0),
            human_duration(p.duration_secs),
            meta.provenance.to_string(),
            meta.source.clone(),
            age,
        ]);
    }
    let _ = writeln!(out, "{t}");
    if !single {
        let n = answer.points().len();
        let coverage = answer.coverage();
        if let Some(mean) = coverage.mean_gco2_per_kwh {
            let _ = writeln!(
                out,
                "{n} values; time-weighted mean {mean:.1} gCO2e/kWh over the {:.1} h of the window they cover",
                coverage.covered_hours
            );
        }
    }
    out
}

/// `kite intensity --format json`: the whole answer with every value's provenance (the view
/// `GET /v1/intensity` returns, less the signal and the mean it adds).
pub fn intensity_json(answer: &IntensityAnswer) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(&IntensityView::new(answer))? + "\n")
}

/// CSV whose first three columns are kite's normalized import format, so output re-imports.
pub fn intensity_csv(answer: &IntensityAnswer) -> String {
    let mut out =
        String::from("timestamp,region,gco2_per_kwh,duration_s,signal,provenance,source\n");
    for (p, meta) in answer.points() {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}",
            p.start,
            answer.zone.key,
            p.value.0,
            p.duration_secs,
            meta.signal,
            meta.provenance.label(),
            csv_field(&meta.source)
        );
    }
    out
}

/// A CSV field, quoted when it holds a comma, a quote or a newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn import_table(summary: &ImportSummary, secs: f64, db: &Path) -> String {
    let mut out = String::new();
    let mut t = table();
    t.set_header(vec!["file", "format", "rows", "series"]);
    for f in &summary.files {
        let series = f
            .series
            .iter()
            .map(|s| format!("{} {} [{}]", s.zone(), s.meta().signal, s.meta().source))
            .collect::<Vec<_>>()
            .join("; ");
        t.add_row(vec![
            f.path.display().to_string(),
            format!("{:?}", f.format),
            f.rows.to_string(),
            series,
        ]);
    }
    let _ = writeln!(out, "{t}");
    for f in &summary.files {
        for n in &f.notes {
            let _ = writeln!(out, "note: {}: {n}", f.path.display());
        }
    }
    let r = &summary.report;
    let _ = writeln!(
        out,
        "imported {} rows into {} in {:.2} s ({:.0} rows/s): {} new, {} updated, {} unchanged",
        summary.rows,
        db.display(),
        secs,
        summary.rows as f64 / secs.max(1e-9),
        r.inserted,
        r.updated,
        r.unchanged
    );
    out
}

#[derive(Serialize)]
struct JsonImport {
    database: String,
    rows: usize,
    seconds: f64,
    inserted: usize,
    updated: usize,
    unchanged: usize,
    files: Vec<JsonImportFile>,
}

#[derive(Serialize)]
struct JsonImportFile {
    path: String,
    format: String,
    rows: usize,
    series: Vec<String>,
    notes: Vec<String>,
}

pub fn import_json(summary: &ImportSummary, secs: f64, db: &Path) -> anyhow::Result<String> {
    let json = JsonImport {
        database: db.display().to_string(),
        rows: summary.rows,
        seconds: secs,
        inserted: summary.report.inserted,
        updated: summary.report.updated,
        unchanged: summary.report.unchanged,
        files: summary
            .files
            .iter()
            .map(|f| JsonImportFile {
                path: f.path.display().to_string(),
                format: format!("{:?}", f.format),
                rows: f.rows,
                series: f
                    .series
                    .iter()
                    .map(|s| format!("{} {} {}", s.zone(), s.meta().signal, s.meta().source))
                    .collect(),
                notes: f.notes.clone(),
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&json)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::human_age;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(human_age(30), "30s");
        assert_eq!(human_age(1500), "25m");
        assert_eq!(human_age(5 * 3600), "5h");
        assert_eq!(human_age(3 * 86_400), "3d");
        assert_eq!(human_age(2 * 31_557_600), "2.0y");
        assert_eq!(super::human_duration(3600), "1h");
        assert_eq!(super::human_duration(1169), "19m29s");
        assert_eq!(super::human_duration(5400), "1h30m");
    }
}
