//! End-to-end tests of `kite report`: a real ledger written with `kite ledger init` and
//! `kite ledger append`, reports in every format from the real binary, and the HTML report
//! rendered by headless Chromium, whose screenshot is decoded to check that the charts are
//! drawn, where they should be and in the proportions of the reported numbers.
//!
//! Chromium is required (Debian package `chromium`; `.ci/run` installs it). Set `CHROMIUM` to
//! use another binary.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::Kite;

/// Hours of the training run: 2026-10-05 and 06, 10 kWh each at 250 + 10·(hour of day) g/kWh.
fn training_hours() -> Vec<(String, f64, f64)> {
    (0..48)
        .map(|h| {
            let hour = format!("2026-10-{:02}T{:02}:00:00Z", 5 + h / 24, h % 24);
            (hour, 10.0, 250.0 + 10.0 * f64::from(h % 24))
        })
        .collect()
}

/// A run of team `ml` on `gpu-node-1`, using half a litre of water per kWh.
fn run(id: &str, project: &str, stage: &str, zone: &str, hours: &[(String, f64, f64)]) -> Value {
    let mut r = kite_test_support::records::run(id, project, stage, zone, hours);
    r["team"] = json!("ml");
    r["water_litres"] = json!(r["facility_kwh"].as_f64().unwrap() * 0.5);
    r["hardware"] = json!([{"id": "gpu-node-1", "share": 1.0}]);
    r
}

/// October 2026: a training run in DE with a wind PPA delivering 8 kWh in its daytime hours, an
/// inference run in FR, a diesel test, an offset, the grid's clean share in DE.
fn october() -> Vec<Value> {
    let training = training_hours();
    let profile: Vec<Value> = training
        .iter()
        .enumerate()
        .filter(|(h, _)| (8..16).contains(&(h % 24)))
        .map(|(_, (hour, _, _))| json!({"hour": hour, "mwh": 0.008}))
        .collect();
    let ppa_mwh = 0.008 * profile.len() as f64;
    let serving: Vec<(String, f64, f64)> = (0..24)
        .map(|h| (format!("2026-10-10T{h:02}:00:00Z"), 2.0, 50.0))
        .collect();
    vec![
        json!({"kind": "hardware", "v": 1, "id": "gpu-node-1", "category": "server",
               "embodied_kg": 2000.0, "lifetime_hours": 35040.0,
               "in_service": "2025-01-01T00:00:00Z", "source": "test inventory"}),
        run("train-1", "llm", "training", "DE", &training),
        run("serve-1", "search", "inference", "FR", &serving),
        json!({"kind": "contract", "v": 1, "id": "ppa-de-wind", "instrument": "ppa",
               "market": "DE", "start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z",
               "mwh": ppa_mwh, "technology": "wind", "retired": true, "hourly": profile}),
        json!({"kind": "contract", "v": 1, "id": "offset-forest", "instrument": "offset",
               "market": "-", "start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z",
               "tonnes_co2e": 1.0, "technology": "forestry"}),
        json!({"kind": "grid_cfe", "v": 1, "zone": "DE", "source": "test share",
               "hours": training.iter().map(|(h, _, _)| json!({"hour": h, "share": 0.25}))
                   .collect::<Vec<_>>()}),
        json!({"kind": "onsite", "v": 1, "id": "diesel-1", "description": "diesel backup test",
               "fuel": "diesel", "quantity": 10.0, "unit": "litre",
               "start": "2026-10-03T10:00:00Z", "end": "2026-10-03T11:00:00Z",
               "factor_kg_per_unit": 2.68, "source": "test factor"}),
    ]
}

/// A ledger made with the real CLI, holding `october()`.
fn ledger(kite: &Kite) -> PathBuf {
    let path = kite.path("ledger.sqlite3");
    let l = path.to_str().unwrap();
    kite.ok(&[
        "ledger",
        "--ledger",
        l,
        "init",
        "--origin",
        "kite.test/report",
    ]);
    let lines: Vec<String> = october().iter().map(Value::to_string).collect();
    support::write(&kite.path("october.jsonl"), &(lines.join("\n") + "\n"));
    kite.ok(&["ledger", "--ledger", l, "append", "october.jsonl"]);
    path
}

