//! Keys, C2SP signed notes and C2SP tlog checkpoints.
//!
//! * A checkpoint body (<https://c2sp.org/tlog-checkpoint>) is the origin line, the tree size in
//!   decimal, the root hash in standard base64, then optional extension lines; kite writes
//!   `time <RFC 3339 UTC>` and, on a key hand-over, `key-rotation <old vkey> <new vkey>`.
//! * A signed note (<https://c2sp.org/signed-note>) is the body, a blank line, and one line per
//!   signature: `— <key name> <base64(key id ‖ Ed25519 signature over the body)>`.
//! * An Ed25519 key's id is the first 4 bytes of `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`; its
//!   verifier key text is `name+<8 hex key id>+base64(0x01 ‖ public key)` and its private key
//!   file `PRIVATE+KEY+name+<8 hex key id>+base64(0x01 ‖ seed)`, as in Go's `x/mod/sumdb/note`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;

use crate::merkle::Hash;

/// The signature algorithm byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;
/// The em dash that starts a signature line, then a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// A malformed key, note or checkpoint, or a signature that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoteError(pub String);

fn note_err(msg: impl Into<String>) -> NoteError {
    NoteError(msg.into())
}

/// A key name must be non-empty, without whitespace or `+` (C2SP signed-note).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A public key that checks note signatures: a name, its key id and an Ed25519 key.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl Verifier {
    /// Parses verifier key text `name+hexid+base64(0x01 ‖ key)` (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Verifier, NoteError> {
        let text = text.trim();
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(note_err(format!(
                "`{text}` is not a public key: expected `name+keyid+base64key` (the .pub file `kite ledger init` wrote)"
            )));
        };
        if !valid_name(name) {
            return Err(note_err(format!("public key name `{name}` is not valid")));
        }
        let id = parse_key_id(id_hex)?;
        let raw = B64
            .decode(key_b64)
            .map_err(|e| note_err(format!("public key `{text}`: bad base64 ({e})")))?;
        let (alg, key) = raw
            .split_first()
            .ok_or_else(|| note_err("public key is empty"))?;
        if *alg != ALG_ED25519 {
            return Err(note_err(format!(
                "public key algorithm {alg:#04x} is not Ed25519 (0x01)"
            )));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| note_err("an Ed25519 public key has 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|e| note_err(format!("public key is not a valid Ed25519 point: {e}")))?;
        if key_id(name, key.as_bytes()) != id {
            return Err(note_err(format!(
                "public key `{text}`: the key id {id_hex} does not match the name and key"
            )));
        }
        Ok(Verifier {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<Verifier, NoteError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| note_err(format!("cannot read public key {}: {e}", path.display())))?;
        Verifier::parse(&text).map_err(|e| note_err(format!("{}: {e}", path.display())))
    }

    /// The key name (kite uses the log origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id as 8 lowercase hex digits.
    pub fn key_id(&self) -> String {
        format!("{:08x}", self.id)
    }

    /// The verifier key text.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(sig) else {
            return false;
        };
        // Strict: rejects non-canonical encodings, so a signature has exactly one byte form.
        self.key.verify_strict(msg, &sig).is_ok()
    }
}

fn parse_key_id(id_hex: &str) -> Result<u32, NoteError> {
    if id_hex.len() != 8
        || !id_hex
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(note_err(format!(
            "key id `{id_hex}` must be 8 lowercase hex digits"
        )));
    }
    u32::from_str_radix(id_hex, 16).map_err(|e| note_err(format!("key id `{id_hex}`: {e}")))
}

/// A private signing key. Never printed: `Debug` shows the public half only.
pub struct Signer {
    name: String,
    key: SigningKey,
    verifier: Verifier,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Signer({})", self.verifier.to_vkey())
    }
}

