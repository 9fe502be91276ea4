//! The greedy heuristic: jobs by priority (highest first), then least flexibility (regions ×
//! start options), then largest energy; each takes its cheapest placement that still fits.
//!
//! Per job: every candidate start in every region is costed in O(1) from prefix sums, and its
//! capacity is checked in O(1) from a prefix count of the slots without room in the job's
//! window (built once per job and region), so one pass finds the cheapest window that fits;
//! no sorting or heap is needed. Interruptible jobs also try the cleanest-slots split over the
//! slots with room in each region, and keep the cheaper of split and window.

use super::grid::{Choice, Model, ModelJob, Span};
use crate::interruptible::Slot;

/// Units free per region and slot (`i64::MAX`: unlimited).
pub(crate) type Free = Vec<Vec<i64>>;

pub(crate) fn free_of(model: &Model) -> Free {
    model
        .grid
        .regions
        .iter()
        .map(|r| {
            r.cap
                .iter()
                .map(|&c| {
                    if c == u32::MAX {
                        i64::MAX
                    } else {
                        i64::from(c)
                    }
                })
                .collect()
        })
        .collect()
}

/// The greedy's processing order: priority (highest first), then flexibility (fewest
/// `regions × (slack in slots + 1)` first: a job with one region and no slack has one option,
/// so it goes before the jobs that could go elsewhere), then largest energy.
pub(crate) fn order(model: &Model) -> Vec<usize> {
    let slot = model.grid.slot_ns.max(1);
    let flexibility = |j: &ModelJob| (j.slack().max(0) / slot + 1) * j.regions.len() as i64;
    let mut order: Vec<usize> = (0..model.jobs.len()).collect();
    order.sort_by(|&a, &b| {
        let (ja, jb) = (&model.jobs[a], &model.jobs[b]);
        jb.priority
            .cmp(&ja.priority)
            .then(flexibility(ja).cmp(&flexibility(jb)))
            .then((jb.kw * jb.dur as f64).total_cmp(&(ja.kw * ja.dur as f64)))
            .then(a.cmp(&b))
    });
    order
}

/// Plans every job of the model; `Choice::None` for those left without capacity.
pub(crate) fn plan(model: &Model) -> Vec<Choice> {
    let mut free = free_of(model);
    let mut choices = vec![Choice::None; model.jobs.len()];
    let mut scratch = Scratch::default();
    let order = order(model);
    for &j in &order {
        let job = &model.jobs[j];
        let choice = place(model, job, &free, &mut scratch);
        occupy(model, job, &choice, &mut free, -1);
        choices[j] = choice;
    }
    if choices.iter().any(|c| matches!(c, Choice::None)) {
        repair(model, &order, &mut choices, &mut free, &mut scratch);
    }
    choices
}

/// Cheapest windows a left-out job tries to free.
const REPAIR_WINDOWS: usize = 2;
/// Most jobs moved to free one window.
const REPAIR_MOVES: usize = 6;