fn report(kite: &Kite, ledger: &Path, period: &str, format: &str) -> String {
    kite.ok(&[
        "report",
        "--period",
        period,
        "--format",
        format,
        "--ledger",
        ledger.to_str().unwrap(),
    ])
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn every_format_carries_the_checkpoint_and_the_books() {
    let kite = Kite::new();
    let ledger = ledger(&kite);
    let json: Value = serde_json::from_str(&report(&kite, &ledger, "2026-10", "json")).unwrap();
    let cp = &json["ledger"]["checkpoint"];
    assert_eq!(cp["tree_size"], october().len() as u64, "{cp}");
    assert_eq!(cp["origin"], "kite.test/report");
    assert_eq!(
        json["ledger"]["verification"]["status"], "verified",
        "{json}"
    );
    // The checkpoint the report signed is the ledger's newest: same root as a fresh one.
    let note = kite.ok(&["ledger", "--ledger", ledger.to_str().unwrap(), "checkpoint"]);
    let root = cp["root_hash"].as_str().unwrap();
    assert_eq!(note.lines().nth(2), Some(root), "{note}");
    assert!(
        cp["key_id"]
            .as_str()
            .unwrap()
            .starts_with("kite.test/report+"),
        "{cp}"
    );
    // The books are the statement of the entries: scope 2 location-based is Σ kWh × g/kWh.
    let st = &json["statement"];
    let de: f64 = training_hours().iter().map(|h| h.1 * h.2).sum();
    let fr = 24.0 * 2.0 * 50.0;
    assert!(
        (num(&st["scope2_location"]["total_g"]) - (de + fr)).abs() < 1e-6,
        "{st}"
    );
    assert!(num(&st["scope2_market"]["total_g"]) < de + fr);
    assert!((num(&st["scope1"]["total_g"]) - 26_800.0).abs() < 1e-6);
    assert_eq!(num(&st["offsets"]["retired_g"]), 1e6);
    assert!(st["no_data"].is_null());

    let md = report(&kite, &ledger, "2026-10", "md");
    assert!(md.contains(root) && md.contains("Ledger verified"), "{md}");
    let kg = |g: f64| format!("{:.1}", g / 1000.0);
    assert!(
        md.contains(&format!(
            "| Scope 2 | Purchased electricity | {} |",
            kg(de + fr)
        )),
        "{md}"
    );
    let csv = report(&kite, &ledger, "2026-10", "csv");
    assert!(
        csv.contains(&format!("\nledger,root_hash,,{root},base64,\n")),
        "{csv}"
    );
    assert!(csv.contains("\nledger,verification,,verified,,"), "{csv}");
    assert!(
        csv.contains(&format!("\nscope2_location,total,,{},gCO2e,\n", de + fr)),
        "{csv}"
    );
    // --out picks the format from the extension.
    kite.ok(&[
        "report",
        "--period",
        "2026-10",
        "--ledger",
        ledger.to_str().unwrap(),
        "--out",
        "r.html",
    ]);
    let html = std::fs::read_to_string(kite.path("r.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains(root));
}

#[test]
fn a_period_without_data_says_so_and_reports_no_zero() {
    let kite = Kite::new();
    let ledger = ledger(&kite);
    let md = report(&kite, &ledger, "2026-09", "md");
    assert!(md.contains("No data for 2026-09"), "{md}");
    assert!(
        md.contains("| Scope 2 | Purchased electricity | no data | no data |"),
        "{md}"
    );
    assert!(!md.contains("| 0.00"), "{md}");
    let json: Value = serde_json::from_str(&report(&kite, &ledger, "2026-09", "json")).unwrap();
    assert!(json["statement"]["no_data"].is_string(), "{json}");
    assert!(json["statement"]["totals"].is_null());
    // Still computed from, and naming, the ledger.
    assert_eq!(
        json["ledger"]["checkpoint"]["tree_size"],
        october().len() as u64
    );
}

#[test]
fn a_tampered_ledger_is_reported_as_failing_verification() {
    let kite = Kite::new();
    let ledger = ledger(&kite);
    // Change one byte of an entry in the SQLite file behind the ledger's back.
    let mut bytes = std::fs::read(&ledger).unwrap();
    let at = bytes
        .windows(b"serve-1".len())
        .position(|w| w == b"serve-1")
        .expect("the entry's bytes are in the file");
    bytes[at + 6] = b'9';
    std::fs::write(&ledger, bytes).unwrap();
    let out = kite.run(&[
        "report",
        "--period",
        "2026-10",
        "--ledger",
        ledger.to_str().unwrap(),
        "--out",
        "t.html",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("failed verification") && err.contains("entry 2"),
        "{err}"
    );
    let html = std::fs::read_to_string(kite.path("t.html")).unwrap();
    assert!(html.contains("Ledger verification FAILED"), "{html}");
    assert!(html.contains("entry 2"), "{html}");
}

#[test]
fn a_missing_ledger_or_bad_period_is_named_with_the_fix() {
    let kite = Kite::new();
    let err = kite.fails(&["report", "--period", "2026-10", "--ledger", "nope.sqlite3"]);
    assert!(
        err.contains("--ledger nope.sqlite3") && err.contains("kite ledger init"),
        "{err}"
    );
    let ledger = ledger(&kite);
    let err = kite.fails(&[
        "report",
        "--period",
        "2026-13",
        "--ledger",
        ledger.to_str().unwrap(),
    ]);
    assert!(err.contains("--period") && err.contains("2026-13"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium

/// An RGB screenshot of `html`: width, height, pixels.
struct Shot {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

const WIDTH: usize = 1100;

fn screenshot(kite: &Kite, html: &Path, height: usize) -> Shot {
    let png_path = html.with_extension("png");
    let out = kite_test_support::chromium::headless(&kite.path("chromium-home"))
        .arg(format!("--window-size={WIDTH},{height}"))
        .arg(format!("--screenshot={}", png_path.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success() && png_path.exists(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = std::fs::read(&png_path).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(data))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let rgb = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    Shot {
        width: info.width as usize,
        height: info.height as usize,
        rgb,
    }
}

fn hex(c: &str) -> [u8; 3] {
    let v = u32::from_str_radix(c.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// `colour` at `opacity` over white, as the browser composites it.
fn over_white(c: [u8; 3], opacity: f64) -> [u8; 3] {
    c.map(|x| (f64::from(x) * opacity + 255.0 * (1.0 - opacity)).round() as u8)
}

impl Shot {
    fn is(&self, x: usize, y: usize, c: [u8; 3]) -> bool {
        let p = self.rgb[y * self.width + x];
        (0..3).all(|i| p[i].abs_diff(c[i]) <= 3)
    }

    fn count(&self, c: [u8; 3]) -> usize {
        (0..self.height)
            .flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|&(x, y)| self.is(x, y, c))
            .count()
    }

    /// Top row with the colour.
    fn top(&self, c: [u8; 3]) -> Option<usize> {
        (0..self.height).find(|&y| (0..self.width).any(|x| self.is(x, y, c)))
    }

    /// Runs of adjacent columns whose longest vertical run of the colour exceeds `min` px:
    /// (first column, width, the longest run in them). Runs, not counts, so a legend swatch of
    /// the same colour above a bar does not add to its height.
    fn bars(&self, c: [u8; 3], min: usize) -> Vec<(usize, usize, usize)> {
        let heights: Vec<usize> = (0..self.width)
            .map(|x| {
                let (mut best, mut run) = (0, 0);
                for y in 0..self.height {
                    run = if self.is(x, y, c) { run + 1 } else { 0 };
                    best = best.max(run);
                }
                best
            })
            .collect();
        let mut bars = Vec::new();
        let mut x = 0;
        while x < self.width {
            if heights[x] > min {
                let start = x;
                while x < self.width && heights[x] > min {
                    x += 1;
                }
                let tallest = heights[start..x].iter().copied().max().unwrap_or(0);
                bars.push((start, x - start, tallest));
            } else {
                x += 1;
            }
        }
        bars
    }
}

#[test]
fn the_html_report_renders_in_chromium_with_its_charts() {
    use kite_report::palette;
    let kite = Kite::new();
    let ledger = ledger(&kite);
    let json: Value = serde_json::from_str(&report(&kite, &ledger, "2026-10", "json")).unwrap();
    let st = &json["statement"];
    let (s2l, s2m) = (
        num(&st["scope2_location"]["total_g"]),
        num(&st["scope2_market"]["total_g"]),
    );
    let l = ledger.to_str().unwrap();
    kite.ok(&[
        "report", "--period", "2026-10", "--ledger", l, "--out", "oct.html",
    ]);
    let shot = screenshot(&kite, &kite.path("oct.html"), 4200);
    assert_eq!((shot.width, shot.height), (WIDTH, 4200));

    // The scope chart: two stacks whose scope-2 segments are as tall as the two methods'
    // figures say, side by side (the legend's 10 px swatch is below the threshold).
    let scope2 = hex(palette::SCOPE2);
    let bars = shot.bars(scope2, 12);
    assert_eq!(bars.len(), 2, "two scope-2 segments: {bars:?}");
    let (loc, mkt) = (bars[0], bars[1]);
    assert!(loc.1 > 200 && mkt.1 > 200, "wide bars: {bars:?}");
    assert!(
        mkt.0 > loc.0 + loc.1 + 100,
        "market-based right of location-based: {bars:?}"
    );
    let ratio = loc.2 as f64 / mkt.2 as f64;
    assert!(
        (ratio - s2l / s2m).abs() < 0.04 * (s2l / s2m),
        "pixel heights {} / {} should be {s2l} / {s2m}",
        loc.2,
        mkt.2
    );
    // Scope 1 under both stacks, as tall against scope 2 as the figures say (±2 px).
    let s1 = num(&st["scope1"]["total_g"]);
    let scope1 = shot.bars(hex(palette::SCOPE1), 12);
    assert_eq!(scope1.len(), 2, "{scope1:?}");
    let expected = loc.2 as f64 * s1 / s2l;
    assert!(
        (scope1[0].2 as f64 - expected).abs() <= 2.0,
        "{scope1:?} vs {expected}"
    );
    // Scope 3 (4 kg of 208) is a thin band on each stack.
    assert!(
        shot.count(hex(palette::SCOPE3)) > 1_000,
        "scope 3 segments drawn"
    );

    // The CFE chart below it: the matched clean energy as a translucent area, the load as a
    // black line over the same hours.
    let area = over_white(hex(palette::CLEAN), 0.35);
    assert!(shot.count(area) > 3_000, "the CFE area is drawn");
    assert!(
        shot.count(hex(palette::LOAD)) > 300,
        "the load line is drawn"
    );
    let (scope_top, area_top) = (shot.top(scope2).unwrap(), shot.top(area).unwrap());
    assert!(
        area_top > scope_top + 300,
        "CFE chart below the scope chart"
    );

    // Hourly against annual matching: solid bars of both colours, below the hourly chart.
    let (clean, annual) = (hex(palette::CLEAN), hex(palette::ANNUAL));
    assert_eq!(
        shot.bars(clean, 12).len(),
        2,
        "hourly bars for DE and all zones"
    );
    assert_eq!(
        shot.bars(annual, 12).len(),
        2,
        "annual matching for DE and all zones"
    );
    assert!(
        shot.top(annual).unwrap() > area_top,
        "zone chart below the hourly chart"
    );

    // The verified callout is shown (its green background).
    assert!(shot.count(hex("#dafbe1")) > 5_000);

    // A period without data: no chart at all, and the warning instead.
    kite.ok(&[
        "report", "--period", "2026-09", "--ledger", l, "--out", "sep.html",
    ]);
    let empty = screenshot(&kite, &kite.path("sep.html"), 2000);
    for c in [scope2, area, clean, annual] {
        assert_eq!(empty.count(c), 0, "no chart colour {c:?} without data");
    }
    assert!(
        empty.count(hex("#fff8c5")) > 5_000,
        "the no-data warning is shown"
    );
}
