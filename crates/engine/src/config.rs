//! Configuration: a TOML file, then `KITE_*` environment variables, then command-line flags.
//!
//! Two stages, as in ripgrep's `LowArgs` → `HiArgs`: [`RawConfig`] is exactly what the file
//! says (serde, all optional); [`Config`] is validated, with every default applied and every
//! secret typed. The doc comments on [`RawConfig`]'s fields are the reference documentation;
//! `docs/config.example.toml` is checked by a test to parse.

use crate::EngineError;
use kite_core::Signal;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a setting may come from, for messages that tell the user how to fix it.
pub const CONFIG_ENV: &str = "KITE_CONFIG";
/// Overrides the database path.
pub const DATABASE_ENV: &str = "KITE_DATABASE";
/// The Electricity Maps API token.
pub const EM_TOKEN_ENV: &str = "KITE_ELECTRICITY_MAPS_TOKEN";
/// The WattTime user name.
pub const WT_USER_ENV: &str = "KITE_WATTTIME_USERNAME";
/// The WattTime password.
pub const WT_PASSWORD_ENV: &str = "KITE_WATTTIME_PASSWORD";

/// The configuration file as written. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Default zone or cloud region for commands that need one (e.g. `DE`, `aws:eu-west-1`).
    /// There is no built-in default: kite never guesses where you are.
    pub region: Option<String>,
    /// Path of the SQLite database (default: `$XDG_DATA_HOME/kite/kite.sqlite3`).
    pub database: Option<PathBuf>,
    /// Order in which sources are tried: any of `live`, `store`, `embedded`.
    /// Default `["live", "store", "embedded"]`.
    pub fallback: Option<Vec<String>>,
    /// Default signal: `average-lifecycle` (default), `average-direct` or `marginal`.
    pub signal: Option<String>,
    /// Power usage effectiveness of the data centre for `kite run` (1.0 to 3.0). `--pue`
    /// overrides it; without either, a cloud region uses its provider's published PUE, else 1.0.
    pub pue: Option<f64>,
    /// Live providers; each is off unless its section is present and enabled.
    #[serde(default)]
    pub providers: RawProviders,
    /// `kite serve`'s section (executors per region, queue, listen address). Kept as a table
    /// here and parsed by kite-service, which owns its meaning; the engine never reads it.
    pub serve: Option<toml::Table>,
}

/// The `[providers.*]` sections.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProviders {
    /// Electricity Maps API v3.
    pub electricity_maps: Option<RawElectricityMaps>,
    /// WattTime API v3 (marginal signal).
    pub watttime: Option<RawWattTime>,
    /// UK National Grid ESO Carbon Intensity API (no key).
    pub uk_carbon_intensity: Option<RawUkCarbonIntensity>,
}

/// Shared HTTP settings of a provider section.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Per-request timeout in seconds (default 10).
    pub timeout_secs: Option<f64>,
    /// Retries after the first attempt on timeouts, 5xx and 429 (default 3).
    pub max_retries: Option<u32>,
}

/// `[providers.electricity_maps]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawElectricityMaps {
    /// Set to false to keep the section but not use it.
    pub enabled: Option<bool>,
    /// API token; prefer the `KITE_ELECTRICITY_MAPS_TOKEN` environment variable.
    pub api_key: Option<String>,
    /// Base URL (default `https://api.electricitymap.org`).
    pub base_url: Option<String>,
    /// HTTP settings.
    #[serde(flatten)]
    pub http: RawHttp,
}

/// `[providers.watttime]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWattTime {
    /// Set to false to keep the section but not use it.
    pub enabled: Option<bool>,
    /// User name; or `KITE_WATTTIME_USERNAME`.
    pub username: Option<String>,
    /// Password; prefer `KITE_WATTTIME_PASSWORD`.
    pub password: Option<String>,
    /// Base URL (default `https://api.watttime.org`).
    pub base_url: Option<String>,
    /// HTTP settings.
    #[serde(flatten)]
    pub http: RawHttp,
}

/// `[providers.uk_carbon_intensity]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUkCarbonIntensity {
    /// Set to false to keep the section but not use it.
    pub enabled: Option<bool>,
    /// Base URL (default `https://api.carbonintensity.org.uk`).
    pub base_url: Option<String>,
    /// HTTP settings.
    #[serde(flatten)]
    pub http: RawHttp,
}

/// A place intensity values can come from, in the order the user configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// The configured live providers.
    Live,
    /// kite's local SQLite store (imports and cached fetches).
    Store,
    /// kite's own forecast from the latest measured data in the store (see `forecast.rs`).
    Forecast,
    /// The dataset compiled into the binary.
    Embedded,
}

impl SourceKind {
    fn parse(s: &str) -> Option<SourceKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "live" => Some(SourceKind::Live),
            "store" => Some(SourceKind::Store),
            "forecast" => Some(SourceKind::Forecast),
            "embedded" => Some(SourceKind::Embedded),
            _ => None,
        }
    }

    /// The name used in configuration and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Live => "live",
            SourceKind::Store => "store",
            SourceKind::Forecast => "forecast",
            SourceKind::Embedded => "embedded",
        }
    }
}