/// For each job left out (in the greedy's order), tries its few cheapest windows that its
/// demand fits when empty: moves the jobs occupying the full slots (most flexible first) until
/// the job fits, places it, then re-places the moved jobs with [`place`]. If any of them finds
/// no room, or the objective would not drop (the moved jobs' extra cost can exceed the job's
/// penalty), everything is rolled back. Moved jobs of any priority stay placed.
fn repair(
    model: &Model,
    order: &[usize],
    choices: &mut [Choice],
    free: &mut Free,
    sc: &mut Scratch,
) {
    let slot = model.grid.slot_ns.max(1);
    let flexibility = |j: &ModelJob| (j.slack().max(0) / slot + 1) * j.regions.len() as i64;
    // Who occupies each limited (region, slot).
    let mut occupants: Vec<Vec<Vec<u32>>> = model
        .grid
        .regions
        .iter()
        .map(|r| {
            if r.capped {
                vec![Vec::new(); model.grid.n_slots]
            } else {
                Vec::new()
            }
        })
        .collect();
    for (j, c) in choices.iter().enumerate() {
        index(model, &model.jobs[j], c, &mut occupants, j as u32, true);
    }
    let mut windows: Vec<(f64, usize, usize)> = Vec::new();
    for &j in order {
        if !matches!(choices[j], Choice::None) {
            continue;
        }
        let job = &model.jobs[j];
        model.starts(job, &mut sc.starts);
        sc.spans.clear();
        sc.spans
            .extend(sc.starts.iter().map(|&a| model.grid.span(a, a + job.dur)));
        windows.clear();
        for &r in &job.regions {
            let reg = &model.grid.regions[r];
            if !reg.capped {
                continue;
            }
            for (k, sp) in sc.spans.iter().enumerate() {
                let room = reg.cap[sp.first..=sp.last].iter().all(|&c| c >= job.demand);
                if let Some(cost) = model.window_cost(job, r, sp).filter(|_| room) {
                    windows.push((cost, r, k));
                }
            }
        }
        let n = REPAIR_WINDOWS.min(windows.len());
        if n == 0 {
            continue;
        }
        if n < windows.len() {
            windows.select_nth_unstable_by(n - 1, |a, b| a.0.total_cmp(&b.0));
        }
        windows[..n].sort_by(|a, b| a.0.total_cmp(&b.0));
        // `place` below reuses the scratch buffers: copy the candidates out first.
        let tries: Vec<(usize, Span, i64)> = windows[..n]
            .iter()
            .map(|&(_, r, k)| (r, sc.spans[k], sc.starts[k]))
            .collect();
        for (r, sp, start) in tries {
            let want = Choice::Window { region: r, start };
            let mut blockers: Vec<u32> = Vec::new();
            for s in sp.first..=sp.last {
                if free[r][s] < i64::from(job.demand) {
                    blockers.extend(occupants[r][s].iter().copied());
                }
            }
            blockers.sort_unstable();
            blockers.dedup();
            blockers.sort_by_key(|&b| std::cmp::Reverse(flexibility(&model.jobs[b as usize])));
            // Move blockers out until the window has room.
            let mut moved: Vec<(u32, Choice)> = Vec::new();
            for &b in &blockers {
                if moved.len() >= REPAIR_MOVES || fits(&free[r], &sp, job.demand) {
                    break;
                }
                let old = std::mem::replace(&mut choices[b as usize], Choice::None);
                let bj = &model.jobs[b as usize];
                occupy(model, bj, &old, free, 1);
                index(model, bj, &old, &mut occupants, b, false);
                moved.push((b, old));
            }
            let mut ok = fits(&free[r], &sp, job.demand);
            if ok {
                occupy(model, job, &want, free, -1);
                // The change of objective: the job's cost instead of its penalty, and each
                // moved job's new cost instead of its old one.
                let cost =
                    |j: &ModelJob, c: &Choice| model.terms(j, c).map_or(0.0, |t| t.objective);
                let mut delta = cost(job, &want) - job.penalty;
                let mut placed: Vec<u32> = Vec::new();
                for (b, old) in &moved {
                    let bj = &model.jobs[*b as usize];
                    let c = place(model, bj, free, sc);
                    if matches!(c, Choice::None) {
                        ok = false;
                        break;
                    }
                    delta += cost(bj, &c) - cost(bj, old);
                    occupy(model, bj, &c, free, -1);
                    choices[*b as usize] = c;
                    placed.push(*b);
                }
                ok = ok && delta < 0.0;
                if !ok {
                    for b in placed {
                        let c = std::mem::replace(&mut choices[b as usize], Choice::None);
                        occupy(model, &model.jobs[b as usize], &c, free, 1);
                    }
                    occupy(model, job, &want, free, 1);
                }
            }
            if ok {
                choices[j] = want;
                index(model, job, &choices[j], &mut occupants, j as u32, true);
                for &(b, _) in &moved {
                    let bj = &model.jobs[b as usize];
                    index(model, bj, &choices[b as usize], &mut occupants, b, true);
                }
                break;
            }
            // Roll back: the moved jobs return to where they were.
            for (b, old) in moved {
                let bj = &model.jobs[b as usize];
                occupy(model, bj, &old, free, -1);
                index(model, bj, &old, &mut occupants, b, true);
                choices[b as usize] = old;
            }
        }
    }
}

