//! The SQLite ledger: appends, bad input, proofs from storage, checkpoints, keys, rotation,
//! verification of a tampered file. Real SQLite files in temporary directories.

#![allow(clippy::unwrap_used)]

use kite_ledger::merkle::{
    consistency_proof_from_leaves, inclusion_proof_from_leaves, leaf_hash, root_from_leaves,
    verify_inclusion,
};
use kite_ledger::{
    EntryStatus, Ledger, LedgerError, SignedCheckpoint, Signer, Verifier, key_paths,
};
use serde_json::{Value, json};
use std::path::PathBuf;

const ORIGIN: &str = "example.org/kite/test";

fn rec(i: u64) -> Value {
    json!({"kind": "run", "v": 1, "run_id": format!("r{i}"), "energy_kwh": i as f64 * 0.25, "zone": "DE"})
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn fixture() -> (Fixture, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let ledger = Ledger::create(&path, ORIGIN).unwrap();
    (Fixture { _dir: dir, path }, ledger)
}

fn signer(seed: u8) -> Signer {
    Signer::from_seed(ORIGIN, [seed; 32]).unwrap()
}

#[test]
fn appends_store_canonical_bytes_with_consecutive_indices() {
    let (fx, ledger) = fixture();
    let a: Value = serde_json::from_str(
        r#"{ "zone" : "DE", "v": 1, "kind": "run", "n": 1.50, "é": "\u00e9" }"#,
    )
    .unwrap();
    assert_eq!(ledger.append(&a).unwrap(), 0);
    assert_eq!(
        ledger.append_batch(&[rec(1), rec(2), rec(3)]).unwrap(),
        1..4
    );
    assert_eq!(ledger.append_batch(&[]).unwrap(), 4..4);
    drop(ledger);
    let ledger = Ledger::open(&fx.path).unwrap();
    assert_eq!(ledger.len().unwrap(), 4);
    assert_eq!(ledger.origin(), ORIGIN);
    let e = ledger.entry(0).unwrap().unwrap();
    // RFC 8785: sorted keys, no whitespace, shortest number form, raw UTF-8.
    assert_eq!(
        std::str::from_utf8(&e.bytes).unwrap(),
        r#"{"kind":"run","n":1.5,"v":1,"zone":"DE","é":"é"}"#
    );
    assert_eq!(e.leaf_hash, leaf_hash(&e.bytes));
    assert_eq!(e.value().unwrap(), a);
    let all = ledger.entries(0..100).unwrap();
    assert_eq!(
        all.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    assert_eq!(all[2].value().unwrap()["run_id"], "r2");
    assert!(ledger.entry(4).unwrap().is_none());
}

#[test]
fn malformed_entries_name_the_field_and_append_nothing() {
    let (_fx, ledger) = fixture();
    ledger.append(&rec(0)).unwrap();
    let cases = [
        (json!([1, 2]), "$", "must be a JSON object"),
        (json!({"v": 1}), "$.kind", "missing"),
        (json!({"kind": "Run!", "v": 1}), "$.kind", "not a kind"),
        (json!({"kind": "run"}), "$.v", "missing"),
        (json!({"kind": "run", "v": 0}), "$.v", "integer ≥ 1"),
        (
            json!({"kind": "run", "v": 1, "energy": {"joules": [1, 9007199254740993u64]}}),
            "$.energy.joules[1]",
            "store it as a string",
        ),
    ];
    for (value, path, msg) in cases {
        // Second in a batch: the valid first entry must not be appended either.
        let err = ledger.append_batch(&[rec(1), value.clone()]).unwrap_err();
        let text = err.to_string();
        match &err {
            LedgerError::Entry { position, source } => {
                assert_eq!(*position, 1, "{text}");
                assert_eq!(source.path, path, "{text}");
            }
            other => panic!("{value}: {other}"),
        }
        assert!(text.contains(msg), "{text}");
        assert!(text.contains("nothing was appended"), "{text}");
        assert_eq!(ledger.len().unwrap(), 1, "{value} appended something");
    }
    let dup = kite_ledger::canonical::parse_strict(br#"{"kind":"run","v":1,"a":{"b":1,"b":2}}"#)
        .unwrap_err()
        .to_string();
    assert!(dup.contains("$.a.b") && dup.contains("duplicate"), "{dup}");
}

#[test]
fn proofs_from_storage_equal_proofs_from_memory_across_stored_subtrees() {
    let (_fx, ledger) = fixture();
    let n = 1100u64; // crosses the 256- and 512-leaf stored subtrees and a 1024 one
    let values: Vec<Value> = (0..n).map(rec).collect();
    ledger.append_batch(&values[..700]).unwrap();
    for v in &values[700..] {
        ledger.append(v).unwrap();
    }
    let leaves: Vec<_> = ledger
        .entries(0..n)
        .unwrap()
        .iter()
        .map(|e| e.leaf_hash)
        .collect();
    assert_eq!(ledger.root().unwrap(), (n, root_from_leaves(&leaves)));
    for size in [
        1u64, 2, 255, 256, 257, 511, 512, 513, 700, 1023, 1024, 1025, 1100,
    ] {
        let root = root_from_leaves(&leaves[..size as usize]);
        assert_eq!(ledger.root_at(size).unwrap(), root, "root at {size}");
        for index in [0, size / 3, size / 2, size - 1] {
            let proof = ledger.inclusion_proof(index, size).unwrap();
            assert_eq!(
                proof,
                inclusion_proof_from_leaves(&leaves[..size as usize], index).unwrap()
            );
            let bytes = ledger.entry(index).unwrap().unwrap().bytes;
            verify_inclusion(&bytes, index, size, &proof, &root).unwrap();
        }
        for old in [1, size / 2, size] {
            if old == 0 {
                continue;
            }
            assert_eq!(
                ledger.consistency_proof(old, size).unwrap(),
                consistency_proof_from_leaves(&leaves[..size as usize], old).unwrap(),
                "{old} → {size}"
            );
        }
    }
    assert!(ledger.inclusion_proof(5, n + 1).is_err());
    assert!(ledger.inclusion_proof(n, n).is_err());
}

#[test]
fn checkpoints_are_signed_c2sp_notes_and_verify() {
    let (_fx, ledger) = fixture();
    let key = signer(1);
    ledger.append_batch(&[rec(0), rec(1), rec(2)]).unwrap();
    let cp = ledger.checkpoint(&key).unwrap();
    let lines: Vec<&str> = cp.text.lines().collect();
    assert_eq!(lines[0], ORIGIN);
    assert_eq!(lines[1], "3");
    assert_eq!(lines[2].len(), 44, "base64 of 32 bytes");
    assert!(lines[3].starts_with("time 20"), "{}", cp.text);
    assert_eq!(lines[4], "");
    assert!(
        lines[5].starts_with(&format!("\u{2014} {ORIGIN} ")),
        "{}",
        cp.text
    );
    assert_eq!(ledger.latest_checkpoint().unwrap().unwrap(), cp);
    assert_eq!(ledger.current_key().unwrap().unwrap(), *key.verifier());
    let vk = key.verifier().clone();
    SignedCheckpoint::verify(
        &cp.text,
        std::slice::from_ref(&vk),
        std::slice::from_ref(&vk),
    )
    .unwrap();
    // Another key (same name) is not this log's.
    let other = signer(2);
    assert!(
        ledger
            .checkpoint(&other)
            .unwrap_err()
            .to_string()
            .contains("not this ledger's signing key")
    );
    let ovk = other.verifier().clone();
    assert!(
        SignedCheckpoint::verify(
            &cp.text,
            std::slice::from_ref(&ovk),
            std::slice::from_ref(&ovk)
        )
        .is_err()
    );
    // Key text round trips; the key id is derived from name and key.
    assert_eq!(Verifier::parse(&vk.to_vkey()).unwrap(), vk);
    assert_eq!(Signer::parse(&key.to_skey()).unwrap().verifier(), &vk);
    let mut bad = vk.to_vkey();
    bad.replace_range(ORIGIN.len() + 1..ORIGIN.len() + 2, "0");
    if bad != vk.to_vkey() {
        assert!(Verifier::parse(&bad).is_err());
    }
    let report = ledger.verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.entry_status(2), EntryStatus::Verified);
    ledger.append(&rec(3)).unwrap();
    assert_eq!(
        ledger.verify().unwrap().entry_status(3),
        EntryStatus::Unsigned
    );
}

#[test]
fn private_key_files_are_0600_and_readable_ones_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (fx, _ledger) = fixture();
    let (private, public) = key_paths(&fx.path);
    assert_eq!(private.file_name().unwrap(), "ledger.key");
    assert_eq!(public.file_name().unwrap(), "ledger.pub");
    let key = Signer::generate(ORIGIN).unwrap();
    key.save(&private).unwrap();
    let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(Signer::load(&private).unwrap().verifier(), key.verifier());
    assert!(key.save(&private).is_err(), "never overwrites a key");
    for bad in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(bad)).unwrap();
        let err = Signer::load(&private).unwrap_err().to_string();
        assert!(
            err.contains("chmod 600") && err.contains(&format!("{bad:04o}")),
            "{err}"
        );
    }
    assert!(
        !format!("{key:?}").contains(&key.to_skey()),
        "Debug must not print the secret"
    );
}

