//! Command-line arguments (clap derive). Flags only; validation happens in the commands.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// kite: carbon-aware computing for AI workloads.
#[derive(Debug, Parser)]
#[command(name = "kite", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file (default: $KITE_CONFIG, then $XDG_CONFIG_HOME/kite/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// SQLite database (default: $KITE_DATABASE, then $XDG_DATA_HOME/kite/kite.sqlite3).
    #[arg(long, global = true, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// Do not call live providers, even if configured.
    #[arg(long, global = true)]
    pub offline: bool,
    /// More logging on stderr (-v info, -vv debug); or set KITE_LOG.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List grid zones, their aliases and cloud regions, and what data kite has for each.
    Regions(RegionsArgs),
    /// Grid carbon intensity of a region: now, at a time, or over a window.
    Intensity(Box<IntensityArgs>),
    /// Run a command and measure its energy, carbon and water.
    Run(Box<RunArgs>),
    /// Export host and process power, energy and grid intensity (Prometheus or JSON lines).
    Monitor(Box<MonitorArgs>),
    /// List measured runs from the local store (interrupted ones included).
    Runs(RunsArgs),
    /// Plan deferrable jobs into the cleanest hours and regions before their deadlines.
    Plan(Box<PlanArgs>),
    /// Replay real intensity traces to compare scheduling policies (a scenario file).
    Simulate(Box<crate::cmd_simulate::SimulateArgs>),
    /// Forecast grid intensity 1–96 h ahead, or backtest the forecasters on past data.
    Forecast(Box<crate::cmd_forecast::ForecastArgs>),
    /// The verifiable ledger: append records, sign checkpoints, prove, export and verify.
    Ledger(Box<crate::cmd_ledger::LedgerArgs>),
    /// The books of a period from the ledger: scopes 1-3, SCI, 24/7 CFE, water, top jobs, trend.
    Report(Box<crate::cmd_report::ReportArgs>),
    /// Check public claims ("100 % renewable", "carbon neutral", "net zero", "X % lower")
    /// against the books; exits 2 if any claim is not supported.
    CheckClaims(Box<crate::cmd_claims::CheckClaimsArgs>),
    /// Run the job service: a durable queue, planning, and jobs started in their green windows.
    Serve(Box<crate::cmd_serve::ServeArgs>),
    /// Submit a job to kite serve with its deadline and flexibility.
    Submit(Box<crate::cmd_jobs::SubmitArgs>),
    /// List the jobs of kite serve.
    Jobs(Box<crate::cmd_jobs::JobsArgs>),
    /// One job of kite serve: its plan, why this window, savings, events (or --log).
    Job(Box<crate::cmd_jobs::JobArgs>),
    /// Cancel a job of kite serve.
    Cancel(Box<crate::cmd_jobs::CancelArgs>),
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PolicyArg {
    /// Run on arrival: the carbon-agnostic baseline.
    Asap,
    /// Start once intensity drops below --threshold, or at the latest feasible moment.
    Threshold,
    /// The lowest time-weighted mean window (Green Software Foundation Carbon Aware SDK).
    BestWindow,
    /// The cleanest slots before the deadline, in pieces (Let's Wait Awhile).
    Interruptible,
    /// All jobs × regions × slots with capacity, minimising emissions (MILP / greedy + LP bound).
    SpatioTemporal,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Jobs from a file: .toml (`[[job]]` tables), .json (an array) or .csv (one row per job).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["duration", "work_units"])]
    pub job: Option<PathBuf>,
    /// One job from flags: its run time, e.g. 2h, 90m.
    #[arg(long)]
    pub duration: Option<String>,
    /// One job from flags: work to do (with --rate-per-hour) instead of --duration.
    #[arg(long, requires = "rate_per_hour")]
    pub work_units: Option<f64>,
    /// Work units done per hour (with --work-units).
    #[arg(long)]
    pub rate_per_hour: Option<f64>,
    /// The job must finish by this (RFC 3339, a date, or now+N).
    #[arg(long)]
    pub deadline: Option<String>,
    /// The job may not start before this (default now).
    #[arg(long)]
    pub earliest: Option<String>,
    /// Allowed zones or cloud regions, comma-separated, first is the baseline's (e.g. DE,FR).
    #[arg(long, value_delimiter = ',')]
    pub region: Vec<String>,
    /// Average power of the job in watts (default 1000: results scale linearly).
    #[arg(long)]
    pub power: Option<f64>,
    /// Take power (and duration, if not given) from a past `kite run` (see `kite runs`).
    #[arg(long, value_name = "RUN_ID")]
    pub power_from_run: Option<String>,
    /// The job may be split into pieces (checkpoint and resume).
    #[arg(long)]
    pub interruptible: bool,
    /// Shortest piece of an interruptible job (default 15m).
    #[arg(long, requires = "interruptible")]
    pub min_chunk: Option<String>,
    /// Most pieces of an interruptible job.
    #[arg(long, requires = "interruptible")]
    pub max_pieces: Option<u32>,
    /// Time each resumed piece spends restoring state (default 0).
    #[arg(long, requires = "interruptible")]
    pub resume_overhead: Option<String>,
    /// Resource units the job occupies (GPUs, nodes), against --capacity.
    #[arg(long)]
    pub demand: Option<u32>,
    /// Which policy plans (default: spatio-temporal with --capacity or --pareto, else
    /// interruptible when a job is, else best-window).
    #[arg(long, value_enum)]
    pub policy: Option<PolicyArg>,
    /// Intensity below which `threshold` starts a job, gCO2e/kWh.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Resource units per region and slot, e.g. DE=8,FR=4, or one number for every region
    /// (spatio-temporal).
    #[arg(long, value_delimiter = ',', value_name = "ZONE=UNITS")]
    pub capacity: Vec<String>,
    /// Print the non-dominated plans across carbon, cost and mean delay.
    #[arg(long)]
    pub pareto: bool,
    /// Electricity price per kWh for --pareto, as ZONE=PRICE (constant), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "ZONE=PRICE")]
    pub price: Vec<String>,
    /// Longest time spent on the lower bound that shows how far a spatio-temporal plan is
    /// from optimal (the LP relaxation; seconds at 10,000 jobs). When it runs out, the bound
    /// found so far is reported and a note says so. 0s skips the bound.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub bound_time: String,
    /// The intensity signal to plan on (default from the config).
    #[arg(long)]
    pub signal: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableOrJson,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Show this run's full record instead of the list.
    pub id: Option<String>,
    /// At most this many runs, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableOrJson,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MeterArg {
    /// RAPL if readable, else the power model; plus NVML GPUs when present.
    Auto,
    /// CPU package and DRAM energy counters (Linux powercap).
    Rapl,
    /// NVIDIA GPUs through NVML.
    Nvml,
    /// CPU utilisation × a CPU power curve, memory per GB (no sensor needed).
    Model,
}

