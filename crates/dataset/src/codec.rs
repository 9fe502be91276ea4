//! The binary format of `data/history.bin`: many regular time series in one file, each
//! compressed on its own so that one series can be decoded without touching the others.
//!
//! Invariants: the codec is lossless at the precision the source published (values are stored as
//! integers in units of 10^-`decimals` g/kWh), gaps stay gaps (nothing is filled), and decoding
//! never panics on malformed input: it returns a [`CodecError`].
//!
//! # File layout
//!
//! All integers are little-endian.
//!
//! ```text
//! magic      8 bytes   b"KITEHS01"
//! count      u32       number of series
//! directory  count entries, in file order:
//!   zone       u8 length + UTF-8   canonical zone key, e.g. "US-CAL-CISO"
//!   source     u8 length + UTF-8   source id, e.g. "carboncast-lifecycle"
//!   licence    u8 length + UTF-8   SPDX id of the source's licence, e.g. "Apache-2.0"
//!   signal     u8                  0 average-lifecycle, 1 average-direct,
//!                                  2 marginal-direct, 3 marginal-lifecycle
//!   start      i64                 Unix seconds of slot 0 (the start of its interval)
//!   step       u32                 seconds between slots; each value lasts one step
//!   slots      u32                 slots from the first to the last value, gaps included
//!   points     u32                 slots that hold a value
//!   decimals   u8                  a stored integer n means n / 10^decimals g/kWh (0..=6)
//!   offset     u32                 payload start, relative to the end of the directory
//!   length     u32                 payload length in bytes
//! payloads   the concatenated payloads
//! ```
//!
//! # Payload
//!
//! A raw DEFLATE stream (RFC 1951, no zlib or gzip header). Inflated, it is a sequence of
//! unsigned LEB128 varints, read slot by slot from slot 0:
//!
//! - `k >= 1`: a value. `k - 1` is the zig-zag encoded difference from the previous value
//!   (the first value's predecessor is 0); the value fills one slot.
//! - `0, n` (two varints): a gap of `n >= 1` slots without data.
//!
//! The first and last slots always hold values, so `start` and `start + slots * step` bound the
//! data exactly. Hourly intensities change little from one hour to the next, so the differences
//! are mostly one or two bytes before DEFLATE; the whole embedded dataset is about 1.3 MB.

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use kite_core::{EmissionBasis, Signal, SignalKind};
use std::fmt;
use std::io::{Read, Write};

/// The first eight bytes of a history file.
pub const MAGIC: &[u8; 8] = b"KITEHS01";

/// The most decimals a series may keep (values up to ~4000 g/kWh still fit in a u32).
pub const MAX_DECIMALS: u8 = 6;

/// Why bytes could not be read as (or a series could not be written to) the history format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input ends in the middle of a structure.
    #[error("history data is truncated ({context})")]
    Truncated {
        /// What was being read.
        context: &'static str,
    },
    /// The file does not start with [`MAGIC`].
    #[error("not a kite history file (bad magic)")]
    BadMagic,
    /// A header field is out of range or inconsistent.
    #[error("bad header for series {index}: {reason}")]
    BadHeader {
        /// Position of the series in the directory.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The payload does not match its header.
    #[error("bad payload for series {zone}/{source_id}: {reason}")]
    BadPayload {
        /// Zone of the series.
        zone: String,
        /// Source id of the series.
        source_id: String,
        /// What is wrong.
        reason: String,
    },
}

/// A series ready to be encoded: one optional value per slot of a regular grid.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesData {
    /// Canonical zone key.
    pub zone: String,
    /// Source id, e.g. `carboncast-lifecycle`.
    pub source: String,
    /// SPDX licence id of the source.
    pub licence: String,
    /// What the values measure.
    pub signal: Signal,
    /// Unix seconds of slot 0.
    pub start_secs: i64,
    /// Seconds between slots.
    pub step_secs: u32,
    /// Values are `slot / 10^decimals` g/kWh.
    pub decimals: u8,
    /// One entry per slot; `None` is a gap. First and last must be values.
    pub slots: Vec<Option<u32>>,
}

/// One directory entry, borrowing its strings and payload from the file bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Canonical zone key.
    pub zone: &'a str,
    /// Source id.
    pub source: &'a str,
    /// SPDX licence id.
    pub licence: &'a str,
    /// What the values measure.
    pub signal: Signal,
    /// Unix seconds of slot 0.
    pub start_secs: i64,
    /// Seconds between slots.
    pub step_secs: u32,
    /// Slots from first to last value, gaps included.
    pub slots: u32,
    /// Slots holding a value.
    pub points: u32,
    /// Values are stored in units of 10^-`decimals` g/kWh.
    pub decimals: u8,
    /// The compressed payload.
    pub payload: &'a [u8],
}

