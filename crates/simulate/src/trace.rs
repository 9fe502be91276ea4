//! Loading the scenario's traces and putting them on one regular grid: `[trace.from, trace.to)`
//! in steps of `trace.step`, one value per step and zone, missing steps kept missing (NaN).
//!
//! Files are read with kite-ingest (kite CSV or Electricity Maps export), relative to the data
//! directory the caller gives. Stored zones come from a loader the caller passes in, so this
//! crate needs no database.

use crate::error::SimError;
use crate::scenario::{Resample, Scenario, ZoneSource};
use crate::text::{fmt_duration, fmt_instant};
use kite_core::{IntensitySeries, Signal, TimeWindow, Timestamp, ZoneKey};
use std::path::Path;

/// Fetches a stored zone's series over a window; the optional text restricts the source label
/// (as `kite intensity --source`). The error string is shown to the user as is.
pub type StoredZoneLoader<'a> =
    dyn Fn(&ZoneKey, TimeWindow, Option<&str>) -> Result<IntensitySeries, String> + 'a;

/// Where trace files and stored zones are found.
pub struct TraceContext<'a> {
    /// Directory that relative `file` paths are read from (`--data`, else the scenario's own
    /// directory).
    pub data_dir: &'a Path,
    /// The loader for zones with `store = true`; `None` refuses them with a clear error.
    pub store: Option<&'a StoredZoneLoader<'a>>,
}

/// The traces on the simulation grid.
#[derive(Debug, Clone)]
pub struct Traces {
    pub(crate) start: i64,
    pub(crate) step: i64,
    pub(crate) len: usize,
    pub(crate) zones: Vec<ZoneTrace>,
}

/// One zone's actual intensity on the grid.
#[derive(Debug, Clone)]
pub(crate) struct ZoneTrace {
    pub zone: ZoneKey,
    /// g/kWh per step; NaN where the data has no value.
    pub values: Vec<f64>,
    /// Where the values came from, for the report.
    pub origin: String,
    /// Mean over the steps with data.
    pub mean: f64,
    /// Steps without data.
    pub missing: usize,
}

impl Traces {
    /// Loads every zone of the scenario's `[trace]`.
    pub fn load(scenario: &Scenario, ctx: &TraceContext<'_>) -> Result<Traces, SimError> {
        let spec = &scenario.trace;
        let window = window(spec.from, spec.to, "trace")?;
        let mut series = Vec::new();
        for (i, z) in spec.zones.iter().enumerate() {
            let (s, origin) = match &z.source {
                ZoneSource::File(file) => {
                    let path = ctx.data_dir.join(file);
                    let field = format!("trace.zones[{i}].file");
                    (
                        read_file(&z.zone, &path, &field)?,
                        format!("file {}", path.display()),
                    )
                }
                ZoneSource::Store(source) => {
                    let loader = ctx.store.ok_or_else(|| SimError::Trace {
                        zone: z.zone.to_string(),
                        message: "store = true but no store is available here; give a file instead"
                            .into(),
                    })?;
                    let s = loader(&z.zone, window, source.as_deref()).map_err(|message| {
                        SimError::Trace {
                            zone: z.zone.to_string(),
                            message,
                        }
                    })?;
                    let origin = format!("store, source {}", s.meta().source);
                    (s, origin)
                }
            };
            series.push((s, origin));
        }
        Traces::build(scenario, series)
    }

    /// Puts series the caller already has on the scenario's grid (one per trace zone, in any
    /// order); used by tests and by callers with their own sources.
    pub fn from_series(
        scenario: &Scenario,
        series: Vec<IntensitySeries>,
    ) -> Result<Traces, SimError> {
        let mut ordered = Vec::new();
        for z in &scenario.trace.zones {
            let s = series
                .iter()
                .find(|s| s.zone() == &z.zone)
                .cloned()
                .ok_or_else(|| SimError::Trace {
                    zone: z.zone.to_string(),
                    message: "no series given for this zone".into(),
                })?;
            let origin = format!("series from {}", s.meta().source);
            ordered.push((s, origin));
        }
        Traces::build(scenario, ordered)
    }

