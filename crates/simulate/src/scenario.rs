//! The scenario file: TOML read into raw serde structs (`deny_unknown_fields`), then validated
//! into a [`Scenario`] whose every value is checked, with errors that name the field, the value
//! and the fix. `docs/scenarios.md` is the user-facing reference of the format.
//!
//! Two stages, as for kite's configuration: the raw structs mirror the file; the validated types
//! are what the simulator reads, so the simulator never re-checks input.

use crate::error::{SimError, invalid};
use crate::text::{DAY, duration_secs, fmt_duration, instant, time_of_day_secs};
use kite_core::{SignedDuration, ZoneKey};
use kite_scheduler::Interruptible;
use serde::Deserialize;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Raw file structures.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    policies: Vec<String>,
    homes: Option<Vec<String>>,
    trace: RawTrace,
    jobs: RawJobs,
    forecast: Option<RawForecast>,
    #[serde(default)]
    policy_options: RawPolicyOptions,
    #[serde(default)]
    variants: Vec<RawVariant>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    compat: RawCompat,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrace {
    zones: Vec<RawZone>,
    from: String,
    to: String,
    step: String,
    resample: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    zone: String,
    file: Option<String>,
    store: Option<bool>,
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJobs {
    pattern: String,
    power_watts: Option<f64>,
    duration: Option<String>,
    durations_between: Option<Vec<String>>,
    window: Option<String>,
    slack: Option<String>,
    deadline: Option<String>,
    interruptible: Option<RawInterruptible>,
    at: Option<String>,
    first_day: Option<String>,
    days: Option<u32>,
    rate_per_hour: Option<f64>,
    from: Option<String>,
    to: Option<String>,
    seed: Option<u64>,
    count: Option<u32>,
    workdays_only: Option<bool>,
    arrivals_between: Option<Vec<String>>,
    list: Option<Vec<RawListJob>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListJob {
    id: Option<String>,
    arrival: String,
    duration: String,
    deadline: Option<String>,
    power_watts: Option<f64>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawInterruptible {
    min_chunk: Option<String>,
    resume_overhead: Option<String>,
    max_pieces: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForecast {
    model: String,
    error: Option<f64>,
    seeds: Option<u32>,
    seed: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicyOptions {
    threshold_gco2_per_kwh: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    name: String,
    window: Option<String>,
    slack: Option<String>,
    deadline: Option<String>,
    interruptible: Option<RawInterruptible>,
    regions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    home: String,
    variant: String,
    policy: String,
    saved_percent: f64,
    tolerance_pp: Option<f64>,
    source: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCompat {
    #[serde(default)]
    skipped_jobs_count_as_zero: bool,
    #[serde(default)]
    horizon_one_step_past_deadline: bool,
}

// ---------------------------------------------------------------------------------------------
// Validated scenario.

/// A validated scenario: traces, jobs, forecast model, policies, variants and published
/// reference numbers. Build it with [`Scenario::load`] or [`Scenario::parse`].
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) trace: TraceSpec,
    pub(crate) jobs: JobsSpec,
    pub(crate) forecast: ForecastSpec,
    pub(crate) policies: Vec<PolicyKind>,
    pub(crate) homes: Vec<ZoneKey>,
    pub(crate) variants: Vec<Variant>,
    pub(crate) references: Vec<Reference>,
    pub(crate) compat: Compat,
}

#[derive(Debug, Clone)]
pub(crate) struct TraceSpec {
    pub zones: Vec<ZoneSpec>,
    pub from: i64,
    pub to: i64,
    pub step: i64,
    pub resample: Resample,
}

#[derive(Debug, Clone)]
pub(crate) struct ZoneSpec {
    pub zone: ZoneKey,
    pub source: ZoneSource,
}

/// Where a zone's trace comes from.
#[derive(Debug, Clone)]
pub(crate) enum ZoneSource {
    /// A kite CSV (or Electricity Maps export), relative to the data directory.
    File(String),
    /// The caller's store, optionally only sources starting with this label.
    Store(Option<String>),
}

/// How the trace is brought onto the simulation grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resample {
    /// The value in force at the start of each step (Let's Wait Awhile keeps the rows at
    /// minute 0 and 30 of its 15-minute data).
    Sample,
    /// The time-weighted mean over each step; a step not fully covered is missing.
    Mean,
}

impl Resample {
    /// `sample` or `mean`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resample::Sample => "sample",
            Resample::Mean => "mean",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct JobsSpec {
    pub pattern: Pattern,
    pub power_w: f64,
}

#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    List(Vec<ListJob>),
    Nightly {
        at: i64,
        duration: i64,
        first_day: i64,
        days: u32,
    },
    Poisson {
        rate_per_hour: f64,
        from: i64,
        to: i64,
        durations: Durations,
        seed: u64,
    },
    MlTraining {
        count: u32,
        seed: u64,
        first_day: i64,
        days: u32,
        workdays_only: bool,
        arrivals: (i64, i64),
        durations: (i64, i64),
    },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Durations {
    Fixed(i64),
    /// Uniform on the step grid in `[lo, hi)`.
    Between(i64, i64),
}

#[derive(Debug, Clone)]
pub(crate) struct ListJob {
    pub id: String,
    pub arrival: i64,
    pub duration: i64,
    pub deadline: Option<i64>,
    pub power_w: Option<f64>,
}

/// How much a job may move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constraint {
    /// May start up to this long before or after its nominal start (Let's Wait Awhile's ±w).
    Window(i64),
    /// May finish up to this long after it would finish if started at once.
    Slack(i64),
    /// Deadline from a calendar rule.
    Rule(DeadlineRule),
}

/// Let's Wait Awhile's deadline rules (`strategy.py`, `_forecast_duration`), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeadlineRule {
    NextWorkday,
    SemiWeekly,
}

#[derive(Debug, Clone)]
pub(crate) struct Variant {
    pub name: String,
    pub constraint: Option<Constraint>,
    pub interruptible: Option<Interruptible>,
    pub regions: Vec<ZoneKey>,
}

#[derive(Debug, Clone)]
pub(crate) struct ForecastSpec {
    pub model: ForecastModel,
    pub seeds: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ForecastModel {
    Perfect,
    /// Gaussian noise with σ = error × mean of the zone's trace, one draw per step and seed.
    Gaussian {
        error: f64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub home: ZoneKey,
    pub variant: String,
    pub policy: String,
    pub saved_percent: f64,
    pub tolerance_pp: f64,
    pub source: String,
}

/// Opt-in reproductions of the Let's Wait Awhile simulator's quirks (`docs/scenarios.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compat {
    /// A job whose shifting window starts before the trace is skipped by the shifting policies
    /// but still counted by the baseline (LWA's nightly experiment divides by 365 after skipping
    /// the job of 2020-01-01). Off: such a job is left out of every policy (like-for-like).
    pub skipped_jobs_count_as_zero: bool,
    /// Plans see one step past the deadline, so a job may end one step late, and the baseline
    /// takes the better of starting at arrival or one step later (LWA's forecast window
    /// includes its end point).
    pub horizon_one_step_past_deadline: bool,
}

/// A policy the simulator knows by name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PolicyKind {
    Asap,
    BestWindow,
    LetsWaitAwhile,
    Threshold(f64),
    SpatioTemporal,
}

/// The policy names a scenario may list, in the order they are documented.
pub const POLICY_NAMES: [&str; 5] = [
    "asap",
    "best-window",
    "lets-wait-awhile",
    "threshold",
    "spatio-temporal",
];

impl PolicyKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            PolicyKind::Asap => "asap",
            PolicyKind::BestWindow => "best-window",
            PolicyKind::LetsWaitAwhile => "lets-wait-awhile",
            PolicyKind::Threshold(_) => "threshold",
            PolicyKind::SpatioTemporal => "spatio-temporal",
        }
    }
}