#[test]
fn rotation_hands_over_with_both_signatures() {
    let (_fx, ledger) = fixture();
    let (old, new) = (signer(1), signer(2));
    ledger.append(&rec(0)).unwrap();
    ledger.checkpoint(&old).unwrap();
    ledger.append(&rec(1)).unwrap();
    let handover = ledger.rotate_key(&old, &new).unwrap();
    assert_eq!(handover.signatures.len(), 2);
    assert!(handover.checkpoint.rotation().unwrap().is_ok());
    assert!(ledger.checkpoint(&old).is_err(), "the old key is retired");
    ledger.append(&rec(2)).unwrap();
    ledger.checkpoint(&new).unwrap();
    assert_eq!(ledger.current_key().unwrap().unwrap(), *new.verifier());
    let keys = ledger.keys().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys[0].retired_at.is_some() && keys[1].retired_at.is_none());
    assert!(ledger.verify().unwrap().is_ok());
    // A bundle verifies with either key: the hand-over links them.
    let mut bundle = Vec::new();
    ledger.export_bundle(&mut bundle).unwrap();
    for k in [&old, &new] {
        let s = kite_ledger::verify_bundle(&mut bundle.as_slice(), k.verifier()).unwrap();
        assert_eq!(s.size, 3);
        assert_eq!(s.keys.len(), 2);
    }
    let stranger = signer(3);
    assert!(kite_ledger::verify_bundle(&mut bundle.as_slice(), stranger.verifier()).is_err());
}

