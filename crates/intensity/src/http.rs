//! The one HTTP client policy every provider uses: per-request timeout, bounded retries with
//! exponential backoff and jitter, `Retry-After`, and the mapping of failures to
//! [`ProviderError`].
//!
//! Retried: connection failures, timeouts, 5xx and 429. Not retried: other 4xx, which a retry
//! cannot fix. A `Retry-After` (seconds or HTTP-date) on 429/503 replaces the computed backoff;
//! if it asks for longer than `max_backoff`, the request fails at once (429 as
//! [`ProviderError::RateLimited`] carrying the wait) instead of blocking the caller for ages.
//!
//! Invariants: secrets travel only in headers marked sensitive, never in the URL; error messages
//! carry the URL without its query string and have any secret echoed by the server masked;
//! redirects are not followed, so a custom auth header can never be replayed to another host.

use crate::provider::ProviderError;
use crate::secret::ApiKey;
use jiff::Timestamp;
use kite_core::{Clock, SystemClock};
use reqwest::header::{DATE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Timeouts and retry tuning for a provider's HTTP requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpPolicy {
    /// Limit for one request, from connecting to the last byte of the body.
    pub timeout: Duration,
    /// Retries after the first attempt (so at most `max_retries + 1` requests).
    pub max_retries: u32,
    /// Backoff before the first retry; doubles for each further one.
    pub base_backoff: Duration,
    /// The longest wait between attempts, computed or asked for by `Retry-After`.
    pub max_backoff: Duration,
}

impl Default for HttpPolicy {
    /// 10 s timeout, 3 retries, backoff from 500 ms up to 30 s.
    fn default() -> Self {
        HttpPolicy {
            timeout: Duration::from_secs(10),
            max_retries: 3,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl HttpPolicy {
    /// The wait before retry number `attempt` (0 for the first) when the server did not say:
    /// `base_backoff * 2^attempt`, capped at `max_backoff`, of which the upper half is random
    /// ("equal jitter"), so clients that failed together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2f64.powi(i32::try_from(attempt.min(30)).unwrap_or(30));
        let exp = self.base_backoff.mul_f64(factor).min(self.max_backoff);
        let half = exp / 2;
        half + half.mul_f64(jitter_unit())
    }
}

/// A number in `[0, 1)`, random enough to spread retries; std only (`RandomState` is seeded
/// randomly per process and differs per instance).
fn jitter_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u8(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Why a provider could not be built from its config.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `base_url` is not an absolute http(s) URL, or carries credentials.
    #[error(
        "{provider}: base_url `{url}` is unusable: {detail}. Fix `base_url` in [providers.{provider}]"
    )]
    BadBaseUrl {
        /// The provider's name.
        provider: &'static str,
        /// The configured URL.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A required key or password is empty.
    #[error("{provider}: no credentials configured. Set {key_source}")]
    MissingCredentials {
        /// The provider's name.
        provider: &'static str,
        /// Where the credentials are read from.
        key_source: &'static str,
    },
    /// A key that cannot travel in an HTTP header (control or non-ASCII characters).
    #[error(
        "{provider}: the configured key cannot be sent in an HTTP header (it has control or \
         non-ASCII characters, often a pasted newline). Check {key_source}"
    )]
    UnusableCredentials {
        /// The provider's name.
        provider: &'static str,
        /// Where the credentials are read from.
        key_source: &'static str,
    },
    /// The HTTP client (TLS setup) could not be created.
    #[error("{provider}: could not set up the HTTP client: {detail}")]
    Client {
        /// The provider's name.
        provider: &'static str,
        /// The underlying error.
        detail: String,
    },
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// No credentials (UK Carbon Intensity API).
    None,
    /// A custom header carrying the key (Electricity Maps `auth-token`).
    Header(&'static str, &'a ApiKey),
    /// `Authorization: Bearer <token>`.
    Bearer(&'a ApiKey),
    /// HTTP basic auth.
    Basic(&'a str, &'a ApiKey),
}

impl Auth<'_> {
    fn secret(&self) -> Option<&str> {
        match self {
            Auth::None => None,
            Auth::Header(_, key) | Auth::Bearer(key) | Auth::Basic(_, key) => Some(key.expose()),
        }
    }
}

/// One attempt's outcome.
enum Attempt {
    Done(String),
    Retry {
        error: ProviderError,
        retry_after: Option<Duration>,
    },
    Fail(ProviderError),
}

/// A provider's HTTP client: base URL, policy, and how to name the provider and its key in errors.
#[derive(Debug)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    policy: HttpPolicy,
    provider: &'static str,
    key_source: &'static str,
    base_url: String,
}

