//! kite's pure core: units as types, time, zone keys, signal metadata and intensity series.
//!
//! Architecture invariant: this crate does no I/O, has no async and no serde derives.
//! Wire formats belong to the crates at the edges (store, intensity providers, CLI), each of
//! which owns its own serializable types; a change here can never silently change a format.

mod clock;
mod series;
mod signal;
mod time;
mod units;
mod zone;

pub use clock::{Clock, FixedClock, SystemClock};
pub use series::{Gap, IntensitySeries, Point, ResampleReport, SeriesError, time_weighted_buckets};
pub use signal::{EmissionBasis, Provenance, Signal, SignalKind, SignalMeta};
pub use time::{Resolution, TimeError, TimeWindow, parse_time, parse_time_with};
pub use units::{
    GramsCo2PerKwh, GramsCo2e, Joules, KilowattHours, LBS_PER_MWH_TO_G_PER_KWH, Watts,
};
pub use zone::{ZoneKey, ZoneKeyError};

/// Re-exported so every crate names instants and durations the same way.
pub use jiff::{SignedDuration, Timestamp};
