//! RFC 6962 / RFC 9162 reference vectors.
//!
//! Source: transparency-dev/merkle, `proof/verify_test.go` (Apache-2.0), the vectors
//! Certificate Transparency implementations share (certificate-transparency-go, Trillian):
//! eight leaves, the root of every tree size 0..8, and inclusion and consistency proofs.
//! Used as data only.

#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

use kite_ledger::merkle::{
    self, CompactRange, Hash, consistency_proof_from_leaves, inclusion_proof_from_leaves,
    leaf_hash, root_from_leaves, verify_consistency, verify_inclusion,
};
use kite_ledger::{hex, parse_hex};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Root of the first n leaves, n = 0..=8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (0-based leaf index, tree size, proof).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn entries() -> Vec<Vec<u8>> {
    LEAVES.iter().map(|l| unhex(l)).collect()
}

fn leaf_hashes() -> Vec<Hash> {
    entries().iter().map(|e| leaf_hash(e)).collect()
}

fn hashes(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|h| parse_hex(h).unwrap()).collect()
}

#[test]
fn roots_of_sizes_0_to_8_match_the_reference() {
    let leaves = leaf_hashes();
    for (n, want) in ROOTS.iter().enumerate() {
        assert_eq!(hex(&root_from_leaves(&leaves[..n])), *want, "size {n}");
    }
}

#[test]
fn the_compact_range_and_ct_merkle_agree_with_the_reference() {
    let mut tree = ct_merkle::mem_backed_tree::MemoryBackedTree::<sha2::Sha256, Vec<u8>>::new();
    let mut range = CompactRange::new();
    for (n, e) in entries().into_iter().enumerate() {
        tree.push(e.clone());
        range.push(leaf_hash(&e), |_, _, _| {});
        let want = parse_hex(ROOTS[n + 1]).unwrap();
        assert_eq!(range.root(), want, "compact range, size {}", n + 1);
        assert_eq!(
            tree.root().as_bytes().as_slice(),
            &want[..],
            "ct-merkle, size {}",
            n + 1
        );
    }
}

#[test]
fn inclusion_proofs_match_and_verify() {
    let entries = entries();
    let leaves = leaf_hashes();
    for (index, size, proof) in INCLUSION {
        let want = hashes(proof);
        let got = inclusion_proof_from_leaves(&leaves[..size as usize], index).unwrap();
        assert_eq!(got, want, "proof of {index} in {size}");
        let root = parse_hex(ROOTS[size as usize]).unwrap();
        verify_inclusion(&entries[index as usize], index, size, &want, &root).unwrap();
        // The same proof must fail for another entry, index, size or root, or any flipped bit.
        let other = (index + 1) % 8;
        assert!(verify_inclusion(&entries[other as usize], index, size, &want, &root).is_err());
        if size > 1 {
            assert!(
                verify_inclusion(&entries[index as usize], index ^ 1, size, &want, &root).is_err()
            );
        }
        assert!(verify_inclusion(&entries[index as usize], index, size * 2, &want, &root).is_err());
        assert!(verify_inclusion(&entries[index as usize], index, size, &want, &[7; 32]).is_err());
        for i in 0..want.len() {
            let mut bad = want.clone();
            bad[i][0] ^= 8;
            assert!(verify_inclusion(&entries[index as usize], index, size, &bad, &root).is_err());
        }
        let mut longer = want.clone();
        longer.push(root);
        assert!(verify_inclusion(&entries[index as usize], index, size, &longer, &root).is_err());
    }
}

#[test]
fn consistency_proofs_match_and_verify() {
    let leaves = leaf_hashes();
    for (old, new, proof) in CONSISTENCY {
        let want = hashes(proof);
        let got = consistency_proof_from_leaves(&leaves[..new as usize], old).unwrap();
        assert_eq!(got, want, "proof {old} → {new}");
        let (r1, r2) = (
            parse_hex(ROOTS[old as usize]).unwrap(),
            parse_hex(ROOTS[new as usize]).unwrap(),
        );
        verify_consistency(old, &r1, new, &r2, &want).unwrap();
        if old != new {
            assert!(
                verify_consistency(old, &r2, new, &r1, &want).is_err(),
                "swapped roots"
            );
            assert!(
                verify_consistency(old, &r1, new, &r2, &[]).is_err(),
                "empty proof"
            );
            for i in 0..want.len() {
                let mut bad = want.clone();
                bad[i][0] ^= 16;
                assert!(verify_consistency(old, &r1, new, &r2, &bad).is_err());
            }
        }
    }
}

#[test]
fn every_proof_of_every_small_tree_verifies_against_ct_merkle() {
    let entries: Vec<Vec<u8>> = (0u16..70).map(|i| i.to_be_bytes().to_vec()).collect();
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let mut tree = ct_merkle::mem_backed_tree::MemoryBackedTree::<sha2::Sha256, Vec<u8>>::new();
    for n in 1..=entries.len() {
        tree.push(entries[n - 1].clone());
        let root = root_from_leaves(&leaves[..n]);
        assert_eq!(tree.root().as_bytes().as_slice(), &root[..]);
        for i in 0..n {
            let proof = inclusion_proof_from_leaves(&leaves[..n], i as u64).unwrap();
            assert_eq!(
                proof.concat(),
                tree.prove_inclusion(i).as_bytes(),
                "inclusion {i} in {n}"
            );
            verify_inclusion(&entries[i], i as u64, n as u64, &proof, &root).unwrap();
        }
        for old in 1..n {
            let proof = consistency_proof_from_leaves(&leaves[..n], old as u64).unwrap();
            assert_eq!(proof.concat(), tree.prove_consistency(n - old).as_bytes());
            let old_root = root_from_leaves(&leaves[..old]);
            verify_consistency(old as u64, &old_root, n as u64, &root, &proof).unwrap();
        }
    }
    assert_eq!(merkle::empty_root(), parse_hex(ROOTS[0]).unwrap());
}
