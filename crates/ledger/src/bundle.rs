//! Bundles: a whole log in one file that a third party verifies offline with the public key.
//!
//! Format `kite-ledger-bundle` version 1, UTF-8, every line ending in `\n`, nothing after the
//! last one:
//!
//! * line 1, the header: RFC 8785 canonical JSON
//!   `{"checkpoints":[{"consistency":[hex...],"note":"<signed note>"}...],"encoding":"jcs-rfc8785",
//!   "format":"kite-ledger-bundle","origin":...,"size":N,"version":1}`. The checkpoints are every
//!   checkpoint of the log, oldest first; `consistency` is the RFC 9162 consistency proof from the
//!   previous checkpoint's tree to this one's (empty for the first). The last one covers all
//!   `size` entries.
//! * lines 2..N+1, one per entry in log order: `<leaf hash, 64 lowercase hex> <canonical entry>`.
//!
//! Every part has exactly one valid byte form (canonical JSON, lowercase hex, canonical
//! checkpoint bodies, strict base64 and Ed25519 encodings), so changing any byte fails
//! verification.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::canonical::{ENCODING, is_canonical, parse_strict, to_jcs};
use crate::ledger::{Ledger, LedgerError};
use crate::merkle::{self, CompactRange, Hash};
use crate::note::{SignedCheckpoint, Verifier};
use crate::{hex, parse_hex};

/// The `format` of a bundle header.
pub const FORMAT: &str = "kite-ledger-bundle";
/// The bundle format version this crate writes and reads.
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    encoding: String,
    origin: String,
    size: u64,
    checkpoints: Vec<HeaderCheckpoint>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderCheckpoint {
    note: String,
    consistency: Vec<String>,
}

/// What a bundle holds (after export, or after it verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleSummary {
    /// The log's origin.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// Root hash of all entries.
    pub root: Hash,
    /// Number of checkpoints.
    pub checkpoints: usize,
    /// The newest checkpoint (covers every entry).
    pub latest: SignedCheckpoint,
    /// The keys whose signatures were accepted (the given one, then keys reached by rotation).
    pub keys: Vec<Verifier>,
}

/// Where in a bundle verification failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The header line.
    Header,
    /// The checkpoint at this position in the header (0 = oldest).
    Checkpoint {
        /// Position in the header's list.
        position: usize,
        /// Its tree size, if it could be read.
        size: Option<u64>,
    },
    /// The entry with this index (on line `index + 2`).
    Entry {
        /// The entry index.
        index: u64,
    },
    /// After the entries.
    End {
        /// The line number.
        line: u64,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Location::Header => write!(f, "header (line 1)"),
            Location::Checkpoint {
                position,
                size: Some(s),
            } => write!(f, "checkpoint {position} (tree size {s})"),
            Location::Checkpoint {
                position,
                size: None,
            } => write!(f, "checkpoint {position}"),
            Location::Entry { index } => write!(f, "entry {index} (line {})", index + 2),
            Location::End { line } => write!(f, "end of bundle (line {line})"),
        }
    }
}

/// The first part of a bundle that failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bundle verification failed at {location}: {message}")]
pub struct BundleError {
    /// Where.
    pub location: Location,
    /// What failed.
    pub message: String,
}

fn fail<T>(location: Location, message: impl Into<String>) -> Result<T, BundleError> {
    Err(BundleError {
        location,
        message: message.into(),
    })
}

