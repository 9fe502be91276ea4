//! The history compiled into the binary (`data/history.bin`, written by `cargo xtask gen-data`).
//!
//! Invariants: startup cost is only the directory (a few kilobytes, parsed on first use of
//! [`catalog`]); a series is inflated only when [`load`] is called for it, and never cached here,
//! so a caller that needs it twice keeps it. Every embedded source allows redistribution
//! (`data/README.md` lists each source, its licence and the attribution it asks for).

use crate::codec::{self, Entry};
use crate::typical::{TypicalWeek, last_full_year};
use kite_core::{
    GramsCo2PerKwh, IntensitySeries, Point, Provenance, Resolution, Signal, SignalMeta, TimeWindow,
    Timestamp, ZoneKey,
};
use std::sync::{LazyLock, Mutex};

static HISTORY: &[u8] = include_bytes!("../../../data/history.bin");

static CATALOG: LazyLock<Vec<EmbeddedSeries>> = LazyLock::new(|| {
    // The file is generated and checked by this crate's tests, so a failure here is a build
    // defect; an empty catalog keeps kite usable (live providers, annual means) if it happens.
    let Ok(entries) = codec::read_directory(HISTORY) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(EmbeddedSeries::from_entry)
        .collect()
});

/// One embedded series: its header, available without decoding anything.
#[derive(Debug, Clone)]
pub struct EmbeddedSeries {
    /// Canonical zone key.
    pub zone: ZoneKey,
    /// What the values measure.
    pub signal: Signal,
    /// Source id, e.g. `carboncast-lifecycle`, `em-greendcc-lca`, `vessim-watttime-moer`.
    pub source: &'static str,
    /// SPDX licence id of the source, e.g. `Apache-2.0`, `MIT`.
    pub licence: &'static str,
    /// Interval of each value.
    pub resolution: Resolution,
    /// From the first value's start to the last value's end (gaps inside are possible).
    pub span: TimeWindow,
    /// Number of values (gaps excluded).
    pub points: usize,
    entry: Entry<'static>,
}

impl EmbeddedSeries {
    fn from_entry(entry: Entry<'static>) -> Option<EmbeddedSeries> {
        let zone = ZoneKey::new(entry.zone).ok()?;
        let resolution = Resolution::from_secs(entry.step_secs)?;
        let start = Timestamp::from_second(entry.start_secs).ok()?;
        let end = Timestamp::from_second(entry.slot_start(entry.slots as usize)).ok()?;
        Some(EmbeddedSeries {
            zone,
            signal: entry.signal,
            source: entry.source,
            licence: entry.licence,
            resolution,
            span: TimeWindow::new(start, end).ok()?,
            points: entry.points as usize,
            entry,
        })
    }
}

/// All embedded series, in file order (by source, then zone). Cheap: headers only.
pub fn catalog() -> &'static [EmbeddedSeries] {
    &CATALOG
}

/// Size of the compressed history compiled into the binary, in bytes.
pub fn embedded_bytes() -> usize {
    HISTORY.len()
}

/// The series of `zone` with `signal`, newest span first.
pub fn for_zone(zone: &ZoneKey, signal: Signal) -> Vec<&'static EmbeddedSeries> {
    let mut out: Vec<&'static EmbeddedSeries> = catalog()
        .iter()
        .filter(|e| &e.zone == zone && e.signal == signal)
        .collect();
    out.sort_by(|a, b| {
        (b.span.end(), b.span.start())
            .cmp(&(a.span.end(), a.span.start()))
            .then_with(|| source_rank(a.source).cmp(&source_rank(b.source)))
    });
    out
}

/// Decodes one series. The metadata says `<source> (embedded)`, measured, never fetched.
pub fn try_load(entry: &EmbeddedSeries) -> Result<IntensitySeries, codec::CodecError> {
    let slots = codec::decode(&entry.entry)?;
    let step = entry.resolution.secs();
    let mut points = Vec::with_capacity(entry.points);
    for (index, stored) in slots.iter().enumerate() {
        let Some(stored) = stored else { continue };
        let start = Timestamp::from_second(entry.entry.slot_start(index)).map_err(|e| {
            codec::CodecError::BadPayload {
                zone: entry.zone.to_string(),
                source_id: entry.source.to_string(),
                reason: format!("slot {index}: {e}"),
            }
        })?;
        points.push(Point {
            start,
            duration_secs: step,
            value: GramsCo2PerKwh(entry.entry.to_grams(*stored)),
        });
    }
    let meta = SignalMeta {
        signal: entry.signal,
        source: format!("{} (embedded)", entry.source),
        fetched_at: None,
        provenance: Provenance::Measured,
    };
    IntensitySeries::new(entry.zone.clone(), meta, entry.resolution, points).map_err(|e| {
        codec::CodecError::BadPayload {
            zone: entry.zone.to_string(),
            source_id: entry.source.to_string(),
            reason: e.to_string(),
        }
    })
}

