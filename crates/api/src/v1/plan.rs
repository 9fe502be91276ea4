//! `POST /v1/plan`: jobs → signals from the fallback chain → a policy's plan, answered with
//! exactly what `kite plan --format json` prints ([`kite_engine::PlanReport`]).
//!
//! The same path as the CLI: `kite_engine::to_jobs` checks every job field, `signals_for`
//! fetches each zone's signal, a `kite-scheduler` policy plans. A plan in which some or all
//! jobs could not be placed is still an answer (200), with each unplaced job's reason.

use super::internal;
use crate::{AppState, Problem};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kite_core::{GramsCo2PerKwh, Signal, Timestamp, ZoneKey};
use kite_engine::{JobFileError, JobSpec, PlanContext, PlanReport, PlannerSummary};
use kite_scheduler::{BoundConfig, Capacity, Policy};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    /// Jobs, with the fields of a `kite plan --job FILE.json` job.
    jobs: Vec<JobSpec>,
    /// asap, threshold, best-window, interruptible or spatio-temporal (default: as `kite plan`
    /// chooses: spatio-temporal with capacity, interruptible if any job is, else best-window).
    #[serde(default)]
    policy: Option<String>,
    /// gCO2e/kWh, for the threshold policy.
    #[serde(default)]
    threshold: Option<f64>,
    /// average-lifecycle, average-direct or marginal (default: kite serve's signal).
    #[serde(default)]
    signal: Option<String>,
    /// Units per zone (`{"DE": 8}`), or `{"*": 8}` for every zone: the spatio-temporal planner.
    #[serde(default)]
    capacity: Option<BTreeMap<String, u32>>,
}

fn body_problem(
    field: &str,
    value: impl Into<String>,
    detail: impl Into<String>,
    fix: &str,
) -> Problem {
    Problem {
        title: "invalid plan request".into(),
        ..Problem::field(field, value, detail, fix)
    }
}

pub(crate) async fn plan(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    match plan_inner(&state, &body).await {
        Ok(r) => Json(r).into_response(),
        Err(p) => p.into_response(),
    }
}

enum Choice {
    Simple(Box<dyn Policy>),
    SpatioTemporal(Capacity),
}

async fn plan_inner(state: &Arc<AppState>, body: &[u8]) -> Result<PlanReport, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let body: PlanBody = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Problem {
            field: (path != ".").then_some(path),
            fix: Some("send a JSON object with `jobs` (an array of jobs as in a `kite plan --job` JSON file: id, duration, deadline, regions, …) and optional policy, threshold, signal, capacity".into()),
            ..Problem::new(StatusCode::BAD_REQUEST, "malformed plan request", e.inner().to_string())
        }
    })?;
    if body.jobs.is_empty() {
        return Err(body_problem(
            "jobs",
            "[]",
            "there is nothing to plan",
            "give at least one job, e.g. {\"id\": \"train\", \"duration\": \"2h\", \"deadline\": \"now+12h\", \"regions\": [\"DE\"]}",
        ));
    }
    // Whole seconds, as `kite plan`: sub-second starts mean nothing to a grid.
    let now = state.intensity.now();
    let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
    let signal = match &body.signal {
        None => state.signal,
        Some(s) => Signal::parse(s).ok_or_else(|| {
            body_problem(
                "signal",
                s,
                format!("`{s}` is not a signal"),
                "use average-lifecycle, average-direct or marginal",
            )
        })?,
    };
    let ctx = PlanContext {
        service: &state.intensity,
        database: &state.database,
    };
    let jobs = kite_engine::to_jobs(&body.jobs, "request", now, &ctx).map_err(job_problem)?;
    let choice = choose(&body, &jobs)?;
    let signals = kite_engine::signals_for(&state.intensity, &jobs, signal, now)
        .await
        .map_err(|e| internal("fetching the signals", e))?;
    match choice {
        Choice::Simple(policy) => {
            let plan = policy.plan(&jobs, &signals.signals, now);
            Ok(PlanReport::new(policy.name(), &jobs, &plan, &signals, now))
        }
        Choice::SpatioTemporal(capacity) => {
            let mut cfg = kite_scheduler::PlannerConfig::carbon_only();
            // The bound gets half the request timeout, so the plan comes back in time with the
            // best bound found (and a note) rather than a 503 after the solver's work.
            let budget = kite_core::SignedDuration::try_from(state.config.request_timeout / 2)
                .ok()
                .filter(|d| d.is_positive());
            cfg.bound = Some(BoundConfig {
                time_budget: budget,
                ..BoundConfig::STANDARD
            });
            cfg.capacity = capacity;
            // Solver times and the bound's time budget, as `kite plan` reports them.
            cfg.clock = Some(Arc::new(kite_core::SystemClock));
            // The solver is CPU-bound: off the async workers.
            tokio::task::spawn_blocking(move || {
                let st = kite_scheduler::plan_spatio_temporal(&jobs, &signals.signals, now, &cfg)
                    .map_err(|e| {
                    Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "cannot plan",
                        e.to_string(),
                    )
                })?;
                let mut report = PlanReport::new("spatio-temporal", &jobs, &st.plan, &signals, now);
                report.planner = Some(PlannerSummary::new(&st));
                Ok(report)
            })
            .await
            .map_err(|e| internal("the planner", e))?
        }
    }
}

