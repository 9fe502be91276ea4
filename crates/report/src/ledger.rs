//! The books as a ledger holds them: the signed checkpoint a report counts up to, the accounting
//! records that checkpoint covers (less the entries verification rejects), and the checkpoint and
//! verification result the report carries.
//!
//! One definition for `kite report`, `GET /v1/report` and the dashboard's books, so they give the
//! same answer. They differ in one thing, the `signer` of [`Books::read`]: `kite report` passes
//! the ledger's key when it is at hand, and a fresh checkpoint then covers every entry; `kite
//! serve` only reads (a server holding the key would be a second writer), so it counts what the
//! newest checkpoint covers and a caveat says how many entries came after it.

use crate::{LedgerCheckpoint, LedgerProvenance, Report, Verification};
use kite_accounting::{BooksOptions, Filter, Period, Record, Statement};
use kite_ledger::{Ledger, LedgerError, SignedCheckpoint, Signer, VerifyReport};

/// A ledger read for the books.
#[derive(Debug)]
pub struct Books {
    /// Entries in the log.
    pub size: u64,
    /// The checkpoint counted up to; `None`: the ledger has none and no signer was given.
    pub checkpoint: Option<SignedCheckpoint>,
    /// The result of verifying the whole log.
    pub verified: VerifyReport,
    /// The accounting records among the entries the checkpoint covers, less those that failed
    /// verification.
    pub records: Vec<Record>,
    /// What was left out and why (the statement's caveats).
    pub caveats: Vec<String>,
}

/// A ledger operation that failed while the books were read.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {error}")]
pub struct BooksError {
    /// What was being done: `reading the ledger`, `signing a checkpoint`, …
    pub step: &'static str,
    /// Why it failed.
    pub error: LedgerError,
}

impl Books {
    /// Reads `ledger`: the newest checkpoint if it covers every entry; else, with `signer`, a
    /// fresh checkpoint signed with it; else the newest one, with a caveat naming the entries it
    /// leaves out. Then verifies the log and parses the entries the checkpoint covers.
    pub fn read(ledger: &Ledger, signer: Option<&Signer>) -> Result<Books, BooksError> {
        let at = |step| move |error| BooksError { step, error };
        let (size, _) = ledger.root().map_err(at("reading the ledger"))?;
        let latest = ledger
            .latest_checkpoint()
            .map_err(at("reading the checkpoints"))?;
        let mut caveats = Vec::new();
        let checkpoint = match (latest, signer) {
            (Some(c), _) if c.checkpoint.size == size => Some(c),
            (_, Some(signer)) => Some(
                ledger
                    .checkpoint(signer)
                    .map_err(at("signing a checkpoint"))?,
            ),
            (Some(c), None) => {
                let signed = c.checkpoint.size;
                if size > signed {
                    caveats.push(format!(
                        "{} entr(ies) appended after the newest checkpoint (size {signed}) are not \
                         counted: sign one with `kite ledger checkpoint` to include them",
                        size - signed
                    ));
                }
                Some(c)
            }
            (None, None) => None,
        };
        let verified = ledger.verify().map_err(at("verifying the ledger"))?;
        let mut records = Vec::new();
        if let Some(c) = &checkpoint {
            let entries = ledger
                .entries(0..c.checkpoint.size)
                .map_err(at("reading entries"))?;
            records.reserve(entries.len());
            let (mut excluded, mut skipped) = (Vec::new(), Vec::new());
            for (index, entry) in (0u64..).zip(&entries) {
                if verified.bad_entries.binary_search(&index).is_ok() {
                    excluded.push(index);
                    continue;
                }
                match entry
                    .value()
                    .map_err(|e| e.to_string())
                    .and_then(|v| Record::from_value(&v).map_err(|e| e.to_string()))
                {
                    Ok(r) => records.push(r),
                    Err(e) => skipped.push(format!("entry {index}: {e}")),
                }
            }
            if !excluded.is_empty() {
                caveats.push(format!(
                    "{} entr(ies) failed verification and are not counted: {}",
                    excluded.len(),
                    list(&excluded)
                ));
            }
            if let Some(first) = skipped.first() {
                caveats.push(format!(
                    "{} entr(ies) are not accounting records and are not counted (first: {first})",
                    skipped.len()
                ));
            }
        }
        Ok(Books {
            size,
            checkpoint,
            verified,
            records,
            caveats,
        })
    }

    /// Entries counted: those the checkpoint covers (0 without one).
    pub fn counted(&self) -> u64 {
        self.checkpoint
            .as_ref()
            .map_or(0, |c| c.checkpoint.size)
            .min(self.size)
    }

    /// The statement of `period`, with the caveats of what was left out.
    pub fn statement(&self, period: &Period, filter: &Filter, options: &BooksOptions) -> Statement {
        let mut statement = kite_accounting::statement(&self.records, period, filter, options);
        statement.caveats.extend(self.caveats.iter().cloned());
        statement
    }

    /// The report of `period`: the statement with the checkpoint it was computed from and the
    /// verification result; `None` without a checkpoint.
    pub fn report(
        &self,
        period: &Period,
        filter: &Filter,
        options: &BooksOptions,
    ) -> Option<Report> {
        let c = self.checkpoint.as_ref()?;
        Some(Report::new(
            self.statement(period, filter, options),
            LedgerProvenance {
                checkpoint: provenance(c),
                verification: verification(&self.verified, c),
            },
        ))
    }
}

/// The checkpoint as a report carries it.
pub fn provenance(c: &SignedCheckpoint) -> LedgerCheckpoint {
    let body = c.checkpoint.body();
    LedgerCheckpoint {
        origin: c.checkpoint.origin.clone(),
        tree_size: c.checkpoint.size,
        // The third body line is the root as the note signs it (base64).
        root_hash: body.lines().nth(2).unwrap_or_default().to_owned(),
        key_id: c
            .signatures
            .iter()
            .map(|(name, id)| format!("{name}+{id:08x}"))
            .collect::<Vec<_>>()
            .join(", "),
        time: c.checkpoint.time().map(str::to_owned),
        signed_note: Some(c.text.clone()),
    }
}

/// Verified only when the log re-hashes to its checkpoints and a verified one covers the
/// `used` checkpoint's entries.
pub fn verification(v: &VerifyReport, used: &SignedCheckpoint) -> Verification {
    if let Some(p) = v.problems.first() {
        let more = v.problems.len() - 1;
        let mut error = p.message.clone();
        if let Some(e) = p.entry {
            error = format!("entry {e}: {error}");
        }
        if more > 0 {
            error += &format!(" (and {more} more problem(s); run `kite ledger verify`)");
        }
        return Verification::Failed { error };
    }
    let signed = v
        .latest_checkpoint
        .as_ref()
        .is_some_and(|c| c.checkpoint.size >= used.checkpoint.size);
    if !signed {
        return Verification::Failed {
            error: format!(
                "no verified checkpoint covers the {} entries counted",
                used.checkpoint.size
            ),
        };
    }
    Verification::Verified {
        detail: format!(
            "{} entries re-hashed to the root, every checkpoint's Ed25519 signature and root checked",
            v.size
        ),
    }
}

/// The first ten entry numbers, `…` after them if there are more.
fn list(ix: &[u64]) -> String {
    let shown: Vec<String> = ix.iter().take(10).map(u64::to_string).collect();
    if ix.len() > 10 {
        format!("{}, ...", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