/// Lifecycle stage of a run (kept apart in the books).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StageArg {
    /// Model training or fine-tuning.
    Training,
    /// Serving or batch inference.
    Inference,
    /// Anything else.
    Other,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Grid zone or cloud region the job runs in (e.g. DE, aws:eu-west-1). Defaults to `region`
    /// in the config file; kite never guesses.
    #[arg(long)]
    pub region: Option<String>,
    /// Power usage effectiveness of the data centre (default: the cloud's published PUE for a
    /// cloud region, else 1.0), e.g. 1.2.
    #[arg(long)]
    pub pue: Option<f64>,
    /// Sampling interval, 10ms to 60s.
    #[arg(long, default_value = "1s")]
    pub interval: String,
    /// Which meters to use.
    #[arg(long, value_enum, default_value = "auto")]
    pub meter: MeterArg,
    /// Project name for the records (CodeCarbon's project_name).
    #[arg(long, default_value = "kite")]
    pub project: String,
    /// Experiment id for the records (CodeCarbon's experiment_id).
    #[arg(long)]
    pub experiment: Option<String>,
    /// Where emissions.csv is appended.
    #[arg(long, default_value = ".")]
    pub output_dir: PathBuf,
    /// No live status line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the run record as JSON on stdout after the command ends (the summary goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Team the run is booked to in the ledger.
    #[arg(long)]
    pub team: Option<String>,
    /// Lifecycle stage the run is booked to in the ledger.
    #[arg(long, value_enum, default_value = "other")]
    pub stage: StageArg,
    /// Append the run's footprint to this ledger (default: $KITE_LEDGER, then ledger.sqlite3
    /// next to kite's database if `kite ledger init` created it; no ledger, no append).
    #[arg(long, value_name = "PATH", env = "KITE_LEDGER")]
    pub ledger: Option<PathBuf>,
    /// A plan from `kite plan --format json`: with --job, the run is that planned job, and its
    /// outcome (planned vs actual start, emissions vs running at once) goes to the ledger too.
    #[arg(long, value_name = "PLAN.json", requires = "job")]
    pub plan: Option<PathBuf>,
    /// The planned job's id in --plan.
    #[arg(long, requires = "plan")]
    pub job: Option<String>,
    /// The command and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Address of the Prometheus endpoint (`/metrics`).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub listen: std::net::SocketAddr,
    /// Write one JSON object per interval to stdout instead of serving HTTP.
    #[arg(long)]
    pub jsonl: bool,
    /// Sampling interval, 10ms to 60s.
    #[arg(long, default_value = "1s")]
    pub interval: String,
    /// Grid zone or cloud region for the intensity gauge (default: `region` in the config).
    #[arg(long)]
    pub region: Option<String>,
    /// Which meters to use.
    #[arg(long, value_enum, default_value = "auto")]
    pub meter: MeterArg,
    /// Also export the power and energy attributed to this process and its children (repeatable).
    #[arg(long = "pid")]
    pub pids: Vec<u32>,
    /// Stop after this many intervals (default: run until interrupted).
    #[arg(long)]
    pub count: Option<u64>,
}

