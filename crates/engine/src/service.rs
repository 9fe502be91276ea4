//! Answering "what is the carbon intensity of zone Z over window W?" from the configured
//! sources, in order, each filling only the gaps the earlier ones left.
//!
//! Invariants:
//! - the segments of an answer never overlap, and each keeps its own [`SignalMeta`], so every
//!   value says where it came from;
//! - a source that fails or has nothing adds a [`Note`] with the reason; nothing falls back
//!   silently;
//! - values from a live provider are written to the store (the cache) before they are returned,
//!   and a failing cache write is a note, never a lost answer;
//! - a signal is never substituted by another (a marginal request is never answered with an
//!   average value): a source without that signal is a gap, with a note.

use crate::config::{ProviderSettings, SourceKind};
use crate::error::EngineError;
use kite_core::{
    Clock, Gap, IntensitySeries, Point, Provenance, ResampleReport, Resolution, Signal, SignalMeta,
    TimeWindow, Timestamp,
};
use kite_intensity::{IntensityProvider, Query};
use kite_regions::{Registry, Zone};
use kite_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One thing the user should know about how an answer was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The source it concerns: a provider name, `store`, `embedded`, or `resample`.
    pub source: String,
    /// What happened, in words.
    pub message: String,
}

/// What to look up.
#[derive(Debug, Clone)]
pub struct IntensityRequest {
    /// A zone key, alias or cloud region as typed.
    pub region: String,
    /// The window.
    pub window: TimeWindow,
    /// The signal.
    pub signal: Signal,
    /// Resample to this resolution (coarser than the data), time-weighted.
    pub resolution: Option<Resolution>,
    /// Only use series whose source name starts with this.
    pub source: Option<String>,
}

/// The answer: non-overlapping segments covering as much of the window as any source could.
#[derive(Debug, Clone)]
pub struct IntensityAnswer {
    /// The resolved zone.
    pub zone: Zone,
    /// The window actually answered (aligned to the resolution when one was asked).
    pub window: TimeWindow,
    /// Segments sorted by time; each carries its own metadata.
    pub segments: Vec<IntensitySeries>,
    /// Parts of the window nothing covered.
    pub gaps: Vec<Gap>,
    /// Fallbacks taken and other remarks, in the order they happened.
    pub notes: Vec<Note>,
    /// When the answer was made.
    pub now: Timestamp,
}

impl IntensityAnswer {
    /// All points of all segments in time order, each with its segment's metadata.
    pub fn points(&self) -> Vec<(&Point, &SignalMeta)> {
        let mut all: Vec<(&Point, &SignalMeta)> = self
            .segments
            .iter()
            .flat_map(|s| s.points().iter().map(move |p| (p, s.meta())))
            .collect();
        all.sort_by_key(|(p, _)| p.start);
        all
    }
}

/// Builds live providers from validated settings (no network I/O).
pub fn build_providers(
    settings: &[ProviderSettings],
) -> Result<Vec<Arc<dyn IntensityProvider>>, EngineError> {
    use kite_intensity::{
        ElectricityMapsConfig, ElectricityMapsProvider, HttpPolicy, UkCarbonIntensityConfig,
        UkCarbonIntensityProvider, WattTimeConfig, WattTimeProvider,
    };
    let policy = |http: &crate::config::HttpSettings| HttpPolicy {
        timeout: http.timeout,
        max_retries: http.max_retries,
        ..HttpPolicy::default()
    };
    let built = |section: &str, e: kite_intensity::BuildError| EngineError::Config {
        field: format!("providers.{section}"),
        message: e.to_string(),
    };
    let mut out: Vec<Arc<dyn IntensityProvider>> = Vec::new();
    for s in settings {
        match s {
            ProviderSettings::ElectricityMaps {
                base_url,
                api_key,
                http,
            } => out.push(Arc::new(
                ElectricityMapsProvider::new(ElectricityMapsConfig {
                    base_url: base_url.clone(),
                    api_key: api_key.clone(),
                    http: policy(http),
                })
                .map_err(|e| built("electricity_maps", e))?,
            )),
            ProviderSettings::WattTime {
                base_url,
                username,
                password,
                http,
            } => out.push(Arc::new(
                WattTimeProvider::new(WattTimeConfig {
                    base_url: base_url.clone(),
                    username: username.clone(),
                    password: password.clone(),
                    http: policy(http),
                })
                .map_err(|e| built("watttime", e))?,
            )),
            ProviderSettings::UkCarbonIntensity { base_url, http } => out.push(Arc::new(
                UkCarbonIntensityProvider::new(UkCarbonIntensityConfig {
                    base_url: base_url.clone(),
                    http: policy(http),
                })
                .map_err(|e| built("uk_carbon_intensity", e))?,
            )),
        }
    }
    Ok(out)
}

