//! The clients of `kite serve`: `kite submit`, `kite jobs`, `kite job`, `kite cancel`.
//!
//! The server and token are found like this: `--server` / `$KITE_SERVER`, else the address
//! `kite serve` wrote beside its queue; `--token` / `$KITE_TOKEN`, else the token file beside
//! the queue (readable only by the user who runs kite serve).

use crate::args::{GlobalArgs, TableOrJson};
use crate::render;
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use kite_service::{Client, JobRecord, SubmitBody, secret};
use std::path::PathBuf;

/// How to reach the server.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Server URL (default: the address kite serve wrote beside its queue).
    #[arg(long, env = "KITE_SERVER")]
    pub server: Option<String>,
    /// API token (default: the token file beside the queue).
    #[arg(long, env = "KITE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The queue whose address and token files to read (default: jobs.sqlite3 beside the database).
    #[arg(long, value_name = "PATH", env = "KITE_QUEUE")]
    pub queue: Option<PathBuf>,
}

/// `kite submit` flags.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Jobs to submit from a file (`-`: stdin): JSON objects shaped like the body of
    /// `POST /v1/jobs` (`command`, `duration`, `deadline`, ...), one object, an array, or JSON
    /// Lines. Every job is checked before any is sent.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["deadline", "duration", "command"])]
    pub file: Option<PathBuf>,
    /// Finished by: RFC 3339 or now+12h.
    #[arg(long, required_unless_present = "file")]
    pub deadline: Option<String>,
    /// Run time, e.g. 2h, 90m, 30s.
    #[arg(long, required_unless_present = "file")]
    pub duration: Option<String>,
    /// Not started before: RFC 3339 or now+10m (default now).
    #[arg(long, alias = "not-before")]
    pub earliest: Option<String>,
    /// May be suspended (SIGSTOP) and resumed (SIGCONT) between the cleanest pieces.
    #[arg(long)]
    pub interruptible: bool,
    /// Allowed regions, in order of preference (default: kite serve's --region).
    #[arg(long, value_delimiter = ',')]
    pub region: Vec<String>,
    /// GPUs (capacity units) the job occupies.
    #[arg(long)]
    pub gpus: Option<u32>,
    /// Owning team.
    #[arg(long)]
    pub team: Option<String>,
    /// Project.
    #[arg(long)]
    pub project: Option<String>,
    /// Mean power in watts, if known.
    #[arg(long)]
    pub power: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableOrJson,
    #[command(flatten)]
    pub server: ServerArgs,
    /// The command and its arguments, after `--`.
    #[arg(
        required_unless_present = "file",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<String>,
}

/// `kite jobs` flags.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Refresh every 2 s until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableOrJson,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `kite job` flags.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// The job id.
    pub id: String,
    /// Print the job's log instead.
    #[arg(long)]
    pub log: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableOrJson,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `kite cancel` flags.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The job id.
    pub id: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn client(global: &GlobalArgs, s: &ServerArgs) -> Result<Client> {
    let queue = crate::cmd_serve::queue_path(global, s.queue.as_deref())?;
    let server = match &s.server {
        Some(u) => u.clone(),
        None => {
            let f = secret::addr_path(&queue);
            std::fs::read_to_string(&f).with_context(|| {
                format!(
                    "no server address in {}: start `kite serve`, or pass --server URL",
                    f.display()
                )
            })?
        }
    };
    let token = match &s.token {
        Some(t) => secret::Token::new(t.clone()),
        None => {
            let f = secret::token_path(&queue);
            secret::Token::new(std::fs::read_to_string(&f).with_context(|| {
                format!("cannot read the token {}: run as the user of kite serve, or pass --token / KITE_TOKEN", f.display())
            })?)
        }
    };
    Ok(Client::new(&server, token))
}