/// Validated HTTP settings.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
}

/// A validated live provider setting. Secrets stay in `kite_intensity`'s typed secret.
#[derive(Debug, Clone)]
pub enum ProviderSettings {
    /// Electricity Maps v3.
    ElectricityMaps {
        /// API base URL.
        base_url: String,
        /// The token.
        api_key: kite_intensity::ApiKey,
        /// HTTP settings.
        http: HttpSettings,
    },
    /// WattTime v3.
    WattTime {
        /// API base URL.
        base_url: String,
        /// User name.
        username: String,
        /// Password.
        password: kite_intensity::ApiKey,
        /// HTTP settings.
        http: HttpSettings,
    },
    /// UK Carbon Intensity API.
    UkCarbonIntensity {
        /// API base URL.
        base_url: String,
        /// HTTP settings.
        http: HttpSettings,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// File it was read from, if any.
    pub file: Option<PathBuf>,
    /// Default region, if configured.
    pub region: Option<String>,
    /// Database path.
    pub database: PathBuf,
    /// Source order.
    pub fallback: Vec<SourceKind>,
    /// Default signal.
    pub signal: Signal,
    /// Configured PUE, if any.
    pub pue: Option<f64>,
    /// Enabled live providers, in the order Electricity Maps, WattTime, UK.
    pub providers: Vec<ProviderSettings>,
    /// The `[serve]` table as written, for `kite serve`.
    pub serve: Option<toml::Table>,
}

/// Where the configuration file is looked for when none is named: `$KITE_CONFIG`, then
/// `$XDG_CONFIG_HOME/kite/config.toml`.
pub fn default_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CONFIG_ENV) {
        return Some(PathBuf::from(p));
    }
    use etcetera::BaseStrategy;
    etcetera::choose_base_strategy()
        .ok()
        .map(|s| s.config_dir().join("kite").join("config.toml"))
}

/// The default database path: `$KITE_DATABASE`, else `$XDG_DATA_HOME/kite/kite.sqlite3`.
pub fn default_database_path() -> Result<PathBuf, EngineError> {
    if let Some(p) = std::env::var_os(DATABASE_ENV) {
        return Ok(PathBuf::from(p));
    }
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy().map_err(|e| EngineError::Config {
        field: "database".into(),
        message: format!(
            "cannot find a home directory for the data dir ({e}); set {DATABASE_ENV} or --database"
        ),
    })?;
    Ok(base.data_dir().join("kite").join("kite.sqlite3"))
}

/// Reads the environment variables kite honours, so tests can pass their own.
pub trait Env {
    /// The value of `name`, if set and valid UTF-8.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Config {
    /// Loads `path` (or the default location when `None`; a missing default file is fine, a
    /// missing named file is an error) and applies the environment.
    pub fn load(path: Option<&Path>, env: &dyn Env) -> Result<Config, EngineError> {
        let (raw, file) = match path {
            Some(p) => (read_raw(p)?, Some(p.to_path_buf())),
            None => match default_config_path() {
                Some(p) if p.exists() => (read_raw(&p)?, Some(p)),
                _ => (RawConfig::default(), None),
            },
        };
        Config::build(raw, file, env)
    }

