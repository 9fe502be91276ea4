//! `kite ledger`: the verifiable ledger (an RFC 9162 transparency log with C2SP signed
//! checkpoints; see docs/ledger.md). Thin glue over `kite-ledger`.

use crate::args::{GlobalArgs, TableOrJson};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use kite_ledger::{Ledger, LedgerError, Signer, Verifier, hex, key_paths};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// Ledger file (default: $KITE_LEDGER, then ledger.sqlite3 next to kite's database).
    /// Its keys live beside it: <name>.key (private, mode 0600) and <name>.pub.
    #[arg(long, global = true, value_name = "PATH", env = "KITE_LEDGER")]
    pub ledger: Option<PathBuf>,
    #[command(subcommand)]
    pub command: LedgerCommand,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Create an empty ledger and its Ed25519 signing key.
    Init {
        /// The log's unique name in its checkpoints, e.g. example.org/kite/team-a
        /// (default: kite.invalid/ledger/<random>).
        #[arg(long)]
        origin: Option<String>,
    },
    /// Append entries from FILE or `-` (stdin): one JSON object, or JSON Lines (one object per
    /// line, appended in one transaction). Prints each entry's index once it is durable.
    Append {
        /// The file, or `-` for stdin.
        file: PathBuf,
    },
    /// List entries.
    Show {
        /// First index to show.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[arg(long, value_enum, default_value = "table")]
        format: TableOrJson,
    },
    /// Sign a checkpoint of the current tree and print it (a C2SP signed note).
    Checkpoint,
    /// Print an inclusion proof of an entry (JSON), checked before it is printed.
    Prove {
        /// The entry's index.
        #[arg(long)]
        entry: u64,
        /// Tree size to prove against (default: the latest checkpoint's, else the current size).
        #[arg(long)]
        size: Option<u64>,
    },
    /// Check that an older checkpoint (a signed note file) is a past state of this log, and
    /// print the consistency proof. Fails if the log was rewritten or forked since.
    Consistency {
        /// The old checkpoint file.
        #[arg(long, value_name = "CHECKPOINT_FILE")]
        old: PathBuf,
    },
    /// Write the whole log to one file that anyone can verify offline (signs a checkpoint
    /// first if entries were appended since the latest one).
    Export {
        /// The bundle file to write.
        #[arg(long, value_name = "BUNDLE")]
        out: PathBuf,
    },
    /// Verify a bundle with the log's public key (offline), or without --bundle, the local
    /// ledger file. Names the first entry or proof that fails; exits non-zero on failure.
    Verify {
        /// The bundle to verify.
        #[arg(long, value_name = "BUNDLE", requires = "pubkey")]
        bundle: Option<PathBuf>,
        /// The log's public key file (<name>.pub).
        #[arg(long, value_name = "KEYFILE")]
        pubkey: Option<PathBuf>,
    },
    /// Show or rotate the signing key.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the current public key, its id, and every key the log has used.
    Show,
    /// Replace the signing key: a hand-over checkpoint is signed by the old and the new key,
    /// so a verifier holding either can follow.
    Rotate,
}

pub fn run(global: &GlobalArgs, args: LedgerArgs) -> Result<u8> {
    if let LedgerCommand::Verify {
        bundle: Some(bundle),
        pubkey: Some(pubkey),
    } = &args.command
    {
        // Offline: needs nothing but the two files.
        return verify_bundle(bundle, pubkey);
    }
    let path = crate::books::ledger_path(global, args.ledger.as_deref())?;
    match args.command {
        LedgerCommand::Init { origin } => init(&path, origin),
        LedgerCommand::Append { file } => append(&path, &file),
        LedgerCommand::Show {
            from,
            limit,
            format,
        } => show(&path, from, limit, format),
        LedgerCommand::Checkpoint => {
            let ledger = open(&path)?;
            let cp = ledger.checkpoint(&load_signer(&path)?)?;
            crate::emit(&cp.text)?;
            Ok(0)
        }
        LedgerCommand::Prove { entry, size } => prove(&path, entry, size),
        LedgerCommand::Consistency { old } => consistency(&path, &old),
        LedgerCommand::Export { out } => export(&path, &out),
        LedgerCommand::Verify { pubkey, .. } => verify_local(&path, pubkey.as_deref()),
        LedgerCommand::Key {
            command: KeyCommand::Show,
        } => key_show(&path),
        LedgerCommand::Key {
            command: KeyCommand::Rotate,
        } => key_rotate(&path),
    }
}