impl Scenario {
    /// Reads and validates the scenario at `path`; `overrides` are `KEY=VALUE` pairs (dotted
    /// TOML keys) applied before validation, as `kite simulate --set` passes them.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into());
        Scenario::parse(&text, &stem, overrides)
    }

    /// Validates scenario text; `default_name` is used when the file has no `name`.
    pub fn parse(
        text: &str,
        default_name: &str,
        overrides: &[String],
    ) -> Result<Scenario, SimError> {
        let raw: RawScenario = if overrides.is_empty() {
            toml::from_str(text).map_err(|e| SimError::Parse(e.to_string()))?
        } else {
            let mut table: toml::Table =
                toml::from_str(text).map_err(|e| SimError::Parse(e.to_string()))?;
            for o in overrides {
                apply_override(&mut table, o)?;
            }
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| SimError::Parse(format!("after --set: {e}")))?
        };
        validate(raw, default_name)
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The forecast seeds the scenario asks for.
    pub fn seeds(&self) -> u32 {
        self.forecast.seeds
    }

    /// The quirk switches in effect.
    pub fn compat(&self) -> Compat {
        self.compat
    }
}

/// Sets a dotted `KEY=VALUE` in the raw table; the value is read as TOML, or as a string if it
/// is not valid TOML (so `--set trace.step=1h` works without quotes).
fn apply_override(table: &mut toml::Table, text: &str) -> Result<(), SimError> {
    let err = |message: &str| SimError::Override {
        text: text.to_string(),
        message: message.to_string(),
    };
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| err("expected KEY=VALUE, e.g. forecast.error=0.1"))?;
    let key = key.trim();
    if key.is_empty() || key.contains('[') {
        return Err(err(
            "KEY must be a dotted path of table keys such as compat.skipped_jobs_count_as_zero; entries of arrays ([[variants]]) cannot be set",
        ));
    }
    let value: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {}", value.trim())) {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(value.into())),
        Err(_) => toml::Value::String(value.trim().into()),
    };
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    let mut cursor = table;
    for part in &parts[..parts.len() - 1] {
        let entry = cursor
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cursor = entry
            .as_table_mut()
            .ok_or_else(|| err(&format!("`{part}` is not a table in the scenario")))?;
    }
    if let Some(last) = parts.last() {
        cursor.insert(last.to_string(), value);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Validation.

fn parse_duration(field: &str, text: &str) -> Result<i64, SimError> {
    duration_secs(text).ok_or_else(|| {
        invalid(
            field,
            format!("`{text}` is not a duration; write e.g. 30m, 4h, 1h30m or 2d"),
        )
    })
}

fn positive_step_multiple(field: &str, text: &str, step: i64) -> Result<i64, SimError> {
    let secs = parse_duration(field, text)?;
    if secs <= 0 {
        return Err(invalid(
            field,
            format!("`{text}` is zero or negative; give a positive duration such as 30m"),
        ));
    }
    step_multiple(field, text, secs, step)
}

fn step_multiple(field: &str, text: &str, secs: i64, step: i64) -> Result<i64, SimError> {
    if secs % step != 0 {
        return Err(invalid(
            field,
            format!(
                "`{text}` is not a whole number of trace steps ({}); use a multiple of {} or a finer trace.step",
                fmt_duration(step),
                fmt_duration(step)
            ),
        ));
    }
    Ok(secs)
}

fn non_negative_duration(field: &str, text: &str) -> Result<i64, SimError> {
    let secs = parse_duration(field, text)?;
    if secs < 0 {
        return Err(invalid(
            field,
            format!("`{text}` is negative; give zero or a positive duration"),
        ));
    }
    Ok(secs)
}

fn parse_instant(field: &str, text: &str) -> Result<i64, SimError> {
    instant(text).map(|t| t.as_second()).ok_or_else(|| {
        invalid(
            field,
            format!(
                "`{text}` is not a time; use RFC 3339 with an offset (2020-01-01T00:00:00Z) or a date (2020-01-01); relative times like now+1h are not allowed in a scenario"
            ),
        )
    })
}

fn parse_day(field: &str, text: &str) -> Result<i64, SimError> {
    let secs = parse_instant(field, text)?;
    if secs % DAY != 0 {
        return Err(invalid(
            field,
            format!("`{text}` is not a day; give a date such as 2020-01-01"),
        ));
    }
    Ok(secs)
}

fn parse_time_of_day(field: &str, text: &str) -> Result<i64, SimError> {
    time_of_day_secs(text).ok_or_else(|| {
        invalid(
            field,
            format!("`{text}` is not a time of day; write HH:MM (UTC), e.g. 09:00"),
        )
    })
}

fn parse_zone(field: &str, text: &str) -> Result<ZoneKey, SimError> {
    ZoneKey::new(text).map_err(|e| invalid(field, format!("`{text}`: {e}")))
}

fn positive_finite(field: &str, value: f64, example: &str) -> Result<f64, SimError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(invalid(
            field,
            format!("{value} is not a positive number; give e.g. {example}"),
        ));
    }
    Ok(value)
}

