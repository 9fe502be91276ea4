//! The JSON shapes `kite … --format json` and `kite serve`'s `/v1` reads share: a zone of the
//! registry with the history compiled into kite, and an intensity answer with every value's
//! signal, provenance, source and age. One definition, so the CLI and the server give the same
//! answer; each caller adds what only it shows (the CLI a zone's live providers, the server the
//! signal and the mean over the window).

use crate::age::age_secs;
use crate::service::IntensityAnswer;
use kite_core::Provenance;
use kite_regions::{Cloud, Registry, Zone};
use serde::Serialize;

/// One zone: `kite regions --format json`, `GET /v1/regions`.
#[derive(Debug, Serialize)]
pub struct RegionView {
    /// Canonical zone key (Electricity Maps style), e.g. `DE`, `US-CAL-CISO`.
    pub zone: String,
    /// The zone's name.
    pub name: String,
    /// The country, where the zone lies in one.
    pub country: Option<String>,
    /// Balancing-authority, WattTime and ISO alpha-3 names that resolve to this zone.
    pub aliases: Vec<String>,
    /// Cloud regions located in this zone, as `aws:eu-central-1`.
    pub cloud_regions: Vec<String>,
    /// Annual means with their year, signal and source, best first.
    pub annual: Vec<AnnualView>,
    /// Hourly (or finer) history compiled into kite.
    pub embedded_history: Vec<HistoryView>,
}

/// An annual mean of a zone.
#[derive(Debug, Serialize)]
pub struct AnnualView {
    /// The mean, gCO2e/kWh.
    pub gco2_per_kwh: f64,
    /// The year it is the mean of.
    pub year: u16,
    /// `average-lifecycle`, `average-direct` or `marginal-direct`.
    pub signal: &'static str,
    /// Where it comes from.
    pub source: String,
}

/// One series of history compiled into kite.
#[derive(Debug, Serialize)]
pub struct HistoryView {
    /// The dataset.
    pub source: &'static str,
    /// `average-lifecycle`, `average-direct` or `marginal-direct`.
    pub signal: &'static str,
    /// Interval length, e.g. `1h`.
    pub resolution: String,
    /// First interval start, RFC 3339 UTC.
    pub start: String,
    /// End of the last interval.
    pub end: String,
    /// Values in the series.
    pub points: usize,
}

impl RegionView {
    /// The view of `zone`, listing only the cloud regions of `cloud` (all: `None`).
    pub fn new(zone: &Zone, cloud: Option<Cloud>) -> RegionView {
        RegionView {
            zone: zone.key.to_string(),
            name: zone.name.clone(),
            country: zone.country.clone(),
            aliases: zone
                .aliases
                .iter()
                .filter(|a| a.kind.cloud().is_none())
                .map(|a| a.name.clone())
                .collect(),
            cloud_regions: cloud_names(zone, cloud),
            annual: zone
                .annual
                .iter()
                .map(|a| AnnualView {
                    gco2_per_kwh: a.value.0,
                    year: a.year,
                    signal: a.signal.as_str(),
                    source: a.source.clone(),
                })
                .collect(),
            embedded_history: kite_dataset::catalog()
                .iter()
                .filter(|e| e.zone == zone.key)
                .map(|e| HistoryView {
                    source: e.source,
                    signal: e.signal.as_str(),
                    resolution: e.resolution.to_string(),
                    start: e.span.start().to_string(),
                    end: e.span.end().to_string(),
                    points: e.points,
                })
                .collect(),
        }
    }
}

/// Cloud regions in `zone`, spelled as users type them (`aws:eu-central-1`), only those of
/// `cloud` if given.
pub fn cloud_names(zone: &Zone, cloud: Option<Cloud>) -> Vec<String> {
    zone.aliases
        .iter()
        .filter_map(|a| {
            let c = a.kind.cloud()?;
            (cloud.is_none() || cloud == Some(c)).then(|| format!("{}:{}", c.as_str(), a.name))
        })
        .collect()
}

/// The zones of the embedded registry, in registry order, whose key, name or an alias contains
/// `search` (any case), with a cloud region of `cloud`.
pub fn find_zones(search: Option<&str>, cloud: Option<Cloud>) -> Vec<&'static Zone> {
    let needle = search.map(str::to_lowercase);
    Registry::embedded()
        .zones()
        .filter(|z| {
            needle.as_deref().is_none_or(|n| {
                z.key.as_str().to_lowercase().contains(n)
                    || z.name.to_lowercase().contains(n)
                    || z.aliases.iter().any(|a| a.name.to_lowercase().contains(n))
            })
        })
        .filter(|z| cloud.is_none() || z.cloud_regions(cloud).next().is_some())
        .collect()
}

