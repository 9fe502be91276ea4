//! Reads the normalized grid series (`grid/<source>/<REGION>.csv`) of the sources whose licence
//! allows redistribution and turns them into [`SeriesData`] for `data/history.bin`.
//!
//! Invariants: values are kept exactly (parsed as decimal text, never through floats), gaps stay
//! gaps, and every source directory is either embedded or excluded with a reason, so a new
//! upstream source cannot be picked up (or dropped) silently.

use anyhow::{Context, bail, ensure};
use kite_core::{Signal, TimeWindow, Timestamp};
use kite_dataset::codec::SeriesData;
use std::collections::BTreeMap;
use std::path::Path;

/// An embedded source.
pub struct Source {
    /// Directory name under `grid/`, used as the source id.
    pub id: &'static str,
    /// SPDX licence id.
    pub licence: &'static str,
    /// What its values measure.
    pub signal: Signal,
    /// Seconds between rows on its grid.
    pub step_secs: u32,
    /// Upstream repository, for messages.
    pub repo: &'static str,
}

/// Sources embedded in the binary (see `grid/README.md` for each licence).
pub const SOURCES: &[Source] = &[
    Source {
        id: "carboncast-direct",
        licence: "Apache-2.0",
        signal: Signal::AVERAGE_DIRECT,
        step_secs: 3600,
        repo: "carbonfirst/CarbonCast",
    },
    Source {
        id: "carboncast-lifecycle",
        licence: "Apache-2.0",
        signal: Signal::AVERAGE_LIFECYCLE,
        step_secs: 3600,
        repo: "carbonfirst/CarbonCast",
    },
    Source {
        id: "em-greendcc-direct",
        licence: "MIT",
        signal: Signal::AVERAGE_DIRECT,
        step_secs: 3600,
        repo: "HewlettPackard/green-dcc",
    },
    Source {
        id: "em-greendcc-lca",
        licence: "MIT",
        signal: Signal::AVERAGE_LIFECYCLE,
        step_secs: 3600,
        repo: "HewlettPackard/green-dcc",
    },
    Source {
        id: "em-live-pause-resume",
        licence: "MIT",
        signal: Signal::AVERAGE_LIFECYCLE,
        step_secs: 3600,
        repo: "umassos/pause-resume",
    },
    Source {
        id: "vessim-watttime-moer",
        licence: "MIT",
        signal: Signal::MARGINAL_DIRECT,
        step_secs: 300,
        repo: "dos-group/vessim",
    },
];

/// Sources deliberately left out, and why.
pub const EXCLUDED: &[(&str, &str)] = &[
    ("lets-wait-awhile", "the repository has no licence"),
    (
        "em-caslb-2022-lca",
        "no licence stated; internal test data only",
    ),
    (
        "em-caslb-2022-direct",
        "no licence stated; internal test data only",
    ),
    ("roro-ciso-carboncast-forecast", "no licence file"),
    (
        "em-eurosys24-lca",
        "Electricity Maps data under ODbL (share-alike); EM portal CSVs are not copied",
    ),
    (
        "em-eurosys24-direct",
        "Electricity Maps data under ODbL (share-alike); EM portal CSVs are not copied",
    ),
];

/// The zone key of a source's region code. CarbonCast uses EIA balancing-authority codes and
/// WattTime its own region names; the others already use Electricity Maps keys.
fn zone_of(source: &str, region: &str) -> String {
    let mapped = match (source, region) {
        (_, "CISO") => "US-CAL-CISO",
        (_, "EPE") => "US-SW-EPE",
        (_, "MISO") => "US-MIDW-MISO",
        (_, "PJM") => "US-MIDA-PJM",
        // WattTime's CAISO_NORTH is the northern sub-area of the California ISO.
        ("vessim-watttime-moer", "CAISO_NORTH") => "US-CAL-CISO",
        _ => region,
    };
    mapped.to_string()
}

/// An annual mean computed from an embedded series, for the zone registry.
#[derive(Debug, Clone)]
pub struct HistoryAnnual {
    /// Zone key.
    pub zone: String,
    /// Source id.
    pub source: &'static str,
    /// Signal of the series.
    pub signal: Signal,
    /// The calendar year.
    pub year: i16,
    /// Mean of the hourly values of that year, g/kWh.
    pub value: f64,
}

/// Minimum share of a year's slots with data for its mean to be recorded.
const MIN_YEAR_COVERAGE: f64 = 0.9;

/// Parses `279.13` into `27913` at `decimals = 2`, exactly.
fn parse_scaled(text: &str, decimals: u8) -> anyhow::Result<u32> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    ensure!(
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && frac.len() <= usize::from(decimals),
        "`{text}` is not a non-negative decimal with at most {decimals} decimals"
    );
    let mut digits = String::with_capacity(int.len() + usize::from(decimals));
    digits.push_str(int);
    digits.push_str(frac);
    for _ in frac.len()..usize::from(decimals) {
        digits.push('0');
    }
    digits
        .parse::<u32>()
        .with_context(|| format!("`{text}` is too large"))
}

fn decimals_of(text: &str) -> usize {
    text.split_once('.').map_or(0, |(_, f)| f.len())
}

