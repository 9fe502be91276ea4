//! The HTTP API (axum): `POST /v1/jobs`, `GET /v1/jobs`, `GET /v1/jobs/{id}`,
//! `POST /v1/jobs/{id}/cancel`, `GET /v1/jobs/{id}/log`, `GET /healthz`.
//!
//! Every `/v1` route needs `Authorization: Bearer <token>`. Errors are RFC 9457 problem details
//! (`application/problem+json`) naming the field, the value and the fix. Bodies over
//! [`BODY_LIMIT`] are refused.

// A problem is built only on the error path of a request; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use crate::job::{JobRecord, JobRequest, State};
use crate::secret::Token;
use crate::service::{Control, Msg};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kite_core::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the handlers share.
pub struct ApiState {
    /// Queue, executors, loop.
    pub control: Arc<Control>,
    /// The bearer token.
    pub token: Token,
    /// Regions for jobs that name none (empty: `regions` is required).
    pub default_regions: Vec<String>,
    /// Most GPUs one job may ask for (the largest capacity of any region), if limited.
    pub max_gpus: Option<u32>,
}

/// A submission, as `kite submit` sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Run time, e.g. `2h`, `90m`, `5s`.
    pub duration: String,
    /// Finished by: RFC 3339 or `now+12h`.
    pub deadline: String,
    /// Not before: RFC 3339 or `now+10m`; default now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_start: Option<String>,
    /// May be suspended and resumed between pieces.
    #[serde(default)]
    pub interruptible: bool,
    /// Allowed regions, in order of preference.
    #[serde(default)]
    pub regions: Vec<String>,
    /// GPUs (capacity units); default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<u32>,
    /// Owning team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Mean power, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
}

/// `GET /v1/jobs/{id}`: the job, its events and, once finished under `kite run`, its run record.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobView {
    /// The job.
    pub job: JobRecord,
    /// Every transition, oldest first.
    pub events: Vec<crate::job::Event>,
    /// The `kite run --json` record.
    #[serde(default)]
    pub run: Option<serde_json::Value>,
}

/// An RFC 9457 problem.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Problem {
    /// HTTP status.
    pub status: u16,
    /// Short summary.
    pub title: String,
    /// What is wrong.
    pub detail: String,
    /// The offending field, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The offending value, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// For an infeasible deadline: the earliest deadline that can be met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_feasible_deadline: Option<Timestamp>,
}

impl Problem {
    /// A problem with a status, a short title and a detail that says what to do.
    pub fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            status: status.as_u16(),
            title: title.into(),
            detail: detail.into(),
            field: None,
            value: None,
            fix: None,
            earliest_feasible_deadline: None,
        }
    }

    /// A 422 naming the offending field, its value and the fix.
    pub fn field(
        field: &str,
        value: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            field: Some(field.into()),
            value: Some(value.into()),
            fix: Some(fix.into()),
            ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid job", detail)
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

fn internal(e: impl std::fmt::Display) -> Problem {
    // Details go to the log, not to the client.
    tracing::error!("{e}");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
        "the job queue failed; see the kite serve log (earlier jobs are intact)",
    )
}

fn queue_problem(e: crate::queue::QueueError) -> Problem {
    use crate::queue::QueueError as Q;
    match e {
        Q::NotFound(id) => Problem::new(
            StatusCode::NOT_FOUND,
            "no such job",
            format!("no job `{id}`; `kite jobs` lists them"),
        ),
        Q::Invalid { id, from, to } => Problem::new(
            StatusCode::CONFLICT,
            "not possible in this state",
            format!("job `{id}` is {from}; it cannot become {to}"),
        ),
        // Disk full: nothing was written; say so rather than "internal error".
        Q::Db { ref message, .. } if message.contains("full") => {
            tracing::error!("{e}");
            Problem::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "job queue full",
                "the disk holding the job queue is full: the job was not accepted (earlier jobs are intact); free space there and submit again",
            )
        }
        other => internal(other),
    }
}

/// The router over `state`.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/jobs", post(submit).get(list))
        .route("/v1/jobs/{id}", get(show))
        .route("/v1/jobs/{id}/cancel", post(cancel))
        .route("/v1/jobs/{id}/log", get(log))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