/// Decodes one series, as [`try_load`]. The embedded file is verified by this crate's tests, so
/// this does not fail in a released build; if it ever did, the result is an empty series (a gap),
/// never invented data.
pub fn load(entry: &EmbeddedSeries) -> IntensitySeries {
    try_load(entry).unwrap_or_else(|_| {
        let meta = SignalMeta {
            signal: entry.signal,
            source: format!("{} (embedded)", entry.source),
            fetched_at: None,
            provenance: Provenance::Measured,
        };
        IntensitySeries::new(entry.zone.clone(), meta, entry.resolution, Vec::new())
            .unwrap_or_else(|e| unreachable!("an empty series is always valid: {e}"))
    })
}

/// Which source wins when two series are otherwise equally good: Electricity Maps exports first
/// (the signal the live provider serves), then CarbonCast, then the live-polled traces.
fn source_rank(source: &str) -> u8 {
    if source.starts_with("em-greendcc") {
        0
    } else if source.starts_with("carboncast") {
        1
    } else if source == "em-live-pause-resume" {
        2
    } else {
        3
    }
}

/// Profiles already built in this process: `kite run` asks for the same zone at the start and
/// at the end of a run, and each build decodes years of history (about half its start-up).
static TYPICAL_WEEKS: Mutex<Vec<CachedWeek>> = Mutex::new(Vec::new());

/// One entry of [`TYPICAL_WEEKS`]: the key and what `build_for_zone` gave for it.
type CachedWeek = ((ZoneKey, Signal), Option<TypicalWeek>);

