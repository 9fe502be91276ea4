//! Secrets (API keys, passwords, bearer tokens) as a type that cannot be printed by accident:
//! `Debug` and `Display` write `***`, and the value is readable only inside this crate.
//!
//! Invariant: the only way to get at the text is [`ApiKey::expose`], used where a request header
//! is built; those headers are also marked sensitive so HTTP-level logging hides them.

use std::fmt;

/// A secret string. Prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a secret taken from configuration.
    pub fn new(secret: impl Into<String>) -> ApiKey {
        ApiKey(secret.into())
    }

    /// The secret in environment variable `var`; `None` when unset, empty or not UTF-8.
    pub fn from_env(var: &str) -> Option<ApiKey> {
        let value = std::env::var(var).ok()?;
        let value = value.trim();
        (!value.is_empty()).then(|| ApiKey(value.to_string()))
    }

    /// Whether the secret is empty (a config that set `api_key = ""`).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// The secret itself, for building a request header; never format or log it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reads a plain string, so config files can say `api_key = "..."`.
impl<'de> serde::Deserialize<'de> for ApiKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ApiKey, D::Error> {
        String::deserialize(deserializer).map(ApiKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printing_never_leaks() {
        let key = ApiKey::new("sk-live-1234");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(key.to_string(), "***");
        assert_eq!(format!("{key:#?}"), "ApiKey(***)");
        #[derive(Debug)]
        #[allow(dead_code)] // Only printed.
        struct Config {
            api_key: ApiKey,
        }
        let shown = format!(
            "{:?}",
            Config {
                api_key: key.clone()
            }
        );
        assert!(!shown.contains("sk-live"), "{shown}");
        assert_eq!(key.expose(), "sk-live-1234");
    }

    #[test]
    fn deserializes_from_a_string() {
        let key: ApiKey = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(key.expose(), "abc");
        assert!(ApiKey::new("  ").is_empty());
    }
}