fn pair(field: &str, v: &[String]) -> Result<(String, String), SimError> {
    match v {
        [a, b] => Ok((a.clone(), b.clone())),
        _ => Err(invalid(
            field,
            format!(
                "has {} entries; give exactly two, [low, high), e.g. [\"4h\", \"90h\"]",
                v.len()
            ),
        )),
    }
}

/// Reads the one flexibility field a table may set (`window`, `slack` or `deadline`).
fn constraint(
    prefix: &str,
    window: &Option<String>,
    slack: &Option<String>,
    deadline: &Option<String>,
    step: i64,
) -> Result<Option<Constraint>, SimError> {
    let set: Vec<&str> = [
        ("window", window.is_some()),
        ("slack", slack.is_some()),
        ("deadline", deadline.is_some()),
    ]
    .iter()
    .filter(|(_, s)| *s)
    .map(|(n, _)| *n)
    .collect();
    if set.len() > 1 {
        let fields: Vec<String> = set.iter().map(|f| format!("{prefix}.{f}")).collect();
        return Err(invalid(
            fields.join(" and "),
            format!(
                "are {} set but contradict each other: a job's flexibility is one of window (±, around its nominal start), slack (after its earliest finish) or deadline (a calendar rule); keep one",
                if set.len() == 2 { "both" } else { "all" }
            ),
        ));
    }
    if let Some(w) = window {
        let field = format!("{prefix}.window");
        let secs = non_negative_duration(&field, w)?;
        return Ok(Some(Constraint::Window(step_multiple(
            &field, w, secs, step,
        )?)));
    }
    if let Some(s) = slack {
        return Ok(Some(Constraint::Slack(non_negative_duration(
            &format!("{prefix}.slack"),
            s,
        )?)));
    }
    if let Some(d) = deadline {
        let rule = match d.as_str() {
            "next-workday" => DeadlineRule::NextWorkday,
            "semi-weekly" => DeadlineRule::SemiWeekly,
            other => {
                return Err(invalid(
                    format!("{prefix}.deadline"),
                    format!(
                        "`{other}` is not a deadline rule; use next-workday or semi-weekly (or set slack or window instead)"
                    ),
                ));
            }
        };
        return Ok(Some(Constraint::Rule(rule)));
    }
    Ok(None)
}

