//! kite's own /v1 read API against a real server on 127.0.0.1: every number checked against the
//! seeded data worked out by hand (`seed`), every bad input answered with a problem naming the
//! parameter, the value and the fix.
#![allow(clippy::unwrap_used)]

mod seed;
mod util;

use kite_api::limits::ApiConfig;
use kite_core::{SignedDuration, Timestamp};
use serde_json::{Value, json};

async fn seeded() -> (util::Server, Timestamp) {
    let hour = seed::hour();
    let s = util::start_with_ledger(
        ApiConfig::default(),
        |db| seed::store(db, hour),
        Some(seed::ledger),
    )
    .await;
    (s, hour)
}

async fn get(s: &util::Server, path: &str) -> (u16, String, Value) {
    let r = reqwest::get(format!("{}{path}", s.url)).await.unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.text().await.unwrap();
    let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, ctype, json)
}

async fn post(s: &util::Server, path: &str, body: &Value) -> (u16, String, Value) {
    // POST is a write to kite serve's limits: it carries the token.
    let r = reqwest::Client::new()
        .post(format!("{}{path}", s.url))
        .bearer_auth(&s.token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ctype, r.json().await.unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

/// Asserts a problem: status, content type, the field named, and a fix.
#[track_caller]
fn problem(got: &(u16, String, Value), status: u16, field: &str) {
    let (st, ctype, body) = got;
    assert_eq!(*st, status, "{body}");
    assert_eq!(ctype, "application/problem+json", "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["field"], field, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert!(
        body["fix"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

/// RFC 8785 bytes: the ledger stores `5.0` as `5`.
fn canonical(v: &Value) -> Vec<u8> {
    kite_ledger::canonicalize(v).unwrap()
}

fn ts(v: &Value) -> Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn regions_resolve_aliases_and_filter_by_cloud() {
    let s = util::start().await;
    let (st, _, de) = get(&s, "/v1/regions/aws:eu-central-1").await;
    assert_eq!(st, 200, "{de}");
    assert_eq!(de["zone"], "DE");
    assert!(
        de["cloud_regions"]
            .as_array()
            .unwrap()
            .contains(&json!("aws:eu-central-1"))
    );
    let annual = &de["annual"][0];
    assert!(annual["gco2_per_kwh"].as_f64().unwrap() > 0.0);
    assert!(annual["source"].as_str().is_some_and(|s| !s.is_empty()));

    let (st, _, list) = get(&s, "/v1/regions?cloud=azure").await;
    assert_eq!(st, 200);
    let regions = list["regions"].as_array().unwrap();
    assert_eq!(list["count"], regions.len());
    assert!(!regions.is_empty());
    for r in regions {
        let clouds = r["cloud_regions"].as_array().unwrap();
        assert!(!clouds.is_empty(), "{r}");
        assert!(
            clouds
                .iter()
                .all(|c| c.as_str().unwrap().starts_with("azure:")),
            "{r}"
        );
    }
    let (_, _, all) = get(&s, "/v1/regions").await;
    assert!(all["count"].as_u64().unwrap() > list["count"].as_u64().unwrap());

    problem(&get(&s, "/v1/regions/Atlantis").await, 404, "region");
    problem(&get(&s, "/v1/regions?cloud=ibm").await, 400, "cloud");
}

#[tokio::test]
async fn intensity_values_carry_their_provenance_and_mean() {
    let (s, hour) = seeded().await;
    let from = hour - SignedDuration::from_hours(10);
    let to = hour - SignedDuration::from_hours(7);
    let (st, _, body) = get(&s, &format!("/v1/intensity?region=DE&from={from}&to={to}")).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["zone"], "DE");
    assert_eq!(body["unit"], "gCO2e/kWh");
    assert_eq!(body["signal"], "average-lifecycle");
    let points = body["points"].as_array().unwrap();
    assert_eq!(points.len(), 3, "{body}");
    let generated = ts(&body["generated_at"]);
    let mut sum = 0.0;
    for (i, p) in points.iter().enumerate() {
        let start = from + SignedDuration::from_hours(i as i64);
        let end = start + SignedDuration::from_hours(1);
        assert_eq!(ts(&p["start"]), start);
        assert_eq!(ts(&p["end"]), end);
        let want = seed::measured(start);
        assert!(
            close(p["gco2_per_kwh"].as_f64().unwrap(), want),
            "{p} vs {want}"
        );
        sum += want;
        assert_eq!(p["provenance"], "measured");
        assert_eq!(p["source"], "test-meter");
        assert_eq!(p["signal"], "average-lifecycle");
        assert_eq!(
            p["age_seconds"].as_i64().unwrap(),
            generated.as_second() - end.as_second()
        );
    }
    assert!(close(
        body["mean_gco2_per_kwh"].as_f64().unwrap(),
        sum / 3.0
    ));
    assert!(close(body["covered_hours"].as_f64().unwrap(), 3.0));
    assert_eq!(body["gaps"], json!([]));

    // One value: the stored forecast's clean hour, labelled as a forecast with its model.
    let at =
        hour + SignedDuration::from_hours(seed::CLEAN_HOURS[0]) + SignedDuration::from_mins(30);
    let (st, _, one) = get(&s, &format!("/v1/intensity?region=DE&at={at}")).await;
    assert_eq!(st, 200, "{one}");
    let p = &one["points"][0];
    assert!(close(p["gco2_per_kwh"].as_f64().unwrap(), seed::CLEAN));
    assert_eq!(p["provenance"], "forecast");
    assert_eq!(p["forecast_model"], "test-model");
    assert_eq!(ts(&p["forecast_issued_at"]), hour);
}

#[tokio::test]
async fn intensity_refuses_bad_parameters_by_name() {
    let (s, _) = seeded().await;
    problem(&get(&s, "/v1/intensity").await, 400, "region");
    problem(
        &get(&s, "/v1/intensity?region=Atlantis").await,
        400,
        "region",
    );
    problem(
        &get(&s, "/v1/intensity?region=DE&from=yesterdayish&to=now").await,
        400,
        "from",
    );
    problem(
        &get(&s, "/v1/intensity?region=DE&from=now-2h").await,
        400,
        "to",
    );
    problem(
        &get(&s, "/v1/intensity?region=DE&signal=purple").await,
        400,
        "signal",
    );
    problem(
        &get(&s, "/v1/intensity?region=DE&colour=red").await,
        400,
        "colour",
    );
    problem(
        &get(&s, "/v1/intensity?region=DE&region=FR").await,
        400,
        "region",
    );
    let (_, _, body) = get(&s, "/v1/intensity?region=DE&from=yesterdayish&to=now").await;
    assert_eq!(body["value"], "yesterdayish");
}

#[tokio::test]
async fn forecast_repeats_last_week_with_ordered_intervals() {
    let (s, hour) = seeded().await;
    let (st, _, body) = get(
        &s,
        "/v1/forecast?region=DE&hours=24&model=seasonal-naive&history=store",
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["zone"], "DE");
    assert_eq!(body["offline_history"], false);
    assert!(
        body["history"].as_str().unwrap().contains("test-meter"),
        "{body}"
    );
    let f = &body["forecast"];
    // The measured history ends at the current hour: the forecast is issued there.
    assert_eq!(ts(&f["issue_at"]), hour);
    assert_eq!(ts(&f["start"]), hour);
    let point = f["point"].as_array().unwrap();
    assert_eq!(point.len(), 24);
    for (i, v) in point.iter().enumerate() {
        // Seasonal naive: the same hour one week earlier, which the weekly pattern repeats.
        let want = seed::measured(hour + SignedDuration::from_hours(i as i64 - 168));
        assert!(close(v.as_f64().unwrap(), want), "hour {i}: {v} vs {want}");
        let (p10, p50, p90) = (
            f["p10"][i].as_f64().unwrap(),
            f["p50"][i].as_f64().unwrap(),
            f["p90"][i].as_f64().unwrap(),
        );
        assert!(p10 <= p50 && p50 <= p90, "hour {i}: {p10} {p50} {p90}");
    }
    assert!(f["intervals"].as_str().is_some_and(|s| !s.is_empty()));

    problem(
        &get(&s, "/v1/forecast?region=DE&hours=0").await,
        400,
        "hours",
    );
    problem(
        &get(&s, "/v1/forecast?region=DE&hours=500").await,
        400,
        "hours",
    );
    problem(
        &get(&s, "/v1/forecast?region=DE&model=oracle").await,
        400,
        "model",
    );
    problem(
        &get(&s, "/v1/forecast?region=DE&history=cloud").await,
        400,
        "history",
    );
}

#[tokio::test]
async fn plan_picks_the_clean_window_and_prints_what_kite_plan_prints() {
    let (s, hour) = seeded().await;
    let deadline = hour + SignedDuration::from_hours(12);
    let req = json!({"jobs": [{"id": "train", "duration": "2h", "deadline": deadline.to_string(),
                               "regions": ["DE"], "power_w": 1000.0}]});
    let (st, _, plan) = post(&s, "/v1/plan", &req).await;
    assert_eq!(st, 200, "{plan}");
    assert_eq!(plan["policy"], "best-window");
    let job = &plan["jobs"][0];
    assert_eq!(job["id"], "train");
    assert_eq!(job["region"], "DE");
    // Candidate starts step by the hour from now: the first wholly clean 2 h window starts
    // within the first clean hour.
    let clean_start = hour + SignedDuration::from_hours(seed::CLEAN_HOURS[0]);
    let start = ts(&job["start"]);
    assert!(
        start >= clean_start && start <= clean_start + SignedDuration::from_hours(1),
        "{plan}"
    );
    assert_eq!(ts(&job["end"]), start + SignedDuration::from_hours(2));
    // 1 kW × 2 h = 2 kWh; at 50 g/kWh in the clean hours, at 300 running now.
    assert!(close(job["energy_kwh"].as_f64().unwrap(), 2.0));
    assert!(close(
        job["emissions_g"].as_f64().unwrap(),
        2.0 * seed::CLEAN
    ));
    assert!(close(
        job["run_now_emissions_g"].as_f64().unwrap(),
        2.0 * seed::DIRTY
    ));
    let saved = (seed::DIRTY - seed::CLEAN) / seed::DIRTY * 100.0;
    assert!(close(job["saved_percent"].as_f64().unwrap(), saved));
    let now = ts(&plan["now"]);
    assert!(close(
        job["delay_minutes"].as_f64().unwrap(),
        (start.as_second() - now.as_second()) as f64 / 60.0
    ));
    assert_eq!(plan["total"]["planned"], 1);
    assert_eq!(plan["total"]["unplaced"], 0);
    assert!(
        plan["signals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["source"] == "test-forecast" && s["zone"] == "DE"),
        "{plan}"
    );

    // The same jobs with ASAP: starts now, emits the dirty rate.
    let mut asap = req.clone();
    asap["policy"] = json!("asap");
    let (st, _, plan) = post(&s, "/v1/plan", &asap).await;
    assert_eq!(st, 200, "{plan}");
    assert!(close(
        plan["total"]["emissions_g"].as_f64().unwrap(),
        2.0 * seed::DIRTY
    ));

    let mut bad = req.clone();
    bad["policy"] = json!("fastest");
    problem(&post(&s, "/v1/plan", &bad).await, 422, "policy");
    let mut bad = req.clone();
    bad["jobs"][0]["deadline"] = json!("whenever");
    let got = post(&s, "/v1/plan", &bad).await;
    assert_eq!(got.0, 422, "{}", got.2);
    assert_eq!(got.2["field"], "jobs.deadline");
    problem(
        &post(&s, "/v1/plan", &json!({"jobs": []})).await,
        422,
        "jobs",
    );
    let got = post(
        &s,
        "/v1/plan",
        &json!({"jobs": [{"id": "x", "durration": "2h"}]}),
    )
    .await;
    assert_eq!(got.0, 400, "{}", got.2);
    assert_eq!(got.2["field"], "jobs[0].durration", "{}", got.2);
}

#[tokio::test]
async fn ledger_checkpoint_entries_and_proofs_verify() {
    let (s, _) = seeded().await;
    let path = s.dir.path().join("ledger.sqlite3");
    let ledger = kite_ledger::Ledger::open(&path).unwrap();
    let root2 = ledger.root_at(2).unwrap();

    let (st, _, cp) = get(&s, "/v1/ledger/checkpoint").await;
    assert_eq!(st, 200, "{cp}");
    assert_eq!(cp["origin"], seed::ORIGIN);
    assert_eq!(cp["tree_size"], 2);
    assert_eq!(cp["ledger_size"], 3);
    assert_eq!(cp["unsigned_entries"], 1);
    assert_eq!(cp["root_hash"], kite_ledger::hex(&root2));
    // The note is the signed text: its parsed root is the one reported.
    let note = kite_ledger::SignedCheckpoint::parse(cp["note"].as_str().unwrap()).unwrap();
    assert_eq!(note.checkpoint.size, 2);
    assert_eq!(note.checkpoint.root, root2);

    let entries = seed::entries();
    let (st, _, page) = get(&s, "/v1/ledger/entries?from=1&limit=1").await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["size"], 3);
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert_eq!(page["entries"][0]["index"], 1);
    assert_eq!(
        canonical(&page["entries"][0]["entry"]),
        canonical(&entries[1])
    );
    assert_eq!(page["next_from"], 2);
    let (_, _, last) = get(&s, "/v1/ledger/entries?from=2&limit=5").await;
    assert_eq!(
        canonical(&last["entries"][0]["entry"]),
        canonical(&entries[2])
    );
    assert_eq!(last["next_from"], Value::Null);

    // Inclusion of entry 1 in the signed tree (the default size), checked against its root.
    let (st, _, proof) = get(&s, "/v1/ledger/proof/inclusion?entry=1").await;
    assert_eq!(st, 200, "{proof}");
    assert_eq!(proof["tree_size"], 2);
    assert_eq!(proof["checkpoint"], cp["note"]);
    let path_hashes: Vec<kite_ledger::Hash> = proof["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| kite_ledger::parse_hex(h.as_str().unwrap()).unwrap())
        .collect();
    let bytes = kite_ledger::canonicalize(&entries[1]).unwrap();
    kite_ledger::merkle::verify_inclusion(&bytes, 1, 2, &path_hashes, &note.checkpoint.root)
        .unwrap();

    // Consistency of the signed tree with the current one.
    let (st, _, cons) = get(&s, "/v1/ledger/proof/consistency?old=2&new=3").await;
    assert_eq!(st, 200, "{cons}");
    let hashes: Vec<kite_ledger::Hash> = cons["consistency_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| kite_ledger::parse_hex(h.as_str().unwrap()).unwrap())
        .collect();
    let root3 = ledger.root_at(3).unwrap();
    assert_eq!(cons["new_root_hash"], kite_ledger::hex(&root3));
    kite_ledger::merkle::verify_consistency(2, &root2, 3, &root3, &hashes).unwrap();

    problem(&get(&s, "/v1/ledger/entries?limit=0").await, 400, "limit");
    problem(&get(&s, "/v1/ledger/entries?from=minus").await, 400, "from");
    problem(&get(&s, "/v1/ledger/proof/inclusion").await, 400, "entry");
    problem(
        &get(&s, "/v1/ledger/proof/inclusion?entry=7").await,
        400,
        "entry",
    );
    problem(
        &get(&s, "/v1/ledger/proof/inclusion?entry=0&size=9").await,
        400,
        "size",
    );
    problem(
        &get(&s, "/v1/ledger/proof/consistency?old=3&new=2").await,
        400,
        "old",
    );
}

#[tokio::test]
async fn report_counts_only_the_signed_entries() {
    let (s, _) = seeded().await;
    let (st, ctype, rep) = get(&s, "/v1/report?period=2026-10").await;
    assert_eq!(st, 200, "{rep}");
    assert_eq!(ctype, "application/json");
    let stmt = &rep["statement"];
    // Runs a and b: 10×400 + 10×200 + 5×60 g over 25 kWh; c is after the checkpoint.
    assert!(close(
        stmt["scope2_location"]["total_g"].as_f64().unwrap(),
        6300.0
    ));
    assert!(close(
        stmt["energy"]["facility_kwh"].as_f64().unwrap(),
        25.0
    ));
    assert_eq!(rep["ledger"]["checkpoint"]["tree_size"], 2);
    assert_eq!(rep["ledger"]["verification"]["status"], "verified");
    assert!(
        stmt["caveats"].as_array().unwrap().iter().any(|c| c
            .as_str()
            .unwrap()
            .starts_with("1 entr(ies) appended after")),
        "{stmt}"
    );

    let (_, _, llm) = get(&s, "/v1/report?period=2026-10&project=llm").await;
    assert!(close(
        llm["statement"]["scope2_location"]["total_g"]
            .as_f64()
            .unwrap(),
        6000.0
    ));
    let (st, ctype, md) = get(&s, "/v1/report?period=2026-10&format=md").await;
    assert_eq!(st, 200);
    assert!(ctype.starts_with("text/markdown"));
    assert!(md.as_str().unwrap().contains('|'));
    let (st, ctype, _) = get(&s, "/v1/report?period=2026-10&format=html").await;
    assert_eq!(st, 200);
    assert!(ctype.starts_with("text/html"));

    problem(&get(&s, "/v1/report").await, 400, "period");
    problem(&get(&s, "/v1/report?period=2026-13").await, 400, "period");
    problem(
        &get(&s, "/v1/report?period=2026-10&format=pdf").await,
        400,
        "format",
    );
}

#[tokio::test]
async fn without_a_ledger_the_books_say_how_to_configure_one() {
    let s = util::start().await;
    for path in [
        "/v1/ledger/checkpoint",
        "/v1/ledger/entries",
        "/v1/ledger/proof/inclusion?entry=0",
        "/v1/ledger/proof/consistency?old=0",
        "/v1/report?period=2026-10",
    ] {
        let (st, ctype, body) = get(&s, path).await;
        assert_eq!(st, 404, "{path}: {body}");
        assert_eq!(ctype, "application/problem+json");
        let fix = body["fix"].as_str().unwrap();
        assert!(
            fix.contains("kite ledger init") && fix.contains("--ledger"),
            "{fix}"
        );
    }
}
