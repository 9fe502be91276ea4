//! kite's verifiable ledger: an append-only transparency log of carbon records.
//!
//! * **Entries** are JSON objects with the envelope fields `kind` and `v`, stored as their RFC
//!   8785 canonical bytes ([`canonical`]). The ledger does not interpret them: typed records
//!   (runs, contracts, hardware, claims) belong to `kite-accounting`.
//! * **Hashing** is Certificate Transparency's (RFC 9162 §2.1): `leaf = SHA-256(0x00 ‖ entry)`,
//!   `node = SHA-256(0x01 ‖ left ‖ right)`, with inclusion and consistency proofs ([`merkle`]).
//! * **Checkpoints** are C2SP `tlog-checkpoint` bodies in C2SP signed notes, signed with Ed25519
//!   ([`note`]); keys can be rotated with a hand-over checkpoint signed by both keys.
//! * **Storage** is one SQLite file in WAL mode with `synchronous=FULL` ([`Ledger`]); an append
//!   returns only once it is durable.
//! * **Bundles** carry the whole log to a third party, who verifies it offline with the public
//!   key alone ([`bundle`]).
//!
//! `docs/ledger.md` specifies the formats.

pub mod bundle;
pub mod canonical;
mod ledger;
pub mod merkle;
pub mod note;

pub use bundle::{BundleError, BundleSummary, Location, verify_bundle};
pub use canonical::{EncodingError, canonicalize};
pub use ledger::{
    ConsistencyCheck, Entry, EntryStatus, KeyRecord, Ledger, LedgerError, Problem,
    StoredCheckpoint, VerifyReport, key_paths,
};
pub use merkle::Hash;
pub use note::{Checkpoint, NoteError, SignedCheckpoint, Signer, Verifier};

/// Lowercase hex of a hash.
pub fn hex(h: &Hash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in h {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parses exactly 64 lowercase hex digits (the only form kite writes).
pub fn parse_hex(s: &str) -> Option<Hash> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// A fresh origin for a log whose owner named none: `kite.invalid/ledger/<16 random hex>`
/// (`.invalid` can never be a real domain, so it cannot collide with one).
pub fn default_origin() -> Result<String, NoteError> {
    use rand::TryRng as _;
    let mut id = [0u8; 8];
    rand::rngs::SysRng
        .try_fill_bytes(&mut id)
        .map_err(|e| NoteError(format!("no randomness from the operating system: {e}")))?;
    Ok(format!(
        "kite.invalid/ledger/{}",
        id.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}