/// Answers intensity questions from live providers, the store and the embedded dataset.
pub struct IntensityService {
    registry: &'static Registry,
    providers: Vec<Arc<dyn IntensityProvider>>,
    store: Option<Mutex<Store>>,
    store_error: Option<String>,
    fallback: Vec<SourceKind>,
    clock: Arc<dyn Clock>,
    /// Failed fetches per provider (same order as `providers`), for kite serve's `/metrics`.
    provider_errors: Vec<AtomicU64>,
}

impl IntensityService {
    /// A service over the given parts. `store` is `Err(reason)` when the database could not be
    /// opened: queries still work from the other sources and say why the store was skipped.
    pub fn new(
        providers: Vec<Arc<dyn IntensityProvider>>,
        store: Result<Store, String>,
        fallback: Vec<SourceKind>,
        clock: Arc<dyn Clock>,
    ) -> IntensityService {
        let (store, store_error) = match store {
            Ok(s) => (Some(Mutex::new(s)), None),
            Err(e) => (None, Some(e)),
        };
        IntensityService {
            registry: Registry::embedded(),
            provider_errors: providers.iter().map(|_| AtomicU64::new(0)).collect(),
            providers,
            store,
            store_error,
            fallback,
            clock,
        }
    }

    /// Failed fetches of each live provider since the service was made (a skipped provider, one
    /// that does not serve the zone, is not a failure): `(provider name, count)`.
    pub fn provider_errors(&self) -> Vec<(&'static str, u64)> {
        self.providers
            .iter()
            .zip(&self.provider_errors)
            .map(|(p, n)| (p.name(), n.load(Ordering::Relaxed)))
            .collect()
    }