/// Writes the bundle of `ledger` to `out`.
pub(crate) fn export(ledger: &Ledger, out: &mut dyn Write) -> Result<BundleSummary, LedgerError> {
    let invalid = |message: String| LedgerError::Invalid {
        path: ledger.path().to_path_buf(),
        message,
    };
    let io = |e: std::io::Error| invalid(format!("cannot write the bundle: {e}"));
    let (size, root) = ledger.root()?;
    let cps = ledger.checkpoints()?;
    let latest = match cps.last() {
        Some(c) if c.signed.checkpoint.size == size => c.signed.clone(),
        Some(c) => {
            return Err(invalid(format!(
                "the latest checkpoint covers {} of {size} entries: sign one first (`kite ledger checkpoint`)",
                c.signed.checkpoint.size
            )));
        }
        None => {
            return Err(invalid(
                "has no checkpoint: sign one first (`kite ledger checkpoint`)".into(),
            ));
        }
    };
    let mut checkpoints = Vec::with_capacity(cps.len());
    let mut prev: Option<u64> = None;
    for c in &cps {
        let s = c.signed.checkpoint.size;
        let proof = match prev {
            Some(p) => ledger.consistency_proof(p, s)?,
            None => Vec::new(),
        };
        checkpoints.push(HeaderCheckpoint {
            note: c.signed.text.clone(),
            consistency: proof.iter().map(hex).collect(),
        });
        prev = Some(s);
    }
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        encoding: ENCODING.into(),
        origin: ledger.origin().to_string(),
        size,
        checkpoints,
    };
    let header = serde_json::to_value(&header)
        .map_err(|e| invalid(format!("cannot encode the bundle header: {e}")))?;
    let mut line = to_jcs(&header);
    line.push(b'\n');
    out.write_all(&line).map_err(io)?;
    const CHUNK: u64 = 50_000;
    let mut start = 0;
    while start < size {
        let end = (start + CHUNK).min(size);
        let mut buf = Vec::with_capacity(((end - start) * 300) as usize);
        for e in ledger.entries(start..end)? {
            buf.extend_from_slice(hex(&e.leaf_hash).as_bytes());
            buf.push(b' ');
            buf.extend_from_slice(&e.bytes);
            buf.push(b'\n');
        }
        out.write_all(&buf).map_err(io)?;
        start = end;
    }
    out.flush().map_err(io)?;
    Ok(BundleSummary {
        origin: ledger.origin().to_string(),
        size,
        root,
        checkpoints: cps.len(),
        latest,
        keys: ledger.keys()?.into_iter().map(|k| k.verifier).collect(),
    })
}

/// Verifies a bundle with nothing but its bytes and the log's public key; returns what it
/// holds, or names the first part that fails.
///
/// Order: header form; every checkpoint's signature (by `pubkey`, or a key handed over to or
/// from it by a `key-rotation` checkpoint signed by both keys); consistency between successive
/// checkpoints; then each entry's form and hash, and the root at every checkpoint size; and
/// that nothing follows the last entry.
pub fn verify_bundle(
    input: &mut dyn BufRead,
    pubkey: &Verifier,
) -> Result<BundleSummary, BundleError> {
    let mut line = Vec::new();
    let header = read_header(input, &mut line)?;
    let (checkpoints, keys) = verify_checkpoints(&header, pubkey)?;
    let mut range = CompactRange::new();
    let mut next = 0usize;
    check_roots(&checkpoints, &range, &mut next)?;
    // Entries are read in chunks; each chunk's lines are checked (form, hash, canonical JSON)
    // on all cores, then folded into the tree in order, so the first failure is still the
    // first in the file.
    const CHUNK: u64 = 16_384;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let mut buf: Vec<u8> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut first = 0u64;
    while first < header.size {
        let count = CHUNK.min(header.size - first);
        buf.clear();
        ends.clear();
        for k in 0..count {
            let n = input.read_until(b'\n', &mut buf).map_err(|e| BundleError {
                location: Location::Entry { index: first + k },
                message: format!("cannot read: {e}"),
            })?;
            if n == 0 {
                break;
            }
            ends.push(buf.len());
        }
        let lines: Vec<&[u8]> = ends
            .iter()
            .scan(0usize, |start, &end| {
                let l = &buf[*start..end];
                *start = end;
                Some(l)
            })
            .collect();
        let per = lines.len().div_ceil(threads).max(1);
        let results: Vec<(Vec<Hash>, Option<String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = lines
                .chunks(per)
                .map(|part| {
                    scope.spawn(move || {
                        let mut leaves = Vec::with_capacity(part.len());
                        for l in part {
                            match verify_entry_line(l) {
                                Ok(h) => leaves.push(h),
                                Err(m) => return (leaves, Some(m)),
                            }
                        }
                        (leaves, None)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| (Vec::new(), Some("the checking thread failed".into())))
                })
                .collect()
        });
        for (leaves, error) in results {
            for leaf in leaves {
                range.push(leaf, |_, _, _| {});
                check_roots(&checkpoints, &range, &mut next)?;
            }
            if let Some(message) = error {
                return fail(
                    Location::Entry {
                        index: range.size(),
                    },
                    message,
                );
            }
        }
        if (lines.len() as u64) < count {
            return fail(
                Location::Entry {
                    index: range.size(),
                },
                format!(
                    "the bundle ends after {} entries but its header says {}: it was truncated",
                    range.size(),
                    header.size
                ),
            );
        }
        first += count;
    }
    line.clear();
    let extra = input
        .read_until(b'\n', &mut line)
        .map_err(|e| BundleError {
            location: Location::End {
                line: header.size + 2,
            },
            message: format!("cannot read: {e}"),
        })?;
    if extra != 0 {
        return fail(
            Location::End {
                line: header.size + 2,
            },
            format!(
                "data after the {} entries the header announces (an entry was added or the header's size changed)",
                header.size
            ),
        );
    }
    let latest = checkpoints.last().cloned().ok_or_else(|| BundleError {
        location: Location::Header,
        message: "no checkpoint".into(),
    })?;
    Ok(BundleSummary {
        origin: header.origin,
        size: header.size,
        root: range.root(),
        checkpoints: checkpoints.len(),
        latest,
        keys,
    })
}

