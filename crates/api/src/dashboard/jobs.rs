//! The jobs page's data: each job's planned window against its actual run, the carbon its plan
//! saves against starting at once, and the intensity curve of the zones the plans use.
//!
//! Nothing here names a job's command, its handle or its log: the page is a read anyone allowed
//! to read the dashboard may make.

use super::{TTL_SECS, internal};
use crate::{AppState, Problem};
use kite_core::{Resolution, SignedDuration, TimeWindow, Timestamp};
use kite_engine::IntensityRequest;
use kite_service::{JobRecord, State};
use serde_json::{Value, json};
use std::sync::Arc;

/// The timeline shows at least this much before and after now, hours.
const BEFORE_H: i64 = 24;
const AFTER_H: i64 = 48;
/// ... and never more than this in all, so one far-off deadline cannot flatten the chart.
const MAX_SPAN_H: i64 = 24 * 7;
/// At most this many zones get an intensity curve.
const MAX_CURVES: usize = 6;
/// At most this many jobs are listed (newest first).
const MAX_JOBS: usize = 200;

/// Whether a job's plan counts toward the total saving: it will run, runs or ran as planned.
fn counts(state: State) -> bool {
    matches!(
        state,
        State::Planned | State::Running | State::Succeeded | State::Failed | State::Lost
    )
}

fn view(job: &JobRecord) -> Value {
    let plan = job.plan.as_ref().map(|p| {
        let saved_g = p.run_now_emissions_g.map(|now| now - p.emissions_g);
        json!({
            "policy": p.policy,
            "planned_at": p.planned_at,
            "region": p.region,
            "start": p.start,
            "end": p.end,
            "pieces": p.pieces,
            "energy_kwh": p.energy_kwh,
            "emissions_g": p.emissions_g,
            "run_now_emissions_g": p.run_now_emissions_g,
            "saved_g": saved_g,
            "saved_percent": p.saved_percent,
            "why": p.why,
        })
    });
    // A reason can quote the command (a failed start): shown only where it explains a wait.
    let reason = match job.state {
        State::Pending | State::MissedDeadline => job.reason.clone(),
        _ => None,
    };
    json!({
        "id": job.id,
        "state": job.state.as_str(),
        "team": job.request.team,
        "project": job.request.project,
        "regions": job.request.regions,
        "gpus": job.request.gpus,
        "submitted_at": job.submitted_at,
        "earliest_start": job.request.earliest_start,
        "deadline": job.request.deadline,
        "duration_s": job.request.duration_secs,
        "interruptible": job.request.interruptible,
        "plan": plan,
        "counted": counts(job.state) && job.plan.is_some(),
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "exit_code": job.exit_code,
        "reason": reason,
    })
}

/// The instants a job occupies on the timeline.
fn extent(job: &JobRecord) -> Vec<Timestamp> {
    let mut t = vec![job.request.earliest_start, job.request.deadline];
    if let Some(p) = &job.plan {
        t.extend([p.start, p.end]);
    }
    t.extend(job.started_at);
    t.extend(job.finished_at);
    t
}

