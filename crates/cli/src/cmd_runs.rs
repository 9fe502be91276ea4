//! `kite runs [ID]`: the measured runs in the local store, newest first, or one run's record.
//! Runs whose kite process died are marked interrupted first, so a crash is never hidden.

use crate::args::{GlobalArgs, RunsArgs, TableOrJson};
use crate::cmd_intensity::load_config;
use crate::render_run;
use anyhow::{Context, Result, anyhow};
use serde::Serialize;

/// One run in `kite runs --format json`.
#[derive(Serialize)]
struct JsonRunSummary {
    run_id: String,
    project: String,
    experiment: Option<String>,
    command: Vec<String>,
    zone: String,
    /// `running`, `succeeded`, `failed` or `interrupted`.
    status: String,
    started_at: String,
    ended_at: Option<String>,
    exit_code: Option<i32>,
    reason: Option<String>,
    /// End of the last interval saved to disk (what survives a crash).
    last_saved: Option<String>,
}

pub fn run(global: &GlobalArgs, args: RunsArgs) -> Result<()> {
    let cfg = load_config(global)?;
    let mut store = kite_store::Store::open(&cfg.database)
        .with_context(|| format!("opening the store at {}", cfg.database.display()))?;
    store.mark_interrupted(&kite_tracker::process_is_alive)?;
    if let Some(id) = &args.id {
        let record = kite_tracker::load_run(&store, id)?.ok_or_else(|| {
            anyhow!(
                "no run `{id}` in {}: `kite runs` lists them",
                cfg.database.display()
            )
        })?;
        return match args.format {
            TableOrJson::Json => crate::emit(&render_run::record_json(
                &record,
                &render_run::Overhead::none(),
            )?),
            TableOrJson::Table => {
                crate::emit(&render_run::summary(&record, &[], &[], None, &cfg.database))
            }
        };
    }
    let mut runs = store.runs()?;
    runs.reverse();
    runs.truncate(args.limit);
    match args.format {
        TableOrJson::Json => {
            let out: Vec<JsonRunSummary> = runs
                .iter()
                .map(|r| JsonRunSummary {
                    run_id: r.id.clone(),
                    project: r.project.clone(),
                    experiment: r.experiment.clone(),
                    command: r.command.clone(),
                    zone: r.zone.to_string(),
                    status: r.status.as_str().to_string(),
                    started_at: r.started_at.to_string(),
                    ended_at: r.ended_at.map(|t| t.to_string()),
                    exit_code: r.exit_code,
                    reason: r.reason.clone(),
                    last_saved: r.last_end.map(|t| t.to_string()),
                })
                .collect();
            crate::emit(&(serde_json::to_string_pretty(&out)? + "\n"))
        }
        TableOrJson::Table => {
            let mut t = crate::render::table();
            t.set_header(vec![
                "run",
                "started (UTC)",
                "status",
                "zone",
                "project",
                "command",
            ]);
            for r in &runs {
                t.add_row(vec![
                    r.id.chars().take(8).collect::<String>(),
                    r.started_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    match (r.status.as_str(), r.exit_code) {
                        (s, Some(c)) => format!("{s} ({c})"),
                        (s, None) => s.to_string(),
                    },
                    r.zone.to_string(),
                    r.project.clone(),
                    render_run::short_command(&r.command),
                ]);
            }
            crate::emit(&format!(
                "{t}\n{} run(s) in {}\n",
                runs.len(),
                cfg.database.display()
            ))
        }
    }
}