#[test]
fn verify_names_altered_entries_and_checkpoints_of_a_tampered_file() {
    let (fx, ledger) = fixture();
    let key = signer(1);
    ledger
        .append_batch(&(0..10).map(rec).collect::<Vec<_>>())
        .unwrap();
    ledger.checkpoint(&key).unwrap();
    drop(ledger);
    let conn = rusqlite::Connection::open(&fx.path).unwrap();
    // Change entry 4's bytes only: its hash no longer matches.
    conn.execute(
        "UPDATE entries SET bytes = CAST(replace(CAST(bytes AS TEXT), '\"r4\"', '\"r9\"') AS BLOB) WHERE idx = 4",
        [],
    )
    .unwrap();
    drop(conn);
    let ledger = Ledger::open(&fx.path).unwrap();
    let report = ledger.verify().unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.bad_entries, vec![4]);
    assert!(
        report.problems[0].message.contains("entry 4"),
        "{:?}",
        report.problems
    );
    assert_eq!(report.entry_status(4), EntryStatus::Failed);
    drop(ledger);
    // Rewrite entry 6 with a matching leaf hash: only the signed root can tell.
    let conn = rusqlite::Connection::open(&fx.path).unwrap();
    let forged = br#"{"kind":"run","v":1,"run_id":"forged"}"#.to_vec();
    conn.execute(
        "UPDATE entries SET bytes = ?1, leaf_hash = ?2 WHERE idx = 6",
        rusqlite::params![forged, &leaf_hash(&forged)[..]],
    )
    .unwrap();
    drop(conn);
    let report = Ledger::open(&fx.path).unwrap().verify().unwrap();
    assert!(
        report.problems.iter().any(|p| p.checkpoint_size == Some(10)
            && p.message.contains("do not hash to its signed root")),
        "{:?}",
        report.problems
    );
    assert_eq!(report.entry_status(6), EntryStatus::Failed);
}

#[test]
fn an_old_checkpoint_of_a_fork_fails_consistency() {
    let dir = tempfile::tempdir().unwrap();
    let key = signer(1);
    let a = Ledger::create(&dir.path().join("a.sqlite3"), ORIGIN).unwrap();
    let b = Ledger::create(&dir.path().join("b.sqlite3"), ORIGIN).unwrap();
    let common: Vec<Value> = (0..5).map(rec).collect();
    a.append_batch(&common).unwrap();
    b.append_batch(&common).unwrap();
    let at5 = a.checkpoint(&key).unwrap();
    b.checkpoint(&key).unwrap();
    a.append_batch(&(5..9).map(rec).collect::<Vec<_>>())
        .unwrap();
    b.append_batch(&(105..109).map(rec).collect::<Vec<_>>())
        .unwrap();
    let a9 = a.checkpoint(&key).unwrap();
    let b9 = b.checkpoint(&key).unwrap();
    a.append(&rec(9)).unwrap();
    // A's own past checkpoints are consistent with it, proof verified.
    let ok = a.consistency_with(&at5.text).unwrap();
    assert_eq!((ok.old.checkpoint.size, ok.size), (5, 10));
    assert!(!ok.proof.is_empty());
    a.consistency_with(&a9.text).unwrap();
    // B's checkpoint at 9 is validly signed by the same key, but of another history.
    let err = a.consistency_with(&b9.text).unwrap_err().to_string();
    assert!(
        err.contains("INCONSISTENT") && err.contains("at size 9"),
        "{err}"
    );
    // And a checkpoint from another key is refused before any hashing.
    let c = Ledger::create(&dir.path().join("c.sqlite3"), ORIGIN).unwrap();
    c.append(&rec(0)).unwrap();
    let foreign = c.checkpoint(&signer(7)).unwrap();
    assert!(
        a.consistency_with(&foreign.text)
            .unwrap_err()
            .to_string()
            .contains("unknown key")
    );
}
