//! The slot grid and the model every method shares: per-region slot values with prefix sums
//! (so a window's cost is O(1)), capacities, the jobs in nanoseconds from the grid's origin,
//! their candidate starts, and the objective of a set of choices.
//!
//! Times are `i64` nanoseconds from the origin, clamped to ±2^60 (about ±36 years) so sums of
//! a time and a duration never overflow; the grid itself never extends past the data.

use super::{MAX_GRID_CELLS, PlannerConfig, Weights};
use crate::interruptible::{Slot, SplitRules, cleanest_split};
use crate::job::Job;
use crate::plan::UnplacedReason;
use crate::policy::Signals;
use kite_core::{Resolution, SignedDuration, TimeWindow, Timestamp, ZoneKey};
use std::collections::BTreeMap;

pub(crate) const NS_PER_HOUR: f64 = 3.6e12;
const LIMIT: i64 = 1 << 60;

/// What a method decided for one job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Choice {
    /// Not placed (no capacity left).
    None,
    /// One piece `[start, start + duration)`.
    Window { region: usize, start: i64 },
    /// Pieces `(lo, hi)`, sorted and disjoint.
    Pieces {
        region: usize,
        pieces: Vec<(i64, i64)>,
    },
}

impl Choice {
    pub(crate) fn region(&self) -> Option<usize> {
        match self {
            Choice::None => None,
            Choice::Window { region, .. } | Choice::Pieces { region, .. } => Some(*region),
        }
    }
}

/// A window `[a, b)` located on the grid: its slot indices and offsets into them (hours).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Span {
    pub(crate) a: i64,
    pub(crate) b: i64,
    ia: usize,
    fa: f64,
    ib: usize,
    fb: f64,
    /// First and last slot the window overlaps.
    pub(crate) first: usize,
    pub(crate) last: usize,
}

/// One region's slots. Value vectors have one extra trailing 0 so an integral may be taken up
/// to the grid's end.
#[derive(Debug, Clone)]
pub(crate) struct RegionSlots {
    pub(crate) zone: ZoneKey,
    /// Objective per kWh: `carbon × intensity + cost × price`; 0 where not covered.
    pub(crate) rate: Vec<f64>,
    rate_prefix: Vec<f64>,
    carbon: Vec<f64>,
    carbon_prefix: Vec<f64>,
    price: Vec<f64>,
    price_prefix: Vec<f64>,
    /// Count of uncovered slots before each index.
    bad_prefix: Vec<u32>,
    /// Units per slot; `u32::MAX` is unlimited.
    pub(crate) cap: Vec<u32>,
    /// Whether any slot is limited.
    pub(crate) capped: bool,
}

impl RegionSlots {
    fn integral(prefix: &[f64], values: &[f64], i: usize, f: f64) -> f64 {
        prefix[i] + values[i] * f
    }

    /// ∫ rate dt over the span, in rate × hours.
    pub(crate) fn rate_over(&self, sp: &Span) -> f64 {
        Self::integral(&self.rate_prefix, &self.rate, sp.ib, sp.fb)
            - Self::integral(&self.rate_prefix, &self.rate, sp.ia, sp.fa)
    }

    fn carbon_over(&self, sp: &Span) -> f64 {
        Self::integral(&self.carbon_prefix, &self.carbon, sp.ib, sp.fb)
            - Self::integral(&self.carbon_prefix, &self.carbon, sp.ia, sp.fa)
    }

    fn price_over(&self, sp: &Span) -> f64 {
        Self::integral(&self.price_prefix, &self.price, sp.ib, sp.fb)
            - Self::integral(&self.price_prefix, &self.price, sp.ia, sp.fa)
    }

    /// Whether every slot the span overlaps is covered.
    pub(crate) fn covered(&self, sp: &Span) -> bool {
        self.bad_prefix[sp.last + 1] == self.bad_prefix[sp.first]
    }

    pub(crate) fn slot_covered(&self, s: usize) -> bool {
        self.bad_prefix[s + 1] == self.bad_prefix[s]
    }
}

/// The slot grid.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub(crate) origin: Timestamp,
    pub(crate) slot: Resolution,
    pub(crate) slot_ns: i64,
    pub(crate) n_slots: usize,
    pub(crate) regions: Vec<RegionSlots>,
}

