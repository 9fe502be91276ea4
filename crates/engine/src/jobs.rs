//! Job files: TOML (`[[job]]` tables), JSON (an array, or `{"jobs": [...]}`) and CSV (one job per
//! row) turned into scheduler [`Job`]s.
//!
//! Every field has one spelling in all three formats, so a job moves between them unchanged.
//! Errors name the file, the job (or CSV line), the field, the value and the fix.

use kite_core::{SignedDuration, Timestamp, Watts, ZoneKey, parse_time};
use kite_scheduler::{Interruptible, Job};
use serde::Deserialize;
use std::path::Path;

/// One job as written in a file or assembled from flags, before validation.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Identifier echoed in the plan.
    pub id: String,
    /// Run time without interruption, e.g. `2h`, `90m`, `1h30m`, `PT2H`.
    pub duration: Option<String>,
    /// Work to do, in units of the job's choosing (with `rate_per_hour`, instead of `duration`).
    pub work_units: Option<f64>,
    /// Units of work done per hour (with `work_units`).
    pub rate_per_hour: Option<f64>,
    /// Average power while running, in watts.
    pub power_w: Option<f64>,
    /// Take power (and, if `duration` is not given, duration) from a past `kite run`.
    pub power_from_run: Option<String>,
    /// Not before this (RFC 3339, a date, or `now±N`); default now.
    pub earliest_start: Option<String>,
    /// Finished by this (RFC 3339, a date, or `now+N`).
    pub deadline: Option<String>,
    /// Allowed zones or cloud regions, in order of preference.
    #[serde(default)]
    pub regions: Regions,
    /// `true`, or a table with the split rules.
    pub interruptible: Option<InterruptibleSpec>,
    /// Resource units occupied while running (GPUs, nodes); default 1.
    pub demand: Option<u32>,
    /// Higher is served first when capacity is short; default 0.
    pub priority: Option<i32>,
    /// Owning team or project.
    pub team: Option<String>,
}

/// A list of regions, written as an array or as one comma-separated string.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(from = "RegionsRepr")]
pub struct Regions(pub Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum RegionsRepr {
    List(Vec<String>),
    Text(String),
}

impl From<RegionsRepr> for Regions {
    fn from(r: RegionsRepr) -> Regions {
        match r {
            RegionsRepr::List(v) => Regions(v),
            RegionsRepr::Text(s) => Regions(split_list(&s)),
        }
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', ';', ' '])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `interruptible = true` or `interruptible = { min_chunk = "30m", ... }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum InterruptibleSpec {
    /// `true` (default split rules) or `false` (one piece).
    Flag(bool),
    /// Explicit split rules.
    Rules(InterruptibleRules),
}

/// Split rules of an interruptible job.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InterruptibleRules {
    /// Shortest piece worth running; default 15m.
    pub min_chunk: Option<String>,
    /// Most pieces; default unlimited.
    pub max_pieces: Option<u32>,
    /// Time each resumed piece spends restoring state; default 0.
    pub resume_overhead: Option<String>,
}

/// The default shortest piece of an interruptible job: one 15-minute slot.
pub const DEFAULT_MIN_CHUNK: SignedDuration = SignedDuration::from_mins(15);

/// Why a job file or job flags could not be turned into jobs.
#[derive(Debug, thiserror::Error)]
pub enum JobFileError {
    /// The file could not be read.
    #[error("cannot read job file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file's extension says nothing about its format.
    #[error(
        "job file {path}: unknown format `{ext}`; name it .toml, .json or .csv (see `kite plan --help`)"
    )]
    UnknownFormat {
        /// The file.
        path: String,
        /// The extension found.
        ext: String,
    },
    /// The file does not parse as its format.
    #[error("job file {path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message (with line and column where it has them).
        message: String,
    },
    /// The file parses but holds no jobs.
    #[error(
        "job file {path} has no jobs: write `[[job]]` tables (TOML), an array (JSON) or rows (CSV)"
    )]
    Empty {
        /// The file.
        path: String,
    },
    /// One field of one job is wrong.
    #[error("{at}: `{field}` {message}")]
    Field {
        /// Where: the file and job id or line.
        at: String,
        /// The field.
        field: &'static str,
        /// What is wrong with the value and how to fix it.
        message: String,
    },
    /// Two jobs share an id.
    #[error("{at}: job id `{id}` is used twice; give every job its own id")]
    DuplicateId {
        /// Where.
        at: String,
        /// The id.
        id: String,
    },
}