fn interruptible(prefix: &str, raw: &RawInterruptible) -> Result<Interruptible, SimError> {
    let min_chunk = match &raw.min_chunk {
        Some(t) => non_negative_duration(&format!("{prefix}.min_chunk"), t)?,
        None => 0,
    };
    let resume_overhead = match &raw.resume_overhead {
        Some(t) => non_negative_duration(&format!("{prefix}.resume_overhead"), t)?,
        None => 0,
    };
    if raw.max_pieces == Some(0) {
        return Err(invalid(
            format!("{prefix}.max_pieces"),
            "is 0; give at least 1, or leave it out for no limit",
        ));
    }
    Ok(Interruptible {
        min_chunk: SignedDuration::from_secs(min_chunk),
        max_pieces: raw.max_pieces,
        resume_overhead: SignedDuration::from_secs(resume_overhead),
    })
}

/// Fields of `[jobs]` that belong to one pattern only: (name, set?, patterns it applies to).
fn pattern_fields(j: &RawJobs) -> [(&'static str, bool, &'static [&'static str]); 12] {
    [
        ("duration", j.duration.is_some(), &["nightly", "poisson"]),
        (
            "durations_between",
            j.durations_between.is_some(),
            &["poisson", "ml-training"],
        ),
        ("at", j.at.is_some(), &["nightly"]),
        (
            "first_day",
            j.first_day.is_some(),
            &["nightly", "ml-training"],
        ),
        ("days", j.days.is_some(), &["nightly", "ml-training"]),
        ("rate_per_hour", j.rate_per_hour.is_some(), &["poisson"]),
        ("from", j.from.is_some(), &["poisson"]),
        ("to", j.to.is_some(), &["poisson"]),
        ("seed", j.seed.is_some(), &["poisson", "ml-training"]),
        ("count", j.count.is_some(), &["ml-training"]),
        ("workdays_only", j.workdays_only.is_some(), &["ml-training"]),
        (
            "arrivals_between",
            j.arrivals_between.is_some(),
            &["ml-training"],
        ),
    ]
}

fn required<'a, T>(field: &str, pattern: &str, v: &'a Option<T>) -> Result<&'a T, SimError> {
    v.as_ref().ok_or_else(|| {
        invalid(
            format!("jobs.{field}"),
            format!("is missing; pattern `{pattern}` needs it (see docs/scenarios.md)"),
        )
    })
}