fn authorize(state: &ApiState, headers: &HeaderMap) -> Result<(), Problem> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if state.token.matches(t.trim()) => Ok(()),
        _ => Err(Problem {
            fix: Some("send `Authorization: Bearer <token>`; the token is in the `.token` file beside the queue (kite submit reads it, or pass --token / KITE_TOKEN)".into()),
            ..Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", if given.is_some() { "the bearer token is wrong" } else { "no bearer token" })
        }),
    }
}

async fn healthz(AxState(state): AxState<Arc<ApiState>>) -> Response {
    match state.control.queue.counts() {
        Ok(c) => axum::Json(serde_json::json!({
            "status": "ok",
            "jobs": c.into_iter().map(|(s, n)| (s.as_str().to_owned(), n)).collect::<std::collections::BTreeMap<_, _>>(),
        }))
        .into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// Validates a submission at `now` into a request, each error naming the field.
pub fn validate(
    body: SubmitBody,
    now: Timestamp,
    default_regions: &[String],
    max_gpus: Option<u32>,
) -> Result<JobRequest, Problem> {
    if body.command.is_empty() || body.command[0].trim().is_empty() {
        return Err(Problem::field(
            "command",
            format!("{:?}", body.command),
            "the command is empty",
            "give the program and its arguments after `--`",
        ));
    }
    let duration = kite_engine::parse_duration(&body.duration)
        .map_err(|m| Problem::field("duration", &body.duration, m, "write e.g. 2h, 90m or 30s"))?;
    if !duration.is_positive() {
        return Err(Problem::field(
            "duration",
            &body.duration,
            "the duration must be positive",
            "write e.g. 2h, 90m or 30s",
        ));
    }
    let time = |field: &str, text: &str| {
        kite_core::parse_time(text, now).map_err(|e| {
            Problem::field(
                field,
                text,
                e.to_string(),
                "write RFC 3339 (2026-05-01T12:00:00Z) or now+12h",
            )
        })
    };
    let deadline = time("deadline", &body.deadline)?;
    let earliest = match &body.earliest_start {
        Some(t) => time("earliest_start", t)?.max(now),
        None => now,
    };
    let earliest_done = earliest + duration;
    if earliest_done > deadline {
        // Whole minutes up: a deadline someone can type back.
        let secs = earliest_done.as_second();
        let up = Timestamp::from_second((secs + 59) / 60 * 60).unwrap_or(earliest_done);
        return Err(Problem {
            earliest_feasible_deadline: Some(up),
            ..Problem::field(
                "deadline",
                &body.deadline,
                format!(
                    "the deadline {deadline} cannot be met: a {} job starting at {earliest} at the earliest ends at {earliest_done}",
                    body.duration
                ),
                format!(
                    "give a deadline at or after {up}, or a later one to leave room for a cleaner window"
                ),
            )
        });
    }
    let regions = if body.regions.is_empty() {
        default_regions.to_vec()
    } else {
        body.regions.clone()
    };
    if regions.is_empty() {
        return Err(Problem::field(
            "regions",
            "[]",
            "no region given and kite serve has no default region",
            "pass --region DE (zones, aliases or cloud regions like aws:eu-central-1)",
        ));
    }
    for r in &regions {
        if let Err(e) = kite_regions::Registry::embedded().resolve(r) {
            return Err(Problem::field(
                "regions",
                r,
                e.to_string(),
                "`kite regions` lists the known zones and cloud regions",
            ));
        }
    }
    let gpus = body.gpus.unwrap_or(1);
    if gpus == 0 {
        return Err(Problem::field(
            "gpus",
            "0",
            "a job needs at least one unit",
            "pass --gpus 1 or more",
        ));
    }
    if let Some(max) = max_gpus
        && gpus > max
    {
        return Err(Problem::field(
            "gpus",
            gpus.to_string(),
            format!("no region has more than {max} GPUs"),
            format!("ask for at most {max}, or raise kite serve --capacity"),
        ));
    }
    if let Some(p) = body.power_w
        && !(p.is_finite() && p > 0.0)
    {
        return Err(Problem::field(
            "power_w",
            p.to_string(),
            "power must be a positive number of watts",
            "e.g. 300",
        ));
    }
    Ok(JobRequest {
        command: body.command,
        duration_secs: duration.as_secs(),
        deadline,
        earliest_start: earliest,
        interruptible: body.interruptible,
        regions,
        gpus,
        team: body.team,
        project: body.project,
        power_w: body.power_w,
    })
}

async fn submit(
    AxState(state): AxState<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(p) = authorize(&state, &headers) {
        return p.into_response();
    }
    let de = &mut serde_json::Deserializer::from_slice(&body);
    let parsed: SubmitBody = match serde_path_to_error::deserialize(de) {
        Ok(b) => b,
        Err(e) => {
            let path = e.path().to_string();
            return Problem {
                status: 400,
                title: "malformed job".into(),
                detail: e.inner().to_string(),
                field: (path != ".").then_some(path),
                value: None,
                fix: Some("send a JSON object with command (array), duration, deadline and optional earliest_start, interruptible, regions, gpus, team, project, power_w".into()),
                earliest_feasible_deadline: None,
            }
            .into_response();
        }
    };
    let request = match validate(
        parsed,
        state.control.now(),
        &state.default_regions,
        state.max_gpus,
    ) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    let job = match state.control.accept(request) {
        Ok(j) => j,
        Err(e) => return queue_problem(e).into_response(),
    };
    // The job is durable; wait briefly for its plan so the answer can show it.
    let (tx, rx) = tokio::sync::oneshot::channel();
    if state.control.tx.send(Msg::Submitted(tx)).await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(10), rx).await;
    }
    let job = state
        .control
        .queue
        .get(&job.id)
        .ok()
        .flatten()
        .unwrap_or(job);
    (StatusCode::CREATED, axum::Json(job)).into_response()
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
}