fn open(path: &Path) -> Result<Ledger> {
    Ok(Ledger::open(path)?)
}

fn load_signer(path: &Path) -> Result<Signer> {
    let (private, _) = key_paths(path);
    Ok(Signer::load(&private)?)
}

fn init(path: &Path, origin: Option<String>) -> Result<u8> {
    let (private, public) = key_paths(path);
    for p in [path, &private, &public] {
        if p.exists() {
            bail!(
                "{} already exists: a ledger is initialised once (use --ledger for another one)",
                p.display()
            );
        }
    }
    let origin = match origin {
        Some(o) => o,
        None => kite_ledger::default_origin()?,
    };
    let key = Signer::generate(&origin)?;
    let ledger = Ledger::create(path, &origin)?;
    key.save(&private)?;
    std::fs::write(&public, format!("{}\n", key.verifier().to_vkey()))
        .with_context(|| format!("writing the public key {}", public.display()))?;
    ledger.register_key(key.verifier())?;
    crate::emit(&format!(
        "ledger:      {}\norigin:      {origin}\nkey id:      {}\npublic key:  {} ({})\nprivate key: {} (mode 0600; keep it secret)\n",
        path.display(),
        key.verifier().key_id(),
        key.verifier().to_vkey(),
        public.display(),
        private.display()
    ))?;
    Ok(0)
}

/// Parses FILE as one JSON object or as JSON Lines; returns `(line, value)` pairs.
fn read_entries(file: &Path) -> Result<Vec<(usize, Value)>> {
    let name = if file == Path::new("-") {
        "stdin".to_string()
    } else {
        file.display().to_string()
    };
    let bytes = if file == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf)
            .context("reading stdin")?;
        buf
    } else {
        std::fs::read(file).with_context(|| format!("reading {name}"))?
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| anyhow!("{name}: not UTF-8 ({e})"))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let json_lines =
        lines.len() > 1 && kite_ledger::canonical::parse_strict(lines[0].1.as_bytes()).is_ok();
    if !json_lines {
        if lines.is_empty() {
            bail!("{name} is empty: give one JSON object or JSON Lines; nothing was appended");
        }
        let v = kite_ledger::canonical::parse_strict(text.trim().as_bytes())
            .map_err(|e| anyhow!("{name}: {e}; nothing was appended"))?;
        return Ok(vec![(lines[0].0, v)]);
    }
    lines
        .into_iter()
        .map(|(n, l)| {
            kite_ledger::canonical::parse_strict(l.as_bytes())
                .map(|v| (n, v))
                .map_err(|e| anyhow!("{name} line {n}: {e}; nothing was appended"))
        })
        .collect()
}

fn append(path: &Path, file: &Path) -> Result<u8> {
    let entries = read_entries(file)?;
    let ledger = open(path)?;
    let name = if file == Path::new("-") {
        "stdin".to_string()
    } else {
        file.display().to_string()
    };
    // Records the books read are checked (and hardware defaults filled, with their source)
    // before anything is appended, so a malformed contract never enters the log; other kinds
    // pass through: the ledger itself is payload-agnostic.
    let mut values = Vec::with_capacity(entries.len());
    for (line, value) in entries.iter() {
        let is_record = value["kind"]
            .as_str()
            .is_some_and(|k| kite_accounting::record::KINDS.contains(&k));
        if !is_record {
            values.push(value.clone());
            continue;
        }
        let (value, notes) = kite_accounting::record::with_defaults(value.clone())
            .map_err(|e| anyhow!("{name} line {line}: {e}; nothing was appended"))?;
        kite_accounting::Record::from_value(&value)
            .map_err(|e| anyhow!("{name} line {line}: {e}; nothing was appended"))?;
        for n in notes {
            eprintln!("kite: note: {name} line {line}: {n}");
        }
        values.push(value);
    }
    let range = match ledger.append_batch(&values) {
        Ok(r) => r,
        Err(LedgerError::Entry { position, source }) => {
            let line = entries.get(position).map_or(0, |(n, _)| *n);
            bail!("{name} line {line}: {source}; nothing was appended");
        }
        Err(e) => return Err(e.into()),
    };
    // Only now, after the commit, is each index acknowledged.
    let mut out = String::with_capacity(range.clone().count() * 8);
    for i in range {
        out.push_str(&i.to_string());
        out.push('\n');
    }
    crate::emit(&out)?;
    Ok(0)
}

