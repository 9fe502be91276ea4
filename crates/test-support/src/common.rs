//! Small helpers shared by the fake routers: time parsing and filtering fixture lists by time.

use jiff::Timestamp;
use serde_json::Value;

/// Keeps the elements of the list at `list_path` whose `field` parses as a time in
/// `[from, to]` (or `[from, to)` when `end_inclusive` is false). Other JSON is kept as is.
pub(crate) fn filter_by_time(
    fixture: &str,
    list_path: &[&str],
    field: &str,
    from: Timestamp,
    to: Timestamp,
    end_inclusive: bool,
) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(fixture) else {
        return fixture.to_string();
    };
    let mut cursor = &mut doc;
    for key in list_path {
        let Some(next) = cursor.get_mut(*key) else {
            return fixture.to_string();
        };
        cursor = next;
    }
    if let Value::Array(items) = cursor {
        items.retain(|item| {
            item.get(field)
                .and_then(Value::as_str)
                .and_then(parse_time)
                .is_some_and(|t| t >= from && (t < to || (end_inclusive && t == to)))
        });
    }
    doc.to_string()
}

/// Parses RFC 3339 and the UK API's minute form `2026-03-10T12:00Z`.
pub(crate) fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok().or_else(|| {
        let minutes = s.strip_suffix('Z')?;
        format!("{minutes}:00Z").parse().ok()
    })
}