pub async fn submit(global: &GlobalArgs, args: SubmitArgs) -> Result<()> {
    let bodies = match &args.file {
        Some(path) => read_submissions(path)?,
        None => vec![SubmitBody {
            command: args.command,
            duration: args.duration.unwrap_or_default(),
            deadline: args.deadline.unwrap_or_default(),
            earliest_start: args.earliest,
            interruptible: args.interruptible,
            regions: args.region,
            gpus: args.gpus,
            team: args.team,
            project: args.project,
            power_w: args.power,
        }],
    };
    let c = client(global, &args.server)?;
    let mut accepted = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let job = match c.submit(body).await {
            Ok(job) => job,
            // Jobs before this one are accepted: say which, so a rerun does not submit them twice.
            Err(e) if bodies.len() > 1 => {
                return Err(anyhow::Error::from(e).context(format!(
                    "job {} of {} was refused; the {} before it were accepted: {}",
                    i + 1,
                    bodies.len(),
                    accepted.len(),
                    accepted
                        .iter()
                        .map(|j: &JobRecord| j.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if args.format == TableOrJson::Table {
            crate::emit(&summary(&job))?;
        }
        accepted.push(job);
    }
    if args.format == TableOrJson::Json {
        let text = match accepted.as_slice() {
            [one] => serde_json::to_string_pretty(one)?,
            many => serde_json::to_string_pretty(many)?,
        };
        crate::emit(&(text + "\n"))?;
    }
    Ok(())
}

/// The jobs of a `--file`: one JSON object, an array of them, or JSON Lines; every field
/// checked (unknown ones refused) before anything is sent.
fn read_submissions(path: &std::path::Path) -> Result<Vec<SubmitBody>> {
    let name = path.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading jobs from stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read --file {name}"))?
    };
    let parse = |t: &str, what: &str| -> Result<SubmitBody> {
        let de = &mut serde_json::Deserializer::from_str(t);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            anyhow!(
                "--file {name}: {what}: {}{}; each job is an object like the body of POST /v1/jobs: {{\"command\": [\"python\", \"train.py\"], \"duration\": \"2h\", \"deadline\": \"now+12h\"}} (docs/service.md)",
                if field == "." { String::new() } else { format!("field `{field}`: ") },
                e.inner()
            )
        })
    };
    let trimmed = text.trim_start();
    let jobs = if trimmed.starts_with('[') {
        let items: Vec<serde_json::Value> = serde_json::from_str(trimmed)
            .with_context(|| format!("--file {name}: not a JSON array of jobs"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| parse(&v.to_string(), &format!("job {}", i + 1)))
            .collect::<Result<Vec<_>>>()?
    } else if serde_json::from_str::<serde_json::Value>(trimmed).is_ok() {
        vec![parse(trimmed, "the job")?]
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| parse(l, &format!("line {}", i + 1)))
            .collect::<Result<Vec<_>>>()?
    };
    if jobs.is_empty() {
        bail!("--file {name} holds no job");
    }
    for (i, j) in jobs.iter().enumerate() {
        if j.command.is_empty() {
            bail!(
                "--file {name}: job {}: field `command` is empty; give the program and its arguments, e.g. [\"python\", \"train.py\"]",
                i + 1
            );
        }
    }
    Ok(jobs)
}

fn summary(job: &JobRecord) -> String {
    let mut out = format!("job {} {}", job.id, job.state);
    if let Some(p) = &job.plan {
        out.push_str(&format!(
            ": {} from {} to {}; {:.1} gCO2e{}\n  why: {}",
            p.region,
            p.start,
            p.end,
            p.emissions_g,
            match (p.run_now_emissions_g, p.saved_percent) {
                (Some(b), Some(s)) => format!(" vs {b:.1} running now ({s:.1} % saved)"),
                _ => String::new(),
            },
            p.why
        ));
    } else if let Some(r) = &job.reason {
        out.push_str(&format!(": {r}"));
    }
    out.push('\n');
    out
}

fn table(jobs: &[JobRecord]) -> String {
    let mut t = render::table();
    t.set_header([
        "id", "state", "region", "start", "saved", "command", "reason",
    ]);
    for j in jobs {
        t.add_row([
            j.id.clone(),
            j.state.to_string(),
            j.plan.as_ref().map_or("-".into(), |p| p.region.clone()),
            j.plan.as_ref().map_or("-".into(), |p| p.start.to_string()),
            j.plan
                .as_ref()
                .and_then(|p| p.saved_percent)
                .map_or("n/a".into(), |s| format!("{s:.1} %")),
            j.request.command.join(" "),
            j.reason.clone().unwrap_or_default(),
        ]);
    }
    format!("{t}\n")
}

pub async fn jobs(global: &GlobalArgs, args: JobsArgs) -> Result<()> {
    let c = client(global, &args.server)?;
    loop {
        let jobs = c.jobs().await?;
        match args.format {
            TableOrJson::Json => crate::emit(&(serde_json::to_string_pretty(&jobs)? + "\n"))?,
            TableOrJson::Table => {
                if args.watch {
                    // Clear the screen and home the cursor between refreshes.
                    crate::emit("\x1b[2J\x1b[H")?;
                }
                crate::emit(&table(&jobs))?;
            }
        }
        if !args.watch {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

pub async fn job(global: &GlobalArgs, args: JobArgs) -> Result<()> {
    let c = client(global, &args.server)?;
    if args.log {
        return crate::emit(&c.log(&args.id).await?);
    }
    let view = c.job(&args.id).await?;
    match args.format {
        TableOrJson::Json => crate::emit(&(serde_json::to_string_pretty(&view)? + "\n"))?,
        TableOrJson::Table => {
            let mut out = summary(&view.job);
            out.push_str(&format!(
                "command: {}\n",
                view.job.request.command.join(" ")
            ));
            if let Some(code) = view.job.exit_code {
                out.push_str(&format!("exit status: {code}\n"));
            }
            out.push_str("events:\n");
            for e in &view.events {
                out.push_str(&format!(
                    "  {} {} → {}: {}\n",
                    e.at,
                    e.from.map_or("-".into(), |s| s.to_string()),
                    e.to,
                    e.reason
                ));
            }
            crate::emit(&out)?;
        }
    }
    Ok(())
}

pub async fn cancel(global: &GlobalArgs, args: CancelArgs) -> Result<()> {
    let c = client(global, &args.server)?;
    let job = c.cancel(&args.id).await?;
    crate::emit(&format!("job {} {}\n", job.id, job.state))
}
