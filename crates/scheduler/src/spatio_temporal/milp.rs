//! The exact MILP (good_lp + microlp), warm-started from the greedy. Times are in hours inside
//! the model so coefficients stay near 1.
//!
//! Per job `j`: `u_j ∈ [0, 1]` (left out, cost = penalty) and
//! - `x[j,r,k]` binary for every covered candidate start `k` in region `r` (cost = the window's
//!   objective);
//! - for interruptible jobs, per region `r`: `z[j,r]` binary (runs in pieces in `r`), and per
//!   covered slot `i` of the job's window: `y` binary (runs in the slot), `t ∈ [0, A_i]` hours
//!   (time used, from the slot's available start), `b ∈ [0, 1]` (a piece starts here). Rules:
//!   `y ≤ z`; `t ≤ A·y`; a slot followed by a used slot is full (`t_i ≥ A_i (y_i + y_{i+1} − 1)`),
//!   so a piece is whole slots then a part; `b_i ≥ y_i − y_{i−1}`, `b ≤ y`; `Σ b ≤ max_pieces`;
//!   work: `Σ t − overhead (Σ b − z) = duration · z`; a piece starting at `i` spans the slots
//!   that reach `min(min_chunk, duration)` (`y ≥ b_i` there, `Σ t ≥ L b_i`). When `overhead`
//!   exceeds that minimum, a binary `f` marks the first piece (`Σ f = z`, `f ≤ b`, and
//!   `Σ_{q<i} b_q ≤ i (1 − f_i)`: no piece starts before the first) and later pieces must be at
//!   least `overhead` long. A later piece that does no work (length = overhead) is dropped when
//!   reading the solution, which only lowers the cost.
//! - `Σ_r Σ_k x + Σ_r z + u = 1`; delay: `D_j ≥ (start_i − asap_end) y_i + t_i` per slot.
//!
//! Capacity: for each limited (region, slot) that demand could exceed, `Σ demand × (x of
//! windows overlapping it + y of the slot) ≤ capacity`.

use super::grid::{Choice, Model, ModelJob, NS_PER_HOUR};
use crate::interruptible::Slot;
use good_lp::{
    Expression, ProblemVariables, Solution, SolutionStatus, SolverModel, Variable,
    WithInitialSolution, WithTimeLimit, microlp, variable,
};
use kite_core::SignedDuration;
use std::collections::BTreeMap;

/// Whether the model has at most `limit` binaries (counting stops past it).
pub(crate) fn small_enough(model: &Model, limit: usize) -> bool {
    let mut n = 0usize;
    let mut starts = Vec::new();
    let mut slots = Vec::new();
    for j in &model.jobs {
        model.starts(j, &mut starts);
        for &r in &j.regions {
            n += starts.len();
            if j.split.is_some() {
                model.window_slots(j, r, None, &mut slots);
                n += 1 + 2 * slots.len();
            }
        }
        if n > limit {
            return false;
        }
    }
    true
}

/// The interruptible part of one job in one region.
struct SplitVars {
    region: usize,
    z: Variable,
    slots: Vec<Slot>,
    y: Vec<Variable>,
    t: Vec<Variable>,
}

struct JobVars {
    /// (region, start, variable).
    x: Vec<(usize, i64, Variable)>,
    split: Vec<SplitVars>,
}

fn hours(ns: i64) -> f64 {
    ns as f64 / NS_PER_HOUR
}

fn consecutive(slots: &[Slot], i: usize) -> bool {
    slots.get(i + 1).is_some_and(|n| n.lo == slots[i].hi)
}