    fn build(
        scenario: &Scenario,
        series: Vec<(IntensitySeries, String)>,
    ) -> Result<Traces, SimError> {
        let spec = &scenario.trace;
        let len = usize::try_from((spec.to - spec.from) / spec.step).unwrap_or(0);
        let mut zones = Vec::new();
        for (s, origin) in series {
            let values = on_grid(&s, spec.from, spec.step, len, spec.resample);
            let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
            if present.is_empty() {
                let covers = s
                    .span()
                    .map(|w| format!("the data covers {w}"))
                    .unwrap_or_else(|| "the data is empty".into());
                return Err(SimError::Trace {
                    zone: s.zone().to_string(),
                    message: format!(
                        "no data covering the window [{}, {}) ({origin}); {covers}: move trace.from/trace.to or give other data",
                        fmt_instant(spec.from),
                        fmt_instant(spec.to)
                    ),
                });
            }
            let mean = present.iter().sum::<f64>() / present.len() as f64;
            zones.push(ZoneTrace {
                zone: s.zone().clone(),
                missing: len - present.len(),
                values,
                origin,
                mean,
            });
        }
        Ok(Traces {
            start: spec.from,
            step: spec.step,
            len,
            zones,
        })
    }

    /// Index of `zone` in [`Traces::zones`].
    pub(crate) fn zone_index(&self, zone: &ZoneKey) -> Option<usize> {
        self.zones.iter().position(|z| &z.zone == zone)
    }

    /// The grid's step as text, e.g. `30m`.
    pub fn step_text(&self) -> String {
        fmt_duration(self.step)
    }
}

fn window(from: i64, to: i64, what: &str) -> Result<TimeWindow, SimError> {
    let ts = |s: i64| {
        Timestamp::from_second(s).map_err(|_| crate::error::invalid(what, "time out of range"))
    };
    TimeWindow::new(ts(from)?, ts(to)?).map_err(|e| crate::error::invalid(what, e.to_string()))
}

fn read_file(zone: &ZoneKey, path: &Path, field: &str) -> Result<IntensitySeries, SimError> {
    let opts = kite_ingest::ImportOptions {
        signal: None,
        source: None,
        region: Some(zone.to_string()),
        assume_utc: false,
        max_value: kite_ingest::DEFAULT_MAX_VALUE,
    };
    let resolve = |label: &str| ZoneKey::new(label).map_err(|e| e.to_string());
    let parsed = kite_ingest::read_file(path, &opts, &resolve, Timestamp::UNIX_EPOCH).map_err(
        |e| SimError::Trace {
            zone: zone.to_string(),
            message: match e {
                kite_ingest::ImportError::Read { .. } => format!(
                    "{e}; {field} is read relative to --data (or the scenario's directory): check both"
                ),
                other => other.to_string(),
            },
        },
    )?;
    let mine: Vec<&IntensitySeries> = parsed.series.iter().filter(|s| s.zone() == zone).collect();
    let chosen = mine
        .iter()
        .find(|s| s.meta().signal == Signal::AVERAGE_LIFECYCLE)
        .or_else(|| mine.first())
        .copied();
    chosen.cloned().ok_or_else(|| {
        let found: Vec<String> = parsed.series.iter().map(|s| s.zone().to_string()).collect();
        SimError::Trace {
            zone: zone.to_string(),
            message: format!(
                "{} has no series for {zone} (it has {}); check the zone in trace.zones or the file",
                path.display(),
                if found.is_empty() { "none".into() } else { found.join(", ") }
            ),
        }
    })
}

/// The series on the grid `[start + k·step)`, `k < len`; NaN where nothing covers a step.
fn on_grid(s: &IntensitySeries, start: i64, step: i64, len: usize, how: Resample) -> Vec<f64> {
    let mut out = Vec::with_capacity(len);
    for k in 0..len {
        let t0 = start + k as i64 * step;
        let value = Timestamp::from_second(t0).ok().and_then(|t| match how {
            Resample::Sample => s.at(t).map(|p| p.value.0),
            Resample::Mean => {
                let end = Timestamp::from_second(t0 + step).ok()?;
                let w = TimeWindow::new(t, end).ok()?;
                if !s.gaps(w).is_empty() {
                    return None;
                }
                s.mean_over(w).map(|(m, _)| m.0)
            }
        });
        out.push(value.unwrap_or(f64::NAN));
    }
    out
}
