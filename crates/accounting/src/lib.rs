//! kite-accounting: the books kept from ledger records.
//!
//! - [`record`]: the typed records a ledger holds (runs, job outcomes, hardware, contracts,
//!   on-site combustion, grid clean share, functional units), each a JSON object with `kind`
//!   and `v`, parsed with errors that name the field, the value and the fix.
//! - [`books`]: a [`Statement`] for a period and optional project / team: energy, scope 1,
//!   scope 2 location- and market-based, scope 3 embodied, water, lifecycle stages, SCI, the
//!   24/7 carbon-free-energy score, top jobs, trend and coverage.
//! - [`claims`]: public claims (`CLAIMS.toml`) checked against the books.
//!
//! The crate is pure: records come in as values, statements go out as values. Formulas and
//! defaults, each with its source, are in `docs/accounting.md`.

pub mod books;
pub mod cfe;
pub mod claims;
pub mod period;
pub mod record;
pub mod sci;
pub mod statement;

pub use books::{BooksOptions, ResidualMix, statement, statement_for};
pub use claims::{
    Basis, Claim, ClaimKind, ClaimResult, ClaimsError, FieldError, Finding, Matching, Severity,
    Verification, check, parse_claims,
};
pub use period::PeriodError;
pub use record::{Record, RecordError, RunFootprint};
pub use statement::*;