/// Solves the MILP. Returns the choices and whether optimality was proven.
pub(crate) fn solve(
    model: &Model,
    warm: &[Choice],
    limit: Option<SignedDuration>,
) -> Result<(Vec<Choice>, bool), String> {
    let mut vars = ProblemVariables::new();
    let mut objective = Expression::with_capacity(1024);
    let mut constraints = Vec::new();
    let mut initial: Vec<(Variable, f64)> = Vec::new();
    // Per (region, slot): the terms that use its capacity.
    let mut usage: BTreeMap<(usize, usize), Expression> = BTreeMap::new();
    let mut potential: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let w_delay = model.weights.delay_per_hour;
    let mut starts = Vec::new();
    let mut all = Vec::with_capacity(model.jobs.len());

    for (j, choice) in model.jobs.iter().zip(warm) {
        let u = vars.add(variable().min(0).max(1));
        objective.add_mul(j.penalty, u);
        initial.push((u, f64::from(u8::from(matches!(choice, Choice::None)))));
        let mut one = Expression::from(u);

        model.starts(j, &mut starts);
        let mut xs = Vec::new();
        for &r in &j.regions {
            for &a in &starts {
                let sp = model.grid.span(a, a + j.dur);
                let Some(cost) = model.window_cost(j, r, &sp) else {
                    continue;
                };
                let x = vars.add(variable().binary());
                objective.add_mul(cost, x);
                one.add_mul(1.0, x);
                let chosen = *choice
                    == Choice::Window {
                        region: r,
                        start: a,
                    };
                initial.push((x, f64::from(u8::from(chosen))));
                if model.grid.regions[r].capped {
                    for s in sp.first..=sp.last {
                        add_usage(&mut usage, &mut potential, (r, s), j.demand, x);
                    }
                }
                xs.push((r, a, x));
            }
        }

        let mut splits = Vec::new();
        if let Some(rules) = j.split {
            let d = (w_delay > 0.0).then(|| vars.add(variable().min(0)));
            if let Some(d) = d {
                objective.add_mul(w_delay, d);
                let warm_delay = model.terms(j, choice).map_or(0.0, |t| match choice {
                    Choice::Pieces { .. } => t.delay_hours.max(0.0),
                    _ => 0.0,
                });
                initial.push((d, warm_delay));
            }
            let delay = d;
            let work = hours(j.dur);
            let overhead = hours(rules.resume_overhead);
            let l_first = hours(rules.min_chunk.min(j.dur));
            let l_later = l_first.max(overhead);
            let asap_end = j.t0 + j.dur;
            for &r in &j.regions {
                let mut slots = Vec::new();
                model.window_slots(j, r, None, &mut slots);
                if slots.is_empty() {
                    continue;
                }
                let warm_pieces = match choice {
                    Choice::Pieces { region, pieces } if *region == r => Some(pieces.as_slice()),
                    _ => None,
                };
                let z = vars.add(variable().binary());
                initial.push((z, f64::from(u8::from(warm_pieces.is_some()))));
                one.add_mul(1.0, z);
                let m = slots.len();
                let y: Vec<Variable> = (0..m).map(|_| vars.add(variable().binary())).collect();
                let t: Vec<Variable> = slots
                    .iter()
                    .map(|s| vars.add(variable().min(0).max(hours(s.hi - s.lo))))
                    .collect();
                let b: Vec<Variable> = (0..m).map(|_| vars.add(variable().min(0).max(1))).collect();
                let f = (l_later > l_first).then(|| {
                    (0..m)
                        .map(|_| vars.add(variable().binary()))
                        .collect::<Vec<_>>()
                });
                let warm_split = warm_slots(&slots, warm_pieces);
                let reg = &model.grid.regions[r];
                let slot_of = |s: &Slot| (s.lo / model.grid.slot_ns) as usize;
                for i in 0..m {
                    let a_i = hours(slots[i].hi - slots[i].lo);
                    objective.add_mul(j.kw * reg.rate[slot_of(&slots[i])], t[i]);
                    constraints.push(Expression::from(y[i]).leq(z));
                    constraints.push((Expression::from(t[i]) - a_i * y[i]).leq(0.0));
                    if consecutive(&slots, i) {
                        constraints
                            .push((Expression::from(t[i]) - a_i * y[i] - a_i * y[i + 1]).geq(-a_i));
                    }
                    if i > 0 && consecutive(&slots, i - 1) {
                        constraints.push((Expression::from(b[i]) - y[i] + y[i - 1]).geq(0.0));
                    } else {
                        constraints.push((Expression::from(b[i]) - y[i]).geq(0.0));
                    }
                    constraints.push((Expression::from(b[i]) - y[i]).leq(0.0));
                    if let Some(d) = delay {
                        let start = hours(slots[i].lo - asap_end);
                        constraints.push((Expression::from(d) - start * y[i] - t[i]).geq(0.0));
                    }
                    if reg.capped {
                        add_usage(
                            &mut usage,
                            &mut potential,
                            (r, slot_of(&slots[i])),
                            j.demand,
                            y[i],
                        );
                    }
                    // Minimum piece length from slot i.
                    let mut min_len = |len: f64, coef: Expression| {
                        if len <= 0.0 {
                            return;
                        }
                        let mut reach = 0.0;
                        let mut k = i;
                        loop {
                            reach += hours(slots[k].hi - slots[k].lo);
                            if reach >= len - 1e-12 {
                                break;
                            }
                            if !consecutive(&slots, k) {
                                // Too little room from here: no piece of this kind starts here.
                                constraints.push(coef.clone().leq(0.0));
                                return;
                            }
                            k += 1;
                        }
                        let mut span = Expression::with_capacity(k - i + 1);
                        for q in i..=k {
                            span.add_mul(1.0, t[q]);
                            if q > i {
                                constraints.push((Expression::from(y[q]) - coef.clone()).geq(0.0));
                            }
                        }
                        constraints.push((span - coef * len).geq(0.0));
                    };
                    min_len(l_first, Expression::from(b[i]));
                    if let Some(f) = &f {
                        min_len(l_later, Expression::from(b[i]) - f[i]);
                    }
                    let (wy, wt, wb, wf) = warm_split[i];
                    initial.extend([(y[i], wy), (t[i], wt), (b[i], wb)]);
                    if let Some(f) = &f {
                        initial.push((f[i], wf));
                    }
                }
                let sum_b: Expression = b.iter().map(|v| Expression::from(*v)).sum();
                if let Some(mp) = rules.max_pieces {
                    constraints.push((sum_b.clone() - f64::from(mp) * z).leq(0.0));
                }
                let sum_t: Expression = t.iter().map(|v| Expression::from(*v)).sum();
                constraints.push((sum_t - overhead * sum_b + overhead * z - work * z).eq(0.0));
                if let Some(f) = &f {
                    let sum_f: Expression = f.iter().map(|v| Expression::from(*v)).sum();
                    constraints.push((sum_f - z).eq(0.0));
                    let mut before = Expression::with_capacity(m);
                    for i in 0..m {
                        constraints.push((Expression::from(f[i]) - b[i]).leq(0.0));
                        // f_i = 1 only if no piece starts before slot i: Σ_{q<i} b_q ≤ i (1 − f_i).
                        let n_before = i as f64;
                        constraints.push((before.clone() + n_before * f[i]).leq(n_before));
                        before.add_mul(1.0, b[i]);
                    }
                }
                splits.push(SplitVars {
                    region: r,
                    z,
                    slots,
                    y,
                    t,
                });
            }
        }
        constraints.push(one.eq(1.0));
        all.push(JobVars {
            x: xs,
            split: splits,
        });
    }
    for ((r, s), expr) in usage {
        let cap = f64::from(model.grid.regions[r].cap[s]);
        if potential.get(&(r, s)).is_some_and(|p| *p > cap) {
            constraints.push(expr.leq(cap));
        }
    }

    let mut problem = vars
        .minimise(objective)
        .using(microlp)
        .with_initial_solution(initial);
    if let Some(limit) = limit {
        problem = problem.with_time_limit(limit.as_secs_f64());
    }
    for c in constraints {
        problem.add_constraint(c);
    }
    let solution = problem.solve().map_err(|e| e.to_string())?;
    let proven = matches!(solution.status(), SolutionStatus::Optimal);
    let choices = model
        .jobs
        .iter()
        .zip(&all)
        .map(|(j, v)| read_choice(model, j, v, &solution))
        .collect::<Result<Vec<_>, String>>()?;
    Ok((choices, proven))
}

