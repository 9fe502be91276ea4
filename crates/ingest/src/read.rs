//! The row loop and series assembly. One pass over the bytes: split the line, parse the
//! timestamp, find the row's region (a byte comparison with the previous row's label, so the
//! resolver runs once per distinct label), check time order, parse and range-check the values.
//! Nothing is allocated per row beyond the pushes onto each series' value vector.

use crate::error::ImportError;
use crate::format::{self, Format, Layout};
use crate::lines::{Lines, split};
use crate::timestamp::{self, TsError};
use crate::{ImportOptions, ParsedFile};
use kite_core::{IntensitySeries, Provenance, Resolution, SignalMeta, Timestamp, ZoneKey};
use std::path::{Path, PathBuf};

/// The rows read so far for one zone.
struct Region {
    /// The region as first written in the file (or given with --region), for messages.
    label: String,
    zone: ZoneKey,
    /// Start and line of the latest row, for the time-order checks.
    last: Option<(i64, usize)>,
    /// One vector per value column of the layout.
    values: Vec<Vec<(Timestamp, f64)>>,
}

impl Region {
    fn new(label: String, zone: ZoneKey, columns: usize) -> Region {
        Region {
            label,
            zone,
            last: None,
            values: vec![Vec::new(); columns],
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn parse_number(field: &[u8]) -> Option<f64> {
    let value: f64 = std::str::from_utf8(field).ok()?.parse().ok()?;
    value.is_finite().then_some(value)
}

pub(crate) fn parse(
    path: PathBuf,
    bytes: &[u8],
    opts: &ImportOptions,
    resolve: &dyn Fn(&str) -> Result<ZoneKey, String>,
    now: Timestamp,
) -> Result<ParsedFile, ImportError> {
    let mut lines = Lines::new(bytes);
    let (header_line, header) = loop {
        match lines.next() {
            None => return Err(ImportError::Empty { path }),
            Some((_, line)) if line.trim_ascii().is_empty() => continue,
            Some(found) => break found,
        }
    };
    let header_text = lossy(header);
    let mut fields: Vec<&[u8]> = Vec::with_capacity(16);
    split(header, &mut fields);
    let Some(mut layout) = format::detect(&fields) else {
        return Err(ImportError::UnknownHeader {
            path,
            line: header_line,
            header: header_text,
        });
    };
    let mut notes = Vec::new();
    if !layout.ignored.is_empty() {
        notes.push(format!(
            "columns {} are not imported: the signal comes from --signal (default average-lifecycle) and the source from --source",
            layout.ignored.join(", ")
        ));
    }
    if let Some(signal) = opts.signal {
        match layout.format {
            Format::KiteCsv => layout.values[0].1 = signal,
            Format::ElectricityMapsCsv => {
                layout.values.retain(|&(_, s)| s == signal);
                if layout.values.is_empty() {
                    return Err(ImportError::SignalNotInFile { path, signal });
                }
            }
        }
    }

    let n_values = layout.values.len();
    let mut regions: Vec<Region> = Vec::new();
    match (&opts.region, layout.region) {
        (Some(name), None) => {
            let zone = resolve(name).map_err(|message| ImportError::UnknownRegionOption {
                value: name.clone(),
                message,
            })?;
            regions.push(Region::new(name.clone(), zone, n_values));
        }
        (None, None) => {
            return Err(ImportError::MissingRegion {
                path,
                header: header_text,
            });
        }
        (Some(name), Some(_)) => notes.push(format!(
            "--region {name} was ignored: the file has a region column"
        )),
        (None, Some(_)) => {}
    }

    let naive_is_utc = layout.naive_is_utc || opts.assume_utc;
    let mut rows = 0usize;
    let mut estimated = 0usize;
    let mut empty_values = vec![0usize; n_values];
    // Labels seen so far (a file usually has one, so a linear search is fastest).
    let mut labels: Vec<(&[u8], usize)> = Vec::new();
    let mut current: Option<(&[u8], usize)> = None;

    for (line, text) in lines {
        if text.trim_ascii().is_empty() {
            continue;
        }
        split(text, &mut fields);
        if fields.len() != layout.names.len() {
            return Err(ImportError::FieldCount {
                path,
                line,
                expected: layout.names.len(),
                found: fields.len(),
                header: header_text,
            });
        }
        rows += 1;

        let ts_field = fields[layout.timestamp].trim_ascii();
        let start = match timestamp::parse(ts_field, naive_is_utc) {
            Ok(t) => t,
            Err(e) => return Err(timestamp_error(path, &layout, line, ts_field, e)),
        };

        let idx = match layout.region {
            None => 0,
            Some(col) => {
                let label = fields[col].trim_ascii();
                match current {
                    Some((seen, idx)) if seen == label => idx,
                    _ => {
                        let idx = match labels.iter().find(|(seen, _)| *seen == label) {
                            Some(&(_, idx)) => idx,
                            None => {
                                let name = lossy(label);
                                let zone = resolve(&name).map_err(|message| {
                                    ImportError::UnknownRegion {
                                        path: path.clone(),
                                        line,
                                        column: col + 1,
                                        name: layout.names[col].clone(),
                                        value: name.clone(),
                                        message,
                                    }
                                })?;
                                // Two spellings of one zone (`de`, `DE`) are one series.
                                let idx = match regions.iter().position(|r| r.zone == zone) {
                                    Some(idx) => idx,
                                    None => {
                                        regions.push(Region::new(name, zone, n_values));
                                        regions.len() - 1
                                    }
                                };
                                labels.push((label, idx));
                                idx
                            }
                        };
                        current = Some((label, idx));
                        idx
                    }
                }
            }
        };
        let region = &mut regions[idx];

        let secs = start.as_second();
        if let Some((previous, previous_line)) = region.last
            && secs <= previous
        {
            let label = region.label.clone();
            let value = lossy(ts_field);
            return Err(if secs == previous {
                ImportError::Duplicate {
                    path,
                    region: label,
                    line,
                    previous_line,
                    value,
                    has_region_column: layout.region.is_some(),
                }
            } else {
                ImportError::NotSorted {
                    path,
                    region: label,
                    line,
                    value,
                    previous_line,
                    previous: Timestamp::from_second(previous)
                        .map(|t| t.to_string())
                        .unwrap_or_else(|_| previous.to_string()),
                }
            });
        }
        region.last = Some((secs, line));

        for (k, &(col, _)) in layout.values.iter().enumerate() {
            let field = fields[col].trim_ascii();
            if field.is_empty() {
                if layout.empty_is_gap {
                    empty_values[k] += 1;
                    continue;
                }
                return Err(ImportError::MissingValue {
                    path,
                    line,
                    column: col + 1,
                    name: layout.names[col].clone(),
                });
            }
            let Some(value) = parse_number(field) else {
                return Err(ImportError::BadNumber {
                    path,
                    line,
                    column: col + 1,
                    name: layout.names[col].clone(),
                    value: lossy(field),
                });
            };
            if !(0.0..=opts.max_value).contains(&value) {
                return Err(ImportError::OutOfRange {
                    path,
                    line,
                    column: col + 1,
                    name: layout.names[col].clone(),
                    value,
                    max: opts.max_value,
                });
            }
            region.values[k].push((start, value));
        }
        if let Some(col) = layout.estimated
            && fields[col].trim_ascii().eq_ignore_ascii_case(b"true")
        {
            estimated += 1;
        }
    }
    if rows == 0 {
        return Err(ImportError::NoRows {
            path,
            header: header_text,
        });
    }

    if estimated > 0 {
        notes.push(format!(
            "{estimated} of {rows} rows are flagged `Data Estimated` by Electricity Maps; they \
             are imported like the others, as measured values"
        ));
    }
    for (k, &n) in empty_values.iter().enumerate() {
        if n > 0 {
            let name = &layout.names[layout.values[k].0];
            notes.push(format!(
                "{n} empty values in column `{name}` are left as gaps"
            ));
        }
    }

    let source = match &opts.source {
        Some(s) => s.clone(),
        None => format!("import:{}", file_stem(&path)),
    };
    let mut series = Vec::with_capacity(regions.len() * n_values);
    for region in &mut regions {
        for (k, &(_, signal)) in layout.values.iter().enumerate() {
            let values = std::mem::take(&mut region.values[k]);
            if values.is_empty() {
                notes.push(format!("{}: no {signal} values", region.zone));
                continue;
            }
            let meta = SignalMeta {
                signal,
                source: source.clone(),
                fetched_at: Some(now),
                provenance: Provenance::Measured,
            };
            series.push(assemble(&path, region, meta, values, &mut notes)?);
        }
    }
    Ok(ParsedFile {
        path,
        format: layout.format,
        series,
        rows,
        notes,
    })
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn timestamp_error(
    path: PathBuf,
    layout: &Layout,
    line: usize,
    field: &[u8],
    e: TsError,
) -> ImportError {
    let column = layout.timestamp + 1;
    let name = layout.names[layout.timestamp].clone();
    let value = lossy(field);
    match e {
        TsError::Bad => ImportError::BadTimestamp {
            path,
            line,
            column,
            name,
            value,
        },
        TsError::NoOffset => ImportError::NoOffset {
            path,
            line,
            column,
            name,
            value,
        },
        TsError::SubSecond => ImportError::SubSecond {
            path,
            line,
            column,
            name,
            value,
        },
    }
}

/// Builds one series at the modal step of its rows, and notes its shape.
fn assemble(
    path: &Path,
    region: &Region,
    meta: SignalMeta,
    values: Vec<(Timestamp, f64)>,
    notes: &mut Vec<String>,
) -> Result<IntensitySeries, ImportError> {
    // Steps are few and runs of one step long: a short list with the last hit first is cheaper
    // than hashing every row.
    let mut steps: Vec<(i64, usize)> = Vec::new();
    let mut last_hit = 0;
    for pair in values.windows(2) {
        let step = pair[1].0.as_second() - pair[0].0.as_second();
        match steps.get_mut(last_hit) {
            Some(hit) if hit.0 == step => hit.1 += 1,
            _ => match steps.iter().position(|s| s.0 == step) {
                Some(i) => {
                    steps[i].1 += 1;
                    last_hit = i;
                }
                None => {
                    steps.push((step, 1));
                    last_hit = steps.len() - 1;
                }
            },
        }
    }
    // Most common step; on a tie the shorter one, so no value is stretched over time it may
    // not describe.
    let modal = steps
        .iter()
        .max_by_key(|&&(step, count)| (count, std::cmp::Reverse(step)))
        .map(|&(step, _)| step);
    let resolution = match modal {
        None => {
            notes.push(format!(
                "{} {}: a single row; its interval is taken as {}",
                region.zone,
                meta.signal,
                Resolution::HOUR
            ));
            Resolution::HOUR
        }
        Some(step) => u32::try_from(step)
            .ok()
            .and_then(Resolution::from_secs)
            .ok_or_else(|| ImportError::IrregularStep {
                path: path.to_path_buf(),
                region: region.label.clone(),
                step_secs: step,
            })?,
    };
    let res = i64::from(resolution.secs());
    let (mut gaps, mut missing, mut shorter) = (0usize, 0i64, 0usize);
    for &(step, count) in &steps {
        if step > res {
            gaps += count;
            missing += (step / res - 1) * count as i64;
        } else if step < res {
            shorter += count;
        }
    }
    let signal = meta.signal;
    let series = IntensitySeries::from_regular(region.zone.clone(), meta, resolution, values)
        .map_err(|source| ImportError::Invalid {
            path: path.to_path_buf(),
            region: region.label.clone(),
            source,
        })?;
    let mut note = format!(
        "{} {signal}: {} points at {resolution}",
        region.zone,
        series.len()
    );
    if let Some(span) = series.span() {
        note.push_str(&format!(" from {} to {}", span.start(), span.end()));
    }
    if gaps > 0 {
        note.push_str(&format!(
            "; {gaps} gaps ({missing} missing intervals) left as gaps"
        ));
    }
    if shorter > 0 {
        note.push_str(&format!(
            "; {shorter} points cover less than {resolution} because the next row starts sooner"
        ));
    }
    notes.push(note);
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_must_be_finite() {
        assert_eq!(parse_number(b"279.13"), Some(279.13));
        assert_eq!(parse_number(b"1e2"), Some(100.0));
        assert_eq!(parse_number(b"NaN"), None);
        assert_eq!(parse_number(b"inf"), None);
        assert_eq!(parse_number(b"12,5"), None);
    }
}