impl Grid {
    /// Locates `[a, b)`, which must lie in `[0, horizon]` with `a < b`.
    pub(crate) fn span(&self, a: i64, b: i64) -> Span {
        let d = self.slot_ns;
        let ia = (a / d) as usize;
        let ib = (b / d) as usize;
        Span {
            a,
            b,
            ia,
            fa: (a - ia as i64 * d) as f64 / NS_PER_HOUR,
            ib,
            fb: (b - ib as i64 * d) as f64 / NS_PER_HOUR,
            first: ia,
            last: ((b - 1) / d) as usize,
        }
    }

    /// Start of slot `s`.
    pub(crate) fn slot_start(&self, s: usize) -> i64 {
        s as i64 * self.slot_ns
    }

    fn at(&self, ns: i64) -> Option<Timestamp> {
        self.origin.checked_add(SignedDuration::from_nanos(ns)).ok()
    }
}

/// A job as the methods see it.
#[derive(Debug, Clone)]
pub(crate) struct ModelJob {
    /// Index in the caller's job list.
    pub(crate) input: usize,
    /// Allowed start (`max(now, earliest_start)`), deadline and duration, in ns.
    pub(crate) t0: i64,
    pub(crate) deadline: i64,
    pub(crate) dur: i64,
    /// The part of `[t0, deadline)` inside the grid.
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    pub(crate) kw: f64,
    pub(crate) demand: u32,
    /// Grid regions (with a signal), in the job's order of preference.
    pub(crate) regions: Vec<usize>,
    pub(crate) split: Option<SplitRules>,
    pub(crate) priority: i32,
    /// Objective added when the job is left out.
    pub(crate) penalty: f64,
}

impl ModelJob {
    pub(crate) fn slack(&self) -> i64 {
        self.deadline - self.t0 - self.dur
    }
}

/// Objective terms of one choice.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Terms {
    pub(crate) carbon: f64,
    pub(crate) cost: f64,
    pub(crate) delay_hours: f64,
    pub(crate) objective: f64,
}

/// Totals over all choices.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Totals {
    pub(crate) carbon: f64,
    pub(crate) cost: f64,
    pub(crate) mean_delay_hours: f64,
    pub(crate) penalty: f64,
    pub(crate) objective: f64,
}

/// The grid, the jobs and the weights.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub(crate) grid: Grid,
    pub(crate) jobs: Vec<ModelJob>,
    pub(crate) weights: Weights,
    /// Start and deadline of each job in the caller's list (for messages).
    windows: BTreeMap<usize, (Timestamp, Timestamp)>,
    zones_of: BTreeMap<usize, Vec<ZoneKey>>,
}

impl Model {
    /// Candidate starts of `j`, sorted and distinct: the allowed start, slot boundaries, times
    /// ending on a slot boundary, and the latest start, all inside `[lo, hi - dur]`.
    pub(crate) fn starts(&self, j: &ModelJob, out: &mut Vec<i64>) {
        out.clear();
        let d = self.grid.slot_ns;
        let lo = j.lo;
        let latest = j.hi - j.dur;
        if latest < lo {
            return;
        }
        out.push(lo);
        let mut by_start = (lo / d + 1) * d;
        let mut by_end = ((lo + j.dur) / d + 1) * d - j.dur;
        loop {
            let next = by_start.min(by_end);
            if next > latest {
                break;
            }
            if out.last().is_none_or(|&l| l < next) {
                out.push(next);
            }
            if by_start == next {
                by_start += d;
            }
            if by_end == next {
                by_end += d;
            }
        }
        if out.last().is_some_and(|&l| l < latest) {
            out.push(latest);
        }
    }

    /// Objective of one window in `r`, or `None` if not covered.
    pub(crate) fn window_cost(&self, j: &ModelJob, r: usize, sp: &Span) -> Option<f64> {
        let reg = &self.grid.regions[r];
        reg.covered(sp).then(|| {
            j.kw * reg.rate_over(sp)
                + self.weights.delay_per_hour * (sp.a - j.t0) as f64 / NS_PER_HOUR
        })
    }