impl HttpClient {
    /// Checks `base_url` and builds the client.
    pub(crate) fn new(
        provider: &'static str,
        key_source: &'static str,
        base_url: &str,
        policy: HttpPolicy,
    ) -> Result<HttpClient, BuildError> {
        let bad = |url: &str, detail: &str| BuildError::BadBaseUrl {
            provider,
            url: url.to_string(),
            detail: detail.to_string(),
        };
        let parsed = reqwest::Url::parse(base_url).map_err(|e| bad(base_url, &e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad(base_url, "the scheme must be http or https"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            // Never echo a URL that holds a password.
            let mut shown = parsed.clone();
            let _ = shown.set_username("");
            let _ = shown.set_password(None);
            return Err(bad(
                shown.as_str(),
                "it contains credentials; put them in the key settings instead",
            ));
        }
        if parsed.query().is_some() {
            return Err(bad(base_url, "it must not have a query string"));
        }
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kite/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BuildError::Client {
                provider,
                detail: error_chain(&e),
            })?;
        Ok(HttpClient {
            client,
            policy,
            provider,
            key_source,
            base_url: base_url.trim_end_matches('/').to_string(),
        })
    }

    /// `GET base_url + path` with `query`, retried per the policy; parsed as `T`.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        auth: Auth<'_>,
    ) -> Result<T, ProviderError> {
        let body = self.get_text(path, query, auth).await?;
        serde_json::from_str(&body).map_err(|e| ProviderError::BadResponse {
            provider: self.provider,
            detail: format!("GET {path}: {e}"),
        })
    }