fn show(path: &Path, from: u64, limit: u64, format: TableOrJson) -> Result<u8> {
    let ledger = open(path)?;
    let entries = ledger.entries(from..from.saturating_add(limit))?;
    match format {
        TableOrJson::Json => {
            let out: Vec<Value> = entries
                .iter()
                .map(|e| {
                    Ok(json!({
                        "index": e.index,
                        "appended_at": e.appended_at.to_string(),
                        "leaf_hash": hex(&e.leaf_hash),
                        "entry": e.value()?,
                    }))
                })
                .collect::<Result<_>>()?;
            crate::emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
        }
        TableOrJson::Table => {
            let mut t = crate::render::table();
            t.set_header(vec![
                "index",
                "appended (UTC)",
                "kind",
                "leaf hash",
                "entry",
            ]);
            for e in &entries {
                let text = String::from_utf8_lossy(&e.bytes);
                let kind = e
                    .value()
                    .ok()
                    .and_then(|v| v["kind"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let short: String = text.chars().take(70).collect();
                t.add_row(vec![
                    e.index.to_string(),
                    e.appended_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    kind,
                    hex(&e.leaf_hash)[..12].to_string(),
                    if short.len() < text.len() {
                        format!("{short}…")
                    } else {
                        short
                    },
                ]);
            }
            crate::emit(&format!(
                "{t}\n{} of {} entries in {}\n",
                entries.len(),
                ledger.len()?,
                path.display()
            ))?;
        }
    }
    Ok(0)
}

fn prove(path: &Path, entry: u64, size: Option<u64>) -> Result<u8> {
    let ledger = open(path)?;
    let latest = ledger.latest_checkpoint()?;
    let size = match (size, &latest) {
        (Some(s), _) => s,
        (None, Some(c)) if entry < c.checkpoint.size => c.checkpoint.size,
        _ => ledger.len()?,
    };
    let len = ledger.len()?;
    let e = ledger
        .entry(entry)?
        .ok_or_else(|| anyhow!("entry {entry} is not in the ledger ({len} entries)"))?;
    let proof = ledger.inclusion_proof(entry, size)?;
    let root = ledger.root_at(size)?;
    kite_ledger::merkle::verify_inclusion(&e.bytes, entry, size, &proof, &root)
        .context("the proof the ledger built does not verify: run `kite ledger verify`")?;
    let checkpoint = latest.filter(|c| c.checkpoint.size == size).map(|c| c.text);
    let out = json!({
        "index": entry,
        "tree_size": size,
        "root_hash": hex(&root),
        "leaf_hash": hex(&e.leaf_hash),
        "entry": e.value()?,
        "inclusion_proof": proof.iter().map(hex).collect::<Vec<_>>(),
        "checkpoint": checkpoint,
    });
    crate::emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
    Ok(0)
}

fn consistency(path: &Path, old: &Path) -> Result<u8> {
    let ledger = open(path)?;
    let note = std::fs::read_to_string(old)
        .with_context(|| format!("reading the checkpoint {}", old.display()))?;
    let check = ledger
        .consistency_with(&note)
        .with_context(|| format!("checkpoint {}", old.display()))?;
    let out = json!({
        "consistent": true,
        "old_size": check.old.checkpoint.size,
        "old_root_hash": hex(&check.old.checkpoint.root),
        "new_size": check.size,
        "new_root_hash": hex(&check.root),
        "consistency_proof": check.proof.iter().map(hex).collect::<Vec<_>>(),
    });
    crate::emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
    Ok(0)
}

fn export(path: &Path, out: &Path) -> Result<u8> {
    let ledger = open(path)?;
    let size = ledger.len()?;
    if ledger
        .latest_checkpoint()?
        .is_none_or(|c| c.checkpoint.size != size)
    {
        ledger.checkpoint(&load_signer(path)?)?;
    }
    // Write beside the target and rename, so a reader never sees half a bundle.
    let tmp = out.with_extension("partial");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let summary = ledger.export_bundle(&mut w)?;
    let file = w
        .into_inner()
        .map_err(|e| anyhow!("writing {}: {}", tmp.display(), e.error()))?;
    file.sync_all()?;
    std::fs::rename(&tmp, out).with_context(|| format!("renaming to {}", out.display()))?;
    crate::emit(&format!(
        "wrote {}: {} entries, {} checkpoints, root {}\nverify with: kite ledger verify --bundle {} --pubkey {}\n",
        out.display(),
        summary.size,
        summary.checkpoints,
        hex(&summary.root),
        out.display(),
        key_paths(path).1.display()
    ))?;
    Ok(0)
}

fn verify_bundle(bundle: &Path, pubkey: &Path) -> Result<u8> {
    let key = Verifier::load(pubkey)?;
    let file =
        std::fs::File::open(bundle).with_context(|| format!("opening {}", bundle.display()))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    let s = kite_ledger::verify_bundle(&mut r, &key)
        .map_err(|e| anyhow!("{}: {e}", bundle.display()))?;
    crate::emit(&format!(
        "OK {}: {} entries, {} checkpoints verified\norigin:  {}\nroot:    {}\nlatest checkpoint: size {}{}\nkeys:    {}\n",
        bundle.display(),
        s.size,
        s.checkpoints,
        s.origin,
        hex(&s.root),
        s.latest.checkpoint.size,
        s.latest
            .checkpoint
            .time()
            .map(|t| format!(", signed {t}"))
            .unwrap_or_default(),
        s.keys
            .iter()
            .map(|k| k.key_id())
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    Ok(0)
}

fn verify_local(path: &Path, pubkey: Option<&Path>) -> Result<u8> {
    let ledger = open(path)?;
    if let Some(p) = pubkey {
        let want = Verifier::load(p)?;
        if !ledger.keys()?.iter().any(|k| k.verifier == want) {
            bail!(
                "{}: key {} has never signed this ledger",
                p.display(),
                want.key_id()
            );
        }
    }
    let report = ledger.verify()?;
    if !report.is_ok() {
        let mut msg = format!(
            "{}: verification failed ({} problem(s)):",
            path.display(),
            report.problems.len()
        );
        for p in report.problems.iter().take(20) {
            msg.push_str(&format!("\n  {}", p.message));
        }
        bail!(msg);
    }
    let signed = report
        .latest_checkpoint
        .as_ref()
        .map_or(0, |c| c.checkpoint.size);
    crate::emit(&format!(
        "OK {}: {} entries, root {}\nlatest checkpoint covers {signed} entries{}\n",
        path.display(),
        report.size,
        hex(&report.root),
        if signed < report.size {
            format!(
                "; {} newer entries are not signed yet (`kite ledger checkpoint`)",
                report.size - signed
            )
        } else {
            String::new()
        }
    ))?;
    Ok(0)
}

fn key_show(path: &Path) -> Result<u8> {
    let ledger = open(path)?;
    let mut out = String::new();
    for k in ledger.keys()? {
        out.push_str(&format!(
            "{} {}  added {}{}\n",
            k.verifier.key_id(),
            k.verifier.to_vkey(),
            k.added_at,
            k.retired_at
                .map(|r| format!(", retired {r}"))
                .unwrap_or_else(|| ", current".into())
        ));
    }
    if out.is_empty() {
        out.push_str("no key registered yet\n");
    }
    crate::emit(&out)?;
    Ok(0)
}

fn key_rotate(path: &Path) -> Result<u8> {
    let ledger = open(path)?;
    let (private, public) = key_paths(path);
    let old = Signer::load(&private)?;
    let new = Signer::generate(ledger.origin())?;
    // The new key is on disk before the hand-over is committed, so a crash cannot leave the
    // ledger with a current key nobody holds.
    let staged = private.with_extension("key.new");
    if staged.exists() {
        std::fs::remove_file(&staged)
            .with_context(|| format!("removing a stale {}", staged.display()))?;
    }
    new.save(&staged)?;
    let handover = ledger.rotate_key(&old, &new)?;
    std::fs::rename(&staged, &private)
        .with_context(|| format!("installing the new key at {}", private.display()))?;
    std::fs::write(&public, format!("{}\n", new.verifier().to_vkey()))
        .with_context(|| format!("writing {}", public.display()))?;
    crate::emit(&format!(
        "rotated: {} -> {}\nnew public key: {}\nhand-over checkpoint (signed by both):\n{}",
        old.verifier().key_id(),
        new.verifier().key_id(),
        new.verifier().to_vkey(),
        handover.text
    ))?;
    Ok(0)
}