fn read_header(input: &mut dyn BufRead, line: &mut Vec<u8>) -> Result<Header, BundleError> {
    let h = |m: String| BundleError {
        location: Location::Header,
        message: m,
    };
    input
        .read_until(b'\n', line)
        .map_err(|e| h(format!("cannot read: {e}")))?;
    let Some(text) = line.strip_suffix(b"\n") else {
        return fail(
            Location::Header,
            "the bundle is empty or has no complete header line",
        );
    };
    let value = parse_strict(text).map_err(|e| h(format!("not JSON: {e}")))?;
    if to_jcs(&value) != text {
        return fail(
            Location::Header,
            "not in canonical (RFC 8785) form: it was edited",
        );
    }
    let header: Header =
        serde_json::from_value(value).map_err(|e| h(format!("not a bundle header: {e}")))?;
    if header.format != FORMAT {
        return fail(
            Location::Header,
            format!("format `{}` is not `{FORMAT}`", header.format),
        );
    }
    if header.version != VERSION {
        return fail(
            Location::Header,
            format!(
                "bundle version {} is not {VERSION}: use a kite that reads it",
                header.version
            ),
        );
    }
    if header.encoding != ENCODING {
        return fail(
            Location::Header,
            format!("entry encoding `{}` is not `{ENCODING}`", header.encoding),
        );
    }
    if header.checkpoints.is_empty() {
        return fail(
            Location::Header,
            "no checkpoint: nothing vouches for the entries",
        );
    }
    Ok(header)
}