impl Signer {
    /// A fresh key from the operating system's random source.
    pub fn generate(name: &str) -> Result<Signer, NoteError> {
        use rand::TryRng as _;
        let mut seed = [0u8; 32];
        rand::rngs::SysRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| note_err(format!("no randomness from the operating system: {e}")))?;
        Signer::from_seed(name, seed)
    }

    /// The key with this 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Signer, NoteError> {
        if !valid_name(name) {
            return Err(note_err(format!(
                "key name `{name}` is not valid: use a non-empty name without spaces or `+`"
            )));
        }
        let key = SigningKey::from_bytes(&seed);
        let public = key.verifying_key();
        let verifier = Verifier {
            name: name.to_string(),
            id: key_id(name, public.as_bytes()),
            key: public,
        };
        Ok(Signer {
            name: name.to_string(),
            key,
            verifier,
        })
    }

    /// Parses private key text `PRIVATE+KEY+name+hexid+base64(0x01 ‖ seed)`.
    pub fn parse(text: &str) -> Result<Signer, NoteError> {
        let text = text.trim();
        let rest = text.strip_prefix("PRIVATE+KEY+").ok_or_else(|| {
            note_err("not a private key: expected `PRIVATE+KEY+name+keyid+base64`")
        })?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(note_err(
                "not a private key: expected `PRIVATE+KEY+name+keyid+base64`",
            ));
        };
        let id = parse_key_id(id_hex)?;
        let raw = B64
            .decode(b64)
            .map_err(|e| note_err(format!("private key: bad base64 ({e})")))?;
        let seed: [u8; 32] = match raw.split_first() {
            Some((&ALG_ED25519, seed)) => seed
                .try_into()
                .map_err(|_| note_err("an Ed25519 private key has 32 bytes"))?,
            _ => return Err(note_err("private key is not an Ed25519 key (0x01)")),
        };
        let signer = Signer::from_seed(name, seed)?;
        if signer.verifier.id != id {
            return Err(note_err(format!(
                "private key: the key id {id_hex} does not match the key"
            )));
        }
        Ok(signer)
    }

    /// The private key text.
    pub fn to_skey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifier.id,
            B64.encode(raw)
        )
    }

    /// Reads a private key file, refusing one that others can read (mode must be 0600 or
    /// stricter), since anyone who reads it can sign checkpoints in this log's name.
    pub fn load(path: &Path) -> Result<Signer, NoteError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(path).map_err(|e| {
                note_err(format!("cannot read private key {}: {e}", path.display()))
            })?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(note_err(format!(
                    "private key {} has mode {mode:04o}, so other users can read it: run `chmod 600 {}` (and rotate the key with `kite ledger key rotate` if others may have copied it)",
                    path.display(),
                    path.display()
                )));
            }
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| note_err(format!("cannot read private key {}: {e}", path.display())))?;
        Signer::parse(&text).map_err(|e| note_err(format!("{}: {e}", path.display())))
    }

    /// Writes the private key to a new file with mode 0600 (never over an existing file).
    pub fn save(&self, path: &Path) -> Result<(), NoteError> {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(path)
            .map_err(|e| note_err(format!("cannot create key file {}: {e}", path.display())))?;
        f.write_all(format!("{}\n", self.to_skey()).as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| note_err(format!("cannot write key file {}: {e}", path.display())))
    }

    /// The public half.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    fn sign_line(&self, body: &str) -> String {
        let sig = self.key.sign(body.as_bytes());
        let mut raw = self.verifier.id.to_be_bytes().to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}

/// A checkpoint body: what a signature commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin (its unique name).
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// Merkle tree hash of those entries.
    pub root: Hash,
    /// Extension lines (without newlines), in order.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The body text, each line ending in a newline.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a body, accepting only the form [`Checkpoint::body`] writes.
    pub fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
        let Some(stripped) = body.strip_suffix('\n') else {
            return Err(note_err("a checkpoint body ends with a newline"));
        };
        let lines: Vec<&str> = stripped.split('\n').collect();
        let [origin, size, root, ext @ ..] = lines.as_slice() else {
            return Err(note_err(
                "a checkpoint has at least three lines: origin, tree size, root hash",
            ));
        };
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(note_err(
                "checkpoint origin line is empty or has control characters",
            ));
        }
        let size_n: u64 = size
            .parse()
            .map_err(|_| note_err(format!("checkpoint tree size `{size}` is not a number")))?;
        if size_n.to_string() != *size {
            return Err(note_err(format!(
                "checkpoint tree size `{size}` is not in canonical decimal"
            )));
        }
        let root_bytes = B64
            .decode(root)
            .map_err(|e| note_err(format!("checkpoint root hash `{root}`: bad base64 ({e})")))?;
        let root: Hash = root_bytes
            .try_into()
            .map_err(|_| note_err("checkpoint root hash is not 32 bytes"))?;
        if ext
            .iter()
            .any(|l| l.is_empty() || l.chars().any(char::is_control))
        {
            return Err(note_err(
                "checkpoint extension lines must be non-empty text",
            ));
        }
        let cp = Checkpoint {
            origin: origin.to_string(),
            size: size_n,
            root,
            extensions: ext.iter().map(|s| s.to_string()).collect(),
        };
        if cp.body() != body {
            return Err(note_err("checkpoint body is not in canonical form"));
        }
        Ok(cp)
    }

    /// The value of the `time` extension line, if any.
    pub fn time(&self) -> Option<&str> {
        self.extensions.iter().find_map(|l| l.strip_prefix("time "))
    }

    /// The `(old, new)` verifier keys of a `key-rotation` extension line, if any.
    pub fn rotation(&self) -> Option<Result<(Verifier, Verifier), NoteError>> {
        let line = self
            .extensions
            .iter()
            .find_map(|l| l.strip_prefix("key-rotation "))?;
        let mut parts = line.split(' ');
        Some(match (parts.next(), parts.next(), parts.next()) {
            (Some(old), Some(new), None) => {
                Verifier::parse(old).and_then(|o| Verifier::parse(new).map(|n| (o, n)))
            }
            _ => Err(note_err(
                "a key-rotation line names the old and the new public key",
            )),
        })
    }

    /// Signs the body with every key given, in order: a C2SP signed note.
    pub fn sign(&self, signers: &[&Signer]) -> SignedCheckpoint {
        let body = self.body();
        let mut text = format!("{body}\n");
        for s in signers {
            text.push_str(&s.sign_line(&body));
        }
        SignedCheckpoint {
            checkpoint: self.clone(),
            signatures: signers
                .iter()
                .map(|s| (s.verifier.name.clone(), s.verifier.id))
                .collect(),
            text,
        }
    }
}