impl TypicalWeek {
    /// The profile of `zone` and `signal` from the embedded series with the most recent full
    /// calendar year (ties: the source order of [`for_zone`]); if none has a full year, from the
    /// series that ends last, over its last 52 weeks. Decodes one series, once per process.
    pub fn for_zone(zone: &ZoneKey, signal: Signal) -> Option<TypicalWeek> {
        let mut cache = TYPICAL_WEEKS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, week)) = cache.iter().find(|((z, s), _)| z == zone && *s == signal) {
            return week.clone();
        }
        let week = TypicalWeek::build_for_zone(zone, signal);
        cache.push(((zone.clone(), signal), week.clone()));
        week
    }

    fn build_for_zone(zone: &ZoneKey, signal: Signal) -> Option<TypicalWeek> {
        let candidates = for_zone(zone, signal);
        let with_full_year = candidates
            .iter()
            .filter_map(|e| last_full_year(e.span).map(|y| (y, *e)))
            .min_by(|(ya, a), (yb, b)| {
                yb.cmp(ya)
                    .then_with(|| source_rank(a.source).cmp(&source_rank(b.source)))
            })
            .map(|(_, e)| e);
        let chosen = with_full_year.or_else(|| candidates.first().copied())?;
        let slots = codec::decode(&chosen.entry).ok()?;
        TypicalWeek::from_slots(
            chosen.zone.clone(),
            chosen.signal,
            chosen.source,
            chosen.entry.start_secs,
            chosen.entry.step_secs,
            &slots,
            |v| chosen.entry.to_grams(v),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_weeks_from_slots_equal_those_from_loaded_series() {
        // `for_zone` builds from the decoded slots; building from the full series must agree,
        // bit for bit, for every embedded series.
        for e in catalog() {
            let slots = codec::decode(&e.entry).unwrap();
            let fast = TypicalWeek::from_slots(
                e.zone.clone(),
                e.signal,
                e.source,
                e.entry.start_secs,
                e.entry.step_secs,
                &slots,
                |v| e.entry.to_grams(v),
            );
            let slow = TypicalWeek::from_series(&try_load(e).unwrap(), e.source);
            assert_eq!(fast, slow, "{} {}", e.zone, e.source);
        }
    }

    fn zone(s: &str) -> ZoneKey {
        ZoneKey::new(s).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn find(source: &str, zone_key: &str) -> &'static EmbeddedSeries {
        catalog()
            .iter()
            .find(|e| e.source == source && e.zone.as_str() == zone_key)
            .unwrap_or_else(|| panic!("{source}/{zone_key} is embedded"))
    }

    fn mean(s: &IntensitySeries) -> f64 {
        s.points().iter().map(|p| p.value.0).sum::<f64>() / s.len() as f64
    }

    #[test]
    fn every_embedded_series_decodes() {
        // 7 + 7 CarbonCast, 10 + 10 GreenDCC, 32 live-polled, 1 WattTime (grid/MANIFEST.csv).
        assert_eq!(catalog().len(), 67);
        for e in catalog() {
            let s = try_load(e).unwrap();
            assert_eq!(s.len(), e.points, "{}/{}", e.source, e.zone);
            assert_eq!(s.span(), Some(e.span));
            assert!(s.points().iter().all(|p| p.value.0 < 2000.0));
        }
        assert!(embedded_bytes() < 4_000_000);
    }

    #[test]
    fn only_redistributable_sources_are_embedded() {
        let allowed = [
            ("carboncast-direct", "Apache-2.0"),
            ("carboncast-lifecycle", "Apache-2.0"),
            ("em-greendcc-lca", "MIT"),
            ("em-greendcc-direct", "MIT"),
            ("em-live-pause-resume", "MIT"),
            ("vessim-watttime-moer", "MIT"),
        ];
        for e in catalog() {
            assert!(
                allowed.contains(&(e.source, e.licence)),
                "{} ({}) must not be embedded",
                e.source,
                e.licence
            );
        }
    }

    // The expected numbers below are copied from /work/shared/data/grid/MANIFEST.csv
    // (columns rows, start, end, resolution_min, mean_gco2_per_kwh).

    #[test]
    fn carboncast_ciso_matches_the_manifest() {
        // carboncast-lifecycle/CISO.csv: 35136 rows, 2019-01-01T00:00Z..2023-01-03T23:00Z, 60 min, 257.2
        let e = find("carboncast-lifecycle", "US-CAL-CISO");
        assert_eq!(e.signal, Signal::AVERAGE_LIFECYCLE);
        assert_eq!(e.resolution, Resolution::HOUR);
        assert_eq!(e.points, 35136);
        assert_eq!(e.span.start(), ts("2019-01-01T00:00:00Z"));
        assert_eq!(
            e.span.end(),
            ts("2023-01-04T00:00:00Z"),
            "last row 23:00 lasts an hour"
        );
        let s = load(e);
        assert!((mean(&s) - 257.2).abs() < 0.05, "{}", mean(&s));
        // carboncast-direct/PJM.csv: 35136 rows, mean 305.9
        let d = load(find("carboncast-direct", "US-MIDA-PJM"));
        assert_eq!(d.meta().signal, Signal::AVERAGE_DIRECT);
        assert_eq!(d.len(), 35136);
        assert!((mean(&d) - 305.9).abs() < 0.05);
        // The first value of carboncast-direct/DE.csv is 279.13 at 2020-01-01T00Z (grid/README.md).
        let de = load(find("carboncast-direct", "DE"));
        assert_eq!(de.at(ts("2020-01-01T00:30:00Z")).unwrap().value.0, 279.13);
    }

    #[test]
    fn live_polled_series_keeps_its_gaps() {
        // em-live-pause-resume/DE.csv: 8904 rows, 2021-10-08T13:00Z..2022-12-06T21:00Z, mean 370.5
        let e = find("em-live-pause-resume", "DE");
        assert_eq!(e.points, 8904);
        assert_eq!(e.span.start(), ts("2021-10-08T13:00:00Z"));
        assert_eq!(e.span.end(), ts("2022-12-06T22:00:00Z"));
        let s = load(e);
        assert!((mean(&s) - 370.5).abs() < 0.05);
        let hours = e.span.duration().as_secs() / 3600;
        let gap_hours: i64 = s
            .gaps(e.span)
            .iter()
            .map(|g| g.end.duration_since(g.start).as_secs() / 3600)
            .sum();
        assert_eq!(gap_hours, hours - 8904, "gaps are kept, not filled");
        assert_eq!(s.meta().source, "em-live-pause-resume (embedded)");
        assert_eq!(s.meta().provenance, Provenance::Measured);
        assert_eq!(s.meta().fetched_at, None);
    }

    #[test]
    fn watttime_moer_is_marginal_and_five_minutely() {
        // vessim-watttime-moer/CAISO_NORTH.csv: 8928 rows, 2023-06-08T00:00Z..2023-07-08T23:55Z,
        // 5 min, mean 355.3, marginal.
        let e = find("vessim-watttime-moer", "US-CAL-CISO");
        assert_eq!(e.signal, Signal::MARGINAL_DIRECT);
        assert_eq!(e.resolution, Resolution::FIVE_MINUTES);
        assert_eq!(e.points, 8928);
        assert_eq!(e.span.end(), ts("2023-07-09T00:00:00Z"));
        assert!((mean(&load(e)) - 355.3).abs() < 0.05);
    }

    #[test]
    fn greendcc_gb_matches_the_manifest() {
        // em-greendcc-lca/GB.csv: 17520 rows, 2021-01-01T00:00Z..2022-12-31T23:00Z, mean 223.2
        let s = load(find("em-greendcc-lca", "GB"));
        assert_eq!(s.len(), 17520);
        assert!((mean(&s) - 223.2).abs() < 0.05);
    }

    #[test]
    fn for_zone_filters_by_signal_and_puts_the_newest_first() {
        let ciso = zone("US-CAL-CISO");
        let lca: Vec<&str> = for_zone(&ciso, Signal::AVERAGE_LIFECYCLE)
            .iter()
            .map(|e| e.source)
            .collect();
        // Spans end 2023-01-04 (CarbonCast), 2023-01-01 (GreenDCC), 2022-12-06 (live-polled).
        assert_eq!(
            lca,
            vec![
                "carboncast-lifecycle",
                "em-greendcc-lca",
                "em-live-pause-resume"
            ]
        );
        let marginal = for_zone(&ciso, Signal::MARGINAL_DIRECT);
        assert_eq!(marginal.len(), 1);
        assert!(for_zone(&zone("FR"), Signal::AVERAGE_LIFECYCLE).is_empty());
    }

    #[test]
    fn typical_week_uses_the_most_recent_full_year() {
        let ciso = zone("US-CAL-CISO");
        let week = TypicalWeek::for_zone(&ciso, Signal::AVERAGE_LIFECYCLE).unwrap();
        // CarbonCast and GreenDCC both cover 2022 in full; GreenDCC wins the tie.
        assert_eq!(week.years(), "2022");
        assert_eq!(week.source(), "em-greendcc-lca");
        assert!(
            week.hours()
                .iter()
                .all(|h| h.is_some_and(|v| v.0 > 0.0 && v.0 < 1000.0))
        );
        // Solar: California's midday (20:00 UTC) is cleaner than its evening (03:00 UTC).
        let wed = 2 * 24;
        assert!(week.hours()[wed + 20].unwrap().0 < week.hours()[wed + 3].unwrap().0);

        // A live-polled zone without a full year falls back to its last 52 weeks: the IE trace
        // ends 2022-12-06T22:00Z (MANIFEST: last row 21:00), 364 days earlier is 2021-12-07T22:00Z.
        let ie = TypicalWeek::for_zone(&zone("IE"), Signal::AVERAGE_LIFECYCLE).unwrap();
        assert_eq!(ie.source(), "em-live-pause-resume");
        assert_eq!(ie.years(), "2021-12-07 to 2022-12-06");
        assert_eq!(
            ie.basis(),
            TimeWindow::new(ts("2021-12-07T22:00:00Z"), ts("2022-12-06T22:00:00Z")).unwrap()
        );

        let window =
            TimeWindow::new(ts("2030-05-01T00:00:00Z"), ts("2030-05-02T00:00:00Z")).unwrap();
        let projected = week.project(&ciso, window);
        assert_eq!(projected.len(), 24);
        assert_eq!(
            projected.meta().provenance,
            Provenance::Estimated {
                method: "typical-week profile, em-greendcc-lca, 2022".into()
            }
        );
        assert!(TypicalWeek::for_zone(&zone("FR"), Signal::AVERAGE_LIFECYCLE).is_none());
    }

    #[test]
    fn a_cached_profile_is_the_one_a_fresh_build_gives() {
        for (z, signal) in [
            ("DE", Signal::AVERAGE_LIFECYCLE),
            ("DE", Signal::AVERAGE_DIRECT),
            ("US-CAL-CISO", Signal::MARGINAL_DIRECT),
            ("FR", Signal::AVERAGE_LIFECYCLE),
        ] {
            let first = TypicalWeek::for_zone(&zone(z), signal);
            let again = TypicalWeek::for_zone(&zone(z), signal);
            assert_eq!(first, again, "{z} {signal}");
            assert_eq!(
                first,
                TypicalWeek::build_for_zone(&zone(z), signal),
                "{z} {signal}"
            );
            // The key is zone and signal: another signal of the same zone is not served from it.
            if let Some(w) = &first {
                assert_eq!(w.signal(), signal);
            }
        }
    }

    #[test]
    fn catalog_is_cheap() {
        // Headers only: parsing the directory must not inflate any payload.
        let t0 = std::time::Instant::now();
        let dir = codec::read_directory(HISTORY).unwrap();
        assert_eq!(dir.len(), catalog().len());
        assert!(t0.elapsed() < std::time::Duration::from_millis(50));
    }
}