fn verify_checkpoints(
    header: &Header,
    pubkey: &Verifier,
) -> Result<(Vec<SignedCheckpoint>, Vec<Verifier>), BundleError> {
    let at = |position: usize, size: Option<u64>| Location::Checkpoint { position, size };
    // Parse first (form only), to learn sizes and key hand-overs.
    let mut parsed = Vec::with_capacity(header.checkpoints.len());
    for (i, c) in header.checkpoints.iter().enumerate() {
        let cp = SignedCheckpoint::parse(&c.note).map_err(|e| BundleError {
            location: at(i, None),
            message: e.0,
        })?;
        parsed.push(cp);
    }
    // Follow key rotations both ways from the given key: a hand-over signed by both keys it
    // names links them, so one trusted key reaches the other.
    let mut trusted = vec![pubkey.clone()];
    loop {
        let mut grew = false;
        for (i, cp) in parsed.iter().enumerate() {
            let Some(rot) = cp.checkpoint.rotation() else {
                continue;
            };
            let (old, new) = rot.map_err(|e| BundleError {
                location: at(i, Some(cp.checkpoint.size)),
                message: e.0,
            })?;
            if !(trusted.contains(&old) || trusted.contains(&new)) {
                continue;
            }
            let pair = [old.clone(), new.clone()];
            SignedCheckpoint::verify(&cp.text, &pair, &pair).map_err(|e| BundleError {
                location: at(i, Some(cp.checkpoint.size)),
                message: format!("key hand-over: {}", e.0),
            })?;
            let ids: Vec<u32> = cp.signatures.iter().map(|s| s.1).collect();
            if ids.len() != 2
                || ids
                    .iter()
                    .any(|id| !pair.iter().any(|k| k.key_id() == format!("{id:08x}")))
            {
                return fail(
                    at(i, Some(cp.checkpoint.size)),
                    "a key hand-over is signed by exactly the old and the new key",
                );
            }
            for k in pair {
                if !trusted.contains(&k) {
                    trusted.push(k);
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    let mut prev: Option<&SignedCheckpoint> = None;
    let mut out = Vec::with_capacity(parsed.len());
    for (i, (c, cp)) in header.checkpoints.iter().zip(&parsed).enumerate() {
        let loc = at(i, Some(cp.checkpoint.size));
        let verified =
            SignedCheckpoint::verify(&c.note, &trusted, &trusted).map_err(|e| BundleError {
                location: loc.clone(),
                message: e.0,
            })?;
        if verified.checkpoint.origin != header.origin {
            return fail(
                loc,
                format!(
                    "origin `{}` is not the bundle's `{}`",
                    verified.checkpoint.origin, header.origin
                ),
            );
        }
        let proof = c
            .consistency
            .iter()
            .map(|h| parse_hex(h))
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(|| BundleError {
                location: loc.clone(),
                message: "a consistency proof hash is not 64 lowercase hex digits".into(),
            })?;
        match prev {
            None if !proof.is_empty() => {
                return fail(loc, "the first checkpoint has no predecessor to prove consistency with");
            }
            None => {}
            Some(p) => merkle::verify_consistency(
                p.checkpoint.size,
                &p.checkpoint.root,
                verified.checkpoint.size,
                &verified.checkpoint.root,
                &proof,
            )
            .map_err(|e| BundleError {
                location: loc.clone(),
                message: format!(
                    "not consistent with the previous checkpoint (size {}): {e}; the log was rewritten or forked",
                    p.checkpoint.size
                ),
            })?,
        }
        out.push(verified);
        prev = out.last();
    }
    let last = out.last().map_or(0, |c| c.checkpoint.size);
    if last != header.size {
        return fail(
            Location::Header,
            format!(
                "the header says {} entries but the latest checkpoint covers {last}",
                header.size
            ),
        );
    }
    Ok((out, trusted))
}

/// Compares the root with every checkpoint of the current size.
fn check_roots(
    checkpoints: &[SignedCheckpoint],
    range: &CompactRange,
    next: &mut usize,
) -> Result<(), BundleError> {
    while let Some(cp) = checkpoints.get(*next) {
        if cp.checkpoint.size != range.size() {
            break;
        }
        if cp.checkpoint.root != range.root() {
            return fail(
                Location::Checkpoint {
                    position: *next,
                    size: Some(cp.checkpoint.size),
                },
                format!(
                    "entries 0..{} hash to root {}, the signed checkpoint says {}: an entry before index {} was changed, removed, reordered or inserted",
                    cp.checkpoint.size,
                    hex(&range.root()),
                    hex(&cp.checkpoint.root),
                    cp.checkpoint.size
                ),
            );
        }
        *next += 1;
    }
    Ok(())
}

/// Checks one `<hex leaf hash> <canonical entry>\n` line; returns the leaf hash.
fn verify_entry_line(line: &[u8]) -> Result<Hash, String> {
    let Some(line) = line.strip_suffix(b"\n") else {
        return Err("the last line has no newline: the bundle was truncated".into());
    };
    if line.len() < 66 || line[64] != b' ' {
        return Err("not `<64 hex digits> <entry>`".into());
    }
    let listed = std::str::from_utf8(&line[..64])
        .ok()
        .and_then(parse_hex)
        .ok_or("the leaf hash is not 64 lowercase hex digits")?;
    let bytes = &line[65..];
    let actual = merkle::leaf_hash(bytes);
    if actual != listed {
        return Err(format!(
            "its bytes hash to {}, the bundle lists {}: the entry or its hash was changed",
            hex(&actual),
            hex(&listed)
        ));
    }
    if !is_canonical(bytes) {
        return Err("the entry is not canonical (RFC 8785) JSON with `kind` and `v`".into());
    }
    Ok(listed)
}