/// Adds `j` to (or removes it from) the occupants of the limited slots its choice uses.
fn index(
    model: &Model,
    j: &ModelJob,
    choice: &Choice,
    occupants: &mut [Vec<Vec<u32>>],
    id: u32,
    add: bool,
) {
    let mut apply = |r: usize, a: i64, b: i64| {
        if occupants[r].is_empty() {
            return;
        }
        let sp = model.grid.span(a, b);
        for list in &mut occupants[r][sp.first..=sp.last] {
            if add {
                list.push(id);
            } else if let Some(pos) = list.iter().position(|&x| x == id) {
                list.swap_remove(pos);
            }
        }
    };
    match choice {
        Choice::None => {}
        Choice::Window { region, start } => apply(*region, *start, start + j.dur),
        Choice::Pieces { region, pieces } => {
            for &(a, b) in pieces {
                apply(*region, a, b);
            }
        }
    }
}

#[derive(Default)]
struct Scratch {
    starts: Vec<i64>,
    spans: Vec<Span>,
    slots: Vec<Slot>,
    /// Per job and region: slots short of room before each slot of the window.
    blocked: Vec<u32>,
}

/// Whether `demand` units are free in every slot of the span in `r`.
pub(crate) fn fits(free: &[i64], sp: &Span, demand: u32) -> bool {
    free[sp.first..=sp.last]
        .iter()
        .all(|&f| f >= i64::from(demand))
}

/// Adds `sign × demand` to the free units of every slot the choice occupies.
pub(crate) fn occupy(model: &Model, j: &ModelJob, choice: &Choice, free: &mut Free, sign: i64) {
    let mut apply = |r: usize, a: i64, b: i64| {
        let sp = model.grid.span(a, b);
        for f in &mut free[r][sp.first..=sp.last] {
            if *f != i64::MAX {
                *f += sign * i64::from(j.demand);
            }
        }
    };
    match choice {
        Choice::None => {}
        Choice::Window { region, start } => apply(*region, *start, start + j.dur),
        Choice::Pieces { region, pieces } => {
            for &(a, b) in pieces {
                apply(*region, a, b);
            }
        }
    }
}

fn place(model: &Model, j: &ModelJob, free: &Free, sc: &mut Scratch) -> Choice {
    model.starts(j, &mut sc.starts);
    sc.spans.clear();
    sc.spans
        .extend(sc.starts.iter().map(|&a| model.grid.span(a, a + j.dur)));

    // The best single window that fits. Capacity is checked in O(1) per candidate from a
    // prefix count of the window's slots without room, built once per job and region.
    let mut best: Option<(f64, Choice)> = None;
    let first_slot = sc.spans.first().map_or(0, |sp| sp.first);
    let last_slot = sc.spans.last().map_or(0, |sp| sp.last);
    for &r in &j.regions {
        let capped = model.grid.regions[r].capped;
        if capped {
            sc.blocked.clear();
            sc.blocked.push(0);
            let mut n = 0;
            for &f in &free[r][first_slot..=last_slot.max(first_slot)] {
                n += u32::from(f < i64::from(j.demand));
                sc.blocked.push(n);
            }
        }
        for (k, sp) in sc.spans.iter().enumerate() {
            if capped && sc.blocked[sp.last + 1 - first_slot] != sc.blocked[sp.first - first_slot] {
                continue;
            }
            let Some(cost) = model.window_cost(j, r, sp) else {
                continue;
            };
            // Strictly cheaper only: ties keep the earlier region and the earlier start.
            if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                best = Some((
                    cost,
                    Choice::Window {
                        region: r,
                        start: sc.starts[k],
                    },
                ));
            }
        }
    }

    // The cleanest-slots split in each region, over the slots with room.
    if j.split.is_some() {
        for &r in &j.regions {
            let room = model.grid.regions[r].capped.then(|| free[r].as_slice());
            model.window_slots(j, r, room, &mut sc.slots);
            let Some(pieces) = model.split(j, &sc.slots) else {
                continue;
            };
            let choice = Choice::Pieces { region: r, pieces };
            let Some(terms) = model.terms(j, &choice) else {
                continue;
            };
            if best.as_ref().is_none_or(|(c, _)| terms.objective < *c) {
                best = Some((terms.objective, choice));
            }
        }
    }
    best.map_or(Choice::None, |(_, c)| c)
}