impl fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The payload bytes are noise in a debug print; their length is what matters.
        f.debug_struct("Entry")
            .field("zone", &self.zone)
            .field("source", &self.source)
            .field("licence", &self.licence)
            .field("signal", &self.signal)
            .field("start_secs", &self.start_secs)
            .field("step_secs", &self.step_secs)
            .field("slots", &self.slots)
            .field("points", &self.points)
            .field("decimals", &self.decimals)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

impl Entry<'_> {
    /// Converts a stored integer to g/kWh.
    pub fn to_grams(&self, stored: u32) -> f64 {
        f64::from(stored) / 10f64.powi(i32::from(self.decimals))
    }

    /// Unix seconds of slot `index`.
    pub fn slot_start(&self, index: usize) -> i64 {
        self.start_secs + index as i64 * i64::from(self.step_secs)
    }
}

fn signal_code(signal: Signal) -> u8 {
    match (signal.kind, signal.basis) {
        (SignalKind::Average, EmissionBasis::Lifecycle) => 0,
        (SignalKind::Average, EmissionBasis::Direct) => 1,
        (SignalKind::Marginal, EmissionBasis::Direct) => 2,
        (SignalKind::Marginal, EmissionBasis::Lifecycle) => 3,
    }
}

fn signal_from_code(code: u8) -> Option<Signal> {
    let (kind, basis) = match code {
        0 => (SignalKind::Average, EmissionBasis::Lifecycle),
        1 => (SignalKind::Average, EmissionBasis::Direct),
        2 => (SignalKind::Marginal, EmissionBasis::Direct),
        3 => (SignalKind::Marginal, EmissionBasis::Lifecycle),
        _ => return None,
    };
    Some(Signal { kind, basis })
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Encodes the slot values of one series (before compression).
fn encode_slots(slots: &[Option<u32>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(slots.len() * 2);
    let mut previous = 0i64;
    let mut gap = 0u64;
    for slot in slots {
        match slot {
            None => gap += 1,
            Some(v) => {
                if gap > 0 {
                    out.push(0);
                    put_varint(&mut out, gap);
                    gap = 0;
                }
                let v = i64::from(*v);
                put_varint(&mut out, zigzag(v - previous) + 1);
                previous = v;
            }
        }
    }
    out
}

fn put_str(out: &mut Vec<u8>, s: &str, index: usize, field: &str) -> Result<(), CodecError> {
    let len = u8::try_from(s.len()).map_err(|_| CodecError::BadHeader {
        index,
        reason: format!("{field} is longer than 255 bytes"),
    })?;
    out.push(len);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn check_series(index: usize, s: &SeriesData) -> Result<(), CodecError> {
    let bad = |reason: &str| CodecError::BadHeader {
        index,
        reason: reason.to_string(),
    };
    if s.step_secs == 0 {
        return Err(bad("step is zero"));
    }
    if s.decimals > MAX_DECIMALS {
        return Err(bad("too many decimals"));
    }
    match (s.slots.first(), s.slots.last()) {
        (Some(Some(_)), Some(Some(_))) => {}
        _ => return Err(bad("the first and last slots must hold values")),
    }
    if u32::try_from(s.slots.len()).is_err() {
        return Err(bad("too many slots"));
    }
    Ok(())
}

/// Writes a whole history file.
pub fn encode(series: &[SeriesData]) -> Result<Vec<u8>, CodecError> {
    let count = u32::try_from(series.len()).map_err(|_| CodecError::BadHeader {
        index: 0,
        reason: "too many series".into(),
    })?;
    let mut directory = Vec::new();
    let mut payloads = Vec::new();
    for (index, s) in series.iter().enumerate() {
        check_series(index, s)?;
        let raw = encode_slots(&s.slots);
        let mut deflate = DeflateEncoder::new(Vec::new(), Compression::best());
        // Writing into a Vec cannot fail; map the error anyway rather than unwrap.
        let compressed = deflate
            .write_all(&raw)
            .and_then(|()| deflate.finish())
            .map_err(|e| CodecError::BadHeader {
                index,
                reason: format!("deflate failed: {e}"),
            })?;
        let offset = u32::try_from(payloads.len());
        let length = u32::try_from(compressed.len());
        let (Ok(offset), Ok(length)) = (offset, length) else {
            return Err(CodecError::BadHeader {
                index,
                reason: "payloads exceed 4 GiB".into(),
            });
        };
        payloads.extend_from_slice(&compressed);

        put_str(&mut directory, &s.zone, index, "zone")?;
        put_str(&mut directory, &s.source, index, "source")?;
        put_str(&mut directory, &s.licence, index, "licence")?;
        directory.push(signal_code(s.signal));
        directory.extend_from_slice(&s.start_secs.to_le_bytes());
        directory.extend_from_slice(&s.step_secs.to_le_bytes());
        let n_slots = s.slots.len() as u32; // checked in check_series
        let n_points = s.slots.iter().filter(|v| v.is_some()).count() as u32;
        directory.extend_from_slice(&n_slots.to_le_bytes());
        directory.extend_from_slice(&n_points.to_le_bytes());
        directory.push(s.decimals);
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(&length.to_le_bytes());
    }
    let mut out = Vec::with_capacity(12 + directory.len() + payloads.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&directory);
    out.extend_from_slice(&payloads);
    Ok(out)
}

/// A cursor over the directory bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, context: &'static str) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(CodecError::Truncated { context })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, context: &'static str) -> Result<[u8; N], CodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, context)?);
        Ok(a)
    }

    fn u8(&mut self, context: &'static str) -> Result<u8, CodecError> {
        Ok(self.array::<1>(context)?[0])
    }

    fn u32(&mut self, context: &'static str) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.array(context)?))
    }

    fn i64(&mut self, context: &'static str) -> Result<i64, CodecError> {
        Ok(i64::from_le_bytes(self.array(context)?))
    }

    fn str(&mut self, index: usize, context: &'static str) -> Result<&'a str, CodecError> {
        let len = usize::from(self.u8(context)?);
        let raw = self.take(len, context)?;
        std::str::from_utf8(raw).map_err(|_| CodecError::BadHeader {
            index,
            reason: format!("{context} is not UTF-8"),
        })
    }
}

/// Reads the directory of a history file. Cheap: nothing is inflated.
pub fn read_directory(bytes: &[u8]) -> Result<Vec<Entry<'_>>, CodecError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(MAGIC.len(), "magic")? != MAGIC {
        return Err(CodecError::BadMagic);
    }
    let count = r.u32("series count")? as usize;
    // Each entry has at least 34 bytes, which bounds a corrupt count before allocating.
    if count > bytes.len() / 34 {
        return Err(CodecError::Truncated {
            context: "directory",
        });
    }
    let mut raw = Vec::with_capacity(count);
    for index in 0..count {
        let zone = r.str(index, "zone")?;
        let source = r.str(index, "source")?;
        let licence = r.str(index, "licence")?;
        let code = r.u8("signal")?;
        let signal = signal_from_code(code).ok_or_else(|| CodecError::BadHeader {
            index,
            reason: format!("unknown signal code {code}"),
        })?;
        let start_secs = r.i64("start")?;
        let step_secs = r.u32("step")?;
        let slots = r.u32("slots")?;
        let points = r.u32("points")?;
        let decimals = r.u8("decimals")?;
        let offset = r.u32("offset")? as usize;
        let length = r.u32("length")? as usize;
        let bad = |reason: &str| CodecError::BadHeader {
            index,
            reason: reason.to_string(),
        };
        if step_secs == 0 || slots == 0 || points == 0 || points > slots {
            return Err(bad(
                "step, slots and points must be positive, points <= slots",
            ));
        }
        if decimals > MAX_DECIMALS {
            return Err(bad("too many decimals"));
        }
        raw.push((
            Entry {
                zone,
                source,
                licence,
                signal,
                start_secs,
                step_secs,
                slots,
                points,
                decimals,
                payload: &[],
            },
            offset,
            length,
        ));
    }
    let payloads = &bytes[r.pos..];
    raw.into_iter()
        .enumerate()
        .map(|(index, (mut entry, offset, length))| {
            entry.payload = offset
                .checked_add(length)
                .and_then(|end| payloads.get(offset..end))
                .ok_or_else(|| CodecError::BadHeader {
                    index,
                    reason: "payload lies outside the file".into(),
                })?;
            Ok(entry)
        })
        .collect()
}