fn job_problem(e: JobFileError) -> Problem {
    match &e {
        JobFileError::Field { field, .. } => Problem {
            title: "invalid job".into(),
            field: Some(format!("jobs.{field}")),
            fix: Some("the detail names the job and how to fix the field".into()),
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid job",
                e.to_string(),
            )
        },
        JobFileError::DuplicateId { id, .. } => body_problem(
            "jobs.id",
            id.clone(),
            e.to_string(),
            "give every job its own id",
        ),
        _ => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid job",
            e.to_string(),
        ),
    }
}

/// The policy, as `kite plan` chooses it.
fn choose(body: &PlanBody, jobs: &[kite_scheduler::Job]) -> Result<Choice, Problem> {
    const POLICIES: &str = "asap, threshold, best-window, interruptible or spatio-temporal";
    let policy = match &body.policy {
        Some(p) => p.as_str(),
        None if body.capacity.is_some() => "spatio-temporal",
        None if jobs.iter().any(|j| j.interruptible.is_some()) => "interruptible",
        None => "best-window",
    };
    if body.threshold.is_some() && policy != "threshold" {
        return Err(body_problem(
            "threshold",
            body.threshold.unwrap_or_default().to_string(),
            "`threshold` only applies to the threshold policy",
            "add \"policy\": \"threshold\" or drop `threshold`",
        ));
    }
    if body.capacity.is_some() && policy != "spatio-temporal" {
        return Err(body_problem(
            "capacity",
            policy,
            "`capacity` needs the spatio-temporal policy (the only one with capacity)",
            "add \"policy\": \"spatio-temporal\" or drop `capacity`",
        ));
    }
    Ok(Choice::Simple(match policy {
        "asap" => Box::new(kite_scheduler::Asap),
        "best-window" => Box::new(kite_scheduler::BestWindow),
        "interruptible" => Box::new(kite_scheduler::LetsWaitAwhile),
        "threshold" => {
            let t = body.threshold.ok_or_else(|| {
                body_problem(
                    "threshold",
                    "",
                    "the threshold policy needs a threshold",
                    "add \"threshold\": 200 (gCO2e/kWh)",
                )
            })?;
            if !(t.is_finite() && t > 0.0) {
                return Err(body_problem(
                    "threshold",
                    t.to_string(),
                    "the threshold must be a positive number of gCO2e/kWh",
                    "e.g. \"threshold\": 200",
                ));
            }
            Box::new(kite_scheduler::Threshold {
                threshold: GramsCo2PerKwh(t),
            })
        }
        "spatio-temporal" => {
            let mut cap = Capacity::unlimited();
            for (zone, units) in body.capacity.iter().flatten() {
                cap = if zone == "*" {
                    Capacity::uniform(*units)
                } else {
                    let key = ZoneKey::new(zone).map_err(|e| {
                        body_problem(
                            "capacity",
                            zone.clone(),
                            e.to_string(),
                            "key capacity by zone, e.g. {\"DE\": 8}, or {\"*\": 8} for every zone",
                        )
                    })?;
                    cap.with_region(key, Some(*units))
                };
            }
            return Ok(Choice::SpatioTemporal(cap));
        }
        other => {
            return Err(body_problem(
                "policy",
                other,
                format!("`{other}` is not a policy"),
                &format!("use {POLICIES}"),
            ));
        }
    }))
}