/// A signed checkpoint: the parsed body and the note text exactly as signed and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The body.
    pub checkpoint: Checkpoint,
    /// `(key name, key id)` of each signature line, in order.
    pub signatures: Vec<(String, u32)>,
    /// The whole note: body, blank line, signature lines.
    pub text: String,
}

/// One signature line, parsed.
struct SigLine {
    name: String,
    id: u32,
    sig: Vec<u8>,
}

impl SignedCheckpoint {
    /// Parses a signed note and checks its form (not its signatures: see
    /// [`SignedCheckpoint::verify`]).
    pub fn parse(text: &str) -> Result<SignedCheckpoint, NoteError> {
        Self::parse_lines(text).map(|(cp, _)| cp)
    }

    fn parse_lines(text: &str) -> Result<(SignedCheckpoint, Vec<SigLine>), NoteError> {
        let split = text
            .find("\n\n")
            .ok_or_else(|| note_err("a signed note has a blank line before its signatures"))?;
        let body = &text[..split + 1];
        let sigs = &text[split + 2..];
        let checkpoint = Checkpoint::parse_body(body)?;
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(note_err("a signed note ends with a newline"));
        };
        let mut lines = Vec::new();
        for line in sigs.split('\n') {
            let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
                note_err(format!("`{line}` is not a signature line (— name sig)"))
            })?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| note_err(format!("signature line `{line}` has no signature")))?;
            if !valid_name(name) {
                return Err(note_err(format!(
                    "signature key name `{name}` is not valid"
                )));
            }
            let raw = B64
                .decode(b64)
                .map_err(|e| note_err(format!("signature by `{name}`: bad base64 ({e})")))?;
            if raw.len() != 4 + 64 {
                return Err(note_err(format!(
                    "signature by `{name}` has {} bytes, an Ed25519 one 68",
                    raw.len()
                )));
            }
            let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
            lines.push(SigLine {
                name: name.to_string(),
                id,
                sig: raw[4..].to_vec(),
            });
        }
        if lines.is_empty() {
            return Err(note_err("the note has no signature"));
        }
        let cp = SignedCheckpoint {
            checkpoint,
            signatures: lines.iter().map(|l| (l.name.clone(), l.id)).collect(),
            text: text.to_string(),
        };
        Ok((cp, lines))
    }

    /// Parses the note and checks its signatures against `known` keys.
    ///
    /// Every signature line must be by a key in `known` and verify, so no line can be added,
    /// dropped to an unknown name or altered without failing; and at least one must be by a key
    /// in `trusted` (a subset of `known`).
    pub fn verify(
        text: &str,
        known: &[Verifier],
        trusted: &[Verifier],
    ) -> Result<SignedCheckpoint, NoteError> {
        let (cp, lines) = Self::parse_lines(text)?;
        let body = cp.checkpoint.body();
        let mut trusted_ok = false;
        for l in &lines {
            let key = known
                .iter()
                .find(|k| k.name == l.name && k.id == l.id)
                .ok_or_else(|| {
                    note_err(format!(
                        "signature by unknown key `{}` (id {:08x}): check that --pubkey is this log's key",
                        l.name, l.id
                    ))
                })?;
            if !key.verify(body.as_bytes(), &l.sig) {
                return Err(note_err(format!(
                    "the signature by key `{}` (id {:08x}) does not verify: the checkpoint was altered or signed by another key",
                    l.name, l.id
                )));
            }
            trusted_ok |= trusted.contains(key);
        }
        if !trusted_ok {
            return Err(note_err(
                "no signature by the given public key: the checkpoint is not from this log's key",
            ));
        }
        Ok(cp)
    }
}