fn validate_jobs(j: &RawJobs, step: i64) -> Result<JobsSpec, SimError> {
    const PATTERNS: [&str; 4] = ["list", "nightly", "poisson", "ml-training"];
    let p = j.pattern.as_str();
    if !PATTERNS.contains(&p) {
        return Err(invalid(
            "jobs.pattern",
            format!("`{p}` is not a pattern; use one of {}", PATTERNS.join(", ")),
        ));
    }
    for (name, set, applies) in pattern_fields(j) {
        if set && !applies.contains(&p) {
            return Err(invalid(
                format!("jobs.{name}"),
                format!(
                    "does not apply to pattern `{p}` (only to {}); remove it",
                    applies.join(", ")
                ),
            ));
        }
    }
    if j.list.is_some() && p != "list" {
        return Err(invalid(
            "jobs.list",
            format!("does not apply to pattern `{p}`; remove it or set pattern = \"list\""),
        ));
    }
    let power_w = match j.power_watts {
        Some(w) => positive_finite("jobs.power_watts", w, "1000")?,
        None => 1000.0,
    };
    let durations_between = |field: &str| -> Result<(i64, i64), SimError> {
        let f = format!("jobs.{field}");
        let v = required(field, p, &j.durations_between)?;
        let (lo, hi) = pair(&f, v)?;
        let lo_s = positive_step_multiple(&format!("{f}[0]"), &lo, step)?;
        let hi_s = positive_step_multiple(&format!("{f}[1]"), &hi, step)?;
        if hi_s <= lo_s {
            return Err(invalid(
                f,
                format!("[{lo}, {hi}) is empty; the second bound must be larger"),
            ));
        }
        Ok((lo_s, hi_s))
    };
    let pattern = match p {
        "list" => {
            let list = required("list", p, &j.list)?;
            if list.is_empty() {
                return Err(invalid("jobs.list", "is empty; give at least one job"));
            }
            let mut jobs = Vec::with_capacity(list.len());
            for (i, lj) in list.iter().enumerate() {
                let f = |n: &str| format!("jobs.list[{i}].{n}");
                let power_w = match lj.power_watts {
                    Some(w) => Some(positive_finite(&f("power_watts"), w, "1000")?),
                    None => None,
                };
                jobs.push(ListJob {
                    id: lj.id.clone().unwrap_or_else(|| format!("job-{i}")),
                    arrival: parse_instant(&f("arrival"), &lj.arrival)?,
                    duration: positive_step_multiple(&f("duration"), &lj.duration, step)?,
                    deadline: match &lj.deadline {
                        Some(d) => Some(parse_instant(&f("deadline"), d)?),
                        None => None,
                    },
                    power_w,
                });
            }
            let mut ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
            ids.sort_unstable();
            if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
                return Err(invalid(
                    "jobs.list",
                    format!("id `{}` appears twice; give each job its own id", w[0]),
                ));
            }
            Pattern::List(jobs)
        }
        "nightly" => Pattern::Nightly {
            at: parse_time_of_day("jobs.at", required("at", p, &j.at)?)?,
            duration: positive_step_multiple(
                "jobs.duration",
                required("duration", p, &j.duration)?,
                step,
            )?,
            first_day: parse_day("jobs.first_day", required("first_day", p, &j.first_day)?)?,
            days: positive_count("jobs.days", *required("days", p, &j.days)?)?,
        },
        "poisson" => {
            let from = parse_instant("jobs.from", required("from", p, &j.from)?)?;
            let to = parse_instant("jobs.to", required("to", p, &j.to)?)?;
            if to <= from {
                return Err(invalid(
                    "jobs.to",
                    "is not after jobs.from; give a later end for the arrival window",
                ));
            }
            let durations = match (&j.duration, &j.durations_between) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "jobs.duration and jobs.durations_between",
                        "are both set and contradict each other; keep one",
                    ));
                }
                (Some(d), None) => {
                    Durations::Fixed(positive_step_multiple("jobs.duration", d, step)?)
                }
                (None, Some(_)) => {
                    let (lo, hi) = durations_between("durations_between")?;
                    Durations::Between(lo, hi)
                }
                (None, None) => {
                    return Err(invalid(
                        "jobs.duration",
                        "is missing; pattern `poisson` needs duration or durations_between",
                    ));
                }
            };
            Pattern::Poisson {
                rate_per_hour: positive_finite(
                    "jobs.rate_per_hour",
                    *required("rate_per_hour", p, &j.rate_per_hour)?,
                    "2.0",
                )?,
                from,
                to,
                durations,
                seed: j.seed.unwrap_or(0),
            }
        }
        _ => {
            let (alo, ahi) = pair(
                "jobs.arrivals_between",
                required("arrivals_between", p, &j.arrivals_between)?,
            )?;
            let lo = parse_time_of_day("jobs.arrivals_between[0]", &alo)?;
            let hi = parse_time_of_day("jobs.arrivals_between[1]", &ahi)?;
            if hi <= lo {
                return Err(invalid(
                    "jobs.arrivals_between",
                    format!("[{alo}, {ahi}) is empty; the second time must be later"),
                ));
            }
            for (i, (t, secs)) in [(&alo, lo), (&ahi, hi)].into_iter().enumerate() {
                step_multiple(&format!("jobs.arrivals_between[{i}]"), t, secs, step)?;
            }
            Pattern::MlTraining {
                count: positive_count("jobs.count", *required("count", p, &j.count)?)?,
                seed: j.seed.unwrap_or(0),
                first_day: parse_day("jobs.first_day", required("first_day", p, &j.first_day)?)?,
                days: positive_count("jobs.days", *required("days", p, &j.days)?)?,
                workdays_only: j.workdays_only.unwrap_or(true),
                arrivals: (lo, hi),
                durations: durations_between("durations_between")?,
            }
        }
    };
    Ok(JobsSpec { pattern, power_w })
}

fn positive_count(field: &str, n: u32) -> Result<u32, SimError> {
    if n == 0 {
        return Err(invalid(field, "is 0; give at least 1"));
    }
    Ok(n)
}

