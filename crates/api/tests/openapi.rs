//! The OpenAPI document against the implementation, on a real seeded server:
//!
//! 1. every route the router registers (read from the sources that register them) is
//!    documented, and every documented operation is routed: a request built from the
//!    document's `example` values never gets 405 nor an unknown-route 404;
//! 2. each operation's actual response body validates against the schema documented for its
//!    status and content type;
//! 3. the document is OpenAPI 3.0 in structure, every `$ref` resolves, and every fragment file is
//!    merged.
//!
//! The dashboard (`/`, `/dashboard/...`: HTML pages and the data they fetch) is the web UI, not
//! the API, and is left out of the document on purpose.
#![allow(clippy::unwrap_used)]

mod seed;
mod util;

use kite_api::limits::ApiConfig;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::path::Path;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn document() -> Value {
    kite_api::openapi::document().clone()
}

/// Every JSON pointer `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_and_every_ref_resolves() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0."));
    assert_eq!(doc["info"]["title"], "kite");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["servers"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        assert!(path.starts_with('/'), "{path}");
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                !responses.is_empty(),
                "{method} {path} documents no response"
            );
            for (code, r) in responses {
                assert!(code == "default" || code.parse::<u16>().is_ok(), "{code}");
                assert!(r["description"].is_string(), "{method} {path} {code}");
            }
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            // Every path parameter is declared.
            for name in path.split('{').skip(1).filter_map(|p| p.split('}').next()) {
                assert!(
                    op["parameters"].as_array().is_some_and(|ps| ps
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path")),
                    "{method} {path}: path parameter {name} is not declared"
                );
            }
            for sec in op["security"].as_array().into_iter().flatten() {
                for scheme in sec.as_object().unwrap().keys() {
                    assert!(doc["components"]["securitySchemes"][scheme].is_object());
                }
            }
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

#[test]
fn every_fragment_file_is_merged_and_shared_schemas_agree() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    let listed: BTreeSet<&str> = kite_api::openapi::FRAGMENTS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".json") {
            on_disk.insert(name);
        }
    }
    let on_disk: BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
    assert_eq!(
        listed, on_disk,
        "list every fragment file in openapi::FRAGMENTS"
    );
    let mut schemas: Map<String, Value> = Map::new();
    let mut operations = BTreeSet::new();
    for (name, text) in kite_api::openapi::FRAGMENTS {
        let fragment: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (path, item) in fragment["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                assert!(
                    operations.insert(format!("{method} {path}")),
                    "{name}: {method} {path} is also in another fragment"
                );
            }
        }
        for (k, v) in fragment["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if let Some(first) = schemas.get(k) {
                assert_eq!(
                    first, v,
                    "{name}: schema {k} differs from another fragment's"
                );
            }
            schemas.insert(k.clone(), v.clone());
        }
    }
}

/// `(path, method)` of every `.route("PATH", get(..).post(..))` in `file`.
fn routes_in(file: &Path, out: &mut BTreeSet<(String, String)>) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        let Some(q) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some(end) = q.find('"') else { continue };
        let path = &q[..end];
        // The route's arguments: up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let mut close = q.len();
        for (j, c) in q.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &q[end..close];
        for m in METHODS {
            let call = format!("{m}(");
            let found = args.match_indices(&call).any(|(k, _)| {
                k == 0 || !args[..k].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            });
            if found {
                out.insert((path.to_owned(), m.to_owned()));
            }
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every route `kite_api::router` serves: this crate's and kite-service's job routes.
fn registered_routes() -> BTreeSet<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.push(root.join("../service/src/api.rs"));
    let mut out = BTreeSet::new();
    for f in files {
        routes_in(&f, &mut out);
    }
    out.retain(|(p, _)| p != "/" && p != "/dashboard" && !p.starts_with("/dashboard/"));
    out
}

#[test]
fn every_registered_route_is_documented() {
    let doc = document();
    let routes = registered_routes();
    // The scan must find the routes it is there to check.
    for known in [
        ("/v1/intensity", "get"),
        ("/v1/plan", "post"),
        ("/v1/jobs", "post"),
    ] {
        assert!(
            routes.contains(&(known.0.to_owned(), known.1.to_owned())),
            "{known:?}"
        );
    }
    let missing: Vec<_> = routes
        .iter()
        .filter(|(p, m)| doc["paths"][p.as_str()][m.as_str()].is_null())
        .collect();
    assert!(missing.is_empty(), "routed but not documented: {missing:?}");
}

