//! `kite ledger` end to end: the real binary, real SQLite files, real signals.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

mod support;

use support::{Kite, stderr, write};

fn init(kite: &Kite) -> String {
    kite.ok(&["ledger", "init", "--origin", "example.org/kite/cli-test"])
}

fn jsonl(range: std::ops::Range<u64>, tag: &str) -> String {
    range
        .map(|i| {
            format!(
                "{{\"kind\":\"measurement\",\"v\":1,\"tag\":\"{tag}\",\"seq\":{i},\"kwh\":0.5}}\n"
            )
        })
        .collect()
}

fn indices(stdout: &str) -> Vec<u64> {
    stdout.lines().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn init_append_checkpoint_export_verify_round_trip() {
    let kite = Kite::new();
    let out = init(&kite);
    assert!(out.contains("key id:"), "{out}");
    // Default location: next to the database.
    let ledger = kite.path("ledger.sqlite3");
    assert!(ledger.exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(kite.path("ledger.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    write(&kite.path("batch.jsonl"), &jsonl(0..5, "a"));
    assert_eq!(
        indices(&kite.ok(&["ledger", "append", "batch.jsonl"])),
        vec![0, 1, 2, 3, 4]
    );
    write(
        &kite.path("one.json"),
        "{\n  \"kind\": \"note\",\n  \"v\": 1,\n  \"text\": \"pretty\"\n}\n",
    );
    assert_eq!(
        indices(&kite.ok(&["ledger", "append", "one.json"])),
        vec![5]
    );
    let shown: Value =
        serde_json::from_str(&kite.ok(&["ledger", "show", "--from", "4", "--format", "json"]))
            .unwrap();
    let shown = shown.as_array().unwrap();
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[1]["entry"]["text"], "pretty");
    assert_eq!(shown[1]["leaf_hash"].as_str().unwrap().len(), 64);
    let cp = kite.ok(&["ledger", "checkpoint"]);
    assert!(cp.starts_with("example.org/kite/cli-test\n6\n"), "{cp}");
    write(&kite.path("cp6.txt"), &cp);
    let proof: Value =
        serde_json::from_str(&kite.ok(&["ledger", "prove", "--entry", "2"])).unwrap();
    assert_eq!(proof["tree_size"], 6);
    assert_eq!(proof["inclusion_proof"].as_array().unwrap().len(), 3);
    assert_eq!(proof["checkpoint"].as_str().unwrap(), cp);
    write(&kite.path("more.jsonl"), &jsonl(5..9, "b"));
    kite.ok(&["ledger", "append", "more.jsonl"]);
    let cons: Value =
        serde_json::from_str(&kite.ok(&["ledger", "consistency", "--old", "cp6.txt"])).unwrap();
    assert_eq!(
        (cons["old_size"].as_u64(), cons["new_size"].as_u64()),
        (Some(6), Some(10))
    );
    // Export signs a checkpoint for the 4 new entries, then a third party verifies offline.
    let out = kite.ok(&["ledger", "export", "--out", "books.bundle"]);
    assert!(out.contains("10 entries, 2 checkpoints"), "{out}");
    std::fs::copy(kite.path("ledger.pub"), kite.path("auditor.pub")).unwrap();
    let out = kite.ok(&[
        "ledger",
        "verify",
        "--bundle",
        "books.bundle",
        "--pubkey",
        "auditor.pub",
    ]);
    assert!(
        out.starts_with("OK books.bundle: 10 entries, 2 checkpoints verified"),
        "{out}"
    );
    assert!(kite.ok(&["ledger", "verify"]).starts_with("OK "));
}

#[test]
fn verify_names_the_tampered_entry_and_rejects_a_wrong_key() {
    let kite = Kite::new();
    init(&kite);
    write(&kite.path("batch.jsonl"), &jsonl(0..8, "a"));
    kite.ok(&["ledger", "append", "batch.jsonl"]);
    kite.ok(&["ledger", "export", "--out", "b.bundle"]);
    let text = std::fs::read_to_string(kite.path("b.bundle")).unwrap();
    // Entry 3 is on line 5; change its number.
    let tampered = text.replace("\"seq\":3,", "\"seq\":4,");
    assert_ne!(tampered, text);
    write(&kite.path("t.bundle"), &tampered);
    let err = kite.fails(&[
        "ledger",
        "verify",
        "--bundle",
        "t.bundle",
        "--pubkey",
        "ledger.pub",
    ]);
    assert!(err.contains("entry 3 (line 5)"), "{err}");
    // A different log's key.
    let other = Kite::new();
    init(&other);
    std::fs::copy(other.path("ledger.pub"), kite.path("other.pub")).unwrap();
    let err = kite.fails(&[
        "ledger",
        "verify",
        "--bundle",
        "b.bundle",
        "--pubkey",
        "other.pub",
    ]);
    assert!(
        err.contains("checkpoint 0") && err.contains("unknown key"),
        "{err}"
    );
    // The verifier needs nothing but the two files: no ledger, no database, no key dir.
    let auditor = Kite::new();
    std::fs::copy(kite.path("b.bundle"), auditor.path("b.bundle")).unwrap();
    std::fs::copy(kite.path("ledger.pub"), auditor.path("k.pub")).unwrap();
    auditor.ok(&[
        "ledger", "verify", "--bundle", "b.bundle", "--pubkey", "k.pub",
    ]);
    assert!(!auditor.path("ledger.sqlite3").exists());
}

#[test]
fn malformed_input_names_the_line_and_field_and_appends_nothing() {
    let kite = Kite::new();
    init(&kite);
    write(&kite.path("ok.jsonl"), &jsonl(0..2, "a"));
    kite.ok(&["ledger", "append", "ok.jsonl"]);
    let cases = [
        (
            "{\"kind\":\"measurement\",\"v\":1}\n{\"kind\":\"measurement\",\"v\":1,\"x\":\n",
            "line 2",
        ),
        (
            "{\"kind\":\"measurement\",\"v\":1}\n{\"kind\":\"measurement\"}\n",
            "line 2: field `$.v`: missing",
        ),
        (
            "{\"kind\":\"measurement\",\"v\":1}\n[1,2]\n",
            "line 2: field `$`: an entry must be a JSON object",
        ),
        (
            "{\"kind\":\"measurement\",\"v\":1,\"a\":1,\"a\":2}\n{\"kind\":\"measurement\",\"v\":1}\n",
            "field `$.a`: duplicate key",
        ),
        (
            "{\"kind\":\"measurement\",\"v\":1,\"j\":12345678901234567890}\n",
            "field `$.j`",
        ),
        // A record the books read is checked field by field before it is appended.
        (
            "{\"kind\":\"measurement\",\"v\":1}\n{\"kind\":\"contract\",\"v\":1,\"id\":\"ppa\",\"instrument\":\"ppa\",\"market\":\"DE\",\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2027-01-01T00:00:00Z\",\"mwh\":\"lots\",\"technology\":\"wind\"}\n",
            "line 2: contract record: field `mwh`",
        ),
    ];
    for (input, want) in cases {
        write(&kite.path("bad.jsonl"), input);
        let err = kite.fails(&["ledger", "append", "bad.jsonl"]);
        assert!(err.contains(want), "{input:?}: {err}");
        assert!(err.contains("nothing was appended"), "{err}");
    }
    let shown: Value =
        serde_json::from_str(&kite.ok(&["ledger", "show", "--format", "json"])).unwrap();
    assert_eq!(shown.as_array().unwrap().len(), 2);
}

#[test]
fn a_group_readable_key_is_refused_and_rotation_keeps_old_bundles_verifiable() {
    use std::os::unix::fs::PermissionsExt;
    let kite = Kite::new();
    init(&kite);
    write(&kite.path("a.jsonl"), &jsonl(0..3, "a"));
    kite.ok(&["ledger", "append", "a.jsonl"]);
    std::fs::copy(kite.path("ledger.pub"), kite.path("old.pub")).unwrap();
    std::fs::set_permissions(
        kite.path("ledger.key"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let err = kite.fails(&["ledger", "checkpoint"]);
    assert!(
        err.contains("mode 0640") && err.contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(
        kite.path("ledger.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    kite.ok(&["ledger", "checkpoint"]);
    let out = kite.ok(&["ledger", "key", "rotate"]);
    assert!(
        out.contains("rotated:") && out.contains("key-rotation "),
        "{out}"
    );
    let keys = kite.ok(&["ledger", "key", "show"]);
    assert_eq!(keys.lines().count(), 2, "{keys}");
    assert!(
        keys.contains("retired") && keys.contains("current"),
        "{keys}"
    );
    kite.ok(&["ledger", "append", "a.jsonl"]);
    kite.ok(&["ledger", "export", "--out", "b.bundle"]);
    // An auditor who only has the old key follows the hand-over.
    kite.ok(&[
        "ledger", "verify", "--bundle", "b.bundle", "--pubkey", "old.pub",
    ]);
    kite.ok(&[
        "ledger",
        "verify",
        "--bundle",
        "b.bundle",
        "--pubkey",
        "ledger.pub",
    ]);
}

#[test]
fn a_checkpoint_of_a_forked_copy_fails_consistency() {
    let kite = Kite::new();
    init(&kite);
    write(&kite.path("a.jsonl"), &jsonl(0..4, "common"));
    kite.ok(&["ledger", "append", "a.jsonl"]);
    kite.ok(&["ledger", "checkpoint"]);
    // Fork: a copy of the ledger and its keys, which then diverges.
    for f in ["ledger.sqlite3", "ledger.key", "ledger.pub"] {
        std::fs::copy(kite.path(f), kite.path(&format!("fork-{f}"))).unwrap();
    }
    let fork = kite.path("fork-ledger.sqlite3");
    let fork = fork.to_str().unwrap();
    write(&kite.path("b.jsonl"), &jsonl(4..6, "fork"));
    kite.ok(&["ledger", "--ledger", fork, "append", "b.jsonl"]);
    let forked = kite.ok(&["ledger", "--ledger", fork, "checkpoint"]);
    write(&kite.path("forked.txt"), &forked);
    write(&kite.path("c.jsonl"), &jsonl(4..7, "main"));
    kite.ok(&["ledger", "append", "c.jsonl"]);
    let err = kite.fails(&["ledger", "consistency", "--old", "forked.txt"]);
    assert!(err.contains("INCONSISTENT: at size 6"), "{err}");
}

/// Appends batches in a loop and SIGKILLs each `kite ledger append` (and some checkpoints) at
/// a varying moment. Every index printed (acknowledged) must be present with its content, and
/// the ledger and its bundle must verify.
#[test]
fn kill_9_loses_no_acknowledged_entry_and_leaves_a_verifiable_log() {
    let kite = Kite::new();
    init(&kite);
    let mut acknowledged: Vec<(u64, String)> = Vec::new();
    const BATCH: u64 = 4000;
    let mut killed_mid_batch = 0;
    let mut killed = 0;
    for round in 0..24u64 {
        let tag = format!("round{round}");
        write(&kite.path("batch.jsonl"), &jsonl(0..BATCH, &tag));
        let mut child = kite
            .cmd()
            .args(["ledger", "append", "batch.jsonl"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kill over start-up, parsing, the transaction and the printing.
        std::thread::sleep(Duration::from_millis(round * 11 % 160));
        let _ = child.kill(); // SIGKILL
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let status = child.wait().unwrap();
        killed += usize::from(!status.success());
        // Only complete lines are acknowledgements.
        let complete = out.rfind('\n').map_or("", |i| &out[..=i]);
        let got = indices(complete);
        if !status.success() && !got.is_empty() && got.len() < BATCH as usize {
            killed_mid_batch += 1;
        }
        for (j, i) in got.iter().enumerate() {
            acknowledged.push((*i, format!("{tag}#{j}")));
        }
        if round % 5 == 4 {
            let mut cp = kite
                .cmd()
                .args(["ledger", "checkpoint"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(round % 4));
            let _ = cp.kill();
            let _ = cp.wait();
        }
    }
    let out = kite.run(&["ledger", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown: Value = serde_json::from_str(
        &kite.ok(&["ledger", "show", "--limit", "100000", "--format", "json"]),
    )
    .unwrap();
    let shown = shown.as_array().unwrap();
    for (i, want) in &acknowledged {
        let e = &shown[*i as usize]["entry"];
        let (tag, seq) = want.split_once('#').unwrap();
        assert_eq!(e["tag"], tag, "entry {i}");
        assert_eq!(e["seq"].as_u64().unwrap().to_string(), seq, "entry {i}");
    }
    // Whole batches or nothing: the log is a sequence of complete 1500-entry batches.
    assert_eq!(shown.len() % BATCH as usize, 0, "a partial batch survived");
    assert!(
        killed >= 5,
        "only {killed} of 24 appends were killed before finishing"
    );
    kite.ok(&["ledger", "export", "--out", "after.bundle"]);
    kite.ok(&[
        "ledger",
        "verify",
        "--bundle",
        "after.bundle",
        "--pubkey",
        "ledger.pub",
    ]);
    eprintln!(
        "{} acknowledged of {} stored; {killed} appends killed, {killed_mid_batch} while printing",
        acknowledged.len(),
        shown.len()
    );
}