    /// Covered slots of `[j.lo, j.hi)` in `r` with at least `j.demand` free units (when
    /// `free` is given), clipped to the window, keyed by rate.
    pub(crate) fn window_slots(
        &self,
        j: &ModelJob,
        r: usize,
        free: Option<&[i64]>,
        out: &mut Vec<Slot>,
    ) {
        out.clear();
        if j.hi <= j.lo {
            return;
        }
        let reg = &self.grid.regions[r];
        let d = self.grid.slot_ns;
        let first = (j.lo / d) as usize;
        let last = ((j.hi - 1) / d) as usize;
        for s in first..=last {
            if !reg.slot_covered(s) || free.is_some_and(|f| f[s] < i64::from(j.demand)) {
                continue;
            }
            let start = self.grid.slot_start(s);
            out.push(Slot {
                lo: start.max(j.lo),
                hi: (start + d).min(j.hi),
                key: reg.rate[s],
            });
        }
    }

    /// The cleanest-slots split of `j` in `r` over `slots`.
    pub(crate) fn split(&self, j: &ModelJob, slots: &[Slot]) -> Option<Vec<(i64, i64)>> {
        cleanest_split(slots, j.dur, j.split.as_ref()?)
    }

    /// Objective terms of `choice` for `j` (`None` for an uncovered choice).
    pub(crate) fn terms(&self, j: &ModelJob, choice: &Choice) -> Option<Terms> {
        let (r, pieces): (usize, &[(i64, i64)]) = match choice {
            Choice::None => return Some(Terms::default()),
            Choice::Window { region, start } => {
                let sp = self.grid.span(*start, start + j.dur);
                return self.span_terms(j, *region, &[sp], sp.b);
            }
            Choice::Pieces { region, pieces } => (*region, pieces),
        };
        let spans: Vec<Span> = pieces.iter().map(|&(a, b)| self.grid.span(a, b)).collect();
        let end = pieces.last()?.1;
        self.span_terms(j, r, &spans, end)
    }

    fn span_terms(&self, j: &ModelJob, r: usize, spans: &[Span], end: i64) -> Option<Terms> {
        let reg = &self.grid.regions[r];
        let mut t = Terms::default();
        let mut rate = 0.0;
        for sp in spans {
            if !reg.covered(sp) {
                return None;
            }
            t.carbon += j.kw * reg.carbon_over(sp);
            t.cost += j.kw * reg.price_over(sp);
            rate += j.kw * reg.rate_over(sp);
        }
        t.delay_hours = (end - (j.t0 + j.dur)) as f64 / NS_PER_HOUR;
        t.objective = rate + self.weights.delay_per_hour * t.delay_hours;
        Some(t)
    }

    /// The objective of `choices`, penalties included.
    pub(crate) fn objective(&self, choices: &[Choice]) -> f64 {
        self.totals(choices).objective
    }

    pub(crate) fn totals(&self, choices: &[Choice]) -> Totals {
        let mut t = Totals::default();
        let mut placed = 0usize;
        let mut delay = 0.0;
        for (j, c) in self.jobs.iter().zip(choices) {
            if matches!(c, Choice::None) {
                t.penalty += j.penalty;
                continue;
            }
            // An uncovered choice never comes out of a method; count it as left out.
            let Some(terms) = self.terms(j, c) else {
                t.penalty += j.penalty;
                continue;
            };
            placed += 1;
            t.carbon += terms.carbon;
            t.cost += terms.cost;
            delay += terms.delay_hours;
            t.objective += terms.objective;
        }
        t.objective += t.penalty;
        t.mean_delay_hours = if placed == 0 {
            0.0
        } else {
            delay / placed as f64
        };
        t
    }

    /// The region index and pieces of a choice as time windows.
    pub(crate) fn windows(
        &self,
        j: &ModelJob,
        choice: &Choice,
    ) -> Option<(usize, Vec<TimeWindow>)> {
        let to_window = |a: i64, b: i64| TimeWindow::new(self.grid.at(a)?, self.grid.at(b)?).ok();
        match choice {
            Choice::None => None,
            Choice::Window { region, start } => {
                Some((*region, vec![to_window(*start, start + j.dur)?]))
            }
            Choice::Pieces { region, pieces } => Some((
                *region,
                pieces
                    .iter()
                    .map(|&(a, b)| to_window(a, b))
                    .collect::<Option<Vec<_>>>()?,
            )),
        }
    }