/// OpenAPI 3.0 schema → JSON Schema 2020-12: `nullable` becomes a `null` alternative.
fn json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out: Map<String, Value> = m
                .iter()
                .filter(|(k, _)| *k != "nullable" && *k != "example")
                .map(|(k, v)| (k.clone(), json_schema(v)))
                .collect();
            if m.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                } else {
                    return json!({"anyOf": [Value::Object(out), {"type": "null"}]});
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

/// Fills `{name}` path parameters and the query from the operation's `example` values.
fn request_target(path: &str, op: &Value, job_id: Option<&str>) -> String {
    let mut url = path.to_owned();
    let mut query = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap();
        let example = match &p["example"] {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match p["in"].as_str().unwrap() {
            "path" => {
                // A job created earlier in the run, so the job routes answer 200.
                let value = match (name, path.starts_with("/v1/jobs/"), job_id) {
                    ("id", true, Some(id)) => id.to_owned(),
                    _ => example,
                };
                url = url.replace(&format!("{{{name}}}"), &value);
            }
            "query" => query.push(format!(
                "{name}={}",
                example.replace('+', "%2B").replace(' ', "%20")
            )),
            _ => {}
        }
    }
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    url
}

#[tokio::test]
async fn every_documented_operation_answers_with_its_documented_schema() {
    let hour = seed::hour();
    let s = util::start_with_ledger(
        ApiConfig::default(),
        |db| seed::store(db, hour),
        Some(seed::ledger),
    )
    .await;
    let doc = document();
    let schemas = json_schema(&doc["components"]["schemas"]);
    let client = reqwest::Client::new();
    let mut ops: Vec<(String, String, Value)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((path.clone(), method.clone(), op.clone()));
        }
    }
    // Writes first (a submitted job gives the job routes a real id), cancels last.
    ops.sort_by_key(|(p, m, _)| (m != "post" || p.contains('{'), p.ends_with("/cancel")));
    let mut job_id: Option<String> = None;
    let mut checked = 0;
    for (path, method, op) in &ops {
        let target = request_target(path, op, job_id.as_deref());
        let mut req = match method.as_str() {
            "get" => client.get(format!("{}{target}", s.url)),
            "post" => client.post(format!("{}{target}", s.url)),
            other => panic!("{other} {path}: add the method to this test"),
        };
        req = req.bearer_auth(&s.token);
        let body = &op["requestBody"]["content"]["application/json"]["example"];
        if !body.is_null() {
            req = req.json(body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let ctype = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        let what = format!(
            "{} {target} -> {status} {ctype}: {text:.400}",
            method.to_uppercase()
        );
        assert_ne!(status, 405, "documented but not routed: {what}");
        if status == 404 {
            assert_eq!(ctype, "application/problem+json", "unknown route: {what}");
        }
        if path.starts_with("/v1/") && !path.starts_with("/v1/jobs") {
            assert!(
                (200..300).contains(&status),
                "the example should succeed: {what}"
            );
        }
        let documented = &op["responses"][status.to_string()];
        let documented = if documented.is_null() {
            &op["responses"]["default"]
        } else {
            documented
        };
        assert!(documented.is_object(), "status not documented: {what}");
        let media = ctype.split(';').next().unwrap().trim();
        if documented["content"].is_null() {
            checked += 1;
            continue;
        }
        let content = &documented["content"][media];
        assert!(content.is_object(), "content type not documented: {what}");
        if media.ends_with("json") {
            let instance: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {what}"));
            let schema = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": {"schemas": schemas},
                "allOf": [json_schema(&content["schema"])],
            });
            let validator = jsonschema::draft202012::new(&schema).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&instance)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{what}\nschema violations: {errors:#?}");
            if path == "/v1/jobs" && method == "post" {
                job_id = instance["id"].as_str().map(str::to_owned);
            }
        }
        checked += 1;
    }
    assert_eq!(checked, ops.len());
    assert!(job_id.is_some(), "the submit example should create a job");
}