/// One value: `kite intensity --format json`, `GET /v1/intensity`.
#[derive(Debug, Serialize)]
pub struct PointView {
    /// Interval start, RFC 3339 UTC.
    pub start: String,
    /// Interval end (exclusive).
    pub end: String,
    /// The value.
    pub gco2_per_kwh: f64,
    /// `average-lifecycle`, `average-direct` or `marginal-direct`.
    pub signal: &'static str,
    /// `measured`, `forecast` or `estimated`.
    pub provenance: &'static str,
    /// How an estimate was made (estimated values only).
    pub estimation_method: Option<String>,
    /// Forecast model (forecasts only).
    pub forecast_model: Option<String>,
    /// Forecast issue time (forecasts only).
    pub forecast_issued_at: Option<String>,
    /// Data source.
    pub source: String,
    /// When kite fetched or imported it (null for embedded data).
    pub fetched_at: Option<String>,
    /// Seconds since the interval ended or the forecast was issued (null for estimates).
    pub age_seconds: Option<i64>,
}

/// The time-weighted mean of an answer over the part of its window its values cover.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coverage {
    /// The mean (null: no value covers any of the window).
    pub mean_gco2_per_kwh: Option<f64>,
    /// Hours of the window the values cover.
    pub covered_hours: f64,
}

/// An intensity answer: `kite intensity --format json`, `GET /v1/intensity`.
#[derive(Debug, Serialize)]
pub struct IntensityView {
    /// Canonical zone key.
    pub zone: String,
    /// The zone's name.
    pub zone_name: String,
    /// `gCO2e/kWh`.
    pub unit: &'static str,
    /// The signal asked for (the server says it; the CLI leaves it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<&'static str>,
    /// Window start, RFC 3339 UTC.
    pub window_start: String,
    /// Window end (exclusive).
    pub window_end: String,
    /// When the answer was made.
    pub generated_at: String,
    /// The mean over the window (the server says it; the CLI leaves it out).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    /// Every value.
    pub points: Vec<PointView>,
    /// Parts of the window no source covers.
    pub gaps: Vec<SpanView>,
    /// Every fallback taken, and why.
    pub notes: Vec<NoteView>,
}

/// A part of a window.
#[derive(Debug, Serialize)]
pub struct SpanView {
    /// Start, RFC 3339 UTC.
    pub start: String,
    /// End (exclusive).
    pub end: String,
}

/// A source's note.
#[derive(Debug, Serialize)]
pub struct NoteView {
    /// The source.
    pub source: String,
    /// What it says.
    pub message: String,
}

impl IntensityAnswer {
    /// The time-weighted mean over the part of the window the values cover.
    pub fn coverage(&self) -> Coverage {
        let mut weighted = 0.0;
        let mut secs = 0.0;
        for (p, _) in self.points() {
            let overlap = self.window.overlap_secs(p.start, p.end()) as f64;
            weighted += p.value.0 * overlap;
            secs += overlap;
        }
        Coverage {
            mean_gco2_per_kwh: (secs > 0.0).then(|| weighted / secs),
            covered_hours: secs / 3600.0,
        }
    }
}

impl IntensityView {
    /// The view of `answer`, without the signal and the mean (callers that show them set them).
    pub fn new(answer: &IntensityAnswer) -> IntensityView {
        let points = answer
            .points()
            .into_iter()
            .map(|(p, meta)| {
                let (estimation_method, forecast_model, forecast_issued_at) = match &meta.provenance
                {
                    Provenance::Measured => (None, None, None),
                    Provenance::Estimated { method } => (Some(method.clone()), None, None),
                    Provenance::Forecast { issued_at, model } => {
                        (None, Some(model.clone()), issued_at.map(|t| t.to_string()))
                    }
                };
                PointView {
                    start: p.start.to_string(),
                    end: p.end().to_string(),
                    gco2_per_kwh: p.value.0,
                    signal: meta.signal.as_str(),
                    provenance: meta.provenance.label(),
                    estimation_method,
                    forecast_model,
                    forecast_issued_at,
                    source: meta.source.clone(),
                    fetched_at: meta.fetched_at.map(|t| t.to_string()),
                    age_seconds: age_secs(p, meta, answer.now),
                }
            })
            .collect();
        IntensityView {
            zone: answer.zone.key.to_string(),
            zone_name: answer.zone.name.clone(),
            unit: "gCO2e/kWh",
            signal: None,
            window_start: answer.window.start().to_string(),
            window_end: answer.window.end().to_string(),
            generated_at: answer.now.to_string(),
            coverage: None,
            points,
            gaps: answer
                .gaps
                .iter()
                .map(|g| SpanView {
                    start: g.start.to_string(),
                    end: g.end.to_string(),
                })
                .collect(),
            notes: answer
                .notes
                .iter()
                .map(|n| NoteView {
                    source: n.source.clone(),
                    message: n.message.clone(),
                })
                .collect(),
        }
    }
}
