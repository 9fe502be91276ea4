//! The `[serve]` section of kite's configuration file: what `kite serve` listens on, where its
//! queue is, and which executor runs the jobs of each zone.
//!
//! ```toml
//! [serve]
//! listen = "127.0.0.1:7878"
//! queue = "/var/lib/kite/jobs.sqlite3"
//! regions = ["DE", "FR"]          # for jobs that name none
//! capacity = { DE = 8, FR = 4 }   # GPUs per zone, shared by the jobs planned there
//! replan_every = "15m"
//! ledger = "/var/lib/kite/ledger.sqlite3"
//!
//! [serve.api]                     # limits of the HTTP API (docs/api.md, "Security and limits")
//! private_reads = false           # true: reads need the bearer token too (not /healthz, /readyz)
//! cors_origins = []               # e.g. ["https://dashboard.example.org"]; empty: no CORS
//! rate_limit = { per_second = 100, burst = 200 }   # per client IP; per_second = 0: off
//! request_timeout = "30s"
//! body_limit = 65536              # bytes
//! cache_ttl = "5s"                # public data reads; "0s": off
//! cache_entries = 4096
//!
//! [[serve.executor]]
//! kind = "local"                  # the default for zones no other executor claims
//!
//! [[serve.executor]]
//! kind = "slurm"                  # keys: crate::slurm::SlurmConfig
//! name = "slurm-eu"
//! cluster = "eu"
//! zones = ["FR"]
//!
//! [[serve.executor]]
//! kind = "kubernetes"             # keys: crate::kubernetes::KubernetesConfig
//! name = "k8s-de"
//! server = "https://127.0.0.1:6443"
//! namespace = "batch"
//! image = "python:3.12"
//! zones = ["DE"]
//! ```
//!
//! Flags of `kite serve` override the file. Each `[[serve.executor]]` names its `kind` and the
//! `zones` it runs; the other keys belong to that kind and are checked by it (unknown keys are
//! errors, so a misspelt option never silently falls back to a default).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the `[serve]` section cannot be used: the key, what is wrong, and the fix.
#[derive(Debug, thiserror::Error)]
#[error("config [serve]{place}: {message}")]
pub struct ConfigError {
    /// Where: `` (the section), `.executor[2]`, ...
    pub place: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The `[serve]` section, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// The SQLite queue file.
    pub queue: Option<PathBuf>,
    /// Zones for jobs that name none.
    #[serde(default)]
    pub regions: Vec<String>,
    /// GPUs per zone.
    #[serde(default)]
    pub capacity: BTreeMap<String, u32>,
    /// How often waiting jobs are replanned (`15m`).
    pub replan_every: Option<String>,
    /// The ledger runs and outcomes are booked in.
    pub ledger: Option<PathBuf>,
    /// Executors, each with the zones it runs.
    #[serde(default, rename = "executor")]
    pub executors: Vec<ExecutorEntry>,
    /// `[serve.api]`: limits and authorisation of the HTTP API.
    #[serde(default)]
    pub api: ApiSection,
}

/// The `[serve.api]` table, as written; `kite_api::limits::ApiConfig::from_section` checks the
/// values and fills in the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Reads need the bearer token too (except `/healthz` and `/readyz`).
    pub private_reads: Option<bool>,
    /// Origins allowed by CORS (`https://host[:port]`, or `*`); empty: no CORS headers.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Per client IP, for requests without the bearer token.
    pub rate_limit: Option<RateLimitSection>,
    /// Longest time a request may take (`30s`).
    pub request_timeout: Option<String>,
    /// Largest request body, bytes.
    pub body_limit: Option<u64>,
    /// How long public data reads are cached (`5s`; `0s`: off).
    pub cache_ttl: Option<String>,
    /// Most cached responses.
    pub cache_entries: Option<usize>,
}

/// `rate_limit = { per_second = 100, burst = 200 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    /// Sustained requests per second per client (0: no limit).
    pub per_second: f64,
    /// Requests a client may make at once after being idle (default: twice `per_second`).
    pub burst: Option<u32>,
}

/// One `[[serve.executor]]` table: its kind, its zones, and the kind's own options.
#[derive(Debug, Clone, Deserialize)]
pub struct ExecutorEntry {
    /// `local`, `slurm`, `kubernetes`.
    pub kind: String,
    /// Zones (or cloud regions) whose jobs it runs; empty: the default executor.
    #[serde(default)]
    pub zones: Vec<String>,
    /// The kind's own options, checked when the executor is built.
    #[serde(flatten)]
    pub options: toml::Table,
}

