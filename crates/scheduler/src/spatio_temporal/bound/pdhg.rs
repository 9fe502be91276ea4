//! The LP relaxation at scale: restarted primal-dual hybrid gradient (PDHG, the method of
//! PDLP) on a restricted master, with column generation.
//!
//! The LP is the Lagrangian dual's primal: each job picks a convex combination of its options
//! (windows, piece plans, the split relaxation's slot usage, or left out at its penalty) and
//! the capacity rows hold. Per job the options form a simplex, which the primal step projects
//! onto exactly; only the capacity rows are dualised, so the dual has one price per limited
//! (region, slot). Every step costs O(columns + rows): a column's `Aᵀλ` is a difference of
//! prefix sums, `Ax` a difference array.
//!
//! Steps are diagonally preconditioned (Pock and Chambolle 2011, α = 1: per row
//! `1 / Σ|a|`, per job `1 / max column Σ|a|`), balanced by a primal weight updated at restarts,
//! and restarted to the average or the current iterate when the gap below has fallen enough
//! (Applegate et al. 2021, adaptive restarts).
//!
//! What comes out is an interval that contains the LP optimum, both ends exact:
//! - below, the full Lagrangian (every window of every job, not only the master's columns) at
//!   the best λ: valid for any λ ≥ 0;
//! - above, the objective of a feasible fractional plan: the iterate with every column scaled
//!   down until no capacity row is over, the mass removed left out at its penalty.
//!
//! Pricing runs with the full Lagrangian pass: a job's cheapest window or split under λ joins
//! the master when it beats every column the job has.

use super::{Pick, Prices, lagrangian, relaxed_split};
use crate::spatio_temporal::LpBound;
use crate::spatio_temporal::grid::{Choice, Model};
use std::collections::HashSet;

/// Occupied rows of a column: `first..=last` (global row indices, one region) with `amount`
/// units each.
#[derive(Debug, Clone, Copy)]
struct Seg {
    first: u32,
    last: u32,
    amount: f64,
    /// `first` and `last + 1` in the prefix layout (`n + 1` entries per region).
    lo: u32,
    hi: u32,
}

impl Seg {
    fn new(n: usize, r: usize, first: usize, last: usize, amount: f64) -> Seg {
        Seg {
            first: (r * n + first) as u32,
            last: (r * n + last) as u32,
            amount,
            lo: (r * (n + 1) + first) as u32,
            hi: (r * (n + 1) + last + 1) as u32,
        }
    }
}

/// A column before it joins the master.
struct NewCol {
    job: usize,
    cost: f64,
    segs: Vec<Seg>,
    key: ColKey,
}

/// Identity of a column, to avoid duplicates: window `(region, start)`, or a split column
/// identified by its rows and amounts rounded (split relaxations repeat at similar prices).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ColKey {
    Window(u32, usize, i64),
    Other(u32, u64),
}

/// The restricted master, columns grouped by job.
struct Master {
    /// Scaled costs (`cost / scale`).
    cost: Vec<f64>,
    key: Vec<ColKey>,
    seg_off: Vec<usize>,
    segs: Vec<Seg>,
    job_off: Vec<usize>,
    x: Vec<f64>,
    /// Left-out mass per job.
    u: Vec<f64>,
    /// Per-job primal step (before the primal weight).
    tau: Vec<f64>,
}

/// Rows: one per (region, slot); `cap` is infinite where nothing is limited.
struct Rows {
    n: usize,
    cap: Vec<f64>,
    /// Per row dual step (before the primal weight).
    sigma: Vec<f64>,
}

/// Statistics the caller reports.
pub(super) struct Outcome {
    /// The best feasible fractional plan's objective (an upper bound on the LP optimum).
    pub(super) upper: f64,
    pub(super) iterations: u32,
    pub(super) pricing_rounds: u32,
    pub(super) columns: usize,
    pub(super) rows: usize,
    /// Whether the interval closed to within the tolerance.
    pub(super) converged: bool,
}

/// Scaled penalty of job `j`.
fn penalties(model: &Model, scale: f64) -> Vec<f64> {
    model.jobs.iter().map(|j| j.penalty / scale).collect()
}