async fn list(
    AxState(state): AxState<Arc<ApiState>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Err(p) = authorize(&state, &headers) {
        return p.into_response();
    }
    let mut states = Vec::new();
    for s in q
        .state
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
    {
        match State::parse(s) {
            Some(st) => states.push(st),
            None => return Problem::field("state", s, "unknown state", "one of pending, planned, running, succeeded, failed, cancelled, missed-deadline, lost").into_response(),
        }
    }
    match state.control.queue.list(&states) {
        Ok(jobs) => axum::Json(serde_json::json!({ "jobs": jobs })).into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// The job with this id, or the 404 / 500 answer.
fn find_job(state: &ApiState, id: &str) -> Result<JobRecord, Box<Response>> {
    match state.control.queue.get(id) {
        Ok(Some(j)) => Ok(j),
        Ok(None) => Err(Box::new(
            queue_problem(crate::queue::QueueError::NotFound(id.to_owned())).into_response(),
        )),
        Err(e) => Err(Box::new(internal(e).into_response())),
    }
}

async fn show(
    AxState(state): AxState<Arc<ApiState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(p) = authorize(&state, &headers) {
        return p.into_response();
    }
    let job = match find_job(&state, &id) {
        Ok(j) => j,
        Err(r) => return *r,
    };
    let events = match state.control.queue.events(&id) {
        Ok(e) => e,
        Err(e) => return internal(e).into_response(),
    };
    let run = match (&job.handle, state.control.executors.get(&job.executor)) {
        (Some(h), Some(ex)) if job.state.is_terminal() => ex.run_record(h),
        _ => None,
    };
    axum::Json(JobView { job, events, run }).into_response()
}

async fn cancel(
    AxState(state): AxState<Arc<ApiState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(p) = authorize(&state, &headers) {
        return p.into_response();
    }
    match state.control.cancel(&id) {
        Ok(job) => axum::Json(job).into_response(),
        Err(e) => queue_problem(e).into_response(),
    }
}

async fn log(
    AxState(state): AxState<Arc<ApiState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(p) = authorize(&state, &headers) {
        return p.into_response();
    }
    let job = match find_job(&state, &id) {
        Ok(j) => j,
        Err(r) => return *r,
    };
    let (Some(h), Some(ex)) = (&job.handle, state.control.executors.get(&job.executor)) else {
        return Problem::new(
            StatusCode::NOT_FOUND,
            "no log yet",
            format!("job `{id}` is {} and has no log yet", job.state),
        )
        .into_response();
    };
    match ex.log(h) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response(),
        Err(e) => Problem::new(StatusCode::NOT_FOUND, "no log", e.to_string()).into_response(),
    }
}