/// Parses `100ms`, `1s`, `2m` into a sampling interval between 10 ms and 60 s.
pub fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(
        t.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len()),
    );
    let n: f64 = num
        .parse()
        .map_err(|_| format!("--interval `{s}` is not a duration: use e.g. 100ms, 1s, 10s"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => {
            return Err(format!(
                "--interval `{s}`: unknown unit `{unit}`; use ms, s or m"
            ));
        }
    };
    if !(0.01..=60.0).contains(&secs) {
        return Err(format!("--interval `{s}` is outside 10ms..60s"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::parse_interval;
    use std::time::Duration;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_interval("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_interval("2").unwrap(), Duration::from_secs(2));
        assert!(parse_interval("5ms").unwrap_err().contains("10ms"));
        assert!(parse_interval("2h").is_err());
        assert!(parse_interval("fast").unwrap_err().contains("fast"));
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CloudArg {
    Aws,
    Gcp,
    Azure,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TableOrJson {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct RegionsArgs {
    /// Only cloud regions of this provider, with the zone each maps to.
    #[arg(long)]
    pub cloud: Option<CloudArg>,
    /// Only zones whose key, name or alias contains this text (case-insensitive).
    #[arg(long)]
    pub search: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableOrJson,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct IntensityArgs {
    #[command(subcommand)]
    pub sub: Option<IntensitySub>,
    /// Zone key (DE, US-CAL-CISO), balancing authority (CISO), or cloud region (aws:eu-west-1).
    /// Defaults to `region` in the config file; kite never guesses.
    pub region: Option<String>,
    /// One instant (RFC 3339 with offset, a date, or now, now+6h, now-2d). Default: now.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub at: Option<String>,
    /// Start of a window (inclusive).
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// End of a window (exclusive).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Resample to this resolution (e.g. 15m, 1h, 1d) by time-weighted mean; never finer than the data.
    #[arg(long)]
    pub resolution: Option<String>,
    /// average-lifecycle (default), average-direct, or marginal.
    #[arg(long)]
    pub signal: Option<String>,
    /// Only use series whose source starts with this (e.g. electricity_maps, import:, carboncast).
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum IntensitySub {
    /// Import intensity files into the local store (kite CSV or Electricity Maps CSV export).
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import. All are checked before anything is written.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Signal of the values: average-lifecycle (default), average-direct, marginal.
    #[arg(long)]
    pub signal: Option<String>,
    /// Label for the data source (default: import:<file name>).
    #[arg(long)]
    pub source: Option<String>,
    /// Region of files that have no region column.
    #[arg(long)]
    pub region: Option<String>,
    /// Treat timestamps without a UTC offset as UTC (otherwise they are refused).
    #[arg(long)]
    pub assume_utc: bool,
    /// Largest plausible value in gCO2e/kWh; larger values are refused as errors.
    #[arg(long, default_value_t = kite_ingest::DEFAULT_MAX_VALUE)]
    pub max_value: f64,
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableOrJson,
}
