//! Ledger benchmarks (divan): appends/s single and batched, verification of a 1M-entry log,
//! proof generation, and proof sizes against log size (printed before the timings).
//!
//! Run: `cargo bench -p kite-ledger`. Set `KITE_BENCH_ENTRIES` to change the size of the big
//! log (default 1,000,000).

#![allow(clippy::unwrap_used)]

use divan::{Bencher, black_box};
use kite_ledger::{Ledger, Signer, merkle, verify_bundle};
use serde_json::{Value, json};
use std::sync::OnceLock;

const ORIGIN: &str = "example.org/kite/bench";

/// A realistic run record: ~230 bytes canonical.
fn rec(i: u64) -> Value {
    json!({
        "kind": "run", "v": 1, "run_id": format!("run-{i:08}"), "project": "llm-finetune",
        "zone": "DE", "started_at": "2026-10-01T12:00:00Z", "ended_at": "2026-10-01T13:00:00Z",
        "energy_kwh": (i % 1000) as f64 * 0.0125, "gco2e": (i % 977) as f64 * 1.5,
        "meters": ["rapl", "nvml"],
    })
}

fn big_size() -> u64 {
    std::env::var("KITE_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

struct Big {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    bundle: Vec<u8>,
    key: Signer,
}

fn big() -> &'static Big {
    static BIG: OnceLock<Big> = OnceLock::new();
    BIG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.sqlite3");
        let ledger = Ledger::create(&path, ORIGIN).unwrap();
        let key = Signer::from_seed(ORIGIN, [7; 32]).unwrap();
        let n = big_size();
        let t = std::time::Instant::now();
        let mut i = 0;
        while i < n {
            let end = (i + 100_000).min(n);
            ledger
                .append_batch(&(i..end).map(rec).collect::<Vec<_>>())
                .unwrap();
            i = end;
            if i % 250_000 == 0 {
                ledger.checkpoint(&key).unwrap();
            }
        }
        ledger.checkpoint(&key).unwrap();
        eprintln!(
            "setup: {n} entries appended in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let mut bundle = Vec::new();
        ledger.export_bundle(&mut bundle).unwrap();
        eprintln!("setup: bundle {:.1} MB", bundle.len() as f64 / 1e6);
        Big {
            _dir: dir,
            path,
            bundle,
            key,
        }
    })
}

fn main() {
    // Proof sizes are arithmetic, not timings: print them once.
    eprintln!("log size      inclusion proof (max)   consistency proof (n/2 → n)");
    for n in [
        1_000u64,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
    ] {
        let inc = merkle::inclusion_ranges(n / 3, n).unwrap().len();
        let cons = merkle::consistency_ranges(n / 2 + 1, n).unwrap().len();
        eprintln!(
            "{n:>12}  {inc:>3} hashes = {:>4} B        {cons:>3} hashes = {:>4} B",
            inc * 32,
            cons * 32
        );
    }
    divan::main();
}

/// One entry per transaction: each is fsynced (synchronous=FULL), so this measures the disk.
#[divan::bench(sample_count = 20, sample_size = 20)]
fn append_single(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::create(&dir.path().join("s.sqlite3"), ORIGIN).unwrap();
    let v = rec(1);
    bencher
        .counter(divan::counter::ItemsCount::new(1usize))
        .bench_local(|| ledger.append(black_box(&v)).unwrap());
}

/// 10,000 entries per transaction (canonical encoding, hashing, SQLite, one fsync).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn append_batch_10k(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::create(&dir.path().join("b.sqlite3"), ORIGIN).unwrap();
    let values: Vec<Value> = (0..10_000).map(rec).collect();
    bencher
        .counter(divan::counter::ItemsCount::new(values.len()))
        .bench_local(|| ledger.append_batch(black_box(&values)).unwrap());
}

/// A third party's check of the whole bundle: signatures, consistency, every entry's form and
/// hash, the root.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn verify_bundle_1m(bencher: Bencher) {
    let b = big();
    bencher
        .counter(divan::counter::ItemsCount::new(big_size() as usize))
        .bench_local(|| {
            let s = verify_bundle(&mut b.bundle.as_slice(), b.key.verifier()).unwrap();
            assert_eq!(s.size, big_size());
        });
}

/// The owner's check of the stored SQLite log (entries, checkpoints, stored subtrees).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn verify_stored_1m(bencher: Bencher) {
    let ledger = Ledger::open(&big().path).unwrap();
    bencher
        .counter(divan::counter::ItemsCount::new(big_size() as usize))
        .bench_local(|| assert!(ledger.verify().unwrap().is_ok()));
}

/// Exporting the bundle (reads every entry, builds consistency proofs).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn export_bundle_1m(bencher: Bencher) {
    let b = big();
    let ledger = Ledger::open(&b.path).unwrap();
    bencher.bench_local(|| {
        let mut out = Vec::with_capacity(b.bundle.len());
        ledger.export_bundle(&mut out).unwrap();
        out.len()
    });
}

/// An inclusion proof from storage in the 1M log.
#[divan::bench(sample_count = 50)]
fn inclusion_proof_1m(bencher: Bencher) {
    let ledger = Ledger::open(&big().path).unwrap();
    let n = big_size();
    let mut i = 0u64;
    bencher.bench_local(|| {
        i = (i + 7_919) % n;
        ledger.inclusion_proof(i, n).unwrap()
    });
}

/// A consistency proof from storage in the 1M log.
#[divan::bench(sample_count = 50)]
fn consistency_proof_1m(bencher: Bencher) {
    let ledger = Ledger::open(&big().path).unwrap();
    let n = big_size();
    let mut old = 1u64;
    bencher.bench_local(|| {
        old = (old + 104_729) % (n - 1) + 1;
        ledger.consistency_proof(old, n).unwrap()
    });
}