impl ServeConfig {
    /// Parses the section (absent: all defaults).
    pub fn parse(table: Option<&toml::Table>) -> Result<ServeConfig, ConfigError> {
        let Some(table) = table else {
            return Ok(ServeConfig::default());
        };
        let cfg: ServeConfig =
            toml::Table::try_into(table.clone()).map_err(|e: toml::de::Error| ConfigError {
                place: String::new(),
                message: format!(
                    "{} (keys: listen, queue, regions, capacity, replan_every, ledger, executor, api)",
                    e.message()
                ),
            })?;
        let mut defaults = 0;
        for (i, e) in cfg.executors.iter().enumerate() {
            if !KINDS.contains(&e.kind.as_str()) {
                return Err(ConfigError {
                    place: format!(".executor[{i}].kind"),
                    message: format!(
                        "`{}` is not an executor; use one of {}",
                        e.kind,
                        KINDS.join(", ")
                    ),
                });
            }
            if e.zones.is_empty() {
                defaults += 1;
            }
        }
        if defaults > 1 {
            return Err(ConfigError {
                place: ".executor".into(),
                message: format!(
                    "{defaults} executors have no `zones`; only one may be the default for the zones no other executor claims"
                ),
            });
        }
        Ok(cfg)
    }

    /// The kind's options of executor `i`, deserialised into the kind's own config type
    /// (which should deny unknown fields), with errors that name the executor and the key.
    pub fn options<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T, ConfigError> {
        let e = &self.executors[i];
        toml::Table::try_into(e.options.clone()).map_err(|err: toml::de::Error| ConfigError {
            place: format!(".executor[{i}] (kind = \"{}\")", e.kind),
            message: err.message().to_string(),
        })
    }
}

/// The executor kinds this build knows.
pub const KINDS: [&str; 3] = ["local", "slurm", "kubernetes"];

/// Options of the local executor (none yet: jobs run on this machine under `kite run`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<ServeConfig, ConfigError> {
        let t: toml::Table = text.parse().unwrap();
        ServeConfig::parse(t.get("serve").and_then(|v| v.as_table()))
    }

    #[test]
    fn a_full_section_reads_and_executor_options_are_checked_by_kind() {
        let cfg = parse(
            r#"
            [serve]
            listen = "127.0.0.1:9000"
            regions = ["DE"]
            capacity = { DE = 8 }
            replan_every = "5m"
            [[serve.executor]]
            kind = "local"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.listen.unwrap().port(), 9000);
        assert_eq!(cfg.capacity["DE"], 8);
        assert_eq!(cfg.executors.len(), 1);
        cfg.options::<LocalConfig>(0).unwrap();
    }

    #[test]
    fn the_api_table_reads_and_refuses_unknown_keys() {
        let cfg = parse(
            "[serve.api]\nprivate_reads = true\ncors_origins = [\"https://a.example\"]\nrate_limit = { per_second = 5, burst = 10 }\nrequest_timeout = \"10s\"\nbody_limit = 1000\ncache_ttl = \"0s\"\n",
        )
        .unwrap();
        assert_eq!(cfg.api.private_reads, Some(true));
        assert_eq!(cfg.api.rate_limit.as_ref().unwrap().burst, Some(10));
        assert_eq!(cfg.api.body_limit, Some(1000));
        let e = parse("[serve.api]\nprivate_read = true\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("private_read"), "{e}");
        assert!(parse("[serve]\n").unwrap().api.rate_limit.is_none());
    }

    #[test]
    fn bad_sections_name_the_key_and_the_fix() {
        let e = parse("[serve]\nlisten = \"127.0.0.1:9000\"\nlisen = 1\n").unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
        let e = parse("[serve]\n[[serve.executor]]\nkind = \"nomad\"\n").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("executor[0].kind") && s.contains("nomad") && s.contains("local"),
            "{s}"
        );
        let e = parse(
            "[serve]\n[[serve.executor]]\nkind = \"local\"\n[[serve.executor]]\nkind = \"local\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("only one may be the default"), "{e}");
        let cfg = parse("[serve]\n[[serve.executor]]\nkind = \"local\"\nthreads = 4\n").unwrap();
        let e = cfg.options::<LocalConfig>(0).unwrap_err().to_string();
        assert!(e.contains("executor[0]") && e.contains("threads"), "{e}");
    }
}
