//! kite's embedded offline dataset: hourly (or finer) history of the grid series whose licences
//! allow redistribution, and typical-week profiles built from it, so that kite works offline.
//!
//! Architecture invariant: no I/O at run time. The history is compiled in with `include_bytes!`
//! from `data/history.bin`, which `cargo xtask gen-data` writes with this crate's [`codec`].
//! Opening the [`catalog`] reads headers only; a series is decoded when [`load`]ed, so a cold
//! start pays for none of it.
//!
//! Values are exactly what the upstream source published (the codec is lossless at the source's
//! precision) and gaps stay gaps. Estimates ([`TypicalWeek::project`]) are labelled as such.
//!
//! | Feature    | Default | What it does |
//! |------------|---------|--------------|
//! | `embedded` | yes     | Compiles `data/history.bin` in and provides [`catalog`], [`load`], [`for_zone`], [`embedded_bytes`] and [`TypicalWeek::for_zone`]. Off only for xtask, which regenerates that file. |

pub mod codec;
#[cfg(feature = "embedded")]
mod embedded;
mod typical;

#[cfg(feature = "embedded")]
pub use embedded::{EmbeddedSeries, catalog, embedded_bytes, for_zone, load, try_load};
pub use typical::{HOURS_PER_WEEK, TypicalWeek, hour_of_week, last_full_year};
