//! Where the books live, and how `kite run` books what it measured.
//!
//! One rule for every command that reads or writes the ledger: `--ledger PATH`, else
//! `$KITE_LEDGER` (clap reads it into the same flag), else `ledger.sqlite3` next to kite's
//! database. `kite run` appends only when a ledger is configured: named explicitly, or created
//! at the default place by `kite ledger init`.

use crate::args::{GlobalArgs, StageArg};
use anyhow::{Context, Result, anyhow, bail};
use kite_accounting::record::JobOutcome;
use kite_accounting::{Record, RunFootprint, Stage};
use kite_ledger::Ledger;
use kite_tracker::RunRecord;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The ledger file: the explicit path, else `ledger.sqlite3` beside the configured database.
pub fn ledger_path(global: &GlobalArgs, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let cfg = crate::cmd_intensity::load_config(global)?;
    Ok(default_beside(&cfg.database))
}

fn default_beside(database: &Path) -> PathBuf {
    database
        .parent()
        .map(|d| d.join("ledger.sqlite3"))
        .unwrap_or_else(|| PathBuf::from("ledger.sqlite3"))
}

/// What `kite run` books after the command ends, prepared before it starts so that a wrong
/// ledger path or plan never costs a job.
pub struct RunBooking {
    ledger: Ledger,
    team: Option<String>,
    stage: Stage,
    planned: Option<PlannedJob>,
}

/// One job of a `kite plan --format json` plan, as `kite run --plan --job` needs it.
#[derive(Debug, Clone, Deserialize)]
struct PlannedJob {
    id: String,
    region: String,
    start: kite_core::Timestamp,
    energy_kwh: f64,
    run_now_emissions_g: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct PlanFile {
    jobs: Vec<PlannedJob>,
}

/// The options of `kite run` that concern the books.
pub struct BookingArgs<'a> {
    /// `--ledger` / `$KITE_LEDGER`.
    pub ledger: Option<&'a Path>,
    /// `--team`.
    pub team: Option<String>,
    /// `--stage`.
    pub stage: StageArg,
    /// `--plan` and `--job`.
    pub plan: Option<(&'a Path, &'a str)>,
}

impl RunBooking {
    /// Opens the ledger if one is configured (`None`: no ledger, nothing to book). An explicit
    /// ledger that does not exist, or an unreadable plan, is an error before the job starts.
    pub fn prepare(global: &GlobalArgs, args: BookingArgs<'_>) -> Result<Option<RunBooking>> {
        let path = match args.ledger {
            Some(p) => p.to_path_buf(),
            None => {
                let default = ledger_path(global, None)?;
                if !default.exists() {
                    if args.plan.is_some() {
                        bail!(
                            "--plan books the job's outcome in a ledger, and none is configured: create one with `kite ledger init`, or name one with --ledger PATH"
                        );
                    }
                    return Ok(None);
                }
                default
            }
        };
        if !path.exists() {
            bail!(
                "the ledger {} does not exist: create it with `kite ledger init --ledger {}`, or unset KITE_LEDGER / drop --ledger to run without booking",
                path.display(),
                path.display()
            );
        }
        let ledger = Ledger::open(&path)
            .with_context(|| format!("opening the ledger {}", path.display()))?;
        let planned = match args.plan {
            None => None,
            Some((file, job)) => Some(read_planned_job(file, job)?),
        };
        Ok(Some(RunBooking {
            ledger,
            team: args.team,
            stage: match args.stage {
                StageArg::Training => Stage::Training,
                StageArg::Inference => Stage::Inference,
                StageArg::Other => Stage::Other,
            },
            planned,
        }))
    }

    /// Appends the run's footprint (hourly, from the stored intervals where the store has
    /// them) and, for a planned job, its outcome. Returns the indices of the new entries.
    pub fn book(
        &self,
        record: &RunRecord,
        store_path: &Path,
    ) -> Result<(std::ops::Range<u64>, Vec<String>)> {
        let mut notes = Vec::new();
        let stored = kite_store::Store::open(store_path)
            .ok()
            .and_then(|s| s.run(&record.run_id).ok().flatten());
        let mut footprint = match &stored {
            Some(stored) => RunFootprint::from_stored(record, stored),
            None => {
                notes.push(
                    "the run's intervals could not be read back from the store: its energy is spread evenly over its hours in the ledger".to_string(),
                );
                RunFootprint::from_run_record(record)
            }
        };
        footprint.team = self.team.clone();
        footprint.stage = self.stage;
        let mut values = vec![Record::Run(footprint.clone()).to_value()];
        if let Some(job) = &self.planned {
            match outcome(job, record, &footprint) {
                Ok((o, note)) => {
                    notes.extend(note);
                    values.push(Record::JobOutcome(o).to_value());
                }
                Err(why) => notes.push(format!("job `{}`'s outcome was not booked: {why}", job.id)),
            }
        }
        let range = self
            .ledger
            .append_batch(&values)
            .with_context(|| format!("appending run {} to the ledger", record.run_id))?;
        Ok((range, notes))
    }

    /// The ledger's file.
    pub fn path(&self) -> &Path {
        self.ledger.path()
    }
}

fn read_planned_job(file: &Path, job: &str) -> Result<PlannedJob> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the plan {}", file.display()))?;
    let plan: PlanFile = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{} is not a plan from `kite plan --format json`: {e} (write one with `kite plan ... --format json > plan.json`)",
            file.display()
        )
    })?;
    let ids: Vec<&str> = plan.jobs.iter().map(|j| j.id.as_str()).collect();
    plan.jobs
        .iter()
        .find(|j| j.id == job)
        .cloned()
        .ok_or_else(|| {
            anyhow!(
                "--job {job}: the plan {} places no job with that id (it places: {})",
                file.display(),
                if ids.is_empty() {
                    "none".to_string()
                } else {
                    ids.join(", ")
                }
            )
        })
}

/// The outcome of a planned job. The counterfactual is the plan's run-now emissions scaled by
/// the energy actually used over the energy planned, so a job that used more or less than
/// planned is compared at the energy it really used.
fn outcome(
    job: &PlannedJob,
    record: &RunRecord,
    footprint: &RunFootprint,
) -> Result<(JobOutcome, Option<String>), String> {
    let run_now = job.run_now_emissions_g.ok_or(
        "the plan has no run-now emissions for it (its signal did not cover the earliest start)",
    )?;
    if job.energy_kwh.is_nan() || job.energy_kwh <= 0.0 {
        return Err(format!(
            "its planned energy is {} kWh, nothing to scale the counterfactual by",
            job.energy_kwh
        ));
    }
    let note = (job.region != footprint.zone).then(|| {
        format!(
            "job `{}` was planned in {} and ran in {}",
            job.id, job.region, footprint.zone
        )
    });
    Ok((
        JobOutcome {
            job_id: job.id.clone(),
            project: footprint.project.clone(),
            team: footprint.team.clone(),
            region: footprint.zone.clone(),
            planned_start: job.start,
            actual_start: record.started_at,
            emissions_g: footprint.operational_g,
            run_now_g: run_now * footprint.facility_kwh / job.energy_kwh,
            run_id: Some(record.run_id.clone()),
        },
        note,
    ))
}
