//! The SQLite-backed log.
//!
//! Tables: `meta` (origin, schema and encoding versions), `entries` (index, canonical bytes,
//! leaf hash, append time), `tree_state` (size and compact range, so an append or a root never
//! re-reads old leaves), `nodes` (hashes of the perfect subtrees of 256 leaves and up, so a
//! proof reads at most a few hundred leaf hashes per level), `checkpoints` (signed notes) and
//! `keys` (every public key the log has used, for rotation).
//!
//! Durability: WAL journal with `synchronous=FULL`, so a committed append survives power loss;
//! every append is one `BEGIN IMMEDIATE` transaction that writes the entries, the new subtree
//! hashes and the new compact range together, so a crash leaves the log either before or after
//! the whole batch, never between.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use kite_core::{Clock, SystemClock};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use crate::canonical::{EncodingError, canonicalize, is_canonical};
use crate::merkle::{self, CompactRange, Hash, ProofError};
use crate::note::{Checkpoint, NoteError, SignedCheckpoint, Signer, Verifier};

/// Schema version of the SQLite file.
const SCHEMA: &str = "1";
/// Perfect subtrees at this level (2^8 leaves) and above are stored in `nodes`.
const STORED_LEVEL: u32 = 8;

/// Everything that can go wrong with a ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// An entry cannot be encoded; nothing was appended.
    #[error("entry {position} of the batch (0-based), {source}; nothing was appended")]
    Entry {
        /// Position in the batch.
        position: usize,
        /// What is wrong with it.
        source: EncodingError,
    },
    /// SQLite failed.
    #[error("ledger {path}: {source}")]
    Sqlite {
        /// The ledger file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The file is not a usable ledger, or a request does not fit it.
    #[error("ledger {path}: {message}")]
    Invalid {
        /// The ledger file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A key, note or checkpoint problem.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A proof request out of range.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

type Result<T> = std::result::Result<T, LedgerError>;

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the log, from 0.
    pub index: u64,
    /// The canonical (RFC 8785) bytes, exactly as hashed.
    pub bytes: Vec<u8>,
    /// `SHA-256(0x00 ‖ bytes)`.
    pub leaf_hash: Hash,
    /// When it was appended (local metadata: not covered by the hash; put times that matter in
    /// the entry itself).
    pub appended_at: Timestamp,
}

impl Entry {
    /// The entry as JSON.
    pub fn value(&self) -> std::result::Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.bytes)
    }
}

/// A stored signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Row id, in creation order.
    pub id: i64,
    /// The signed note.
    pub signed: SignedCheckpoint,
}

/// A key the log has used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The public key.
    pub verifier: Verifier,
    /// When it became the signing key.
    pub added_at: String,
    /// When it was replaced, if it was.
    pub retired_at: Option<String>,
}

/// The private and public key files of the ledger at `ledger`: `<stem>.key` (mode 0600) and
/// `<stem>.pub`, next to it.
pub fn key_paths(ledger: &Path) -> (PathBuf, PathBuf) {
    (ledger.with_extension("key"), ledger.with_extension("pub"))
}

/// An append-only transparency log in one SQLite file.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    origin: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("origin", &self.origin)
            .finish()
    }
}

/// A sanity check for the origin line of checkpoints: one line of printable text.
fn valid_origin(origin: &str) -> bool {
    !origin.is_empty()
        && origin.len() <= 256
        && !origin
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '+')
}