/// What a job spec needs from outside the file.
pub trait JobContext {
    /// Resolves a region as typed (zone, alias or cloud region) to its zone key.
    fn zone(&self, region: &str) -> Result<ZoneKey, String>;
    /// Mean IT power and duration of a past run, by id.
    fn run_power(&self, run_id: &str) -> Result<(Watts, SignedDuration), String>;
}

/// Reads a job file; the format follows the extension.
pub fn read_job_file(path: &Path) -> Result<Vec<JobSpec>, JobFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| JobFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let specs = match ext.as_str() {
        "toml" => parse_toml(&text),
        "json" => parse_json(&text),
        "csv" => parse_csv(&text),
        _ => {
            return Err(JobFileError::UnknownFormat { path: shown, ext });
        }
    }
    .map_err(|message| JobFileError::Syntax {
        path: shown.clone(),
        message,
    })?;
    if specs.is_empty() {
        return Err(JobFileError::Empty { path: shown });
    }
    Ok(specs)
}

fn parse_toml(text: &str) -> Result<Vec<JobSpec>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        job: Vec<JobSpec>,
    }
    toml::from_str::<File>(text)
        .map(|f| f.job)
        .map_err(|e| e.to_string())
}

fn parse_json(text: &str) -> Result<Vec<JobSpec>, String> {
    // Parse once as a value so syntax errors name line and column, then as jobs so they name
    // fields.
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let list = match value {
        serde_json::Value::Array(_) => value,
        serde_json::Value::Object(mut o) if o.contains_key("jobs") => {
            o.remove("jobs").unwrap_or(serde_json::Value::Null)
        }
        _ => return Err("expected an array of jobs or an object with a `jobs` array".into()),
    };
    serde_json::from_value::<Vec<JobSpec>>(list).map_err(|e| e.to_string())
}

/// CSV columns, one per [`JobSpec`] field; `interruptible` is `true`/`false` and the split rules
/// have their own columns.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvRow {
    id: String,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    work_units: Option<f64>,
    #[serde(default)]
    rate_per_hour: Option<f64>,
    #[serde(default)]
    power_w: Option<f64>,
    #[serde(default)]
    power_from_run: Option<String>,
    #[serde(default)]
    earliest_start: Option<String>,
    #[serde(default)]
    deadline: Option<String>,
    #[serde(default)]
    regions: Option<String>,
    #[serde(default)]
    interruptible: Option<bool>,
    #[serde(default)]
    min_chunk: Option<String>,
    #[serde(default)]
    max_pieces: Option<u32>,
    #[serde(default)]
    resume_overhead: Option<String>,
    #[serde(default)]
    demand: Option<u32>,
    #[serde(default)]
    priority: Option<i32>,
    #[serde(default)]
    team: Option<String>,
}

fn parse_csv(text: &str) -> Result<Vec<JobSpec>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut specs = Vec::new();
    for row in reader.deserialize::<CsvRow>() {
        let row = row.map_err(|e| e.to_string())?;
        let rules =
            row.min_chunk.is_some() || row.max_pieces.is_some() || row.resume_overhead.is_some();
        let interruptible = match (row.interruptible, rules) {
            (Some(false), true) => {
                return Err(format!(
                    "job `{}`: interruptible is false but min_chunk/max_pieces/resume_overhead are set; set interruptible to true or clear them",
                    row.id
                ));
            }
            (_, true) => Some(InterruptibleSpec::Rules(InterruptibleRules {
                min_chunk: row.min_chunk,
                max_pieces: row.max_pieces,
                resume_overhead: row.resume_overhead,
            })),
            (flag, false) => flag.map(InterruptibleSpec::Flag),
        };
        specs.push(JobSpec {
            id: row.id,
            duration: row.duration.filter(|s| !s.is_empty()),
            work_units: row.work_units,
            rate_per_hour: row.rate_per_hour,
            power_w: row.power_w,
            power_from_run: row.power_from_run.filter(|s| !s.is_empty()),
            earliest_start: row.earliest_start.filter(|s| !s.is_empty()),
            deadline: row.deadline.filter(|s| !s.is_empty()),
            regions: Regions(row.regions.as_deref().map(split_list).unwrap_or_default()),
            interruptible,
            demand: row.demand,
            priority: row.priority,
            team: row.team.filter(|s| !s.is_empty()),
        });
    }
    Ok(specs)
}

