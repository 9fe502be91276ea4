//! Request parameters as the SDK's ASP.NET model binding reads them (names case-insensitive,
//! `location` repeated), and the 400 answers for bad ones: RFC 9457 problem JSON naming the
//! parameter, its value and the fix, plus the `errors` map of the SDK's
//! `ValidationProblemDetails` (`{"errors": {"<parameter>": ["<message>"]}}`), so clients written
//! against either shape find what they look for.

use crate::Problem;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kite_core::{SignedDuration, Timestamp};
use kite_regions::{Cloud, Registry, Zone};
use serde::Serialize;
use std::collections::BTreeMap;

/// An error answer of the SDK endpoints.
#[derive(Debug)]
pub struct CasdkError(pub Box<Problem>);

#[derive(Serialize)]
struct Body<'a> {
    #[serde(flatten)]
    problem: &'a Problem,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    errors: BTreeMap<&'a str, [&'a str; 1]>,
}

impl IntoResponse for CasdkError {
    fn into_response(self) -> Response {
        let p = &self.0;
        let mut errors = BTreeMap::new();
        if let Some(field) = &p.field {
            errors.insert(field.as_str(), [p.detail.as_str()]);
        }
        let body = serde_json::to_vec(&Body {
            problem: p.as_ref(),
            errors,
        })
        .unwrap_or_default();
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

/// A 400 naming the parameter, its value and the fix.
pub fn bad(
    field: &str,
    value: &str,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> CasdkError {
    let mut p = Problem::field(field, value, detail, fix);
    p.status = StatusCode::BAD_REQUEST.as_u16();
    p.title = "invalid parameter".into();
    CasdkError(Box::new(p))
}

/// A 400 for a required parameter that is missing.
pub fn missing(field: &str, example: &str) -> CasdkError {
    bad(
        field,
        "",
        format!("{field} is not set"),
        format!("add {field}, e.g. {example}"),
    )
}

/// A problem without a parameter (no data, internal failure).
pub fn problem(status: StatusCode, title: &str, detail: impl Into<String>) -> CasdkError {
    CasdkError(Box::new(Problem::new(status, title, detail)))
}

/// The decoded query string, in order.
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Decodes `a=1&b=2` (`+` and `%XX` as in HTML forms).
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Every value of any of `names` (case-insensitive, as ASP.NET binds), empty ones dropped
    /// as the SDK drops them.
    pub fn all(&self, names: &[&str]) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| !v.is_empty() && names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first non-empty value of `name`.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.all(&[name]).into_iter().next()
    }

    /// `name` as a time ([`time`]), if given.
    pub fn time(&self, name: &str, now: Timestamp) -> Result<Option<Timestamp>, CasdkError> {
        self.one(name).map(|v| time(name, v, now)).transpose()
    }
}

/// Parses a time: RFC 3339 (`2024-03-01T12:00:00Z`, `…+01:00`), a date (midnight UTC), a
/// date-time without offset (taken as UTC, where the SDK would use the server's time zone), or
/// kite's `now`, `now+6h`. A `+` offset that arrived unencoded (decoded to a space) is restored.
pub fn time(field: &str, value: &str, now: Timestamp) -> Result<Timestamp, CasdkError> {
    let parse = |s: &str| kite_core::parse_time_with(s, now, true);
    parse(value)
        .or_else(|e| match value.trim().contains(' ') {
            true => parse(&value.trim().replace(' ', "+")).map_err(|_| e),
            false => Err(e),
        })
        .map_err(|_| {
            bad(
                field,
                value,
                format!("{field} `{value}` is not a time"),
                format!(
                    "use RFC 3339 in UTC, e.g. {field}=2024-03-01T12:00:00Z (encode a `+` offset as %2B)"
                ),
            )
        })
}

/// The longest workload window kite averages over: a week.
pub const MAX_WINDOW_MINUTES: i64 = 7 * 24 * 60;

/// A window size in whole minutes, 1 to [`MAX_WINDOW_MINUTES`].
pub fn window_minutes(field: &str, value: &str) -> Result<i64, CasdkError> {
    match value.trim().parse::<i64>() {
        Ok(m) if (1..=MAX_WINDOW_MINUTES).contains(&m) => Ok(m),
        Ok(m) => Err(bad(
            field,
            value,
            format!(
                "{field} {m} is out of range: the workload lasts 1 to {MAX_WINDOW_MINUTES} minutes"
            ),
            format!("give the workload's duration in whole minutes, e.g. {field}=60"),
        )),
        Err(_) => Err(bad(
            field,
            value,
            format!("{field} `{value}` is not a whole number of minutes"),
            format!("give the workload's duration in whole minutes, e.g. {field}=60"),
        )),
    }
}

/// `start` must come before `end` (the SDK's `StartBeforeEnd`, keyed on the start parameter).
pub fn ordered(
    start_name: &str,
    end_name: &str,
    start: Timestamp,
    end: Timestamp,
) -> Result<(), CasdkError> {
    if start < end {
        return Ok(());
    }
    Err(bad(
        start_name,
        &start.to_string(),
        format!("{start_name} must be before {end_name} ({start_name} {start}, {end_name} {end})"),
        format!("give a {end_name} later than {start_name}, or swap them"),
    ))
}

/// The longest period the emissions endpoints read in one request.
pub const MAX_PERIOD: SignedDuration = SignedDuration::from_hours(24 * 366);

/// Refuses periods longer than [`MAX_PERIOD`].
pub fn not_too_long(field: &str, start: Timestamp, end: Timestamp) -> Result<(), CasdkError> {
    if end.duration_since(start) <= MAX_PERIOD {
        return Ok(());
    }
    Err(bad(
        field,
        &end.to_string(),
        format!("the period {start} to {end} is longer than 366 days"),
        "ask for at most a year per request (split longer periods)",
    ))
}

/// Finds a location's zone: a kite zone key or alias (`DE`, `CAISO_NORTH`), a prefixed cloud
/// region (`aws:eu-west-1`), or a bare cloud region as the SDK's clients send them
/// (`westeurope`, `eu-west-1`, `europe-west4`; tried as Azure, then AWS, then GCP).
pub fn resolve(location: &str) -> Result<&'static Zone, kite_regions::UnknownZone> {
    let registry = Registry::embedded();
    registry.resolve(location).or_else(|unknown| {
        [Cloud::Azure, Cloud::Aws, Cloud::Gcp]
            .into_iter()
            .find_map(|c| registry.resolve_cloud(c, location.trim()))
            .ok_or(unknown)
    })
}