impl Ledger {
    /// Creates a new, empty ledger file. `origin` names the log in its checkpoints (e.g.
    /// `example.org/kite/team-a`); it must be unique to this log, so checkpoints of two logs
    /// can never be confused. Fails if the file exists.
    pub fn create(path: &Path, origin: &str) -> Result<Ledger> {
        if !valid_origin(origin) {
            return Err(invalid(
                path,
                format!(
                    "origin `{origin}` is not valid: use one word without spaces or `+`, e.g. example.org/kite/ledger"
                ),
            ));
        }
        if path.exists() {
            return Err(invalid(
                path,
                "already exists: open it, or choose another path".to_string(),
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                invalid(
                    path,
                    format!("cannot create directory {}: {e}", dir.display()),
                )
            })?;
        }
        let conn = Connection::open(path).map_err(|e| sqlite(path, e))?;
        configure(&conn, path)?;
        let tx = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)
            .map_err(|e| sqlite(path, e))?;
        tx.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE entries (
                 idx INTEGER PRIMARY KEY,
                 bytes BLOB NOT NULL,
                 leaf_hash BLOB NOT NULL,
                 appended_at TEXT NOT NULL);
             CREATE TABLE nodes (
                 level INTEGER NOT NULL,
                 idx INTEGER NOT NULL,
                 hash BLOB NOT NULL,
                 PRIMARY KEY (level, idx)) WITHOUT ROWID;
             CREATE TABLE tree_state (
                 id INTEGER PRIMARY KEY CHECK (id = 0),
                 size INTEGER NOT NULL,
                 compact_range BLOB NOT NULL);
             INSERT INTO tree_state VALUES (0, 0, x'');
             CREATE TABLE checkpoints (
                 id INTEGER PRIMARY KEY,
                 size INTEGER NOT NULL,
                 note TEXT NOT NULL,
                 created_at TEXT NOT NULL);
             CREATE TABLE keys (
                 vkey TEXT PRIMARY KEY,
                 added_at TEXT NOT NULL,
                 retired_at TEXT);",
        )
        .map_err(|e| sqlite(path, e))?;
        for (k, v) in [
            ("schema", SCHEMA),
            ("encoding", crate::canonical::ENCODING),
            ("origin", origin),
        ] {
            tx.execute("INSERT INTO meta VALUES (?1, ?2)", params![k, v])
                .map_err(|e| sqlite(path, e))?;
        }
        tx.commit().map_err(|e| sqlite(path, e))?;
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
            origin: origin.to_string(),
            clock: Arc::new(SystemClock),
        })
    }

    /// Opens an existing ledger.
    pub fn open(path: &Path) -> Result<Ledger> {
        if !path.exists() {
            return Err(invalid(
                path,
                "does not exist: create it with `kite ledger init` (or Ledger::create)".into(),
            ));
        }
        let conn = Connection::open(path).map_err(|e| sqlite(path, e))?;
        configure(&conn, path)?;
        let get = |key: &str| -> Result<Option<String>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(|e| sqlite(path, e))
        };
        let schema = get("schema").map_err(|_| invalid(path, "is not a kite ledger".into()))?;
        match schema.as_deref() {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(invalid(
                    path,
                    format!("has schema version {other}, this kite reads {SCHEMA}: upgrade kite"),
                ));
            }
            None => return Err(invalid(path, "is not a kite ledger".into())),
        }
        let origin = get("origin")?.ok_or_else(|| invalid(path, "has no origin".into()))?;
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
            origin,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` for append and checkpoint times (tests, replays).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Ledger {
        self.clock = clock;
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The log's origin (its name in checkpoints).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn db<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|e| sqlite(&self.path, e))
    }

    fn begin(&self) -> Result<rusqlite::Transaction<'_>> {
        self.db(rusqlite::Transaction::new_unchecked(
            &self.conn,
            TransactionBehavior::Immediate,
        ))
    }

    /// Number of entries.
    pub fn len(&self) -> Result<u64> {
        Ok(self.state()?.size())
    }

    /// Whether the log has no entry.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    fn state(&self) -> Result<CompactRange> {
        let (size, bytes): (i64, Vec<u8>) = self.db(self.conn.query_row(
            "SELECT size, compact_range FROM tree_state WHERE id = 0",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ))?;
        CompactRange::from_parts(size as u64, &bytes).ok_or_else(|| {
            invalid(
                &self.path,
                format!(
                    "the stored tree state for {size} entries is damaged: run `kite ledger verify`"
                ),
            )
        })
    }

    /// Appends one entry (a JSON object with `kind` and `v`), durably; returns its index.
    pub fn append(&self, value: &Value) -> Result<u64> {
        Ok(self.append_batch(std::slice::from_ref(value))?.start)
    }

    /// Appends entries in one transaction: all or none. Returns their indices.
    pub fn append_batch(&self, values: &[Value]) -> Result<Range<u64>> {
        let encoded = values
            .iter()
            .enumerate()
            .map(|(position, v)| {
                canonicalize(v).map_err(|source| LedgerError::Entry { position, source })
            })
            .collect::<Result<Vec<_>>>()?;
        self.append_encoded(&encoded)
    }

    fn append_encoded(&self, encoded: &[Vec<u8>]) -> Result<Range<u64>> {
        let now = self.clock.now().to_string();
        let tx = self.begin()?;
        // Read the state inside the write transaction: another process may have appended.
        let mut range = self.state()?;
        let start = range.size();
        {
            let mut insert = self.db(tx.prepare_cached(
                "INSERT INTO entries (idx, bytes, leaf_hash, appended_at) VALUES (?1, ?2, ?3, ?4)",
            ))?;
            let mut insert_node = self
                .db(tx.prepare_cached("INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)"))?;
            let mut completed: Vec<(u32, u64, Hash)> = Vec::new();
            for bytes in encoded {
                let leaf = merkle::leaf_hash(bytes);
                self.db(insert.execute(params![range.size() as i64, bytes, &leaf[..], now]))?;
                range.push(leaf, |level, idx, h| {
                    if level >= STORED_LEVEL {
                        completed.push((level, idx, *h));
                    }
                });
                for (level, idx, h) in completed.drain(..) {
                    self.db(insert_node.execute(params![level, idx as i64, &h[..]]))?;
                }
            }
        }
        self.db(tx.execute(
            "UPDATE tree_state SET size = ?1, compact_range = ?2 WHERE id = 0",
            params![range.size() as i64, range.to_bytes()],
        ))?;
        self.db(tx.commit())?;
        Ok(start..range.size())
    }

    /// The entries in `range` (clamped to the log), in order.
    pub fn entries(&self, range: Range<u64>) -> Result<Vec<Entry>> {
        let mut stmt = self.db(self.conn.prepare_cached(
            "SELECT idx, bytes, leaf_hash, appended_at FROM entries
             WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
        ))?;
        let rows = self.db(
            stmt.query_map(params![clamp(range.start), clamp(range.end)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            }),
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (idx, bytes, leaf, at) = self.db(row)?;
            out.push(Entry {
                index: idx as u64,
                bytes,
                leaf_hash: leaf.try_into().map_err(|_| {
                    invalid(&self.path, format!("entry {idx} has a damaged leaf hash"))
                })?,
                appended_at: at.parse().map_err(|e| {
                    invalid(
                        &self.path,
                        format!("entry {idx} has a damaged time `{at}`: {e}"),
                    )
                })?,
            });
        }
        Ok(out)
    }

    /// One entry, if the index is in the log.
    pub fn entry(&self, index: u64) -> Result<Option<Entry>> {
        Ok(self.entries(index..index.saturating_add(1))?.pop())
    }

    /// The current size and root hash.
    pub fn root(&self) -> Result<(u64, Hash)> {
        let range = self.state()?;
        Ok((range.size(), range.root()))
    }

    /// The root hash the log had when it held `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        let range = self.state()?;
        if size > range.size() {
            return Err(ProofError::OutOfRange(format!(
                "the log has {} entries, not {size}",
                range.size()
            ))
            .into());
        }
        if size == range.size() {
            return Ok(range.root());
        }
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        merkle::range_hash(0, size, &mut |s, l| self.perfect(s, l))
    }

    /// Hash of the perfect subtree of `2^level` leaves from `start`.
    fn perfect(&self, start: u64, level: u32) -> Result<Hash> {
        if level >= STORED_LEVEL {
            let h: Option<Vec<u8>> = self.db(self
                .conn
                .query_row(
                    "SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2",
                    params![level, (start >> level) as i64],
                    |r| r.get(0),
                )
                .optional())?;
            return h.and_then(|h| h.try_into().ok()).ok_or_else(|| {
                invalid(
                    &self.path,
                    format!("the stored subtree hash of level {level} at entry {start} is missing: run `kite ledger verify`"),
                )
            });
        }
        let mut stmt = self.db(self.conn.prepare_cached(
            "SELECT leaf_hash FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
        ))?;
        let end = start + (1u64 << level);
        let leaves: Vec<Vec<u8>> = self.db(stmt
            .query_map(params![clamp(start), clamp(end)], |r| r.get(0))
            .and_then(|rows| rows.collect()))?;
        let leaves = leaves
            .into_iter()
            .map(|l| l.try_into().ok())
            .collect::<Option<Vec<Hash>>>()
            .filter(|l| l.len() as u64 == end - start)
            .ok_or_else(|| {
                invalid(
                    &self.path,
                    format!("entries {start}..{end} are damaged or missing"),
                )
            })?;
        Ok(merkle::root_from_leaves(&leaves))
    }

    /// The inclusion proof of entry `index` in the tree of the first `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        let len = self.len()?;
        if size > len {
            return Err(ProofError::OutOfRange(format!(
                "the log has {len} entries, so there is no tree of size {size}"
            ))
            .into());
        }
        merkle::inclusion_ranges(index, size)?
            .into_iter()
            .map(|(s, e)| merkle::range_hash(s, e, &mut |s, l| self.perfect(s, l)))
            .collect()
    }

    /// The consistency proof from the tree of `old` entries to the tree of `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let len = self.len()?;
        if new > len {
            return Err(ProofError::OutOfRange(format!(
                "the log has {len} entries, so there is no tree of size {new}"
            ))
            .into());
        }
        merkle::consistency_ranges(old, new)?
            .into_iter()
            .map(|(s, e)| merkle::range_hash(s, e, &mut |s, l| self.perfect(s, l)))
            .collect()
    }

    /// Checks that an older checkpoint (a signed note someone kept) is a past state of this
    /// log: its signature by one of the log's keys, then the root of the first `size` entries,
    /// then an RFC 9162 consistency proof to the current tree, verified. Returns the proof and
    /// the current `(size, root)`. A checkpoint of a forked or rewritten log fails here.
    pub fn consistency_with(&self, old_note: &str) -> Result<ConsistencyCheck> {
        let keys: Vec<Verifier> = self.keys()?.into_iter().map(|k| k.verifier).collect();
        let old = SignedCheckpoint::verify(old_note, &keys, &keys)?;
        if old.checkpoint.origin != self.origin {
            return Err(invalid(
                &self.path,
                format!(
                    "the checkpoint is for log `{}`, this is `{}`",
                    old.checkpoint.origin, self.origin
                ),
            ));
        }
        let (size, root) = self.root()?;
        if old.checkpoint.size > size {
            return Err(invalid(
                &self.path,
                format!(
                    "the checkpoint covers {} entries but this log has only {size}: entries were removed (or it is another copy of the log)",
                    old.checkpoint.size
                ),
            ));
        }
        let ours = self.root_at(old.checkpoint.size)?;
        if ours != old.checkpoint.root {
            return Err(invalid(
                &self.path,
                format!(
                    "INCONSISTENT: at size {} this log's root is {}, the checkpoint signed {}: the log was rewritten or forked since",
                    old.checkpoint.size,
                    crate::hex(&ours),
                    crate::hex(&old.checkpoint.root)
                ),
            ));
        }
        let proof = self.consistency_proof(old.checkpoint.size, size)?;
        merkle::verify_consistency(
            old.checkpoint.size,
            &old.checkpoint.root,
            size,
            &root,
            &proof,
        )?;
        Ok(ConsistencyCheck {
            old,
            size,
            root,
            proof,
        })
    }

    /// All public keys the log has used, oldest first.
    pub fn keys(&self) -> Result<Vec<KeyRecord>> {
        let mut stmt = self.db(self
            .conn
            .prepare("SELECT vkey, added_at, retired_at FROM keys ORDER BY added_at, rowid"))?;
        let rows: Vec<(String, String, Option<String>)> = self.db(stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect()))?;
        rows.into_iter()
            .map(|(vkey, added_at, retired_at)| {
                Ok(KeyRecord {
                    verifier: Verifier::parse(&vkey)?,
                    added_at,
                    retired_at,
                })
            })
            .collect()
    }

    /// The key that signs new checkpoints, if one was registered.
    pub fn current_key(&self) -> Result<Option<Verifier>> {
        Ok(self
            .keys()?
            .into_iter()
            .rev()
            .find(|k| k.retired_at.is_none())
            .map(|k| k.verifier))
    }

    /// Registers the first signing key. Later keys come only through [`Ledger::rotate_key`].
    pub fn register_key(&self, key: &Verifier) -> Result<()> {
        let tx = self.begin()?;
        let n: i64 = self.db(tx.query_row("SELECT count(*) FROM keys", [], |r| r.get(0)))?;
        if n > 0 {
            return Err(invalid(
                &self.path,
                "already has a signing key: replace it with `kite ledger key rotate`".into(),
            ));
        }
        self.check_key_name(key)?;
        self.db(tx.execute(
            "INSERT INTO keys (vkey, added_at) VALUES (?1, ?2)",
            params![key.to_vkey(), self.clock.now().to_string()],
        ))?;
        self.db(tx.commit())
    }

    fn check_key_name(&self, key: &Verifier) -> Result<()> {
        if key.name() != self.origin {
            return Err(invalid(
                &self.path,
                format!(
                    "key `{}` is named for another log: a checkpoint key is named after the origin `{}`",
                    key.name(),
                    self.origin
                ),
            ));
        }
        Ok(())
    }

    fn require_current(&self, signer: &Signer) -> Result<()> {
        match self.current_key()? {
            Some(k) if &k == signer.verifier() => Ok(()),
            Some(k) => Err(invalid(
                &self.path,
                format!(
                    "key {} is not this ledger's signing key ({}): use the key file next to the ledger",
                    signer.verifier().key_id(),
                    k.key_id()
                ),
            )),
            None => self.register_key(signer.verifier()),
        }
    }

    fn new_checkpoint(&self, extensions: Vec<String>) -> Result<Checkpoint> {
        let range = self.state()?;
        let mut ext = vec![format!(
            "time {}",
            self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        )];
        ext.extend(extensions);
        Ok(Checkpoint {
            origin: self.origin.clone(),
            size: range.size(),
            root: range.root(),
            extensions: ext,
        })
    }

    /// Signs and stores a checkpoint of the current tree. The first checkpoint registers the
    /// signer's key; later ones must use the current key.
    pub fn checkpoint(&self, signer: &Signer) -> Result<SignedCheckpoint> {
        self.require_current(signer)?;
        let tx = self.begin()?;
        let signed = self.new_checkpoint(Vec::new())?.sign(&[signer]);
        self.store_checkpoint(&tx, &signed)?;
        self.db(tx.commit())?;
        Ok(signed)
    }

    fn store_checkpoint(
        &self,
        tx: &rusqlite::Transaction,
        signed: &SignedCheckpoint,
    ) -> Result<()> {
        self.db(tx.execute(
            "INSERT INTO checkpoints (size, note, created_at) VALUES (?1, ?2, ?3)",
            params![
                signed.checkpoint.size as i64,
                signed.text,
                self.clock.now().to_string()
            ],
        ))?;
        Ok(())
    }

    /// Hands signing over from `old` (the current key) to `new`: stores a checkpoint with a
    /// `key-rotation <old> <new>` line signed by both, so a verifier holding either key can
    /// follow, and makes `new` the current key.
    pub fn rotate_key(&self, old: &Signer, new: &Signer) -> Result<SignedCheckpoint> {
        self.require_current(old)?;
        self.check_key_name(new.verifier())?;
        if old.verifier() == new.verifier() {
            return Err(invalid(&self.path, "the new key is the old key".into()));
        }
        let tx = self.begin()?;
        let line = format!(
            "key-rotation {} {}",
            old.verifier().to_vkey(),
            new.verifier().to_vkey()
        );
        let signed = self.new_checkpoint(vec![line])?.sign(&[old, new]);
        self.store_checkpoint(&tx, &signed)?;
        let now = self.clock.now().to_string();
        self.db(tx.execute(
            "UPDATE keys SET retired_at = ?1 WHERE vkey = ?2",
            params![now, old.verifier().to_vkey()],
        ))?;
        self.db(tx.execute(
            "INSERT INTO keys (vkey, added_at) VALUES (?1, ?2)",
            params![new.verifier().to_vkey(), now],
        ))?;
        self.db(tx.commit())?;
        Ok(signed)
    }

    /// All stored checkpoints, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
        let mut stmt = self.db(self
            .conn
            .prepare("SELECT id, note FROM checkpoints ORDER BY id"))?;
        let rows: Vec<(i64, String)> = self.db(stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect()))?;
        rows.into_iter()
            .map(|(id, note)| {
                Ok(StoredCheckpoint {
                    id,
                    signed: SignedCheckpoint::parse(&note).map_err(|e| {
                        invalid(&self.path, format!("checkpoint {id} is damaged: {e}"))
                    })?,
                })
            })
            .collect()
    }

    /// The newest checkpoint, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        let note: Option<String> = self.db(self
            .conn
            .query_row(
                "SELECT note FROM checkpoints ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional())?;
        note.map(|n| {
            SignedCheckpoint::parse(&n)
                .map_err(|e| invalid(&self.path, format!("the latest checkpoint is damaged: {e}")))
        })
        .transpose()
    }

    /// Re-checks the whole stored log: every entry's bytes against its leaf hash and canonical
    /// form, every checkpoint's signature (with the log's keys) and root, the stored subtree
    /// hashes and tree state. Problems are collected, not returned as errors, so callers can
    /// flag exactly the entries that fail.
    pub fn verify(&self) -> Result<VerifyReport> {
        let keys: Vec<Verifier> = self.keys()?.into_iter().map(|k| k.verifier).collect();
        let mut report = VerifyReport::default();
        let mut cps: Vec<(i64, SignedCheckpoint)> = Vec::new();
        let mut stmt = self.db(self
            .conn
            .prepare("SELECT id, note FROM checkpoints ORDER BY id"))?;
        let rows: Vec<(i64, String)> = self.db(stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect()))?;
        for (id, note) in rows {
            match SignedCheckpoint::verify(&note, &keys, &keys) {
                Ok(cp) if cp.checkpoint.origin != self.origin => report.fail(
                    None,
                    Some(cp.checkpoint.size),
                    format!(
                        "checkpoint {id} names origin `{}`, not this log's",
                        cp.checkpoint.origin
                    ),
                ),
                Ok(cp) => cps.push((id, cp)),
                Err(e) => report.fail(None, None, format!("checkpoint {id}: {e}")),
            }
        }
        // Check roots in size order; equal sizes must agree too.
        let mut by_size: Vec<&(i64, SignedCheckpoint)> = cps.iter().collect();
        by_size.sort_by_key(|(id, c)| (c.checkpoint.size, *id));
        let mut next = 0;

        let mut range = CompactRange::new();
        let mut expected = 0u64;
        let mut stmt = self.db(self
            .conn
            .prepare("SELECT idx, bytes, leaf_hash FROM entries ORDER BY idx"))?;
        let mut node_stmt = self.db(self
            .conn
            .prepare_cached("SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2"))?;
        let mut rows = self.db(stmt.query([]))?;
        let check_cps = |range: &CompactRange, next: &mut usize, report: &mut VerifyReport| {
            while let Some((id, cp)) = by_size.get(*next) {
                if cp.checkpoint.size != range.size() {
                    break;
                }
                if cp.checkpoint.root != range.root() {
                    report.fail(
                        None,
                        Some(cp.checkpoint.size),
                        format!(
                            "checkpoint {id} (size {}): the stored entries do not hash to its signed root; an entry before index {} was changed, removed, reordered or inserted",
                            cp.checkpoint.size, cp.checkpoint.size
                        ),
                    );
                }
                *next += 1;
            }
        };
        check_cps(&range, &mut next, &mut report);
        while let Some(row) = self.db(rows.next())? {
            let idx: i64 = self.db(row.get(0))?;
            let bytes: Vec<u8> = self.db(row.get(1))?;
            let stored: Vec<u8> = self.db(row.get(2))?;
            if idx as u64 != expected {
                report.fail(
                    Some(expected),
                    None,
                    format!("entries {expected}..{idx} are missing"),
                );
                break;
            }
            let leaf = merkle::leaf_hash(&bytes);
            if stored.as_slice() != leaf.as_slice() {
                report.bad_entry(
                    expected,
                    "its bytes do not hash to its stored leaf hash: the entry was altered",
                );
            } else if !is_canonical(&bytes) {
                report.bad_entry(expected, "its bytes are not canonical JSON");
            }
            let mut node_fail = None;
            range.push(leaf, |level, i, h| {
                if level >= STORED_LEVEL {
                    let stored: Option<Vec<u8>> = node_stmt
                        .query_row(params![level, i as i64], |r| r.get(0))
                        .optional()
                        .ok()
                        .flatten();
                    if stored.as_deref() != Some(&h[..]) {
                        node_fail = Some((level, i));
                    }
                }
            });
            if let Some((level, i)) = node_fail {
                report.fail(
                    None,
                    None,
                    format!("the stored subtree hash at level {level}, index {i} is wrong or missing (proofs would be wrong)"),
                );
            }
            expected += 1;
            check_cps(&range, &mut next, &mut report);
        }
        let state = self.state()?;
        if state.size() != range.size() || state.root() != range.root() {
            report.fail(
                None,
                None,
                format!(
                    "the stored tree state ({} entries) does not match the {} stored entries",
                    state.size(),
                    range.size()
                ),
            );
        }
        for (id, cp) in by_size.iter().skip(next) {
            report.fail(
                None,
                Some(cp.checkpoint.size),
                format!(
                    "checkpoint {id} covers {} entries but the log holds only {}: entries were removed",
                    cp.checkpoint.size,
                    range.size()
                ),
            );
        }
        report.size = range.size();
        report.root = range.root();
        report.latest_checkpoint = cps.last().map(|(_, c)| c.clone());
        Ok(report)
    }

    /// Writes a self-contained bundle of the log (see [`crate::bundle`]). The latest checkpoint
    /// must cover every entry: sign one first with [`Ledger::checkpoint`].
    pub fn export_bundle(
        &self,
        out: &mut dyn std::io::Write,
    ) -> Result<crate::bundle::BundleSummary> {
        crate::bundle::export(self, out)
    }
}