/// Parses a duration such as `2h`, `90m`, `1h30m`, `1.5h` or ISO 8601 `PT2H`.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    text.trim()
        .parse::<SignedDuration>()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. 2h, 90m, 1h30m or PT2H"))
}

/// Turns specs into jobs: resolves regions, times and power, and checks every field.
/// `source` names where the specs came from (a file, or `flags`), for error messages.
pub fn to_jobs(
    specs: &[JobSpec],
    source: &str,
    now: Timestamp,
    ctx: &dyn JobContext,
) -> Result<Vec<Job>, JobFileError> {
    let mut seen = std::collections::HashSet::new();
    let mut jobs = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let at = if spec.id.is_empty() {
            format!("{source}, job #{}", i + 1)
        } else {
            format!("{source}, job `{}`", spec.id)
        };
        if spec.id.trim().is_empty() {
            return Err(field(&at, "id", "is empty; give every job an id".into()));
        }
        if !seen.insert(spec.id.clone()) {
            return Err(JobFileError::DuplicateId {
                at,
                id: spec.id.clone(),
            });
        }
        jobs.push(to_job(spec, &at, now, ctx)?);
    }
    Ok(jobs)
}

fn field(at: &str, field: &'static str, message: String) -> JobFileError {
    JobFileError::Field {
        at: at.to_owned(),
        field,
        message,
    }
}