/// Reads one normalized CSV into a series.
fn read_series(source: &Source, path: &Path) -> anyhow::Result<SeriesData> {
    let file_region = path
        .file_stem()
        .and_then(|s| s.to_str())
        .context("file name is not UTF-8")?
        .to_string();
    let mut reader = csv::Reader::from_path(path)?;
    ensure!(
        reader.headers()?.iter().collect::<Vec<_>>() == ["timestamp", "region", "gco2_per_kwh"],
        "unexpected header"
    );
    let mut rows: Vec<(i64, String)> = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record?;
        let (Some(ts), Some(region), Some(value)) = (record.get(0), record.get(1), record.get(2))
        else {
            bail!("row {} has fewer than 3 fields", line + 2);
        };
        ensure!(
            region == file_region,
            "row {} is for region {region}",
            line + 2
        );
        let t: Timestamp = ts
            .parse()
            .with_context(|| format!("row {}: bad timestamp `{ts}`", line + 2))?;
        rows.push((t.as_second(), value.trim().to_string()));
    }
    let Some(&(start, _)) = rows.first() else {
        bail!("no rows");
    };
    let decimals = rows.iter().map(|(_, v)| decimals_of(v)).max().unwrap_or(0);
    let decimals = u8::try_from(decimals).context("too many decimals")?;
    ensure!(
        decimals <= kite_dataset::codec::MAX_DECIMALS,
        "too many decimals"
    );
    let step = i64::from(source.step_secs);
    let last = rows.last().map_or(start, |r| r.0);
    let n_slots = usize::try_from((last - start) / step + 1)?;
    let mut slots: Vec<Option<u32>> = vec![None; n_slots];
    let mut previous: Option<i64> = None;
    for (t, text) in &rows {
        ensure!(
            (t - start) % step == 0,
            "timestamp {t} is off the {step}-second grid"
        );
        ensure!(previous.is_none_or(|p| *t > p), "rows out of order at {t}");
        previous = Some(*t);
        slots[usize::try_from((t - start) / step)?] = Some(parse_scaled(text, decimals)?);
    }
    Ok(SeriesData {
        zone: zone_of(source.id, &file_region),
        source: source.id.to_string(),
        licence: source.licence.to_string(),
        signal: source.signal,
        start_secs: start,
        step_secs: source.step_secs,
        decimals,
        slots,
    })
}

/// The mean of the last full calendar year of a series, if that year is well covered.
fn annual_mean(s: &SeriesData, source: &'static str) -> anyhow::Result<Option<HistoryAnnual>> {
    let step = i64::from(s.step_secs);
    let start = Timestamp::from_second(s.start_secs)?;
    let end = Timestamp::from_second(s.start_secs + step * s.slots.len() as i64)?;
    let span = TimeWindow::new(start, end)?;
    let Some(year) = kite_dataset::last_full_year(span) else {
        return Ok(None);
    };
    let year_start = |y: i16| -> anyhow::Result<i64> {
        let dt = jiff::civil::date(y, 1, 1).at(0, 0, 0, 0);
        Ok(jiff::tz::Offset::UTC.to_timestamp(dt)?.as_second())
    };
    let (from, to) = (year_start(year)?, year_start(year + 1)?);
    let first = usize::try_from((from - s.start_secs) / step)?;
    let last = usize::try_from((to - s.start_secs) / step)?;
    let in_year = &s.slots[first..last];
    let values: Vec<f64> = in_year
        .iter()
        .flatten()
        .map(|v| f64::from(*v) / 10f64.powi(i32::from(s.decimals)))
        .collect();
    if (values.len() as f64) < MIN_YEAR_COVERAGE * in_year.len() as f64 {
        return Ok(None);
    }
    Ok(Some(HistoryAnnual {
        zone: s.zone.clone(),
        source,
        signal: s.signal,
        year,
        value: values.iter().sum::<f64>() / values.len() as f64,
    }))
}

/// Everything read from `grid/`.
pub struct History {
    /// The series, ordered by source then zone.
    pub series: Vec<SeriesData>,
    /// Annual means for the zone registry.
    pub annual: Vec<HistoryAnnual>,
}

/// Reads every embedded source under `grid_dir`.
pub fn read(grid_dir: &Path) -> anyhow::Result<History> {
    // Every directory must be accounted for.
    for entry in std::fs::read_dir(grid_dir).with_context(|| grid_dir.display().to_string())? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let known = SOURCES.iter().any(|s| s.id == name) || EXCLUDED.iter().any(|e| e.0 == name);
        ensure!(
            known,
            "grid/{name} is neither embedded nor excluded: read its licence in grid/README.md and add it to xtask/src/history.rs"
        );
    }
    let mut series = Vec::new();
    let mut annual = Vec::new();
    for source in SOURCES {
        let dir = grid_dir.join(source.id);
        let mut files: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).with_context(|| dir.display().to_string())? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "csv") {
                files.insert(path.display().to_string(), path);
            }
        }
        ensure!(!files.is_empty(), "no series in {}", dir.display());
        for path in files.values() {
            let s = read_series(source, path).with_context(|| path.display().to_string())?;
            if let Some(a) = annual_mean(&s, source.id)? {
                annual.push(a);
            }
            series.push(s);
        }
    }
    series.sort_by(|a, b| (a.source.as_str(), a.zone.as_str()).cmp(&(&b.source, &b.zone)));
    Ok(History { series, annual })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_parsed_exactly() {
        assert_eq!(parse_scaled("279.13", 2).unwrap(), 27913);
        assert_eq!(parse_scaled("274", 2).unwrap(), 27400);
        assert_eq!(parse_scaled("0.3", 3).unwrap(), 300);
        assert!(parse_scaled("-1", 2).is_err());
        assert!(parse_scaled("1.234", 2).is_err());
        assert!(parse_scaled("", 2).is_err());
        assert!(parse_scaled("nan", 2).is_err());
    }
}
