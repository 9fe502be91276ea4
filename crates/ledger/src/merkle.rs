//! RFC 9162 §2.1 (= RFC 6962 §2.1) Merkle tree hashing, compact ranges and proofs.
//!
//! `leaf = SHA-256(0x00 ‖ entry)`, `node = SHA-256(0x01 ‖ left ‖ right)`, the empty tree hashes
//! to `SHA-256("")`, and a tree of `n` leaves splits at the largest power of two below `n`.
//! Which nodes a proof needs comes from `ct-merkle` (tested against the transparency-dev
//! vectors); proofs are verified by `ct-merkle` too. Here we only compute node hashes over a
//! log that lives elsewhere (SQLite, a bundle), which `ct-merkle`'s in-memory tree cannot do.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The hash of a leaf: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index or sizes are out of range for the tree.
    #[error("{0}")]
    OutOfRange(String),
    /// The proof has the wrong number of hashes for these sizes.
    #[error("the proof has {got} hashes where sizes {what} need {want}")]
    WrongLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes expected.
        want: usize,
        /// The sizes, for the message.
        what: String,
    },
    /// The hashes do not lead to the root(s).
    #[error("the proof does not lead to the expected root hash")]
    Mismatch,
}

/// The perfect subtrees that cover leaves `[0, size)`, left to right: one per set bit of
/// `size`, largest first. Appending and the root are `O(log n)`; it is what the store keeps so
/// an append never re-reads old leaves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The range of an empty tree.
    pub fn new() -> CompactRange {
        CompactRange::default()
    }

    /// Rebuilds a range from its size and hashes (as stored by [`CompactRange::to_bytes`]).
    pub fn from_parts(size: u64, bytes: &[u8]) -> Option<CompactRange> {
        if bytes.len() != size.count_ones() as usize * 32 {
            return None;
        }
        let hashes = bytes
            .chunks_exact(32)
            .map(|c| <Hash>::try_from(c).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(CompactRange { size, hashes })
    }

    /// The hashes, concatenated (what [`CompactRange::from_parts`] reads).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.concat()
    }

    /// Number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; `completed(level, index, hash)` is called for every perfect subtree
    /// it completes (level ≥ 1, `index` counted at that level), so callers can store them.
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(u32, u64, &Hash)) {
        let mut hash = leaf;
        let mut level = 0u32;
        let mut index = self.size;
        while (self.size >> level) & 1 == 1 {
            // Invariant: one stored hash per set bit, so a set bit has a hash to pop.
            let Some(left) = self.hashes.pop() else { break };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            completed(level, index, &hash);
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// The Merkle tree hash of the leaves covered.
    pub fn root(&self) -> Hash {
        let mut iter = self.hashes.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, h| node_hash(h, &acc))
    }
}

/// The root of a tree with these leaf hashes.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for l in leaves {
        range.push(*l, |_, _, _| {});
    }
    range.root()
}

/// The largest power of two strictly below `n` (n ≥ 2): RFC 9162's split point.
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Largest tree size the proof arithmetic accepts (ct-merkle's bound).
const MAX_SIZE: u64 = 1 << 62;

/// The leaf ranges whose hashes make up an inclusion proof of `index` in a tree of `size`.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if size == 0 || index >= size || size > MAX_SIZE {
        return Err(ProofError::OutOfRange(format!(
            "entry {index} is not in a tree of {size} entries"
        )));
    }
    Ok(ct_merkle::indices_for_inclusion_proof(size, index)
        .into_iter()
        .map(|i| node_range(i, size))
        .collect())
}

/// The leaf ranges whose hashes make up a consistency proof from `old` to `new` leaves.
pub fn consistency_ranges(old: u64, new: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if old > new || new > MAX_SIZE {
        return Err(ProofError::OutOfRange(format!(
            "no consistency proof from {old} to {new} entries: the old size must not exceed the new one"
        )));
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    Ok(ct_merkle::indices_for_consistency_proof(old, new - old)
        .into_iter()
        .map(|i| node_range(i, new))
        .collect())
}

/// The leaves `[start, end)` under ct-merkle's in-order node index `i` in a tree of `size`.
fn node_range(i: u64, size: u64) -> (u64, u64) {
    let level = i.trailing_ones();
    let start = (i >> (level + 1)) << level;
    let end = (start + (1u64 << level)).min(size);
    (start, end)
}

fn to_output(h: &Hash) -> ct_merkle::digest::Output<Sha256> {
    (*h).into()
}

/// Checks that `proof` shows the entry with these bytes at `index` in the tree `(size, root)`.
pub fn verify_inclusion(
    entry: &[u8],
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let want = inclusion_ranges(index, size)?.len();
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
            what: format!("(entry {index}, size {size})"),
        });
    }
    let root = ct_merkle::RootHash::<Sha256>::new(to_output(root), size);
    let digests: Vec<_> = proof.iter().map(to_output).collect();
    let proof = ct_merkle::InclusionProof::<Sha256>::from_digests(digests.iter());
    root.verify_inclusion(&entry, index, &proof)
        .map_err(|_| ProofError::Mismatch)
}

/// Checks that the tree `(new, new_root)` extends `(old, old_root)`, i.e. that the log only
/// grew between the two: RFC 9162 §2.1.4.2.
pub fn verify_consistency(
    old: u64,
    old_root: &Hash,
    new: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let want = consistency_ranges(old, new)?.len();
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
            what: format!("{old} → {new}"),
        });
    }
    if old == 0 {
        return Ok(()); // Every tree extends the empty one.
    }
    if old == new {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    let new_root = ct_merkle::RootHash::<Sha256>::new(to_output(new_root), new);
    let old_root = ct_merkle::RootHash::<Sha256>::new(to_output(old_root), old);
    let digests: Vec<_> = proof.iter().map(to_output).collect();
    let proof = ct_merkle::ConsistencyProof::<Sha256>::from_digests(digests.iter());
    new_root
        .verify_consistency(&old_root, &proof)
        .map_err(|_| ProofError::Mismatch)
}

/// The Merkle tree hash of leaves `[start, end)`, given a way to get perfect subtrees.
///
/// `perfect(start, level)` returns the hash of the `2^level` leaves from `start` (aligned).
pub fn range_hash<E>(
    start: u64,
    end: u64,
    perfect: &mut impl FnMut(u64, u32) -> Result<Hash, E>,
) -> Result<Hash, E> {
    let n = end - start;
    if n.is_power_of_two() {
        return perfect(start, n.trailing_zeros());
    }
    let k = split_point(n);
    let left = perfect(start, k.trailing_zeros())?;
    let right = range_hash(start + k, end, perfect)?;
    Ok(node_hash(&left, &right))
}

/// Proof hashes over an in-memory list of leaf hashes (bundles, tests).
pub fn inclusion_proof_from_leaves(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let size = leaves.len() as u64;
    inclusion_ranges(index, size)?
        .into_iter()
        .map(|(s, e)| Ok(root_from_leaves(&leaves[s as usize..e as usize])))
        .collect()
}

/// Consistency proof hashes over an in-memory list of leaf hashes (bundles, tests).
pub fn consistency_proof_from_leaves(leaves: &[Hash], old: u64) -> Result<Vec<Hash>, ProofError> {
    let new = leaves.len() as u64;
    consistency_ranges(old, new)?
        .into_iter()
        .map(|(s, e)| Ok(root_from_leaves(&leaves[s as usize..e as usize])))
        .collect()
}