/// The outcome of [`Ledger::consistency_with`]: the old checkpoint is a past state of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyCheck {
    /// The old checkpoint, signature verified.
    pub old: SignedCheckpoint,
    /// Current size.
    pub size: u64,
    /// Current root.
    pub root: Hash,
    /// Consistency proof from the old tree to the current one.
    pub proof: Vec<Hash>,
}

/// The outcome of [`Ledger::verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub size: u64,
    /// Root of the stored entries.
    pub root: Hash,
    /// The newest checkpoint whose signature verified.
    pub latest_checkpoint: Option<SignedCheckpoint>,
    /// Entries whose bytes fail their hash or form.
    pub bad_entries: Vec<u64>,
    /// Every problem found (first 1000), in the order found.
    pub problems: Vec<Problem>,
    /// Smallest size of a checkpoint whose root did not match (entries below it are suspect).
    pub failed_checkpoint_size: Option<u64>,
}

/// One problem found by [`Ledger::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The entry concerned, if one.
    pub entry: Option<u64>,
    /// The checkpoint size concerned, if one.
    pub checkpoint_size: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// What verification says about one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    /// Its bytes match its hash and a checkpoint whose root verified covers it.
    Verified,
    /// Its bytes match its hash but no checkpoint covers it yet.
    Unsigned,
    /// It, or the tree under a checkpoint covering it, failed verification.
    Failed,
    /// No such entry.
    Missing,
}