    /// The reason for a job left out for lack of capacity.
    pub(crate) fn no_capacity(&self, job: &Job, j: &ModelJob) -> UnplacedReason {
        let (start, deadline) = self
            .windows
            .get(&j.input)
            .copied()
            .unwrap_or((job.earliest_start, job.deadline));
        UnplacedReason::NoCapacity {
            job_id: job.id.clone(),
            demand: job.demand,
            regions: self.zones_of.get(&j.input).cloned().unwrap_or_default(),
            start,
            deadline,
        }
    }

    /// Whether `j` has any covered placement when capacity is ignored.
    fn coverable(&self, j: &ModelJob, starts: &mut Vec<i64>, slots: &mut Vec<Slot>) -> bool {
        self.starts(j, starts);
        for &r in &j.regions {
            let reg = &self.grid.regions[r];
            if starts
                .iter()
                .any(|&a| reg.covered(&self.grid.span(a, a + j.dur)))
            {
                return true;
            }
            if j.split.is_some() {
                self.window_slots(j, r, None, slots);
                if self.split(j, slots).is_some() {
                    return true;
                }
            }
        }
        false
    }
}

/// Nanoseconds from `origin` to `t`, clamped to ±2^60.
fn rel(origin: Timestamp, t: Timestamp) -> i64 {
    let ns = t.duration_since(origin).as_nanos();
    i64::try_from(ns.clamp(-i128::from(LIMIT), i128::from(LIMIT))).unwrap_or(0)
}

fn duration_ns(d: SignedDuration) -> i64 {
    i64::try_from(d.as_nanos().clamp(0, i128::from(LIMIT))).unwrap_or(0)
}

/// Builds the model; jobs that cannot enter it come back with their reason, keyed by input
/// index.
pub(crate) fn build(
    jobs: &[Job],
    signals: &Signals,
    now: Timestamp,
    cfg: &PlannerConfig,
    notes: &mut Vec<String>,
) -> (Model, BTreeMap<usize, UnplacedReason>) {
    let mut unplaced = BTreeMap::new();
    let mut zones: BTreeMap<ZoneKey, usize> = BTreeMap::new();
    let mut valid: Vec<(usize, Vec<ZoneKey>)> = Vec::new();
    for (idx, job) in jobs.iter().enumerate() {
        if let Err(e) = job.validate(now) {
            unplaced.insert(idx, UnplacedReason::Invalid(e));
            continue;
        }
        let mut with_signal: Vec<ZoneKey> = Vec::new();
        for r in &job.regions {
            if signals.get(r).is_some() && !with_signal.contains(r) {
                with_signal.push(r.clone());
            }
        }
        if with_signal.is_empty() {
            unplaced.insert(
                idx,
                UnplacedReason::NoSignal {
                    regions: job.regions.clone(),
                },
            );
            continue;
        }
        for z in &with_signal {
            let next = zones.len();
            zones.entry(z.clone()).or_insert(next);
        }
        valid.push((idx, with_signal));
    }
    let mut indexed: Vec<(usize, ZoneKey)> = zones.iter().map(|(z, &i)| (i, z.clone())).collect();
    indexed.sort_by_key(|(i, _)| *i);
    let zone_list: Vec<ZoneKey> = indexed.into_iter().map(|(_, z)| z).collect();

    let series: Vec<_> = zone_list.iter().filter_map(|z| signals.get(z)).collect();
    let finest = series.iter().map(|s| s.resolution()).min();
    let mut slot = cfg.slot.or(finest).unwrap_or(Resolution::HOUR);
    let data_start = series
        .iter()
        .filter_map(|s| s.span())
        .map(|w| w.start())
        .min();
    let data_end = series
        .iter()
        .filter_map(|s| s.span())
        .map(|w| w.end())
        .max();
    let first_start = valid.iter().map(|(i, _)| jobs[*i].start_from(now)).min();
    let last_deadline = valid.iter().map(|(i, _)| jobs[*i].deadline).max();
    let (begin, end) = match (first_start, last_deadline, data_start, data_end) {
        (Some(a), Some(b), Some(c), Some(d)) => (a.max(c), b.min(d)),
        _ => (now, now),
    };
    let mut origin = slot.floor(begin);
    let mut n_slots = slots_between(origin, end, slot);
    while n_slots.saturating_mul(zone_list.len().max(1)) > MAX_GRID_CELLS {
        let Some(coarser) = coarser(slot) else { break };
        notes.push(format!(
            "a {slot} slot would make {n_slots} slots per region; coarsened to {coarser}"
        ));
        slot = coarser;
        origin = slot.floor(begin);
        n_slots = slots_between(origin, end, slot);
    }
    let slot_ns = i64::from(slot.secs()) * 1_000_000_000;
    let horizon = n_slots as i64 * slot_ns;
    let regions = zone_list
        .iter()
        .map(|z| region_slots(z, signals, cfg, origin, slot_ns, n_slots))
        .collect();
    let grid = Grid {
        origin,
        slot,
        slot_ns,
        n_slots,
        regions,
    };

    let mut model = Model {
        grid,
        jobs: Vec::with_capacity(valid.len()),
        weights: cfg.weights,
        windows: BTreeMap::new(),
        zones_of: BTreeMap::new(),
    };
    let mut starts = Vec::new();
    let mut slots = Vec::new();
    for (idx, with_signal) in valid {
        let job = &jobs[idx];
        let start = job.start_from(now);
        let t0 = rel(origin, start);
        let deadline = rel(origin, job.deadline);
        let split = match &job.interruptible {
            Some(i) => SplitRules::of(i),
            None => None,
        };
        let mj = ModelJob {
            input: idx,
            t0,
            deadline,
            dur: duration_ns(job.duration),
            lo: t0.max(0),
            hi: deadline.min(horizon),
            kw: job.power.0 / 1000.0,
            demand: job.demand,
            regions: with_signal
                .iter()
                .filter_map(|z| zones.get(z).copied())
                .collect(),
            split,
            priority: job.priority,
            penalty: 0.0,
        };
        if !model.coverable(&mj, &mut starts, &mut slots) {
            unplaced.insert(
                idx,
                UnplacedReason::NotCovered {
                    start,
                    deadline: job.deadline,
                },
            );
            continue;
        }
        model.windows.insert(idx, (start, job.deadline));
        model.zones_of.insert(idx, with_signal);
        model.jobs.push(mj);
    }
    set_penalties(&mut model);
    (model, unplaced)
}