fn validate(raw: RawScenario, default_name: &str) -> Result<Scenario, SimError> {
    // Trace.
    let t = &raw.trace;
    let step = parse_duration("trace.step", &t.step)?;
    if step < 60 || step % 60 != 0 || DAY % step != 0 {
        return Err(invalid(
            "trace.step",
            format!(
                "`{}` is not a usable step; give whole minutes that divide a day, e.g. 15m, 30m, 1h",
                t.step
            ),
        ));
    }
    let from = parse_instant("trace.from", &t.from)?;
    let to = parse_instant("trace.to", &t.to)?;
    if to <= from {
        return Err(invalid(
            "trace.to",
            format!(
                "`{}` is not after trace.from `{}`; give a later end",
                t.to, t.from
            ),
        ));
    }
    if (to - from) % step != 0 {
        return Err(invalid(
            "trace.to",
            format!(
                "[{}, {}) is not a whole number of steps of {}; move trace.to",
                t.from, t.to, t.step
            ),
        ));
    }
    let resample = match t.resample.as_deref() {
        None | Some("mean") => Resample::Mean,
        Some("sample") => Resample::Sample,
        Some(other) => {
            return Err(invalid(
                "trace.resample",
                format!(
                    "`{other}` is not a resampling; use mean (time-weighted) or sample (value at each step start)"
                ),
            ));
        }
    };
    if t.zones.is_empty() {
        return Err(invalid(
            "trace.zones",
            "is empty; list at least one zone, e.g. { zone = \"DE\", file = \"DE.csv\" }",
        ));
    }
    let mut zones: Vec<ZoneSpec> = Vec::new();
    for (i, z) in t.zones.iter().enumerate() {
        let f = |n: &str| format!("trace.zones[{i}].{n}");
        let zone = parse_zone(&f("zone"), &z.zone)?;
        if zones.iter().any(|s| s.zone == zone) {
            return Err(invalid(
                f("zone"),
                format!("`{zone}` is listed twice; list each zone once"),
            ));
        }
        let source = match (&z.file, z.store.unwrap_or(false)) {
            (Some(_), true) => {
                return Err(invalid(
                    format!("{} and {}", f("file"), f("store")),
                    "are both set and contradict each other: a zone's trace comes from a file or from the store; keep one",
                ));
            }
            (Some(file), false) => {
                if z.source.is_some() {
                    return Err(invalid(
                        f("source"),
                        "only applies to stored zones (store = true); remove it",
                    ));
                }
                ZoneSource::File(file.clone())
            }
            (None, true) => ZoneSource::Store(z.source.clone()),
            (None, false) => {
                return Err(invalid(
                    format!("trace.zones[{i}]"),
                    format!(
                        "`{zone}` has no data source; set file = \"{zone}.csv\" or store = true"
                    ),
                ));
            }
        };
        zones.push(ZoneSpec { zone, source });
    }
    let zone_keys: Vec<ZoneKey> = zones.iter().map(|z| z.zone.clone()).collect();
    let known_zone = |field: String, text: &str| -> Result<ZoneKey, SimError> {
        let z = parse_zone(&field, text)?;
        if !zone_keys.contains(&z) {
            return Err(invalid(
                field,
                format!(
                    "`{z}` has no trace; add it to trace.zones or use one of {}",
                    join_zones(&zone_keys)
                ),
            ));
        }
        Ok(z)
    };

    // Homes.
    let homes = match &raw.homes {
        None => zone_keys.clone(),
        Some(h) if h.is_empty() => {
            return Err(invalid(
                "homes",
                "is empty; leave it out to use every trace zone",
            ));
        }
        Some(h) => {
            let mut out: Vec<ZoneKey> = Vec::new();
            for (i, text) in h.iter().enumerate() {
                let z = known_zone(format!("homes[{i}]"), text)?;
                if out.contains(&z) {
                    return Err(invalid(
                        format!("homes[{i}]"),
                        format!("`{z}` is listed twice"),
                    ));
                }
                out.push(z);
            }
            out
        }
    };

    // Jobs.
    let jobs = validate_jobs(&raw.jobs, step)?;
    let jobs_constraint = constraint(
        "jobs",
        &raw.jobs.window,
        &raw.jobs.slack,
        &raw.jobs.deadline,
        step,
    )?;
    let jobs_interruptible = match &raw.jobs.interruptible {
        Some(r) => Some(interruptible("jobs.interruptible", r)?),
        None => None,
    };
    let list_deadlines = match &jobs.pattern {
        Pattern::List(list) => Some(list.iter().filter(|j| j.deadline.is_some()).count()),
        _ => None,
    };

    // Variants.
    let raw_variants: Vec<RawVariant> = if raw.variants.is_empty() {
        vec![RawVariant {
            name: "default".into(),
            window: None,
            slack: None,
            deadline: None,
            interruptible: None,
            regions: None,
        }]
    } else {
        raw.variants
    };
    let mut variants: Vec<Variant> = Vec::new();
    for (i, v) in raw_variants.iter().enumerate() {
        let prefix = format!("variants[{i}]");
        if v.name.trim().is_empty() {
            return Err(invalid(
                format!("{prefix}.name"),
                "is empty; give the variant a name",
            ));
        }
        if variants.iter().any(|o| o.name == v.name) {
            return Err(invalid(
                format!("{prefix}.name"),
                format!("`{}` is used twice; give each variant its own name", v.name),
            ));
        }
        let own = constraint(&prefix, &v.window, &v.slack, &v.deadline, step)?;
        let effective = own.or(jobs_constraint);
        let label = if own.is_some() {
            prefix.clone()
        } else {
            "jobs".into()
        };
        match (effective, list_deadlines) {
            (Some(_), Some(n)) if n > 0 => {
                return Err(invalid(
                    label,
                    format!(
                        "sets a deadline rule while {n} job(s) in jobs.list have their own deadline; these contradict each other: remove one"
                    ),
                ));
            }
            (None, Some(n)) if n < list_len(&jobs.pattern) => {
                return Err(invalid(
                    "jobs.list",
                    format!(
                        "{} job(s) have no deadline and variant `{}` sets no window, slack or deadline rule; give every job a deadline or set one",
                        list_len(&jobs.pattern) - n,
                        v.name
                    ),
                ));
            }
            (None, None) => {
                return Err(invalid(
                    prefix.clone(),
                    format!(
                        "variant `{}` has no window, slack or deadline (neither has [jobs]); without one no job can move, so set e.g. jobs.slack = \"6h\"",
                        v.name
                    ),
                ));
            }
            _ => {}
        }
        let inter = match &v.interruptible {
            Some(r) => Some(interruptible(&format!("{prefix}.interruptible"), r)?),
            None => jobs_interruptible.clone(),
        };
        let mut regions = Vec::new();
        if let Some(rs) = &v.regions {
            for (k, r) in rs.iter().enumerate() {
                let z = known_zone(format!("{prefix}.regions[{k}]"), r)?;
                if regions.contains(&z) {
                    return Err(invalid(
                        format!("{prefix}.regions[{k}]"),
                        format!("`{z}` is listed twice"),
                    ));
                }
                regions.push(z);
            }
        }
        variants.push(Variant {
            name: v.name.clone(),
            constraint: effective,
            interruptible: inter,
            regions,
        });
    }

    // Policies.
    let mut policies: Vec<PolicyKind> = vec![PolicyKind::Asap];
    let threshold = raw.policy_options.threshold_gco2_per_kwh;
    for (i, name) in raw.policies.iter().enumerate() {
        let field = format!("policies[{i}]");
        let kind = match name.as_str() {
            "asap" => PolicyKind::Asap,
            "best-window" => PolicyKind::BestWindow,
            // `kite plan --policy interruptible` names the same policy.
            "lets-wait-awhile" | "interruptible" => PolicyKind::LetsWaitAwhile,
            "spatio-temporal" => PolicyKind::SpatioTemporal,
            "threshold" => {
                let t = threshold.ok_or_else(|| {
                    invalid(
                        "policy_options.threshold_gco2_per_kwh",
                        "is missing; policy `threshold` needs it, e.g. 250",
                    )
                })?;
                PolicyKind::Threshold(positive_finite(
                    "policy_options.threshold_gco2_per_kwh",
                    t,
                    "250",
                )?)
            }
            other => {
                return Err(invalid(
                    field,
                    format!(
                        "`{other}` is not a policy kite knows; use one of {}",
                        POLICY_NAMES.join(", ")
                    ),
                ));
            }
        };
        if kind == PolicyKind::Asap {
            if i > 0 || policies.len() > 1 {
                return Err(invalid(
                    field,
                    "`asap` is the baseline and must come first, once",
                ));
            }
            continue;
        }
        if policies.iter().any(|p| p.name() == kind.name()) {
            return Err(invalid(field, format!("`{name}` is listed twice")));
        }
        policies.push(kind);
    }
    if threshold.is_some()
        && !policies
            .iter()
            .any(|p| matches!(p, PolicyKind::Threshold(_)))
    {
        return Err(invalid(
            "policy_options.threshold_gco2_per_kwh",
            "is set but `threshold` is not in policies; add it or remove the option",
        ));
    }
    if policies.len() == 1 {
        return Err(invalid(
            "policies",
            format!(
                "lists no policy besides the asap baseline; add one of {}",
                POLICY_NAMES[1..].join(", ")
            ),
        ));
    }

    // Forecast.
    let forecast = match &raw.forecast {
        None => ForecastSpec {
            model: ForecastModel::Perfect,
            seeds: 1,
            seed: 0,
        },
        Some(f) => {
            let model = match (f.model.as_str(), f.error) {
                ("perfect", None) => ForecastModel::Perfect,
                ("perfect", Some(_)) => {
                    return Err(invalid(
                        "forecast.error",
                        "is set but forecast.model is `perfect`; remove error or use model = \"gaussian\"",
                    ));
                }
                ("gaussian", Some(e)) if e.is_finite() && e >= 0.0 => {
                    ForecastModel::Gaussian { error: e }
                }
                ("gaussian", Some(e)) => {
                    return Err(invalid(
                        "forecast.error",
                        format!(
                            "{e} is not a fraction; give e.g. 0.05 for σ = 5 % of the mean intensity"
                        ),
                    ));
                }
                ("gaussian", None) => {
                    return Err(invalid(
                        "forecast.error",
                        "is missing; model `gaussian` needs it, e.g. 0.05",
                    ));
                }
                (other, _) => {
                    return Err(invalid(
                        "forecast.model",
                        format!("`{other}` is not a forecast model; use perfect or gaussian"),
                    ));
                }
            };
            let seeds = match (model, f.seeds) {
                (_, Some(0)) => return Err(invalid("forecast.seeds", "is 0; give at least 1")),
                (ForecastModel::Perfect, Some(n)) if n > 1 => {
                    return Err(invalid(
                        "forecast.seeds",
                        format!("is {n} but a perfect forecast has no randomness; remove it"),
                    ));
                }
                (ForecastModel::Perfect, _) => 1,
                (_, Some(n)) => n,
                (_, None) => 10,
            };
            ForecastSpec {
                model,
                seeds,
                seed: f.seed.unwrap_or(0),
            }
        }
    };

    // References.
    let mut references = Vec::new();
    for (i, r) in raw.references.iter().enumerate() {
        let f = |n: &str| format!("references[{i}].{n}");
        let home = known_zone(f("home"), &r.home)?;
        if !homes.contains(&home) {
            return Err(invalid(
                f("home"),
                format!("`{home}` is not one of the homes"),
            ));
        }
        if !variants.iter().any(|v| v.name == r.variant) {
            return Err(invalid(
                f("variant"),
                format!("`{}` is not a variant of this scenario", r.variant),
            ));
        }
        let policy = if r.policy == "interruptible" {
            "lets-wait-awhile".to_string()
        } else {
            r.policy.clone()
        };
        if !policies.iter().any(|p| p.name() == policy) {
            return Err(invalid(
                f("policy"),
                format!("`{}` is not in policies", r.policy),
            ));
        }
        if !r.saved_percent.is_finite() {
            return Err(invalid(f("saved_percent"), "is not a number"));
        }
        let tolerance_pp = r.tolerance_pp.unwrap_or(1.5);
        if !(tolerance_pp.is_finite() && tolerance_pp >= 0.0) {
            return Err(invalid(
                f("tolerance_pp"),
                "give zero or a positive number of points",
            ));
        }
        if r.source.trim().is_empty() {
            return Err(invalid(
                f("source"),
                "is empty; say where the published number comes from",
            ));
        }
        references.push(Reference {
            home,
            variant: r.variant.clone(),
            policy,
            saved_percent: r.saved_percent,
            tolerance_pp,
            source: r.source.clone(),
        });
    }

    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| default_name.to_string()),
        description: raw.description,
        trace: TraceSpec {
            zones,
            from,
            to,
            step,
            resample,
        },
        jobs,
        forecast,
        policies,
        homes,
        variants,
        references,
        compat: Compat {
            skipped_jobs_count_as_zero: raw.compat.skipped_jobs_count_as_zero,
            horizon_one_step_past_deadline: raw.compat.horizon_one_step_past_deadline,
        },
    })
}

