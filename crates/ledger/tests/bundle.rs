//! Bundles against bad input and attacks: any single-byte change, deleted, reordered, inserted
//! or truncated entries, a wrong public key, a checkpoint spliced in from a forked log.

#![allow(clippy::unwrap_used)]

use kite_ledger::{Ledger, Location, Signer, verify_bundle};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::OnceLock;

const ORIGIN: &str = "example.org/kite/bundle";

fn rec(i: u64) -> Value {
    json!({"kind": "run", "v": 1, "run_id": format!("r{i}"), "kwh": i as f64 / 8.0, "tags": ["a", i]})
}

struct Data {
    bundle: Vec<u8>,
    old: Signer,
    new: Signer,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

/// A log of 12 entries with four checkpoints (sizes 3, 3, 7 with a key hand-over, 12).
fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::create(&dir.path().join("l.sqlite3"), ORIGIN).unwrap();
        let old = Signer::from_seed(ORIGIN, [1; 32]).unwrap();
        let new = Signer::from_seed(ORIGIN, [2; 32]).unwrap();
        ledger
            .append_batch(&(0..3).map(rec).collect::<Vec<_>>())
            .unwrap();
        ledger.checkpoint(&old).unwrap();
        ledger.checkpoint(&old).unwrap();
        ledger
            .append_batch(&(3..7).map(rec).collect::<Vec<_>>())
            .unwrap();
        ledger.rotate_key(&old, &new).unwrap();
        ledger
            .append_batch(&(7..12).map(rec).collect::<Vec<_>>())
            .unwrap();
        ledger.checkpoint(&new).unwrap();
        let mut bundle = Vec::new();
        ledger.export_bundle(&mut bundle).unwrap();
        let mut line_starts = vec![0];
        for (i, b) in bundle.iter().enumerate() {
            if *b == b'\n' && i + 1 < bundle.len() {
                line_starts.push(i + 1);
            }
        }
        Data {
            bundle,
            old,
            new,
            line_starts,
        }
    })
}

fn lines(b: &[u8]) -> Vec<Vec<u8>> {
    b.split_inclusive(|c| *c == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn verify(b: &[u8]) -> Result<kite_ledger::BundleSummary, kite_ledger::BundleError> {
    verify_bundle(&mut &b[..], data().old.verifier())
}

#[test]
fn an_untouched_bundle_verifies_with_the_old_or_the_new_key() {
    let d = data();
    let s = verify(&d.bundle).unwrap();
    assert_eq!((s.size, s.checkpoints, s.origin.as_str()), (12, 4, ORIGIN));
    assert_eq!(s.latest.checkpoint.size, 12);
    verify_bundle(&mut d.bundle.as_slice(), d.new.verifier()).unwrap();
    assert_eq!(d.line_starts.len(), 13, "header + 12 entries");
}

#[test]
fn a_wrong_public_key_is_rejected_at_the_first_checkpoint() {
    let stranger = Signer::from_seed(ORIGIN, [9; 32]).unwrap();
    let err = verify_bundle(&mut data().bundle.as_slice(), stranger.verifier()).unwrap_err();
    assert_eq!(
        err.location,
        Location::Checkpoint {
            position: 0,
            size: Some(3)
        }
    );
    assert!(err.message.contains("unknown key"), "{err}");
}

#[test]
fn every_single_byte_change_anywhere_is_detected() {
    let d = data();
    let mut b = d.bundle.clone();
    for pos in 0..b.len() {
        for mask in [0x01u8, 0x20, 0x80] {
            b[pos] ^= mask;
            assert!(
                verify(&b).is_err(),
                "byte {pos} ^ {mask:#04x} went unnoticed"
            );
            b[pos] ^= mask;
        }
    }
}

#[test]
fn a_changed_entry_is_named() {
    let d = data();
    let mut b = d.bundle.clone();
    let start = d.line_starts[5]; // entry 4
    let at = start + 65 + 3; // inside its JSON
    b[at] = if b[at] == b'x' { b'y' } else { b'x' };
    let err = verify(&b).unwrap_err();
    assert_eq!(err.location, Location::Entry { index: 4 }, "{err}");
    assert!(err.to_string().contains("entry 4 (line 6)"), "{err}");
}

#[test]
fn a_checkpoint_from_a_forked_log_fails_consistency() {
    let d = data();
    // A fork: the same first 3 entries, then other ones, signed by the same (old) key.
    let dir = tempfile::tempdir().unwrap();
    let fork = Ledger::create(&dir.path().join("f.sqlite3"), ORIGIN).unwrap();
    fork.append_batch(&(0..3).map(rec).collect::<Vec<_>>())
        .unwrap();
    fork.append_batch(&(100..104).map(rec).collect::<Vec<_>>())
        .unwrap();
    let forked = fork.checkpoint(&d.old).unwrap();
    assert_eq!(forked.checkpoint.size, 7);
    // Splice it in place of the size-7 hand-over checkpoint, keeping the header canonical.
    let mut ls = lines(&d.bundle);
    let mut header: Value = serde_json::from_slice(&ls[0]).unwrap();
    header["checkpoints"][2]["note"] = Value::String(forked.text.clone());
    ls[0] = serde_json_canonicalizer::to_vec(&header).unwrap();
    ls[0].push(b'\n');
    let err = verify(&ls.concat()).unwrap_err();
    assert_eq!(
        err.location,
        Location::Checkpoint {
            position: 2,
            size: Some(7)
        },
        "{err}"
    );
    assert!(err.message.contains("not consistent"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_byte_changes_are_detected(pos in 0usize..100_000, value in any::<u8>()) {
        let d = data();
        let mut b = d.bundle.clone();
        let pos = pos % b.len();
        prop_assume!(b[pos] != value);
        b[pos] = value;
        prop_assert!(verify(&b).is_err());
    }

    #[test]
    fn deleting_an_entry_is_detected(k in 0usize..12) {
        let mut ls = lines(&data().bundle);
        ls.remove(k + 1);
        prop_assert!(verify(&ls.concat()).is_err());
    }

    #[test]
    fn reordering_entries_is_detected(i in 0usize..12, j in 0usize..12) {
        prop_assume!(i != j);
        let mut ls = lines(&data().bundle);
        ls.swap(i + 1, j + 1);
        let err = verify(&ls.concat()).unwrap_err();
        // Each line still hashes to its own leaf hash: the signed root catches it.
        let is_checkpoint = matches!(err.location, Location::Checkpoint { .. });
        prop_assert!(is_checkpoint, "{}", err);
    }

    #[test]
    fn inserting_a_copy_of_an_entry_is_detected(i in 0usize..12, at in 1usize..14) {
        let mut ls = lines(&data().bundle);
        let copy = ls[i + 1].clone();
        ls.insert(at, copy);
        prop_assert!(verify(&ls.concat()).is_err());
    }

    #[test]
    fn truncation_anywhere_is_detected(len in 0usize..100_000) {
        let b = &data().bundle;
        let len = len % b.len();
        prop_assert!(verify(&b[..len]).is_err());
    }

    #[test]
    fn appending_bytes_is_detected(extra in proptest::collection::vec(any::<u8>(), 1..40)) {
        let mut b = data().bundle.clone();
        b.extend_from_slice(&extra);
        prop_assert!(verify(&b).is_err());
    }
}
