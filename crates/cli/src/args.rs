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
#[derive(Debug, Args)]
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