fn to_job(
    spec: &JobSpec,
    at: &str,
    now: Timestamp,
    ctx: &dyn JobContext,
) -> Result<Job, JobFileError> {
    let from_run = spec
        .power_from_run
        .as_deref()
        .map(|id| {
            ctx.run_power(id)
                .map_err(|m| field(at, "power_from_run", m))
        })
        .transpose()?;
    let duration = match (&spec.duration, spec.work_units, spec.rate_per_hour) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(field(
                at,
                "duration",
                "is given together with work_units/rate_per_hour; give one or the other".into(),
            ));
        }
        (Some(d), None, None) => parse_duration(d).map_err(|m| field(at, "duration", m))?,
        (None, Some(units), Some(rate)) => {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(field(
                    at,
                    "rate_per_hour",
                    format!("is {rate}; give a positive number of work units per hour"),
                ));
            }
            if !(units.is_finite() && units > 0.0) {
                return Err(field(
                    at,
                    "work_units",
                    format!("is {units}; give a positive amount of work"),
                ));
            }
            SignedDuration::try_from_secs_f64(units / rate * 3600.0).map_err(|_| {
                field(
                    at,
                    "work_units",
                    format!("{units} units at {rate}/h is not a representable duration"),
                )
            })?
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(field(
                at,
                "work_units",
                "needs both work_units and rate_per_hour".into(),
            ));
        }
        (None, None, None) => match from_run {
            Some((_, d)) => d,
            None => {
                return Err(field(
                    at,
                    "duration",
                    "is missing; give duration (e.g. 2h), work_units with rate_per_hour, or power_from_run".into(),
                ));
            }
        },
    };
    if !duration.is_positive() {
        return Err(field(
            at,
            "duration",
            format!(
                "is {}; give a positive duration such as 1h",
                spec.duration.as_deref().unwrap_or("not positive")
            ),
        ));
    }
    let power = match (spec.power_w, from_run) {
        (Some(_), Some(_)) => {
            return Err(field(
                at,
                "power_w",
                "is given together with power_from_run; give one or the other".into(),
            ));
        }
        (Some(w), None) => {
            if !(w.is_finite() && w >= 0.0) {
                return Err(field(
                    at,
                    "power_w",
                    format!("is {w}; give a non-negative number of watts"),
                ));
            }
            Watts(w)
        }
        (None, Some((w, _))) => w,
        (None, None) => {
            return Err(field(
                at,
                "power_w",
                "is missing; give the job's average power in watts (e.g. 300), or power_from_run with a `kite runs` id".into(),
            ));
        }
    };
    let earliest_start = match &spec.earliest_start {
        Some(t) => parse_time(t, now).map_err(|e| field(at, "earliest_start", e.to_string()))?,
        None => now,
    };
    let deadline = match &spec.deadline {
        Some(t) => parse_time(t, now).map_err(|e| field(at, "deadline", e.to_string()))?,
        None => {
            return Err(field(
                at,
                "deadline",
                "is missing; give the time the job must finish by (e.g. now+12h or 2026-12-01T06:00:00Z)".into(),
            ));
        }
    };
    if spec.regions.0.is_empty() {
        return Err(field(
            at,
            "regions",
            "is empty; list at least one zone or cloud region (e.g. [\"DE\", \"aws:eu-west-1\"])"
                .into(),
        ));
    }
    let mut regions = Vec::with_capacity(spec.regions.0.len());
    for r in &spec.regions.0 {
        let zone = ctx.zone(r).map_err(|m| field(at, "regions", m))?;
        if !regions.contains(&zone) {
            regions.push(zone);
        }
    }
    let interruptible = match &spec.interruptible {
        None | Some(InterruptibleSpec::Flag(false)) => None,
        Some(InterruptibleSpec::Flag(true)) => Some(Interruptible {
            min_chunk: DEFAULT_MIN_CHUNK,
            max_pieces: None,
            resume_overhead: SignedDuration::ZERO,
        }),
        Some(InterruptibleSpec::Rules(r)) => Some(Interruptible {
            min_chunk: match &r.min_chunk {
                Some(d) => {
                    parse_duration(d).map_err(|m| field(at, "interruptible.min_chunk", m))?
                }
                None => DEFAULT_MIN_CHUNK,
            },
            max_pieces: r.max_pieces,
            resume_overhead: match &r.resume_overhead {
                Some(d) => {
                    parse_duration(d).map_err(|m| field(at, "interruptible.resume_overhead", m))?
                }
                None => SignedDuration::ZERO,
            },
        }),
    };
    let mut job = Job::new(
        spec.id.clone(),
        duration,
        power,
        earliest_start,
        deadline,
        regions,
    );
    job.interruptible = interruptible;
    if let Some(d) = spec.demand {
        job.demand = d;
    }
    job.priority = spec.priority.unwrap_or(0);
    job.team = spec.team.clone();
    Ok(job)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Ctx;
    impl JobContext for Ctx {
        fn zone(&self, region: &str) -> Result<ZoneKey, String> {
            match region {
                "DE" | "FR" | "GB" => Ok(ZoneKey::new(region).unwrap()),
                other => Err(format!("unknown region `{other}`")),
            }
        }
        fn run_power(&self, run_id: &str) -> Result<(Watts, SignedDuration), String> {
            if run_id == "r1" {
                Ok((Watts(250.0), SignedDuration::from_mins(40)))
            } else {
                Err(format!("no run `{run_id}`"))
            }
        }
    }

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn jobs(specs: Vec<JobSpec>) -> Result<Vec<Job>, JobFileError> {
        to_jobs(&specs, "t.toml", now(), &Ctx)
    }

    #[test]
    fn the_three_formats_give_the_same_jobs() {
        let toml = r#"
[[job]]
id = "train"
duration = "2h"
power_w = 300
deadline = "now+12h"
regions = ["DE", "FR"]
interruptible = { min_chunk = "30m", max_pieces = 3, resume_overhead = "5m" }
demand = 2
priority = 1
team = "ml"
"#;
        let json = r#"{"jobs": [{"id": "train", "duration": "2h", "power_w": 300, "deadline": "now+12h",
            "regions": "DE,FR", "interruptible": {"min_chunk": "30m", "max_pieces": 3, "resume_overhead": "5m"},
            "demand": 2, "priority": 1, "team": "ml"}]}"#;
        let csv = "id,duration,power_w,deadline,regions,interruptible,min_chunk,max_pieces,resume_overhead,demand,priority,team\n\
                   train,2h,300,now+12h,\"DE,FR\",true,30m,3,5m,2,1,ml\n";
        let a = jobs(parse_toml(toml).unwrap()).unwrap();
        let b = jobs(parse_json(json).unwrap()).unwrap();
        let c = jobs(parse_csv(csv).unwrap()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        let j = &a[0];
        assert_eq!(j.duration, SignedDuration::from_hours(2));
        assert_eq!(j.deadline, now() + SignedDuration::from_hours(12));
        assert_eq!(j.regions.len(), 2);
        assert_eq!(j.demand, 2);
        let i = j.interruptible.as_ref().unwrap();
        assert_eq!(i.max_pieces, Some(3));
        assert_eq!(i.resume_overhead, SignedDuration::from_mins(5));
    }

    #[test]
    fn work_units_and_rate_give_the_duration() {
        let spec = JobSpec {
            id: "etl".into(),
            work_units: Some(300.0),
            rate_per_hour: Some(200.0),
            power_w: Some(100.0),
            deadline: Some("now+1d".into()),
            regions: Regions(vec!["DE".into()]),
            ..JobSpec::default()
        };
        assert_eq!(
            jobs(vec![spec]).unwrap()[0].duration,
            SignedDuration::from_mins(90)
        );
    }

    #[test]
    fn power_and_duration_come_from_a_past_run() {
        let spec = JobSpec {
            id: "again".into(),
            power_from_run: Some("r1".into()),
            deadline: Some("now+1d".into()),
            regions: Regions(vec!["GB".into()]),
            ..JobSpec::default()
        };
        let j = &jobs(vec![spec]).unwrap()[0];
        assert_eq!(j.power, Watts(250.0));
        assert_eq!(j.duration, SignedDuration::from_mins(40));
    }

    #[test]
    fn bad_fields_are_named_with_the_value_and_fix() {
        let base = JobSpec {
            id: "x".into(),
            duration: Some("2h".into()),
            power_w: Some(10.0),
            deadline: Some("now+1d".into()),
            regions: Regions(vec!["DE".into()]),
            ..JobSpec::default()
        };
        let cases: Vec<(JobSpec, &str)> = vec![
            (
                JobSpec {
                    duration: Some("-1h".into()),
                    ..base.clone()
                },
                "`duration` is -1h",
            ),
            (
                JobSpec {
                    duration: Some("soon".into()),
                    ..base.clone()
                },
                "`soon` is not a duration",
            ),
            (
                JobSpec {
                    regions: Regions(vec!["Atlantis".into()]),
                    ..base.clone()
                },
                "`regions` unknown region `Atlantis`",
            ),
            (
                JobSpec {
                    power_w: Some(-5.0),
                    ..base.clone()
                },
                "`power_w` is -5",
            ),
            (
                JobSpec {
                    deadline: None,
                    ..base.clone()
                },
                "`deadline` is missing",
            ),
            (
                JobSpec {
                    work_units: Some(1.0),
                    ..base.clone()
                },
                "give one or the other",
            ),
            (
                JobSpec {
                    power_from_run: Some("nope".into()),
                    power_w: None,
                    ..base.clone()
                },
                "no run `nope`",
            ),
        ];
        for (spec, want) in cases {
            let msg = jobs(vec![spec]).unwrap_err().to_string();
            assert!(msg.contains(want), "{msg} should contain {want}");
            assert!(msg.contains("t.toml, job `x`"), "{msg}");
        }
        let dup = jobs(vec![base.clone(), base]).unwrap_err().to_string();
        assert!(dup.contains("used twice"), "{dup}");
    }

    #[test]
    fn unknown_fields_and_contradictions_are_refused() {
        let e = parse_toml("[[job]]\nid = \"a\"\ndurration = \"1h\"\n").unwrap_err();
        assert!(e.contains("durration"), "{e}");
        let e = parse_csv("id,duration,interruptible,min_chunk\na,1h,false,30m\n").unwrap_err();
        assert!(e.contains("interruptible is false"), "{e}");
    }
}