fn list_len(p: &Pattern) -> usize {
    match p {
        Pattern::List(l) => l.len(),
        _ => 0,
    }
}

fn join_zones(z: &[ZoneKey]) -> String {
    z.iter().map(ZoneKey::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const BASE: &str = r#"
policies = ["best-window"]
[trace]
zones = [{ zone = "DE", file = "DE.csv" }]
from = "2020-01-01"
to = "2020-01-08"
step = "30m"
[jobs]
pattern = "nightly"
at = "01:00"
duration = "30m"
first_day = "2020-01-02"
days = 3
window = "2h"
"#;

    fn err(text: &str) -> String {
        Scenario::parse(text, "t", &[]).unwrap_err().to_string()
    }

    #[test]
    fn a_sound_scenario_validates_with_defaults() {
        let s = Scenario::parse(BASE, "t", &[]).unwrap();
        assert_eq!(s.name(), "t");
        assert_eq!(s.policies, vec![PolicyKind::Asap, PolicyKind::BestWindow]);
        assert_eq!(s.variants.len(), 1);
        assert_eq!(s.variants[0].constraint, Some(Constraint::Window(7200)));
        assert_eq!(s.forecast.model, ForecastModel::Perfect);
        assert_eq!(s.trace.resample, Resample::Mean);
    }

    #[test]
    fn unknown_fields_are_named() {
        let msg = err(&BASE.replace("days = 3", "days = 3\ncolour = \"red\""));
        assert!(msg.contains("unknown field `colour`"), "{msg}");
    }

    #[test]
    fn contradictory_fields_are_named_with_the_fix() {
        let msg = err(&BASE.replace("window = \"2h\"", "window = \"2h\"\nslack = \"1h\""));
        assert!(
            msg.starts_with("jobs.window and jobs.slack: are both set"),
            "{msg}"
        );
        assert!(msg.contains("keep one"), "{msg}");
        let msg = err(&BASE.replace("days = 3", "days = 3\nrate_per_hour = 2.0"));
        assert!(
            msg.contains("jobs.rate_per_hour: does not apply to pattern `nightly`"),
            "{msg}"
        );
    }

    #[test]
    fn zero_and_negative_durations_are_refused() {
        let msg = err(&BASE.replace("duration = \"30m\"", "duration = \"0m\""));
        assert!(
            msg.contains("jobs.duration: `0m` is zero or negative"),
            "{msg}"
        );
        let msg = err(&BASE.replace("duration = \"30m\"", "duration = \"-1h\""));
        assert!(msg.contains("zero or negative"), "{msg}");
        let msg = err(&BASE.replace("duration = \"30m\"", "duration = \"45m\""));
        assert!(msg.contains("not a whole number of trace steps"), "{msg}");
    }

    #[test]
    fn overrides_set_dotted_keys_before_validation() {
        let s = Scenario::parse(
            BASE,
            "t",
            &[
                "compat.skipped_jobs_count_as_zero=true".into(),
                "trace.step=15m".into(),
            ],
        )
        .unwrap();
        assert!(s.compat.skipped_jobs_count_as_zero);
        assert_eq!(s.trace.step, 900);
        let e = Scenario::parse(BASE, "t", &["nonsense".into()]).unwrap_err();
        assert!(e.to_string().contains("expected KEY=VALUE"), "{e}");
    }

    #[test]
    fn perfect_forecast_with_an_error_is_contradictory() {
        let text = format!("{BASE}\n[forecast]\nmodel = \"perfect\"\nerror = 0.05\n");
        assert!(err(&text).contains("forecast.error: is set but forecast.model is `perfect`"));
    }

    #[test]
    fn unknown_policy_lists_the_known_ones() {
        let msg = err(&BASE.replace("[\"best-window\"]", "[\"greedy\"]"));
        assert!(
            msg.contains("policies[0]: `greedy` is not a policy"),
            "{msg}"
        );
        assert!(msg.contains("lets-wait-awhile"), "{msg}");
    }
}