    /// Validates a raw configuration.
    pub fn build(
        raw: RawConfig,
        file: Option<PathBuf>,
        env: &dyn Env,
    ) -> Result<Config, EngineError> {
        let database = match raw.database {
            Some(p) => p,
            None => default_database_path()?,
        };
        let fallback = match raw.fallback {
            None => vec![
                SourceKind::Live,
                SourceKind::Store,
                SourceKind::Forecast,
                SourceKind::Embedded,
            ],
            Some(list) => {
                let mut out = Vec::new();
                for item in &list {
                    let kind = SourceKind::parse(item).ok_or_else(|| EngineError::Config {
                        field: "fallback".into(),
                        message: format!(
                            "`{item}` is not a source: use any of \"live\", \"store\", \"forecast\", \"embedded\""
                        ),
                    })?;
                    if !out.contains(&kind) {
                        out.push(kind);
                    }
                }
                if out.is_empty() {
                    return Err(EngineError::Config {
                        field: "fallback".into(),
                        message: "the list is empty: name at least one of \"live\", \"store\", \"embedded\"".into(),
                    });
                }
                out
            }
        };
        let signal = match raw.signal.as_deref() {
            None => Signal::AVERAGE_LIFECYCLE,
            Some(s) => Signal::parse(s).ok_or_else(|| EngineError::Config {
                field: "signal".into(),
                message: format!(
                    "`{s}` is not a signal: use average-lifecycle, average-direct or marginal"
                ),
            })?,
        };
        if let Some(pue) = raw.pue
            && !(pue.is_finite() && (1.0..=3.0).contains(&pue))
        {
            return Err(EngineError::Config {
                field: "pue".into(),
                message: format!(
                    "{pue} is not a power usage effectiveness: use a number from 1.0 to 3.0"
                ),
            });
        }
        let mut providers = Vec::new();
        let p = raw.providers;
        if let Some(em) = p.electricity_maps
            && em.enabled != Some(false)
        {
            let key = env
                .var(EM_TOKEN_ENV)
                .or(em.api_key)
                .ok_or_else(|| EngineError::Config {
                    field: "providers.electricity_maps.api_key".into(),
                    message: format!(
                        "Electricity Maps is enabled but has no token: set {EM_TOKEN_ENV} or api_key, or remove the section"
                    ),
                })?;
            providers.push(ProviderSettings::ElectricityMaps {
                base_url: em
                    .base_url
                    .unwrap_or_else(|| "https://api.electricitymap.org".into()),
                api_key: kite_intensity::ApiKey::new(key),
                http: http_settings(&em.http, "providers.electricity_maps")?,
            });
        }
        if let Some(wt) = p.watttime
            && wt.enabled != Some(false)
        {
            let missing = |what: &str, var: &str| EngineError::Config {
                field: format!("providers.watttime.{what}"),
                message: format!(
                    "WattTime is enabled but has no {what}: set {var} or {what}, or remove the section"
                ),
            };
            let username = env
                .var(WT_USER_ENV)
                .or(wt.username)
                .ok_or_else(|| missing("username", WT_USER_ENV))?;
            let password = env
                .var(WT_PASSWORD_ENV)
                .or(wt.password)
                .ok_or_else(|| missing("password", WT_PASSWORD_ENV))?;
            providers.push(ProviderSettings::WattTime {
                base_url: wt
                    .base_url
                    .unwrap_or_else(|| "https://api.watttime.org".into()),
                username,
                password: kite_intensity::ApiKey::new(password),
                http: http_settings(&wt.http, "providers.watttime")?,
            });
        }
        if let Some(uk) = p.uk_carbon_intensity
            && uk.enabled != Some(false)
        {
            providers.push(ProviderSettings::UkCarbonIntensity {
                base_url: uk
                    .base_url
                    .unwrap_or_else(|| "https://api.carbonintensity.org.uk".into()),
                http: http_settings(&uk.http, "providers.uk_carbon_intensity")?,
            });
        }
        Ok(Config {
            file,
            region: raw.region,
            database,
            fallback,
            signal,
            pue: raw.pue,
            providers,
            serve: raw.serve,
        })
    }
}

fn http_settings(raw: &RawHttp, section: &str) -> Result<HttpSettings, EngineError> {
    let timeout = raw.timeout_secs.unwrap_or(10.0);
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 600.0) {
        return Err(EngineError::Config {
            field: format!("{section}.timeout_secs"),
            message: format!("{timeout} is not a timeout: use a number of seconds in (0, 600]"),
        });
    }
    let max_retries = raw.max_retries.unwrap_or(3);
    if max_retries > 10 {
        return Err(EngineError::Config {
            field: format!("{section}.max_retries"),
            message: format!("{max_retries} retries is too many: use 0 to 10"),
        });
    }
    Ok(HttpSettings {
        timeout: Duration::from_secs_f64(timeout),
        max_retries,
    })
}

fn read_raw(path: &Path) -> Result<RawConfig, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::Config {
        field: "--config".into(),
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    toml::from_str(&text).map_err(|e| EngineError::Config {
        field: path.display().to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, &'static str>);
    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|s| s.to_string())
        }
    }

    fn build(toml_text: &str, env: &[(&'static str, &'static str)]) -> Result<Config, EngineError> {
        let mut raw: RawConfig = toml::from_str(toml_text).map_err(|e| EngineError::Config {
            field: "test".into(),
            message: e.to_string(),
        })?;
        raw.database
            .get_or_insert_with(|| PathBuf::from("/tmp/kite-test.sqlite3"));
        Config::build(raw, None, &MapEnv(env.iter().cloned().collect()))
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../../docs/config.example.toml");
        let cfg = build(
            text,
            &[(EM_TOKEN_ENV, "secret-token"), (WT_PASSWORD_ENV, "pw")],
        )
        .unwrap();
        assert_eq!(cfg.providers.len(), 3);
        assert_eq!(
            cfg.fallback,
            vec![
                SourceKind::Live,
                SourceKind::Store,
                SourceKind::Forecast,
                SourceKind::Embedded
            ]
        );
        assert!(
            !format!("{cfg:?}").contains("secret-token"),
            "secrets never print"
        );
    }

    #[test]
    fn defaults_have_no_live_provider_and_no_region() {
        let cfg = build("", &[]).unwrap();
        assert!(cfg.providers.is_empty());
        assert!(cfg.region.is_none());
        assert_eq!(cfg.signal, Signal::AVERAGE_LIFECYCLE);
    }

    #[test]
    fn bad_fields_are_named() {
        let err = build("fallback = [\"cloud\"]", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("fallback") && err.contains("cloud"), "{err}");
        let err = build("[providers.electricity_maps]\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains(EM_TOKEN_ENV), "{err}");
        let err = build("[providers.uk_carbon_intensity]\ntimeout_secs = -1\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("timeout_secs"), "{err}");
        assert!(
            build("colour = 1", &[]).is_err(),
            "unknown fields are refused"
        );
    }
}
