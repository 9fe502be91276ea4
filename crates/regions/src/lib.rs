//! Zone registry: canonical grid zones (Electricity Maps keys), their aliases (country codes,
//! balancing authorities, WattTime regions, AWS/GCP/Azure regions) and annual mean intensities.
//!
//! Architecture invariant: no I/O at run time. The tables are compiled in with `include_str!`
//! from `data/regions/*.csv`, which `cargo xtask gen-data` writes from the upstream tables
//! (`data/README.md` lists sources, licences and attributions), and parsed once on first use of
//! [`Registry::embedded`]. Every annual mean names its source, year and signal; nothing here is
//! estimated at run time.

mod csv_lite;
mod registry;
#[cfg(test)]
mod tests;
mod zone;

pub use csv_lite::TableError;
pub use registry::{Registry, UnknownZone, split_cloud};
pub use zone::{Alias, AliasKind, AnnualMean, Cloud, Zone};