    /// `GET base_url + path` with `query`, retried per the policy; the body as text.
    pub(crate) async fn get_text(
        &self,
        path: &str,
        query: &[(&str, String)],
        auth: Auth<'_>,
    ) -> Result<String, ProviderError> {
        let url = format!("{}{}", self.base_url, path);
        let mut attempt = 0u32;
        loop {
            let (error, retry_after) = match self.attempt(&url, path, query, auth).await {
                Attempt::Done(body) => return Ok(body),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry { error, retry_after } => (error, retry_after),
            };
            if attempt >= self.policy.max_retries {
                return Err(error);
            }
            let wait = match retry_after {
                // Waiting longer than the cap would stall the caller; let it decide.
                Some(asked) if asked > self.policy.max_backoff => return Err(error),
                Some(asked) => asked,
                None => self.policy.backoff(attempt),
            };
            tracing::debug!(
                provider = self.provider,
                path,
                attempt = attempt + 1,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying provider request"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        url: &str,
        path: &str,
        query: &[(&str, String)],
        auth: Auth<'_>,
    ) -> Attempt {
        let mut request = self.client.get(url).query(query);
        match auth {
            Auth::None => {}
            Auth::Header(name, key) => match sensitive(key.expose()) {
                Some(value) => request = request.header(name, value),
                None => return Attempt::Fail(self.unusable_key(path)),
            },
            Auth::Bearer(token) => match sensitive(&format!("Bearer {}", token.expose())) {
                Some(value) => request = request.header(reqwest::header::AUTHORIZATION, value),
                None => return Attempt::Fail(self.unusable_key(path)),
            },
            // reqwest marks the basic-auth header sensitive itself. `expose` is required: the
            // `Display` of an `ApiKey` is `***`.
            Auth::Basic(user, password) => {
                request = request.basic_auth(user, Some(password.expose()));
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return self.transport_failure(&e, url),
        };
        let status = response.status().as_u16();
        tracing::debug!(provider = self.provider, path, status, "provider response");
        if response.status().is_success() {
            return match response.text().await {
                Ok(body) => Attempt::Done(body),
                Err(e) => self.transport_failure(&e, url),
            };
        }
        let retry_after = parse_retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        let mut message = error_message(&body);
        if let Some(secret) = auth.secret().filter(|s| !s.is_empty()) {
            message = message.replace(secret, "***");
        }
        let detail = format!("GET {path}: {message}");
        match status {
            429 => Attempt::Retry {
                error: ProviderError::RateLimited {
                    provider: self.provider,
                    retry_after,
                },
                retry_after,
            },
            401 | 403 => Attempt::Fail(ProviderError::Unauthorized {
                provider: self.provider,
                key_source: self.key_source.to_string(),
                status,
                detail,
            }),
            500..=599 => {
                let retry_after = retry_after.filter(|_| status == 503);
                let detail = match retry_after {
                    Some(d) => format!("{detail} (asked to retry after {} s)", d.as_secs()),
                    None => detail,
                };
                Attempt::Retry {
                    error: ProviderError::Http {
                        provider: self.provider,
                        status,
                        detail,
                    },
                    retry_after,
                }
            }
            _ => Attempt::Fail(ProviderError::Http {
                provider: self.provider,
                status,
                detail,
            }),
        }
    }

    fn transport_failure(&self, e: &reqwest::Error, url: &str) -> Attempt {
        if e.is_timeout() {
            return Attempt::Retry {
                error: ProviderError::Timeout {
                    provider: self.provider,
                    url: url.to_string(),
                    after: self.policy.timeout,
                },
                retry_after: None,
            };
        }
        let error = ProviderError::Unreachable {
            provider: self.provider,
            url: url.to_string(),
            detail: error_chain(e),
        };
        if e.is_builder() || e.is_redirect() {
            Attempt::Fail(error)
        } else {
            // Refused, reset, DNS, TLS handshake: often transient.
            Attempt::Retry {
                error,
                retry_after: None,
            }
        }
    }

    /// Configured keys are checked when the provider is built ([`header_safe`]), so this is a
    /// token the service itself handed out.
    fn unusable_key(&self, path: &str) -> ProviderError {
        ProviderError::BadResponse {
            provider: self.provider,
            detail: format!(
                "GET {path}: not sent: the token has characters not allowed in an HTTP header"
            ),
        }
    }
}

/// Whether `key` can be sent as a header value.
pub(crate) fn header_safe(key: &ApiKey) -> bool {
    HeaderValue::from_str(key.expose()).is_ok()
}

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The error and its sources as one line, without the URL (which may carry a query string).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        let text = err.to_string();
        // reqwest repeats the URL in its own Display; hyper's sources don't.
        let text = match text.split_once(" for url (") {
            Some((head, _)) => head.to_string(),
            None => text,
        };
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}

/// The provider's message from an error body: `{"error": ".."}`, `{"message": ".."}`, both, or
/// `{"error": {"code": "..", "message": ".."}}`; else the start of the body itself.
pub(crate) fn error_message(body: &str) -> String {
    use serde_json::Value;
    if let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(body) {
        let mut parts: Vec<String> = Vec::new();
        let mut push = |v: Option<&Value>| {
            if let Some(Value::String(s)) = v
                && !s.is_empty()
                && !parts.contains(s)
            {
                parts.push(s.clone());
            }
        };
        match doc.get("error") {
            Some(Value::Object(inner)) => {
                push(inner.get("code"));
                push(inner.get("message"));
            }
            other => push(other),
        }
        push(doc.get("message"));
        push(doc.get("detail"));
        if !parts.is_empty() {
            return parts.join(": ");
        }
    }
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(empty body)".into();
    }
    match one_line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// `Retry-After` as a wait: delta-seconds, or an HTTP-date measured from the response's `Date`
/// (the server's own clock, so skew between machines does not matter), else from our clock.
pub(crate) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    let reference = headers
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)
        .unwrap_or_else(|| SystemClock.now());
    let wait = at.duration_since(reference);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// An HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`); IMF-fixdate is a subset of RFC 2822.
fn parse_http_date(s: &str) -> Option<Timestamp> {
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    PARSER.parse_timestamp(s.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
        let h = headers(&[
            ("retry-after", "Tue, 10 Mar 2026 12:21:30 GMT"),
            ("date", "Tue, 10 Mar 2026 12:20:00 GMT"),
        ]);
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(90)));
        let past = headers(&[
            ("retry-after", "Tue, 10 Mar 2026 12:19:00 GMT"),
            ("date", "Tue, 10 Mar 2026 12:20:00 GMT"),
        ]);
        assert_eq!(parse_retry_after(&past), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "soon")])),
            None
        );
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = HttpPolicy {
            timeout: Duration::from_secs(1),
            max_retries: 10,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let first = p.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = p.backoff(2);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = p.backoff(20);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1000));
        }
        let spread: std::collections::HashSet<Duration> = (0..20).map(|_| p.backoff(3)).collect();
        assert!(spread.len() > 1, "jitter varies the wait");
    }

    #[test]
    fn error_bodies_of_all_three_shapes() {
        assert_eq!(error_message(r#"{"error":"Invalid zone"}"#), "Invalid zone");
        assert_eq!(error_message(r#"{"message":"No access"}"#), "No access");
        assert_eq!(
            error_message(r#"{"error":{"code":"400 Bad Request","message":"Bad date"}}"#),
            "400 Bad Request: Bad date"
        );
        assert_eq!(
            error_message(r#"{"error":"Forbidden","message":"no region"}"#),
            "Forbidden: no region"
        );
        assert_eq!(
            error_message("<html>\n  Bad gateway\n</html>"),
            "<html> Bad gateway </html>"
        );
        assert_eq!(error_message(""), "(empty body)");
        assert_eq!(error_message(&"x".repeat(500)).chars().count(), 201);
    }

    #[test]
    fn base_urls_are_checked() {
        let p = HttpPolicy::default();
        assert!(HttpClient::new("uk_carbon_intensity", "none", "https://api.example/", p).is_ok());
        for bad in [
            "ftp://x",
            "not a url",
            "https://user:pw@host",
            "https://host/?key=1",
        ] {
            let err = HttpClient::new("uk_carbon_intensity", "none", bad, p).unwrap_err();
            assert!(err.to_string().contains("base_url"), "{err}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }
}