    /// The current instant according to the service's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Resolves a region name to a zone, with suggestions when it is unknown.
    pub fn resolve(&self, region: &str) -> Result<&'static Zone, EngineError> {
        self.registry
            .resolve(region)
            .map_err(|e| EngineError::UnknownRegion(e.to_string()))
    }

    /// Looks up intensity for a window, filling gaps source by source.
    pub async fn intensity(&self, req: &IntensityRequest) -> Result<IntensityAnswer, EngineError> {
        let zone = self.resolve(&req.region)?;
        let now = self.clock.now();
        let window = match req.resolution {
            Some(r) => align(req.window, r),
            None => req.window,
        };
        let mut acc = Coverage::new(window);
        let mut notes = Vec::new();
        for kind in &self.fallback {
            if acc.is_complete() {
                break;
            }
            let before = acc.covered_secs();
            let candidates = match kind {
                SourceKind::Live => self.live(zone, window, req, now, &mut notes).await,
                SourceKind::Store => self.stored(zone, window, req, &mut notes),
                SourceKind::Forecast => self.forecasted(zone, &acc, req, now, &mut notes),
                SourceKind::Embedded => embedded(zone, &acc, req, &mut notes),
            };
            for series in candidates {
                let series = match filter_source(series, req.source.as_deref()) {
                    Some(s) => s,
                    None => continue,
                };
                let series = match req.resolution {
                    Some(r) if r != series.resolution() => match series.resample(r) {
                        Ok((resampled, report)) => {
                            notes.push(resample_note(&series, r, report));
                            resampled
                        }
                        Err(e) => {
                            notes.push(Note {
                                source: series.meta().source.clone(),
                                message: format!("not used: {e}"),
                            });
                            continue;
                        }
                    },
                    _ => series,
                };
                acc.add(&series);
            }
            // Live and forecast are silent when they add nothing: a zone without a provider, or
            // a window in the past, is the usual case, not a fallback worth a note.
            if acc.covered_secs() == before
                && !acc.is_complete()
                && !matches!(kind, SourceKind::Live | SourceKind::Forecast)
            {
                notes.push(Note {
                    source: kind.as_str().into(),
                    message: format!(
                        "no {} data for {} in the remaining window",
                        req.signal, zone.key
                    ),
                });
            }
        }
        let gaps = acc.gaps();
        let segments = acc.into_segments();
        if segments.is_empty() {
            let reasons = notes
                .iter()
                .map(|n| format!("  - {}: {}", n.source, n.message))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(EngineError::NoData {
                zone: zone.key.to_string(),
                signal: req.signal.to_string(),
                window: window.to_string(),
                reasons,
                gaps,
            });
        }
        Ok(IntensityAnswer {
            zone: zone.clone(),
            window,
            segments,
            gaps,
            notes,
            now,
        })
    }

    async fn live(
        &self,
        zone: &Zone,
        window: TimeWindow,
        req: &IntensityRequest,
        now: Timestamp,
        notes: &mut Vec<Note>,
    ) -> Vec<IntensitySeries> {
        if self.providers.is_empty() {
            notes.push(Note {
                source: "live".into(),
                message:
                    "no live provider configured (see docs/config.example.toml); using local data"
                        .into(),
            });
            return Vec::new();
        }
        let query = Query {
            zone: zone.key.clone(),
            watttime_region: zone.watttime_region.clone(),
            uk_region_id: zone.uk_region_id,
            window,
            now,
            signal: req.signal,
        };
        let mut out = Vec::new();
        for (i, provider) in self.providers.iter().enumerate() {
            if let Err(unsupported) = provider.supports(&query) {
                notes.push(Note {
                    source: provider.name().into(),
                    message: format!("skipped: {}", unsupported.reason),
                });
                continue;
            }
            match provider.fetch_with_notes(&query).await {
                Ok(fetched) => {
                    for note in fetched.notes {
                        notes.push(Note {
                            source: provider.name().into(),
                            message: note,
                        });
                    }
                    let series = fetched.series;
                    if let Some(store) = &self.store {
                        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                        if let Err(e) = store.upsert(&series) {
                            notes.push(Note {
                                source: "store".into(),
                                message: format!("could not cache {} values: {e}", provider.name()),
                            });
                        }
                    }
                    out.extend(series);
                }
                Err(e) => {
                    if let Some(n) = self.provider_errors.get(i) {
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                    notes.push(Note {
                        source: provider.name().into(),
                        message: format!("failed, falling back: {e}"),
                    })
                }
            }
        }
        out
    }

    fn stored(
        &self,
        zone: &Zone,
        window: TimeWindow,
        req: &IntensityRequest,
        notes: &mut Vec<Note>,
    ) -> Vec<IntensitySeries> {
        let Some(store) = &self.store else {
            notes.push(Note {
                source: "store".into(),
                message: format!(
                    "skipped: {}",
                    self.store_error.as_deref().unwrap_or("no store configured")
                ),
            });
            return Vec::new();
        };
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        match store.query(&zone.key, req.signal, window, req.source.as_deref()) {
            Ok(mut series) => {
                // Most complete first; measured before forecast before estimated on ties.
                series.sort_by_key(|s| {
                    (
                        std::cmp::Reverse(s.len()),
                        provenance_rank(&s.meta().provenance),
                    )
                });
                series
            }
            Err(e) => {
                notes.push(Note {
                    source: "store".into(),
                    message: format!("query failed, falling back: {e}"),
                });
                Vec::new()
            }
        }
    }
}

impl IntensityService {
    /// kite's own point forecast ([`crate::forecast::CHAIN_MODEL`]) for what is still uncovered
    /// after the issue time: issued at the end
    /// of the latest measured data in the store (never after `now`), at most
    /// [`crate::MAX_HORIZON_HOURS`] ahead. Nothing when the store has no measured history, or
    /// when the uncovered time lies before the issue time or beyond the horizon.
    fn forecasted(
        &self,
        zone: &Zone,
        acc: &Coverage,
        req: &IntensityRequest,
        now: Timestamp,
        notes: &mut Vec<Note>,
    ) -> Vec<IntensitySeries> {
        let Some(store) = &self.store else {
            return Vec::new();
        };
        let uncovered = acc.uncovered();
        let Some(&(_, last_end)) = uncovered.last() else {
            return Vec::new();
        };
        let history = {
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            let path = store
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            match crate::forecast::stored_history(&store, &path, &zone.key, req.signal, now) {
                Ok(Some(h)) => h,
                Ok(None) => return Vec::new(),
                Err(e) => {
                    notes.push(Note {
                        source: "forecast".into(),
                        message: format!("skipped: {e}"),
                    });
                    return Vec::new();
                }
            }
        };
        let issue = history.history.end();
        let horizon_end = issue.as_second() + 3600 * crate::MAX_HORIZON_HOURS as i64;
        if !uncovered
            .iter()
            .any(|&(s, e)| e > issue.as_second() && s < horizon_end)
        {
            return Vec::new();
        }
        let hours = usize::try_from((last_end.min(horizon_end) - issue.as_second() + 3599) / 3600)
            .unwrap_or(0)
            .max(1);
        match crate::forecast::point_series(&zone.key, req.signal, &history, hours) {
            Ok((series, model)) => {
                notes.push(Note {
                    source: "forecast".into(),
                    message: format!(
                        "kite's own forecast ({model}, point values; `kite forecast` adds \
                         intervals) issued at {} from {}, for what no provider or stored \
                         forecast covered",
                        issue.strftime("%Y-%m-%dT%H:%MZ"),
                        history.source
                    ),
                });
                vec![series.slice(acc.window)]
            }
            Err(e) => {
                notes.push(Note {
                    source: "forecast".into(),
                    message: format!("skipped: {e}"),
                });
                Vec::new()
            }
        }
    }
}