fn add_usage(
    usage: &mut BTreeMap<(usize, usize), Expression>,
    potential: &mut BTreeMap<(usize, usize), f64>,
    key: (usize, usize),
    demand: u32,
    var: Variable,
) {
    usage
        .entry(key)
        .or_insert_with(|| Expression::with_capacity(8))
        .add_mul(f64::from(demand), var);
    *potential.entry(key).or_insert(0.0) += f64::from(demand);
}

/// Warm values (y, t, b, f) per slot for the greedy's pieces, or zeros.
fn warm_slots(slots: &[Slot], pieces: Option<&[(i64, i64)]>) -> Vec<(f64, f64, f64, f64)> {
    let mut out = vec![(0.0, 0.0, 0.0, 0.0); slots.len()];
    let Some(pieces) = pieces else {
        return out;
    };
    for (n, &(a, b)) in pieces.iter().enumerate() {
        for (i, s) in slots.iter().enumerate() {
            let used = b.min(s.hi) - a.max(s.lo);
            if used > 0 {
                out[i].0 = 1.0;
                out[i].1 = hours(used);
                if s.lo == a {
                    out[i].2 = 1.0;
                    out[i].3 = f64::from(u8::from(n == 0));
                }
            }
        }
    }
    out
}

fn read_choice(
    model: &Model,
    j: &ModelJob,
    v: &JobVars,
    sol: &impl Solution,
) -> Result<Choice, String> {
    if let Some(&(region, start, _)) = v.x.iter().find(|(_, _, x)| sol.value(*x) > 0.5) {
        return Ok(Choice::Window { region, start });
    }
    let Some(sv) = v.split.iter().find(|s| sol.value(s.z) > 0.5) else {
        return Ok(Choice::None);
    };
    let Some(rules) = j.split else {
        return Err("a non-interruptible job was split".into());
    };
    // Runs of used slots, with the time the solution gives each.
    let mut runs: Vec<(i64, i64, i64)> = Vec::new(); // (lo, full hi, length ns)
    for (i, s) in sv.slots.iter().enumerate() {
        if sol.value(sv.y[i]) <= 0.5 {
            continue;
        }
        let used = (sol.value(sv.t[i]) * NS_PER_HOUR).round() as i64;
        let used = used.clamp(0, s.hi - s.lo);
        match runs.last_mut() {
            Some(last) if last.1 == s.lo => {
                last.1 = s.hi;
                last.2 += used;
            }
            _ => runs.push((s.lo, s.hi, used)),
        }
    }
    // A later piece no longer than the overhead does no work: drop it.
    let overhead = rules.resume_overhead;
    let mut kept: Vec<(i64, i64, i64)> = Vec::with_capacity(runs.len());
    for run in runs {
        if !kept.is_empty() && run.2 <= overhead {
            continue;
        }
        kept.push(run);
    }
    let n = kept.len();
    if n == 0 {
        return Err("the MILP split a job into no pieces".into());
    }
    let min_chunk = rules.min_chunk.min(j.dur);
    let mins: Vec<i64> = (0..n)
        .map(|i| {
            let floor = if i == 0 { 1 } else { overhead + 1 };
            min_chunk.max(floor)
        })
        .collect();
    // Rounding leaves the work off by a few microseconds: settle it on pieces with room.
    let target = j.dur + overhead * (n as i64 - 1);
    let mut diff = target - kept.iter().map(|r| r.2).sum::<i64>();
    for (i, run) in kept.iter_mut().enumerate().rev() {
        if diff > 0 {
            let room = (run.1 - run.0) - run.2;
            let add = diff.min(room);
            run.2 += add;
            diff -= add;
        } else if diff < 0 {
            let room = run.2 - mins[i];
            let cut = (-diff).min(room.max(0));
            run.2 -= cut;
            diff += cut;
        }
    }
    let ok = diff == 0
        && rules.max_pieces.is_none_or(|m| n <= m as usize)
        && kept
            .iter()
            .zip(&mins)
            .all(|(r, m)| r.2 >= *m && r.2 <= r.1 - r.0);
    if !ok {
        return Err(format!(
            "could not read valid pieces for job {} from the MILP solution",
            j.input
        ));
    }
    let pieces = kept.iter().map(|r| (r.0, r.0 + r.2)).collect();
    let choice = Choice::Pieces {
        region: sv.region,
        pieces,
    };
    if model.terms(j, &choice).is_none() {
        return Err("the MILP chose an uncovered piece".into());
    }
    Ok(choice)
}