fn window_col(model: &Model, j_idx: usize, r: usize, a: i64) -> Option<NewCol> {
    let j = &model.jobs[j_idx];
    let sp = model.grid.span(a, a + j.dur);
    let cost = model.window_cost(j, r, &sp)?;
    let reg = &model.grid.regions[r];
    let n = model.grid.n_slots;
    let segs = if reg.capped {
        vec![Seg::new(n, r, sp.first, sp.last, f64::from(j.demand))]
    } else {
        Vec::new()
    };
    Some(NewCol {
        job: j_idx,
        cost,
        segs,
        key: ColKey::Window(r as u32, j_idx, a),
    })
}

fn choice_col(model: &Model, j_idx: usize, choice: &Choice) -> Option<NewCol> {
    match choice {
        Choice::None => None,
        Choice::Window { region, start } => window_col(model, j_idx, *region, *start),
        Choice::Pieces { pieces, .. } => {
            let j = &model.jobs[j_idx];
            let cost = model.terms(j, choice)?.objective;
            let r = choice.region()?;
            let n = model.grid.n_slots;
            let capped = model.grid.regions[r].capped;
            let segs: Vec<Seg> = if capped {
                pieces
                    .iter()
                    .map(|&(a, b)| {
                        let sp = model.grid.span(a, b);
                        Seg::new(n, r, sp.first, sp.last, f64::from(j.demand))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Some(NewCol::other(j_idx, r, cost, segs))
        }
    }
}

impl NewCol {
    /// A column other than a plain window, keyed by what it uses, so repeats are not added.
    fn other(job: usize, r: usize, cost: f64, segs: Vec<Seg>) -> NewCol {
        let key = ColKey::Other(job as u32, hash_segs(r, &segs, cost));
        NewCol {
            job,
            cost,
            segs,
            key,
        }
    }
}

fn hash_segs(r: usize, segs: &[Seg], cost: f64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    r.hash(&mut h);
    for s in segs {
        (s.first, s.last, (s.amount * 1e6).round() as i64).hash(&mut h);
    }
    ((cost * 1e3).round() as i64).hash(&mut h);
    h.finish()
}

/// The split relaxation of `j` in `r` at `prices` as a column: its cost without the prices and
/// the fraction of each slot it uses.
fn split_col(model: &Model, j_idx: usize, r: usize, prices: &Prices) -> Option<NewCol> {
    let j = &model.jobs[j_idx];
    let mut slots = Vec::new();
    model.window_slots(j, r, None, &mut slots);
    let (value, used) = relaxed_split(model, j, r, &slots, prices, true)?;
    let demand = f64::from(j.demand);
    let n = model.grid.n_slots;
    let capped = model.grid.regions[r].capped;
    let mut cost = value;
    let mut segs = Vec::new();
    for (s, fraction) in used {
        cost -= demand * prices.lambda[r][s] * fraction;
        if capped && fraction > 0.0 {
            segs.push(Seg::new(n, r, s, s, demand * fraction));
        }
    }
    Some(NewCol::other(j_idx, r, cost, segs))
}

impl Master {
    fn build(n_jobs: usize, mut cols: Vec<(NewCol, f64)>, u: &[f64], scale: f64) -> Master {
        cols.sort_by_key(|(c, _)| c.job);
        let mut m = Master {
            cost: Vec::with_capacity(cols.len()),
            key: Vec::with_capacity(cols.len()),
            seg_off: Vec::with_capacity(cols.len() + 1),
            segs: Vec::new(),
            job_off: Vec::with_capacity(n_jobs + 1),
            x: Vec::with_capacity(cols.len()),
            u: u.to_vec(),
            tau: vec![0.0; n_jobs],
        };
        m.seg_off.push(0);
        let mut next = 0;
        for j in 0..n_jobs {
            m.job_off.push(m.cost.len());
            while next < cols.len() && cols[next].0.job == j {
                let (c, x) = &cols[next];
                m.cost.push(c.cost / scale);
                m.key.push(c.key.clone());
                m.segs.extend_from_slice(&c.segs);
                m.seg_off.push(m.segs.len());
                m.x.push(*x);
                next += 1;
            }
        }
        m.job_off.push(m.cost.len());
        for j in 0..n_jobs {
            let widest = (m.job_off[j]..m.job_off[j + 1])
                .map(|c| m.col_abs_sum(c))
                .fold(0.0, f64::max);
            m.tau[j] = if widest > 0.0 { 1.0 / widest } else { 1e6 };
        }
        m
    }

    fn col_abs_sum(&self, c: usize) -> f64 {
        self.segs[self.seg_off[c]..self.seg_off[c + 1]]
            .iter()
            .map(|s| s.amount * f64::from(s.last - s.first + 1))
            .sum()
    }

    /// `c + Aᵀλ` of column `c`, from the row prefix sums of λ (`pre[i]` = Σ λ of rows before
    /// `i` within its region's block, laid out as in [`prefix`]).
    fn reduced(&self, c: usize, pre: &[f64]) -> f64 {
        let mut g = self.cost[c];
        for s in &self.segs[self.seg_off[c]..self.seg_off[c + 1]] {
            g += s.amount * (pre[s.hi as usize] - pre[s.lo as usize]);
        }
        g
    }

    /// Job `j`'s cheapest option at the prices behind `pre`: its best column's `c + Aᵀλ`, or
    /// being left out at `penalty`.
    fn cheapest(&self, j: usize, pre: &[f64], penalty: f64) -> f64 {
        (self.job_off[j]..self.job_off[j + 1])
            .map(|c| self.reduced(c, pre))
            .fold(penalty, f64::min)
    }

    /// Adds `weight × usage of column c` to the difference array.
    fn add_usage(&self, c: usize, weight: f64, diff: &mut [f64]) {
        for s in &self.segs[self.seg_off[c]..self.seg_off[c + 1]] {
            diff[s.lo as usize] += weight * s.amount;
            diff[s.hi as usize] -= weight * s.amount;
        }
    }
}

/// Prefix sums of `v` per region block of `n` rows: `n + 1` entries per region.
fn prefix(v: &[f64], n: usize, out: &mut [f64]) {
    for (r, block) in v.chunks(n).enumerate() {
        let o = &mut out[r * (n + 1)..(r + 1) * (n + 1)];
        let mut acc = 0.0;
        for (i, x) in block.iter().enumerate() {
            o[i] = acc;
            acc += x;
        }
        o[n] = acc;
    }
}

/// Row loads from a difference array laid out as in [`prefix`] (`n + 1` per region).
fn loads(diff: &[f64], n: usize, out: &mut [f64]) {
    for (r, block) in diff.chunks(n + 1).enumerate() {
        let mut acc = 0.0;
        for (i, d) in block[..n].iter().enumerate() {
            acc += d;
            out[r * n + i] = acc;
        }
    }
}

/// Euclidean projection of `v` onto the unit simplex, in place (sort-based; `buf` is scratch).
fn project_simplex(v: &mut [f64], buf: &mut Vec<f64>) {
    // θ ≥ max − 1, so only entries above that can stay positive: sort just those.
    let top = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    buf.clear();
    buf.extend(v.iter().copied().filter(|&x| x > top - 1.0));
    buf.sort_unstable_by(|a, b| b.total_cmp(a));
    let mut acc = 0.0;
    let mut theta = 0.0;
    for (i, &b) in buf.iter().enumerate() {
        acc += b;
        let t = (acc - 1.0) / (i + 1) as f64;
        if b - t > 0.0 {
            theta = t;
        }
    }
    for x in v.iter_mut() {
        *x = (*x - theta).max(0.0);
    }
}

/// The primal step for `jobs`: `x_new`/`u_new` hold those jobs' columns and left-out masses
/// (offset to the first), `diff` receives the extrapolated usage `2 x_new − x` (cleared here).
#[allow(clippy::too_many_arguments)]
fn primal(
    m: &Master,
    jobs: std::ops::Range<usize>,
    pre: &[f64],
    pen: &[f64],
    step: f64,
    x_new: &mut [f64],
    u_new: &mut [f64],
    diff: &mut [f64],
    buf: &mut Vec<f64>,
    v: &mut Vec<f64>,
) {
    diff.iter_mut().for_each(|d| *d = 0.0);
    let (c0, j0) = (m.job_off[jobs.start], jobs.start);
    for j in jobs {
        let (lo, hi) = (m.job_off[j], m.job_off[j + 1]);
        let t = step * m.tau[j];
        v.clear();
        for c in lo..hi {
            v.push(m.x[c] - t * m.reduced(c, pre));
        }
        v.push(m.u[j] - t * pen[j]);
        project_simplex(v, buf);
        for (k, c) in (lo..hi).enumerate() {
            x_new[c - c0] = v[k];
            let extrapolated = 2.0 * v[k] - m.x[c];
            if extrapolated != 0.0 {
                m.add_usage(c, extrapolated, diff);
            }
        }
        u_new[j - j0] = v[hi - lo];
    }
}

/// Scratch state of the iteration.
struct Work {
    pre: Vec<f64>,
    diff: Vec<f64>,
    diff2: Vec<f64>,
    load: Vec<f64>,
    buf: Vec<f64>,
    v: Vec<f64>,
}

impl Work {
    fn new(rows: &Rows, regions: usize) -> Work {
        Work {
            pre: vec![0.0; regions * (rows.n + 1)],
            diff: vec![0.0; regions * (rows.n + 1)],
            diff2: vec![0.0; regions * (rows.n + 1)],
            load: vec![0.0; rows.cap.len()],
            buf: Vec::new(),
            v: Vec::new(),
        }
    }
}

/// Restricted dual value `Σ_j min(p_j, min_c (c + Aᵀλ)) − λ·cap` (scaled).
fn dual_value(m: &Master, rows: &Rows, lambda: &[f64], pen: &[f64], w: &mut Work) -> f64 {
    prefix(lambda, rows.n, &mut w.pre);
    let mut total: f64 = pen
        .iter()
        .enumerate()
        .map(|(j, &p)| m.cheapest(j, &w.pre, p))
        .sum();
    for (l, cap) in lambda.iter().zip(&rows.cap) {
        if *l > 0.0 && cap.is_finite() {
            total -= l * cap;
        }
    }
    total
}

/// The objective of `x` made feasible: each column scaled by the smallest `cap / load` over
/// the rows it uses (where a row is over), the rest of its mass left out (scaled).
fn repaired(m: &Master, x: &[f64], u: &[f64], rows: &Rows, pen: &[f64], w: &mut Work) -> f64 {
    w.diff.iter_mut().for_each(|d| *d = 0.0);
    for (c, &xc) in x.iter().enumerate() {
        if xc > 0.0 {
            m.add_usage(c, xc, &mut w.diff);
        }
    }
    loads(&w.diff, rows.n, &mut w.load);
    let ratio: Vec<f64> = (w.load.iter().zip(&rows.cap))
        .map(|(&l, &cap)| if l > cap { cap / l } else { 1.0 })
        .collect();
    let mut total = 0.0;
    for (j, &p) in pen.iter().enumerate() {
        let mut out = u[j];
        let (lo, hi) = (m.job_off[j], m.job_off[j + 1]);
        for (c, &xc) in (lo..hi).zip(&x[lo..hi]) {
            if xc <= 0.0 {
                continue;
            }
            let mut f: f64 = 1.0;
            for s in &m.segs[m.seg_off[c]..m.seg_off[c + 1]] {
                for i in s.first..=s.last {
                    f = f.min(ratio[i as usize]);
                }
            }
            total += xc * f * m.cost[c];
            out += xc * (1.0 - f);
        }
        total += out * p;
    }
    total
}

/// Settings of [`solve`].
pub(super) struct Settings {
    /// Stop when `(upper − lower) / upper` is at most this.
    pub(super) tolerance: f64,
    /// Most PDHG iterations in all.
    pub(super) max_iterations: u32,
}

/// Runs PDHG with column generation from λ = `best.1` and the greedy's `choices` (a feasible
/// integer plan) plus `seeds` as columns. Updates `best` (certified value and λ) and returns
/// the upper end and statistics.
pub(super) fn solve(
    model: &Model,
    choices: &[Choice],
    seeds: &HashSet<(usize, usize, i64)>,
    settings: &Settings,
    out_of_time: &dyn Fn() -> bool,
    best: &mut (f64, Vec<Vec<f64>>),
) -> Outcome {
    let n = model.grid.n_slots;
    let regions = model.grid.regions.len();
    let n_jobs = model.jobs.len();
    let scale = model.jobs.iter().map(|j| j.penalty).fold(1.0, f64::max);
    let pen = penalties(model, scale);

    // Columns: the greedy's plan (x = 1 where placed) and the seeds.
    let mut keys: HashSet<ColKey> = HashSet::new();
    let mut cols: Vec<(NewCol, f64)> = Vec::new();
    let mut u = vec![1.0; n_jobs];
    for (j, ch) in choices.iter().enumerate() {
        if let Some(c) = choice_col(model, j, ch)
            && keys.insert(c.key.clone())
        {
            cols.push((c, 1.0));
            u[j] = 0.0;
        }
    }
    let mut seeds: Vec<_> = seeds.iter().copied().collect();
    seeds.sort_unstable();
    for (j, r, a) in seeds {
        if let Some(c) = window_col(model, j, r, a)
            && keys.insert(c.key.clone())
        {
            cols.push((c, 0.0));
        }
    }

    let mut rows = Rows {
        n,
        cap: vec![f64::INFINITY; regions * n],
        sigma: vec![0.0; regions * n],
    };
    for (r, reg) in model.grid.regions.iter().enumerate() {
        if reg.capped {
            for (s, &cap) in reg.cap.iter().enumerate() {
                if cap != u32::MAX {
                    rows.cap[r * n + s] = f64::from(cap);
                }
            }
        }
    }
    let mut m = Master::build(n_jobs, cols, &u, scale);
    let set_sigma = |m: &Master, rows: &mut Rows, w: &mut Work| {
        w.diff.iter_mut().for_each(|d| *d = 0.0);
        for c in 0..m.cost.len() {
            m.add_usage(c, 1.0, &mut w.diff);
        }
        loads(&w.diff, n, &mut w.load);
        for (i, s) in rows.sigma.iter_mut().enumerate() {
            *s = if w.load[i] > 0.0 && rows.cap[i].is_finite() {
                1.0 / w.load[i]
            } else {
                0.0
            };
        }
    };
    let mut w = Work::new(&rows, regions);
    set_sigma(&m, &mut rows, &mut w);

    let mut lambda: Vec<f64> = best.1.iter().flatten().map(|l| l / scale).collect();
    for (l, cap) in lambda.iter_mut().zip(&rows.cap) {
        if !cap.is_finite() {
            *l = 0.0;
        }
    }

    let mut upper = repaired(&m, &m.x, &m.u, &rows, &pen, &mut w) * scale;
    let mut out = Outcome {
        upper,
        iterations: 0,
        pricing_rounds: 0,
        columns: m.cost.len(),
        rows: rows.cap.iter().filter(|c| c.is_finite()).count(),
        converged: false,
    };

    // Primal weight ω: τ = η τ_j / ω, σ = η σ_i ω (η < 1 keeps the step condition strict).
    // ω is 10 × the ratio of the starting point's norms in the preconditioned metrics (‖λ‖
    // weighted by 1/σ, ‖x‖ by 1/τ). PDLP's own rule (ω follows the ratio of the distances
    // moved between restarts) collapsed here to 1e-11 within a few thousand steps, the primal
    // then jumping between windows while the prices stood still; a fixed ω at 10 × the ratio
    // closed the 1,000-, 3,000- and 10,000-job benchmark instances to 0.1 %, while 0.1 × and
    // 100 × that did not in 20,000 steps (docs/benchmarks.md).
    let eta = 0.95;
    let lam_w = (lambda.iter().zip(&rows.sigma))
        .filter(|(_, s)| **s > 0.0)
        .map(|(l, s)| l * l / s)
        .sum::<f64>()
        .sqrt();
    let x_w = (0..n_jobs)
        .map(|j| {
            let xs: f64 = (m.job_off[j]..m.job_off[j + 1])
                .map(|c| m.x[c] * m.x[c])
                .sum();
            (xs + m.u[j] * m.u[j]) / m.tau[j]
        })
        .sum::<f64>()
        .sqrt();
    let omega = if lam_w > 0.0 && x_w > 0.0 {
        10.0 * lam_w / x_w
    } else {
        1e-3
    };
    let mut x_new = vec![0.0; m.x.len()];
    let mut u_new = vec![0.0; n_jobs];
    let mut lambda_new = vec![0.0; lambda.len()];
    let mut x_sum = vec![0.0; m.x.len()];
    let mut u_sum = vec![0.0; n_jobs];
    let mut l_sum = vec![0.0; lambda.len()];
    let mut since_restart = 0u32;
    // Merit at the last restart, and at the last check.
    let mut merit_restart = f64::INFINITY;
    let mut merit_last = f64::INFINITY;
    let check_every = 64;
    let price_every = 4;
    let mut checks = 0u32;

    let mut prices = Prices::zero(model);
    loop {
        // One PDHG step: the primal half on two threads (jobs split in two; each writes its
        // own columns and its own difference array), then the dual step.
        prefix(&lambda, n, &mut w.pre);
        let mid = n_jobs / 2;
        let first_b = m.job_off[mid];
        {
            let (xa, xb) = x_new.split_at_mut(first_b);
            let (ua, ub) = u_new.split_at_mut(mid);
            let (m, pre, pen) = (&m, &w.pre[..], &pen[..]);
            let mut other = std::mem::take(&mut w.diff2);
            std::thread::scope(|sc| {
                let h = sc.spawn(move || {
                    let mut buf = Vec::new();
                    let mut v = Vec::new();
                    primal(
                        m,
                        mid..n_jobs,
                        pre,
                        pen,
                        eta / omega,
                        xb,
                        ub,
                        &mut other,
                        &mut buf,
                        &mut v,
                    );
                    other
                });
                primal(
                    m,
                    0..mid,
                    pre,
                    pen,
                    eta / omega,
                    xa,
                    ua,
                    &mut w.diff,
                    &mut w.buf,
                    &mut w.v,
                );
                match h.join() {
                    Ok(d) => w.diff2 = d,
                    Err(p) => std::panic::resume_unwind(p),
                }
            });
            for (a, b) in w.diff.iter_mut().zip(&w.diff2) {
                *a += b;
            }
        }
        loads(&w.diff, n, &mut w.load);
        for i in 0..lambda.len() {
            let s = rows.sigma[i];
            lambda_new[i] = if s > 0.0 {
                (lambda[i] + eta * s * omega * (w.load[i] - rows.cap[i])).max(0.0)
            } else {
                lambda[i]
            };
        }
        std::mem::swap(&mut m.x, &mut x_new);
        std::mem::swap(&mut m.u, &mut u_new);
        std::mem::swap(&mut lambda, &mut lambda_new);
        for (s, x) in x_sum.iter_mut().zip(&m.x) {
            *s += x;
        }
        for (s, x) in u_sum.iter_mut().zip(&m.u) {
            *s += x;
        }
        for (s, x) in l_sum.iter_mut().zip(&lambda) {
            *s += x;
        }
        since_restart += 1;
        out.iterations += 1;

        if !out.iterations.is_multiple_of(check_every) {
            continue;
        }
        checks += 1;
        // Merit of the current iterate and of the average since the restart: the gap between
        // the repaired plan and the restricted dual, both exact for the master.
        let k = f64::from(since_restart);
        let xa: Vec<f64> = x_sum.iter().map(|s| s / k).collect();
        let ua: Vec<f64> = u_sum.iter().map(|s| s / k).collect();
        let la: Vec<f64> = l_sum.iter().map(|s| s / k).collect();
        let up_cur = repaired(&m, &m.x, &m.u, &rows, &pen, &mut w);
        let up_avg = repaired(&m, &xa, &ua, &rows, &pen, &mut w);
        let d_cur = dual_value(&m, &rows, &lambda, &pen, &mut w);
        let d_avg = dual_value(&m, &rows, &la, &pen, &mut w);
        let merit_cur = up_cur - d_cur;
        let merit_avg = up_avg - d_avg;
        upper = upper.min(up_cur.min(up_avg) * scale);
        let (merit, use_avg) = if merit_avg < merit_cur {
            (merit_avg, true)
        } else {
            (merit_cur, false)
        };
        let restart = merit <= 0.2 * merit_restart
            || (merit <= 0.8 * merit_restart && merit > merit_last)
            || f64::from(since_restart) >= 0.36 * f64::from(out.iterations);
        merit_last = merit;

        // Pricing and the certified bound from the full Lagrangian, at the better dual point.
        let mut added: Vec<NewCol> = Vec::new();
        let priced = checks.is_multiple_of(price_every) || restart;
        if priced {
            let lam = if d_avg > d_cur { &la } else { &lambda };
            for r in 0..regions {
                for s in 0..n {
                    prices.set(r, s, lam[r * n + s] * scale);
                }
            }
            prices.refresh();
            let pass = lagrangian(model, &prices);
            if pass.value > best.0 {
                *best = (pass.value, prices.lambda.clone());
            }
            out.pricing_rounds += 1;
            prefix(lam, n, &mut w.pre);
            for (j, (pick, win)) in pass.picks.iter().zip(&pass.windows).enumerate() {
                let have = m.cheapest(j, &w.pre, pen[j]);
                let tol = 1e-9 * pen[j].max(1e-12);
                if let Some((reduced, r, a)) = *win
                    && reduced / scale < have - tol
                    && let Some(c) = window_col(model, j, r, a)
                    && keys.insert(c.key.clone())
                {
                    added.push(c);
                }
                if let Pick::Split { region } = *pick
                    && let Some(c) = split_col(model, j, region, &prices)
                    && keys.insert(c.key.clone())
                {
                    added.push(c);
                }
            }
        }
        let gap = (upper - best.0) / upper.abs().max(1.0);
        if gap <= settings.tolerance {
            out.converged = true;
            break;
        }
        if out.iterations >= settings.max_iterations || out_of_time() {
            break;
        }
        // Columns are only added by pricing.
        if restart || priced {
            if restart {
                if use_avg {
                    m.x = xa;
                    m.u = ua;
                    lambda = la;
                }
                merit_restart = merit;
                merit_last = f64::INFINITY;
            }
            if priced {
                // Columns unused now and on average since the last reset leave the master
                // (pricing brings them back when they pay again).
                let k = f64::from(since_restart.max(1));
                let mut cols: Vec<(NewCol, f64)> = Vec::with_capacity(m.cost.len() + added.len());
                for j in 0..n_jobs {
                    let (lo, hi) = (m.job_off[j], m.job_off[j + 1]);
                    for (c, &used) in (lo..hi).zip(&x_sum[lo..hi]) {
                        if m.x[c] <= 0.0 && used / k <= 1e-12 {
                            keys.remove(&m.key[c]);
                            continue;
                        }
                        let segs = m.segs[m.seg_off[c]..m.seg_off[c + 1]].to_vec();
                        cols.push((
                            NewCol {
                                job: j,
                                cost: m.cost[c] * scale,
                                segs,
                                key: m.key[c].clone(),
                            },
                            m.x[c],
                        ));
                    }
                }
                cols.extend(added.into_iter().map(|c| (c, 0.0)));
                let u = m.u.clone();
                m = Master::build(n_jobs, cols, &u, scale);
                set_sigma(&m, &mut rows, &mut w);
                x_new = vec![0.0; m.x.len()];
            }
            x_sum = vec![0.0; m.x.len()];
            u_sum.iter_mut().for_each(|s| *s = 0.0);
            l_sum.iter_mut().for_each(|s| *s = 0.0);
            since_restart = 0;
        }
    }
    out.upper = upper;
    out.columns = m.cost.len();
    out
}

/// Fills `out` from an [`Outcome`].
pub(super) fn report(o: &Outcome, out: &mut LpBound) {
    out.master_objective = Some(o.upper);
    out.iterations = o.pricing_rounds;
    out.first_order_steps = o.iterations;
    out.columns = o.columns;
    out.rows = o.rows;
    out.converged = o.converged;
}