fn slots_between(origin: Timestamp, end: Timestamp, slot: Resolution) -> usize {
    if end <= origin {
        return 0;
    }
    let secs = end.duration_since(origin).as_secs();
    let s = i64::from(slot.secs());
    usize::try_from((secs + s - 1) / s).unwrap_or(usize::MAX)
}

/// The next coarser resolution that still aligns with days.
fn coarser(slot: Resolution) -> Option<Resolution> {
    (2..=86_400u32).find_map(|k| Resolution::from_secs(slot.secs().checked_mul(k)?))
}

/// Time-weighted mean of `points` (start, end, value) per slot; `NaN` where a slot is not
/// fully covered.
fn per_slot(
    points: impl Iterator<Item = (Timestamp, Timestamp, f64)>,
    origin: Timestamp,
    slot_ns: i64,
    n_slots: usize,
) -> Vec<f64> {
    let mut weighted = vec![0.0; n_slots];
    let mut covered = vec![0i64; n_slots];
    let horizon = n_slots as i64 * slot_ns;
    for (start, end, value) in points {
        let lo = rel(origin, start).max(0);
        let hi = rel(origin, end).min(horizon);
        if hi <= lo {
            continue;
        }
        let mut s = (lo / slot_ns) as usize;
        while s < n_slots && (s as i64) * slot_ns < hi {
            let a = lo.max(s as i64 * slot_ns);
            let b = hi.min((s as i64 + 1) * slot_ns);
            weighted[s] += value * (b - a) as f64;
            covered[s] += b - a;
            s += 1;
        }
    }
    weighted
        .iter()
        .zip(&covered)
        .map(|(w, &c)| if c >= slot_ns { w / c as f64 } else { f64::NAN })
        .collect()
}

fn prefix(values: &[f64], slot_hours: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(values.len() + 1);
    let mut acc = 0.0;
    out.push(acc);
    for v in values {
        acc += v * slot_hours;
        out.push(acc);
    }
    out
}