fn provenance_rank(p: &Provenance) -> u8 {
    match p {
        Provenance::Measured => 0,
        Provenance::Forecast { .. } => 1,
        Provenance::Estimated { .. } => 2,
    }
}

/// Embedded history for the window, then the typical-week profile, then the annual mean.
fn embedded(
    zone: &Zone,
    acc: &Coverage,
    req: &IntensityRequest,
    notes: &mut Vec<Note>,
) -> Vec<IntensitySeries> {
    let window = acc.window;
    let mut out = Vec::new();
    for entry in kite_dataset::for_zone(&zone.key, req.signal) {
        if entry.span.overlap_secs(window.start(), window.end()) > 0 {
            out.push(kite_dataset::load(entry).slice(window));
        }
    }
    // Several series may overlap (DE has three lifecycle series in 2021–22): what matters is
    // whether their union leaves any still-uncovered time, not the sum of their lengths.
    let history: Vec<(i64, i64)> = coalesce(
        out.iter()
            .flat_map(|s| s.points())
            .map(|p| (p.start.as_second(), p.end().as_second()))
            .collect(),
    );
    let history_covers = subtract(&acc.uncovered(), &history).is_empty();
    if history_covers {
        return out;
    }
    if let Some(week) = kite_dataset::TypicalWeek::for_zone(&zone.key, req.signal) {
        notes.push(Note {
            source: "embedded".into(),
            message: format!(
                "no observed data for part of the window; using {} (an estimate, not a measurement or forecast)",
                week.label()
            ),
        });
        out.push(week.project(&zone.key, window));
        return out;
    }
    if let Some(annual) = zone.annual.iter().find(|a| a.signal == req.signal) {
        let method = format!("annual average, {}, {}", annual.source, annual.year);
        notes.push(Note {
            source: "embedded".into(),
            message: format!(
                "no hourly data for {}; using the {} (a flat estimate: it shows no daily or seasonal variation)",
                zone.key, method
            ),
        });
        if let Some(flat) = flat_series(zone, window, annual.value.0, req.signal, method) {
            out.push(flat);
        }
    }
    out
}

fn flat_series(
    zone: &Zone,
    window: TimeWindow,
    value: f64,
    signal: Signal,
    method: String,
) -> Option<IntensitySeries> {
    let hour = Resolution::HOUR;
    let mut t = hour.floor(window.start());
    let mut points = Vec::new();
    while t < window.end() {
        points.push((t, value));
        t = t.checked_add(hour.duration()).ok()?;
    }
    let meta = SignalMeta {
        signal,
        source: "annual mean (embedded)".into(),
        fetched_at: None,
        provenance: Provenance::Estimated { method },
    };
    IntensitySeries::from_regular(zone.key.clone(), meta, hour, points).ok()
}

fn filter_source(series: IntensitySeries, source: Option<&str>) -> Option<IntensitySeries> {
    match source {
        Some(prefix) if !series.meta().source.starts_with(prefix) => None,
        _ => Some(series),
    }
}

fn resample_note(series: &IntensitySeries, to: Resolution, report: ResampleReport) -> Note {
    let partial = if report.partial_buckets > 0 {
        format!(
            "; {} of {} buckets only partly covered (mean of the covered part)",
            report.partial_buckets, report.buckets
        )
    } else {
        String::new()
    };
    Note {
        source: "resample".into(),
        message: format!(
            "{}: resampled from {} to {} by time-weighted mean{partial}",
            series.meta().source,
            series.resolution(),
            to
        ),
    }
}

