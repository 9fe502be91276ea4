//! The dashboard against a seeded server: a measured series for DE in the store, jobs submitted
//! through the API and planned/finished ones written to the queue, a signed ledger with two
//! runs. The data endpoints are checked against numbers worked out by hand from the seed, the
//! assets for their types, caching and the absence of external URLs, and each page is rendered
//! by headless Chromium: its DOM must hold the seeded numbers and drawn SVG charts, and a
//! screenshot of each is kept under `target/test-artefacts/dashboard/`.
//!
//! Chromium is required (Debian package `chromium`; `scripts/test.sh` installs it). Set
//! `CHROMIUM` to use another binary.
#![allow(clippy::unwrap_used)]

mod util;

use kite_core::Clock;
use kite_core::{
    IntensitySeries, Provenance, Resolution, Signal, SignalMeta, SignedDuration, Timestamp, ZoneKey,
};
use kite_service::{JobRecord, JobRequest, PlanInfo, State};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// The seed

/// The measured DE value of the hour starting at `t`: 150 + 10 × (hour of day), so a reader can
/// tell every hour of the day apart, plus 0 to 40 by day, so a forecast has errors to learn.
fn de_value(t: Timestamp) -> f64 {
    let hour = t.as_second().rem_euclid(86_400) / 3600;
    let day = t.as_second().div_euclid(86_400);
    150.0 + 10.0 * hour as f64 + (day * 37).rem_euclid(41) as f64
}

fn now() -> Timestamp {
    kite_core::SystemClock.now()
}

fn hour_now() -> Timestamp {
    Resolution::HOUR.floor(now())
}

/// Three weeks of measured hourly DE data up to two hours past now (so the current hour is
/// measured even if the test crosses an hour boundary).
fn seed_store(db: &Path) {
    let end = hour_now() + SignedDuration::from_hours(3);
    let start = end - SignedDuration::from_hours(24 * 21);
    let points: Vec<(Timestamp, f64)> = (0..24 * 21)
        .map(|h| start + SignedDuration::from_hours(h))
        .map(|t| (t, de_value(t)))
        .collect();
    let meta = SignalMeta {
        signal: Signal::AVERAGE_LIFECYCLE,
        source: "test-meter".into(),
        fetched_at: Some(now()),
        provenance: Provenance::Measured,
    };
    let series =
        IntensitySeries::from_regular(ZoneKey::new("DE").unwrap(), meta, Resolution::HOUR, points)
            .unwrap();
    kite_store::Store::open(db)
        .unwrap()
        .upsert(&[series])
        .unwrap();
}

/// First day of the current month (UTC), midnight.
fn month_start() -> Timestamp {
    format!("{}-01T00:00:00Z", now().strftime("%Y-%m"))
        .parse()
        .unwrap()
}

/// A training run record of team `ml`: `hours` × `kwh` each at `intensity(h)`, from `start`.
fn run(
    id: &str,
    project: &str,
    zone: &str,
    start: Timestamp,
    hours: i64,
    kwh: f64,
    intensity: impl Fn(i64) -> f64,
) -> Value {
    let hs: Vec<(String, f64, f64)> = (0..hours)
        .map(|h| {
            let hour = (start + SignedDuration::from_hours(h)).to_string();
            (hour, kwh, intensity(h))
        })
        .collect();
    let mut r = kite_test_support::records::run(id, project, "training", zone, &hs);
    r["team"] = json!("ml");
    r
}