fn region_slots(
    zone: &ZoneKey,
    signals: &Signals,
    cfg: &PlannerConfig,
    origin: Timestamp,
    slot_ns: i64,
    n_slots: usize,
) -> RegionSlots {
    let window = origin
        .checked_add(SignedDuration::from_nanos(n_slots as i64 * slot_ns))
        .ok()
        .and_then(|end| TimeWindow::new(origin, end).ok());
    let intensity = match (signals.get(zone), window) {
        (Some(s), Some(w)) => per_slot(
            s.slice(w)
                .points()
                .iter()
                .map(|p| (p.start, p.end(), p.value.0)),
            origin,
            slot_ns,
            n_slots,
        ),
        _ => vec![f64::NAN; n_slots],
    };
    let price = match &cfg.prices {
        None => vec![0.0; n_slots],
        Some(prices) => match prices.get(zone) {
            None => vec![f64::NAN; n_slots],
            Some(p) => per_slot(
                p.points().iter().map(|p| {
                    let end = p.start + SignedDuration::from_secs(i64::from(p.duration_secs));
                    (p.start, end, p.per_kwh)
                }),
                origin,
                slot_ns,
                n_slots,
            ),
        },
    };
    let w = cfg.weights;
    let mut bad_prefix = Vec::with_capacity(n_slots + 1);
    let mut bad = 0u32;
    bad_prefix.push(0);
    let mut carbon = Vec::with_capacity(n_slots + 1);
    let mut prices = Vec::with_capacity(n_slots + 1);
    let mut rate = Vec::with_capacity(n_slots + 1);
    for (i, p) in intensity.iter().zip(&price) {
        let ok = i.is_finite() && p.is_finite();
        if !ok {
            bad += 1;
        }
        bad_prefix.push(bad);
        let (i, p) = if ok { (*i, *p) } else { (0.0, 0.0) };
        carbon.push(i);
        prices.push(p);
        rate.push(w.carbon * i + w.cost * p);
    }
    let slot_hours = slot_ns as f64 / NS_PER_HOUR;
    let carbon_prefix = prefix(&carbon, slot_hours);
    let price_prefix = prefix(&prices, slot_hours);
    let rate_prefix = prefix(&rate, slot_hours);
    carbon.push(0.0);
    prices.push(0.0);
    rate.push(0.0);

    let base = cfg.capacity.of_region(zone).unwrap_or(u32::MAX);
    let mut cap = vec![base; n_slots];
    for (w, units) in cfg.capacity.overrides(zone) {
        let lo = rel(origin, w.start()).max(0);
        let hi = rel(origin, w.end()).min(n_slots as i64 * slot_ns);
        if hi <= lo {
            continue;
        }
        for c in &mut cap[(lo / slot_ns) as usize..=((hi - 1) / slot_ns) as usize] {
            *c = (*c).min(*units);
        }
    }
    let capped = cap.iter().any(|&c| c != u32::MAX);
    RegionSlots {
        zone: zone.clone(),
        rate,
        rate_prefix,
        carbon,
        carbon_prefix,
        price: prices,
        price_prefix,
        bad_prefix,
        cap,
        capped,
    }
}

/// Penalty of leaving job `j` out: `(1 + tier) × (1 + 2 × UB_j)`, where `UB_j` bounds any
/// placement cost of the job (its energy at the highest |rate| of its regions, over its
/// duration, or its whole window when interruptible, plus the largest delay), so placing a
/// job always costs less than leaving it out.
fn set_penalties(model: &mut Model) {
    let max_rate: Vec<f64> = model
        .grid
        .regions
        .iter()
        .map(|r| r.rate.iter().fold(0.0f64, |m, v| m.max(v.abs())))
        .collect();
    let w = model.weights.delay_per_hour;
    let mut priorities: Vec<i32> = model.jobs.iter().map(|j| j.priority).collect();
    priorities.sort_unstable();
    priorities.dedup();
    for j in &mut model.jobs {
        let rate = j
            .regions
            .iter()
            .map(|&r| max_rate[r])
            .fold(0.0f64, f64::max);
        let run = if j.split.is_some() {
            j.hi - j.lo
        } else {
            j.dur
        };
        let late = (j.hi - j.t0 - j.dur).max(0) as f64 / NS_PER_HOUR;
        let upper = j.kw * rate * run.max(0) as f64 / NS_PER_HOUR + w * late;
        let tier = priorities.partition_point(|&p| p < j.priority);
        j.penalty = (1 + tier) as f64 * (1.0 + 2.0 * upper);
    }
}