/// Widens a window to whole buckets of `r`.
fn align(window: TimeWindow, r: Resolution) -> TimeWindow {
    let start = r.floor(window.start());
    let end_floor = r.floor(window.end());
    let end = if end_floor == window.end() {
        end_floor
    } else {
        end_floor + r.duration()
    };
    TimeWindow::new(start, end).unwrap_or(window)
}

/// The part of a window covered so far, as non-overlapping segments.
///
/// A point is taken if it touches still-uncovered time in the window; it keeps its whole
/// interval (so `--at` shows the hour containing the instant) minus whatever earlier, preferred
/// sources already cover.
struct Coverage {
    window: TimeWindow,
    /// Taken intervals, as epoch seconds `[start, end)`, possibly reaching outside the window.
    covered: Vec<(i64, i64)>,
    segments: Vec<IntensitySeries>,
}

impl Coverage {
    fn new(window: TimeWindow) -> Coverage {
        Coverage {
            window,
            covered: Vec::new(),
            segments: Vec::new(),
        }
    }

    fn uncovered(&self) -> Vec<(i64, i64)> {
        let w = (
            self.window.start().as_second(),
            self.window.end().as_second(),
        );
        subtract(&[w], &self.covered)
    }

    fn is_complete(&self) -> bool {
        self.uncovered().is_empty()
    }

    fn uncovered_secs(&self) -> i64 {
        self.uncovered().iter().map(|(a, b)| b - a).sum()
    }

    fn covered_secs(&self) -> i64 {
        self.window.duration().as_secs() - self.uncovered_secs()
    }

    /// Takes the points of `series` that touch still-uncovered time.
    fn add(&mut self, series: &IntensitySeries) {
        let uncovered = self.uncovered();
        let mut taken: Vec<Point> = Vec::new();
        let mut newly: Vec<(i64, i64)> = Vec::new();
        for p in series.points() {
            let (ps, pe) = (p.start.as_second(), p.end().as_second());
            if !uncovered.iter().any(|&(us, ue)| ps < ue && us < pe) {
                continue;
            }
            for (s, e) in subtract(&[(ps, pe)], &self.covered) {
                if let Ok(start) = Timestamp::from_second(s) {
                    taken.push(Point {
                        start,
                        duration_secs: u32::try_from(e - s).unwrap_or(p.duration_secs),
                        value: p.value,
                    });
                    newly.push((s, e));
                }
            }
        }
        if taken.is_empty() {
            return;
        }
        if let Ok(segment) = IntensitySeries::new(
            series.zone().clone(),
            series.meta().clone(),
            series.resolution(),
            taken,
        ) {
            self.segments.push(segment);
            self.covered.extend(newly);
            self.covered = coalesce(std::mem::take(&mut self.covered));
        }
    }

    fn gaps(&self) -> Vec<Gap> {
        self.uncovered()
            .iter()
            .filter_map(|&(s, e)| {
                Some(Gap {
                    start: Timestamp::from_second(s).ok()?,
                    end: Timestamp::from_second(e).ok()?,
                })
            })
            .collect()
    }

    fn into_segments(mut self) -> Vec<IntensitySeries> {
        self.segments
            .sort_by_key(|s| s.points().first().map(|p| p.start));
        self.segments
    }
}

/// Sorts intervals and merges those that touch or overlap.
fn coalesce(mut v: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// `a` minus the union of `b` (both lists of `[start, end)`; `a` sorted and disjoint).
fn subtract(a: &[(i64, i64)], b: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut cuts = b.to_vec();
    cuts.sort_unstable();
    let mut out = Vec::new();
    for &(mut s, e) in a {
        for &(cs, ce) in &cuts {
            if ce <= s || cs >= e {
                continue;
            }
            if cs > s {
                out.push((s, cs));
            }
            s = s.max(ce);
            if s >= e {
                break;
            }
        }
        if s < e {
            out.push((s, e));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::subtract;

    #[test]
    fn coalesce_merges_touching_intervals() {
        assert_eq!(
            super::coalesce(vec![(5, 10), (0, 5), (20, 30), (25, 26)]),
            vec![(0, 10), (20, 30)]
        );
    }

    #[test]
    fn subtract_cuts_holes() {
        assert_eq!(
            subtract(&[(0, 100)], &[(10, 20), (50, 60)]),
            vec![(0, 10), (20, 50), (60, 100)]
        );
        assert_eq!(subtract(&[(0, 100)], &[(0, 100)]), vec![]);
        assert_eq!(
            subtract(&[(0, 10), (20, 30)], &[(5, 25)]),
            vec![(0, 5), (25, 30)]
        );
    }
}