/// A ledger with one signed run (12 h × 2 kWh at 300 + 10·h g/kWh in DE: 8,520 g) and the DE
/// grid's clean share in those hours (40 %), then one run appended after the checkpoint
/// (4 h × 1 kWh at 50 g/kWh in FR: 200 g; no clean share known).
fn seed_ledger(path: &Path) {
    let origin = "kite.test/dashboard";
    let ledger = kite_ledger::Ledger::create(path, origin).unwrap();
    let key = kite_ledger::Signer::generate(origin).unwrap();
    ledger.register_key(key.verifier()).unwrap();
    let m = month_start();
    ledger
        .append(&run("train-1", "llm", "DE", m, 12, 2.0, |h| {
            300.0 + 10.0 * h as f64
        }))
        .unwrap();
    // The grid's clean share in DE during the run: 40 %.
    let shares: Vec<Value> = (0..12)
        .map(|h| json!({"hour": (m + SignedDuration::from_hours(h)).to_string(), "share": 0.4}))
        .collect();
    ledger
        .append(&json!({"kind": "grid_cfe", "v": 1, "zone": "DE", "source": "test share", "hours": shares}))
        .unwrap();
    ledger.checkpoint(&key).unwrap();
    ledger
        .append(&run(
            "serve-1",
            "search",
            "FR",
            m + SignedDuration::from_hours(24),
            4,
            1.0,
            |_| 50.0,
        ))
        .unwrap();
}

/// The books count what the checkpoint covers: the DE run only.
const LEDGER_TOTAL_G: f64 = 8520.0;
/// Hourly CFE: 40 % of DE's 24 kWh matched by the grid's clean share.
const CFE_PCT: f64 = 40.0;

fn job(state: State, start_h: i64, planned_g: f64, run_now_g: f64, ran: bool) -> JobRecord {
    let now = now();
    let start = hour_now() + SignedDuration::from_hours(start_h);
    let end = start + SignedDuration::from_hours(2);
    JobRecord {
        id: kite_service::job::new_id(now),
        submitted_at: now - SignedDuration::from_hours(12),
        request: JobRequest {
            command: vec!["/opt/secret-command".into(), "--password=hunter2".into()],
            duration_secs: 7200,
            deadline: end + SignedDuration::from_hours(6),
            earliest_start: now - SignedDuration::from_hours(12),
            interruptible: false,
            regions: vec!["DE".into()],
            gpus: 1,
            team: Some("ml".into()),
            project: Some("llm".into()),
            power_w: Some(500.0),
        },
        state,
        reason: Some("started `/opt/secret-command`".into()),
        updated_at: now,
        plan: Some(PlanInfo {
            policy: "carbon-aware".into(),
            planned_at: now - SignedDuration::from_hours(12),
            region: "DE".into(),
            start,
            end,
            pieces: vec![[start, end]],
            energy_kwh: 1.0,
            emissions_g: planned_g,
            run_now_emissions_g: Some(run_now_g),
            saved_percent: Some(100.0 * (run_now_g - planned_g) / run_now_g),
            why: "lowest mean intensity before the deadline".into(),
        }),
        executor: "local".into(),
        handle: None,
        attempt: u32::from(ran),
        started_at: ran.then_some(start),
        finished_at: ran.then_some(end),
        exit_code: ran.then_some(0),
    }
}

/// Saved by the two planned jobs below: (2000 − 1200) + (800 − 500).
const SAVED_G: f64 = 1100.0;