/// The jobs timeline.
pub(super) async fn timeline(state: &Arc<AppState>) -> Result<Arc<Value>, Problem> {
    let now = state.intensity.now();
    let queue = state.jobs.control.queue.clone();
    let mut jobs = tokio::task::spawn_blocking(move || queue.list(&[]))
        .await
        .map_err(|e| internal("the job queue", e))?
        .map_err(|e| internal("the job queue", e))?;
    let hour = Resolution::HOUR.floor(now);
    let floor = hour - SignedDuration::from_hours(MAX_SPAN_H);
    // Jobs still to run, and those that ran within the last week.
    jobs.retain(|j| !j.state.is_terminal() || extent(j).iter().any(|t| *t >= floor));
    jobs.sort_by_key(|j| std::cmp::Reverse(j.submitted_at));
    jobs.truncate(MAX_JOBS);

    let mut start = hour - SignedDuration::from_hours(BEFORE_H);
    let mut end = hour + SignedDuration::from_hours(AFTER_H);
    for t in jobs.iter().flat_map(extent) {
        start = start.min(Resolution::HOUR.floor(t));
        end = end.max(Resolution::HOUR.floor(t) + SignedDuration::from_hours(1));
    }
    start = start.max(floor);
    end = end.min(start + SignedDuration::from_hours(MAX_SPAN_H));
    let window = TimeWindow::new(start, end).map_err(|e| internal("the timeline window", e))?;

    let mut zones: Vec<(String, usize)> = Vec::new();
    for j in &jobs {
        if let Some(p) = &j.plan {
            match zones.iter_mut().find(|(z, _)| *z == p.region) {
                Some((_, n)) => *n += 1,
                None => zones.push((p.region.clone(), 1)),
            }
        }
    }
    if zones.is_empty()
        && let Some(r) = state.jobs.default_regions.first()
    {
        zones.push((r.clone(), 0));
    }
    zones.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    zones.truncate(MAX_CURVES);
    let mut curves = Vec::new();
    for (zone, _) in &zones {
        curves.push(curve(state, zone, window, now).await);
    }

    let counted: Vec<&JobRecord> = jobs
        .iter()
        .filter(|j| counts(j.state))
        .filter(|j| j.plan.is_some())
        .collect();
    let with_run_now: Vec<_> = counted
        .iter()
        .filter_map(|j| j.plan.as_ref())
        .filter_map(|p| p.run_now_emissions_g.map(|n| (p.emissions_g, n)))
        .collect();
    let planned_g: f64 = with_run_now.iter().map(|(e, _)| e).sum();
    let run_now_g: f64 = with_run_now.iter().map(|(_, n)| n).sum();
    let mut by_state = serde_json::Map::new();
    for s in State::ALL {
        let n = jobs.iter().filter(|j| j.state == s).count();
        by_state.insert(s.as_str().into(), n.into());
    }
    Ok(Arc::new(json!({
        "generated_at": now,
        "signal": state.signal.to_string(),
        "window": {"start": window.start(), "end": window.end()},
        "jobs": jobs.iter().map(view).collect::<Vec<_>>(),
        "by_state": by_state,
        "totals": {
            "jobs_counted": counted.len(),
            "jobs_compared": with_run_now.len(),
            "planned_g": planned_g,
            "run_now_g": run_now_g,
            "saved_g": run_now_g - planned_g,
            "saved_percent": (run_now_g > 0.0).then(|| 100.0 * (run_now_g - planned_g) / run_now_g),
            "basis": "each plan's expected emissions against starting at once in its first region \
                      (planned, running and finished jobs whose plan could compare)",
        },
        "curves": curves,
    })))
}

/// A zone's hourly intensity over the window through the full fallback chain, kept a minute.
async fn curve(state: &Arc<AppState>, zone: &str, window: TimeWindow, now: Timestamp) -> Value {
    let key = format!(
        "curve:{zone}:{}:{}",
        window.start().as_second(),
        window.end().as_second()
    );
    if let Some(v) = state.dashboard.get(&key, now) {
        return (*v).clone();
    }
    let req = IntensityRequest {
        region: zone.to_owned(),
        window,
        signal: state.signal,
        resolution: Some(Resolution::HOUR),
        source: None,
    };
    let value = match state.intensity.intensity(&req).await {
        Ok(a) => json!({
            "zone": a.zone.key.to_string(),
            "name": a.zone.name,
            "segments": a.segments.iter().map(|s| json!({
                "provenance": s.meta().provenance.label(),
                "source": s.meta().source,
                "points": s.points().iter().map(|p| json!([p.start, p.value.0])).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
        Err(e) => json!({"zone": zone, "segments": [], "note": e.to_string()}),
    };
    let value = Arc::new(value);
    state.dashboard.put(key, value.clone(), now, TTL_SECS);
    (*value).clone()
}