/// [`resolve`], with the SDK's 400 for an unknown location (naming suggestions).
pub fn zone(field: &str, location: &str) -> Result<&'static Zone, CasdkError> {
    resolve(location).map_err(|mut unknown| {
        // Bare cloud regions are what SDK clients send: suggest close ones of every cloud too,
        // bare as well (the registry only spells out cloud suggestions for prefixed input).
        let registry = Registry::embedded();
        for c in [Cloud::Azure, Cloud::Aws, Cloud::Gcp] {
            if let Err(e) = registry.resolve(&format!("{c}:{}", location.trim())) {
                let prefix = format!("{c}:");
                for s in e.suggestions {
                    let bare = s.strip_prefix(&prefix).unwrap_or(&s).to_string();
                    if !unknown.suggestions.contains(&bare) {
                        unknown.suggestions.push(bare);
                    }
                }
            }
        }
        unknown.suggestions.truncate(5);
        let fix = if unknown.suggestions.is_empty() {
            "use a zone key (DE, US-CAL-CISO) or a cloud region (westeurope, eu-west-1, \
             europe-west4); GET /locations lists every name kite accepts"
                .to_string()
        } else {
            format!(
                "did you mean {}? GET /locations lists every name kite accepts",
                unknown.suggestions.join(", ")
            )
        };
        bad(
            field,
            location,
            format!("unknown location `{location}`"),
            fix,
        )
    })
}