async fn seeded() -> util::Server {
    let s = util::start_with_ledger(Default::default(), seed_store, Some(seed_ledger)).await;
    let queue = &s.state.jobs.control.queue;
    queue
        .insert(&job(State::Planned, 3, 1200.0, 2000.0, false))
        .unwrap();
    queue
        .insert(&job(State::Succeeded, -10, 500.0, 800.0, true))
        .unwrap();
    let client = reqwest::Client::new();
    for i in 0..2 {
        let r = client
            .post(format!("{}/v1/jobs", s.url))
            .bearer_auth(&s.token)
            .json(&json!({"command": ["/opt/secret-command", format!("--run={i}")],
                          "duration": "1h", "deadline": "now+20h", "regions": ["DE"], "project": "etl"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    s
}

async fn get_json(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

// ---------------------------------------------------------------------------------------------
// Data endpoints

#[tokio::test]
async fn the_grid_summary_carries_the_seeded_value_with_its_provenance() {
    let s = seeded().await;
    let (status, grid) = get_json(&format!("{}/dashboard/data/grid", s.url)).await;
    assert_eq!(status, 200, "{grid}");
    let hour: Timestamp = grid["hour"].as_str().unwrap().parse().unwrap();
    let zones = grid["zones"].as_array().unwrap();
    assert_eq!(zones.len(), kite_regions::Registry::embedded().len());
    let de = zones.iter().find(|z| z["key"] == "DE").unwrap();
    assert!(
        close(de["gco2_per_kwh"].as_f64().unwrap(), de_value(hour)),
        "{de}"
    );
    assert_eq!(de["provenance"], "measured");
    assert_eq!(de["source"], "test-meter");
    assert!(de["lat"].as_f64().unwrap() > 45.0 && de["lon"].as_f64().unwrap() > 5.0);
    // A zone without stored data comes from the embedded data, labelled estimated.
    let is = zones.iter().find(|z| z["key"] == "IS").unwrap();
    assert_eq!(is["provenance"], "estimated", "{is}");
    assert!(is["method"].as_str().unwrap().len() > 5);
    assert_eq!(grid["counts"]["measured"], 1);
    // Every zone has map coordinates.
    assert!(
        zones
            .iter()
            .all(|z| z["lat"].is_number() && z["lon"].is_number())
    );
}

#[tokio::test]
async fn a_zone_chart_has_the_measured_history_and_a_forecast_band() {
    let s = seeded().await;
    let (status, z) = get_json(&format!("{}/dashboard/data/zone/DE", s.url)).await;
    assert_eq!(status, 200, "{z}");
    let measured: Vec<(Timestamp, f64)> = z["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["provenance"] == "measured")
        .flat_map(|s| s["points"].as_array().unwrap().clone())
        .map(|p| {
            (
                p[0].as_str().unwrap().parse().unwrap(),
                p[1].as_f64().unwrap(),
            )
        })
        .collect();
    // 48 h back to the seed's end, 2 h past the current hour: at least 50 hourly points.
    assert!(measured.len() >= 50, "{}", measured.len());
    for (t, v) in &measured {
        assert!(close(*v, de_value(*t)), "{t}: {v}");
    }
    let f = &z["forecast"];
    assert_eq!(f["available"], true, "{f}");
    assert!(f["history"].as_str().unwrap().contains("test-meter"));
    let points = f["points"].as_array().unwrap();
    assert!(!points.is_empty());
    for p in points {
        let (v, lo, hi) = (
            p[1].as_f64().unwrap(),
            p[2].as_f64().unwrap(),
            p[3].as_f64().unwrap(),
        );
        assert!(lo <= v + 1e-9 && v <= hi + 1e-9, "{p}");
    }

    let (status, p) = get_json(&format!("{}/dashboard/data/zone/NOPE-LAND", s.url)).await;
    assert_eq!(status, 404);
    assert_eq!(p["field"], "zone");
    assert_eq!(p["value"], "NOPE-LAND");
}

#[tokio::test]
async fn the_jobs_timeline_totals_the_saving_and_never_shows_a_command() {
    let s = seeded().await;
    let r = reqwest::get(format!("{}/dashboard/data/jobs", s.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("secret-command") && !text.contains("hunter2"),
        "{text}"
    );
    let d: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(d["jobs"].as_array().unwrap().len(), 4);
    assert_eq!(d["by_state"]["pending"], 2);
    assert_eq!(d["by_state"]["planned"], 1);
    assert_eq!(d["by_state"]["succeeded"], 1);
    assert!(close(d["totals"]["saved_g"].as_f64().unwrap(), SAVED_G));
    assert!(close(d["totals"]["planned_g"].as_f64().unwrap(), 1700.0));
    assert!(close(
        d["totals"]["saved_percent"].as_f64().unwrap(),
        100.0 * SAVED_G / 2800.0
    ));
    let curve = &d["curves"][0];
    assert_eq!(curve["zone"], "DE");
    let window_start: Timestamp = d["window"]["start"].as_str().unwrap().parse().unwrap();
    assert!(window_start <= hour_now() - SignedDuration::from_hours(10));
    let measured = curve["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["provenance"] == "measured")
        .unwrap();
    for p in measured["points"].as_array().unwrap() {
        let t: Timestamp = p[0].as_str().unwrap().parse().unwrap();
        assert!(close(p[1].as_f64().unwrap(), de_value(t)));
    }
}

#[tokio::test]
async fn the_books_are_the_ledgers_statement_with_its_checkpoint() {
    let s = seeded().await;
    let (status, b) = get_json(&format!("{}/dashboard/data/books", s.url)).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["configured"], true);
    assert_eq!(b["ledger"]["size"], 3);
    assert_eq!(b["ledger"]["checkpoint"]["size"], 2);
    assert_eq!(b["ledger"]["unsigned_entries"], 1);
    assert_eq!(b["ledger"]["verification"]["ok"], true, "{b}");
    let st = &b["statement"];
    assert!(
        close(
            st["scope2_location"]["total_g"].as_f64().unwrap(),
            LEDGER_TOTAL_G
        ),
        "{st}"
    );
    assert!(close(
        st["totals"]["location_based_g"].as_f64().unwrap(),
        LEDGER_TOTAL_G
    ));
    let all_runs = st["sci"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["project"].is_null())
        .unwrap();
    assert!(
        close(all_runs["sci_g_per_unit"].as_f64().unwrap(), LEDGER_TOTAL_G),
        "{all_runs}"
    );
    assert!(
        st["caveats"]
            .to_string()
            .contains("1 entr(ies) appended after the newest checkpoint (size 2) are not counted"),
        "{st}"
    );

    // Another period has no activity; a bad one is named with the fix.
    let (status, b) = get_json(&format!("{}/dashboard/data/books?period=2001-01", s.url)).await;
    assert_eq!(status, 200);
    assert!(b["statement"]["no_data"].is_string(), "{b}");
    let (status, p) = get_json(&format!("{}/dashboard/data/books?period=2026-13", s.url)).await;
    assert_eq!(status, 422);
    assert_eq!(p["field"], "period");
    assert!(p["fix"].as_str().unwrap().contains("2026-10"));

    // Without a ledger, the page data says how to make one.
    let bare = util::start().await;
    let (_, b) = get_json(&format!("{}/dashboard/data/books", bare.url)).await;
    assert_eq!(b["configured"], false);
    assert!(b["help"].as_str().unwrap().contains("kite ledger init"));
}

// ---------------------------------------------------------------------------------------------
// Pages and assets

fn asset_urls(html: &str) -> Vec<String> {
    html.match_indices("/dashboard/assets/")
        .map(|(i, _)| {
            let rest = &html[i..];
            let end = rest.find('"').unwrap();
            rest[..end].to_owned()
        })
        .collect()
}

/// Every `http://` or `https://` in `text` other than the SVG namespace.
fn external_urls(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        for (i, _) in text.match_indices(scheme) {
            let url: String = text[i..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !"\"'`)<>".contains(*c))
                .collect();
            if url != "http://www.w3.org/2000/svg" {
                found.push(url);
            }
        }
    }
    found
}

#[tokio::test]
async fn pages_and_assets_are_embedded_typed_cached_and_self_contained() {
    let s = util::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(format!("{}/", s.url)).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/dashboard/");

    let mut assets = Vec::new();
    for page in ["/dashboard/", "/dashboard/jobs", "/dashboard/books"] {
        let r = client.get(format!("{}{page}", s.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{page}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        let html = r.text().await.unwrap();
        assert_eq!(external_urls(&html), Vec::<String>::new(), "{page}");
        let urls = asset_urls(&html);
        assert!(urls.len() >= 4, "{page}: {urls:?}");
        assets.extend(urls);
    }
    assets.sort();
    assets.dedup();
    let mut kinds = Vec::new();
    for a in &assets {
        let r = client.get(format!("{}{a}", s.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{a}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = match a.rsplit('.').next().unwrap() {
            "css" => "text/css",
            "js" => "text/javascript",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type {other}"),
        };
        assert!(ct.starts_with(expected), "{a}: {ct}");
        let cc = r.headers()["cache-control"].to_str().unwrap().to_owned();
        assert!(
            cc.contains("max-age=31536000") && cc.contains("immutable"),
            "{a}: {cc}"
        );
        // The name carries a hash of the content: stem.HASH.ext.
        let name = a.rsplit('/').next().unwrap();
        assert_eq!(name.split('.').count(), 3, "{name}");
        let body = r.text().await.unwrap();
        assert_eq!(external_urls(&body), Vec::<String>::new(), "{a}");
        kinds.push(expected);
    }
    for k in ["text/css", "text/javascript", "image/svg+xml"] {
        assert!(kinds.contains(&k), "{k} in {assets:?}");
    }
    let r = client
        .get(format!("{}/dashboard/assets/grid.js", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["field"], "name");
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium

fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("test-artefacts").join("dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs Chromium headless on `url` with `args`, off the test's runtime.
async fn chromium_run(home: &Path, url: String, args: Vec<String>) -> std::process::Output {
    let home = home.to_path_buf();
    tokio::task::spawn_blocking(move || {
        kite_test_support::chromium::headless(&home)
            .arg("--virtual-time-budget=8000")
            .args(args)
            .arg(url)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

async fn dom(s: &util::Server, path: &str) -> String {
    let out = chromium_run(
        s.dir.path(),
        format!("{}{path}", s.url),
        vec!["--dump-dom".into()],
    )
    .await;
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn screenshot(s: &util::Server, path: &str, name: &str, height: u32) -> PathBuf {
    let file = artefacts().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&file);
    let mut args = vec![
        format!("--window-size=1280,{height}"),
        format!("--screenshot={}", file.display()),
    ];
    if name.ends_with("-dark") {
        // prefers-color-scheme: dark
        args.push("--force-dark-mode".into());
    }
    let out = chromium_run(s.dir.path(), format!("{}{path}", s.url), args).await;
    assert!(
        out.status.success() && file.exists(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&file).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // IHDR: width and height, big-endian, at bytes 16..24.
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((w, h), (1280, height));
    file
}

/// The value of the first `attr` on the element whose `id` is `id` or inside its start (a
/// card's value sits in its second child).
fn attr_of(html: &str, id: &str, attr: &str) -> Option<String> {
    let i = html.find(&format!("id=\"{id}\""))?;
    let scope = &html[i..(i + 1500).min(html.len())];
    let key = format!("{attr}=\"");
    let j = scope.find(&key)? + key.len();
    Some(scope[j..j + scope[j..].find('"')?].to_owned())
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

#[tokio::test]
async fn the_pages_render_in_chromium_with_the_seeded_numbers_and_charts() {
    let s = seeded().await;
    let hour = hour_now();

    // Grid: the DE row and the zone panel show the measured value; the map has a dot per zone
    // with a value; the zone chart has its measured line and the forecast band.
    let html = dom(&s, "/dashboard/#zone=DE").await;
    let (_, grid) = get_json(&format!("{}/dashboard/data/grid", s.url)).await;
    let grid_hour: Timestamp = grid["hour"].as_str().unwrap().parse().unwrap();
    assert!((grid_hour.as_second() - hour.as_second()).abs() <= 3600);
    let expected = de_value(grid_hour);
    let row = &html[html.find("<tr data-zone=\"DE\"").expect("a DE row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains(&format!("data-g=\"{expected}\"")), "{row}");
    assert!(
        row.contains(&format!("{}</span>", expected.round())),
        "{row}"
    );
    assert!(
        row.contains("measured") && row.contains("test-meter"),
        "{row}"
    );
    assert_eq!(
        attr_of(&html, "zone-value", "data-g"),
        Some(expected.to_string())
    );
    assert!(html.contains("DE · Germany"));
    let with_value = grid["zones"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|z| z["gco2_per_kwh"].is_number())
        .count();
    let map = &html[html.find("id=\"map\"").unwrap()..];
    let map = &map[..map.find("</figure>").unwrap()];
    assert_eq!(count(map, "<circle class=\"zone "), with_value);
    assert_eq!(count(map, "<circle class=\"zone measured"), 1);
    assert!(
        html.contains("class=\"line-measured series\" d=\"M"),
        "measured line drawn"
    );
    assert!(html.contains("class=\"band\" d=\"M"), "forecast band drawn");
    assert!(
        html.contains("class=\"line-kite series\" d=\"M"),
        "forecast line drawn"
    );
    assert!(
        regex_like_updated(&html),
        "the live indicator says when it updated"
    );
    screenshot(&s, "/dashboard/#zone=DE", "grid", 2000).await;

    // Jobs: four rows, the saving card, plan and run bars, no command anywhere.
    let html = dom(&s, "/dashboard/jobs").await;
    assert_eq!(count(&html, "<tr data-job="), 4);
    assert_eq!(
        attr_of(&html, "card-saved", "data-value"),
        Some(SAVED_G.to_string())
    );
    assert!(html.contains("1.10 kg"), "the saving, formatted");
    let timeline = &html[html.find("id=\"timeline\"").unwrap()..];
    let timeline = &timeline[..timeline.find("</figure>").unwrap()];
    assert_eq!(count(timeline, "class=\"plan-bar\""), 2);
    assert_eq!(count(timeline, "class=\"run-bar\""), 1);
    assert!(html.contains("class=\"line-measured series\" d=\"M"));
    assert!(!html.contains("secret-command") && !html.contains("hunter2"));
    screenshot(&s, "/dashboard/jobs", "jobs", 1100).await;
    screenshot(&s, "/dashboard/jobs", "jobs-dark", 1100).await;

    // Books: totals, ledger size and checkpoint, verification, scope bars.
    let html = dom(&s, "/dashboard/books").await;
    assert_eq!(
        attr_of(&html, "card-total-location", "data-value"),
        Some(LEDGER_TOTAL_G.to_string())
    );
    assert!(html.contains("8.52 kg"));
    assert_eq!(attr_of(&html, "ledger-size", "data-n"), Some("3".into()));
    assert_eq!(
        attr_of(&html, "ledger-checkpoint", "data-n"),
        Some("2".into())
    );
    assert_eq!(
        attr_of(&html, "card-cfe", "data-value"),
        Some(CFE_PCT.to_string())
    );
    assert!(html.contains("40.0 %"), "hourly CFE, formatted");
    assert!(html.contains(">verified<"));
    assert!(count(&html, "scope-bar") >= 2, "scope bars drawn");
    assert!(html.contains("appended after the newest checkpoint"));
    screenshot(&s, "/dashboard/books", "books", 1300).await;

    // Books without a ledger.
    let bare = util::start().await;
    let html = dom(&bare, "/dashboard/books").await;
    assert!(html.contains("No ledger configured") && html.contains("kite ledger init"));
    screenshot(&bare, "/dashboard/books", "books-no-ledger", 700).await;
}

/// With private reads the pages load (they hold no data), their data needs the token, and the
/// page asks for it instead of showing numbers.
#[tokio::test]
async fn with_private_reads_the_page_asks_for_the_token_and_its_data_needs_it() {
    let config = kite_api::limits::ApiConfig {
        private_reads: true,
        ..Default::default()
    };
    let s = util::start_with(config, seed_store).await;
    let c = reqwest::Client::new();
    let page = c.get(format!("{}/dashboard/", s.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let data = format!("{}/dashboard/data/grid", s.url);
    assert_eq!(c.get(&data).send().await.unwrap().status(), 401);
    let with = c.get(&data).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(with.status(), 200);
    let html = dom(&s, "/dashboard/").await;
    assert!(html.contains("id=\"token-form\""), "no token form: {html}");
    assert!(html.contains("needs its API token"));
    assert_eq!(
        count(&html, "<circle class=\"zone "),
        0,
        "no data without the token"
    );
}

fn regex_like_updated(html: &str) -> bool {
    let Some(i) = html.find("id=\"updated\">") else {
        return false;
    };
    let text = &html[i + 13..];
    let text = &text[..text.find('<').unwrap_or(0)];
    text.starts_with("updated ") && text.ends_with(" ago") && text.contains(" s ")
}