/// Inflates and decodes one series: one optional stored integer per slot.
pub fn decode(entry: &Entry<'_>) -> Result<Vec<Option<u32>>, CodecError> {
    let bad = |reason: String| CodecError::BadPayload {
        zone: entry.zone.to_string(),
        source_id: entry.source.to_string(),
        reason,
    };
    // A value takes at most 10 varint bytes and a gap 11: this bounds what a corrupt stream can
    // make us allocate.
    let limit = u64::from(entry.slots) * 11 + 16;
    let mut raw = Vec::new();
    DeflateDecoder::new(entry.payload)
        .take(limit)
        .read_to_end(&mut raw)
        .map_err(|e| bad(format!("inflate failed: {e}")))?;

    let slots = entry.slots as usize;
    let mut out: Vec<Option<u32>> = Vec::with_capacity(slots);
    let mut bytes = raw.iter().copied();
    let mut next = |what: &str| -> Result<Option<u64>, CodecError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(b) = bytes.next() else {
                return if shift == 0 {
                    Ok(None)
                } else {
                    Err(bad(format!("varint cut short in {what}")))
                };
            };
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(Some(n));
            }
        }
        Err(bad(format!("varint too long in {what}")))
    };
    let mut previous = 0i64;
    while let Some(code) = next("value")? {
        if code == 0 {
            let n = next("gap")?.ok_or_else(|| bad("gap without length".into()))?;
            if n == 0 || n as usize > slots - out.len() {
                return Err(bad(format!("gap of {n} slots")));
            }
            out.resize(out.len() + n as usize, None);
        } else {
            let value = previous
                .checked_add(unzigzag(code - 1))
                .ok_or_else(|| bad("value overflow".into()))?;
            let stored = u32::try_from(value).map_err(|_| bad(format!("value {value}")))?;
            if out.len() == slots {
                return Err(bad("more values than slots".into()));
            }
            out.push(Some(stored));
            previous = value;
        }
    }
    let points = out.iter().filter(|v| v.is_some()).count();
    if out.len() != slots || points != entry.points as usize {
        return Err(bad(format!(
            "decoded {} slots / {points} points, header says {} / {}",
            out.len(),
            entry.slots,
            entry.points
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn synthetic(slots: Vec<Option<u32>>) -> SeriesData {
        SeriesData {
            zone: "DE".into(),
            source: "synthetic".into(),
            licence: "MIT".into(),
            signal: Signal::AVERAGE_DIRECT,
            start_secs: 1_577_836_800,
            step_secs: 3600,
            decimals: 2,
            slots,
        }
    }

    #[test]
    fn round_trip_keeps_gaps_and_values() {
        let a = synthetic(vec![
            Some(27_913),
            Some(27_400),
            None,
            None,
            Some(0),
            Some(u32::MAX),
            None,
            Some(5),
        ]);
        let mut b = synthetic(vec![Some(1), None, Some(1)]);
        b.zone = "US-CAL-CISO".into();
        b.signal = Signal::MARGINAL_DIRECT;
        b.step_secs = 300;
        b.decimals = 3;
        let bytes = encode(&[a.clone(), b.clone()]).unwrap();
        let dir = read_directory(&bytes).unwrap();
        assert_eq!(dir.len(), 2);
        assert_eq!(dir[0].zone, "DE");
        assert_eq!((dir[0].slots, dir[0].points), (8, 5));
        assert_eq!(dir[1].signal, Signal::MARGINAL_DIRECT);
        assert_eq!(dir[1].step_secs, 300);
        assert_eq!(decode(&dir[0]).unwrap(), a.slots);
        assert_eq!(decode(&dir[1]).unwrap(), b.slots);
        assert_eq!(dir[0].to_grams(27_913), 279.13);
        assert_eq!(dir[1].slot_start(2), b.start_secs + 600);
    }

    #[test]
    fn encoder_refuses_leading_or_trailing_gaps() {
        assert!(encode(&[synthetic(vec![None, Some(1)])]).is_err());
        assert!(encode(&[synthetic(vec![Some(1), None])]).is_err());
        assert!(encode(&[synthetic(vec![])]).is_err());
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let bytes = encode(&[synthetic(vec![Some(1), None, Some(3)])]).unwrap();
        assert_eq!(read_directory(b"NOTKITE!"), Err(CodecError::BadMagic));
        for cut in 0..bytes.len() {
            if let Ok(dir) = read_directory(&bytes[..cut]) {
                for e in &dir {
                    let _ = decode(e);
                }
            }
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        if let Ok(dir) = read_directory(&flipped) {
            let _ = decode(&dir[0]);
        }
    }

    proptest! {
        #[test]
        fn round_trip_is_lossless(
            inner in proptest::collection::vec(proptest::option::of(0u32..2_000_000), 0..500),
            first in 0u32..2_000_000,
            last in 0u32..2_000_000,
        ) {
            let mut slots = vec![Some(first)];
            slots.extend(inner);
            slots.push(Some(last));
            let s = synthetic(slots);
            let bytes = encode(std::slice::from_ref(&s)).unwrap();
            let dir = read_directory(&bytes).unwrap();
            prop_assert_eq!(decode(&dir[0]).unwrap(), s.slots);
        }
    }
}