impl VerifyReport {
    /// Whether everything verified.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The status of one entry, for reports and claim checks.
    pub fn entry_status(&self, index: u64) -> EntryStatus {
        if index >= self.size {
            EntryStatus::Missing
        } else if self.bad_entries.binary_search(&index).is_ok()
            || self.failed_checkpoint_size.is_some_and(|s| index < s)
        {
            EntryStatus::Failed
        } else if self
            .latest_checkpoint
            .as_ref()
            .is_some_and(|c| index < c.checkpoint.size)
        {
            EntryStatus::Verified
        } else {
            EntryStatus::Unsigned
        }
    }

    fn fail(&mut self, entry: Option<u64>, checkpoint_size: Option<u64>, message: String) {
        if let Some(s) = checkpoint_size {
            self.failed_checkpoint_size = Some(self.failed_checkpoint_size.map_or(s, |f| f.min(s)));
        }
        if self.problems.len() < 1000 {
            self.problems.push(Problem {
                entry,
                checkpoint_size,
                message,
            });
        }
    }

    fn bad_entry(&mut self, index: u64, message: &str) {
        self.bad_entries.push(index);
        self.fail(Some(index), None, format!("entry {index}: {message}"));
    }
}

fn configure(conn: &Connection, path: &Path) -> Result<()> {
    // WAL lets readers run beside the writer; FULL syncs the WAL on every commit, which is what
    // makes an acknowledged append durable (NORMAL may lose the last commits on power loss).
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| sqlite(path, e))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| sqlite(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(invalid(
            path,
            format!(
                "journal_mode is {mode}, WAL is needed (is the file on a network file system?)"
            ),
        ));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| sqlite(path, e))
}

fn clamp(i: u64) -> i64 {
    i.min(i64::MAX as u64) as i64
}

fn sqlite(path: &Path, source: rusqlite::Error) -> LedgerError {
    LedgerError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, message: String) -> LedgerError {
    LedgerError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}
