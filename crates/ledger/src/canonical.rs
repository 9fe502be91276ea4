//! The entry encoding: RFC 8785 JSON Canonicalization Scheme (JCS), version 1.
//!
//! An entry is one JSON object carrying the envelope fields `kind` (a lowercase name such as
//! `"run"`) and `v` (the record's schema version, an integer ≥ 1). It is stored and hashed as
//! its JCS bytes: keys sorted by UTF-16 code units, no whitespace, numbers in their shortest
//! ECMAScript form, strings with the minimal escapes. Two writers that agree on the value agree
//! on the bytes, so anyone can recompute a leaf hash from the record.
//!
//! Input is stricter than JSON (I-JSON, RFC 7493): duplicate keys and integers beyond ±2^53
//! (which JCS would silently round to a double) are rejected with the path of the field.
//!
//! The encoder is kite's own (numbers go through `ryu-js`, the ECMAScript number formatter): the
//! `serde_json_canonicalizer` crate is ten times slower, too slow to re-check a million entries
//! in a bundle within seconds. Property tests compare the two on random values, and the RFC's
//! own examples are tests.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// The encoding version in bundle headers and in `docs/ledger.md`.
pub const ENCODING: &str = "jcs-rfc8785";

/// Largest integer an IEEE 754 double holds exactly; JCS numbers are doubles.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value cannot be an entry. `path` is a JSONPath-like location (`$.energy.kwh`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{path}`: {message}")]
pub struct EncodingError {
    /// Where in the value the problem is (`$` is the whole entry).
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> EncodingError {
    EncodingError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Checks the envelope and the I-JSON rules, then returns the canonical (JCS) bytes.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, EncodingError> {
    let Value::Object(map) = value else {
        return Err(err(
            "$",
            format!(
                "an entry must be a JSON object, got {}; wrap it, e.g. {{\"kind\": \"note\", \"v\": 1, \"value\": ...}}",
                type_name(value)
            ),
        ));
    };
    check_envelope(map)?;
    check_numbers(value, &mut String::from("$"))?;
    Ok(to_jcs(value))
}

/// The RFC 8785 encoding of any JSON value (no envelope or range checks).
pub fn to_jcs(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_jcs(value, &mut out);
    out
}

fn write_jcs(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_jcs(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut fields: Vec<(&String, &Value)> = map.iter().collect();
            // RFC 8785 §3.2.3: sort by UTF-16 code units. For ASCII keys that is byte order.
            fields.sort_by(|a, b| {
                if a.0.is_ascii() && b.0.is_ascii() {
                    a.0.cmp(b.0)
                } else {
                    a.0.encode_utf16().cmp(b.0.encode_utf16())
                }
            });
            out.push(b'{');
            for (i, (k, v)) in fields.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_jcs(v, out);
            }
            out.push(b'}');
        }
    }
}

fn write_number(n: &Number, out: &mut Vec<u8>) {
    // Integers within ±2^53 print the same as their double in ECMAScript; larger ones are
    // refused by `canonicalize` before they get here, and fall back to the double otherwise.
    if let Some(u) = n.as_u64().filter(|u| *u <= MAX_SAFE_INTEGER) {
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER) {
        out.extend_from_slice(i.to_string().as_bytes());
    } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
        let mut buf = ryu_js::Buffer::new();
        out.extend_from_slice(buf.format_finite(f).as_bytes());
    } else {
        out.extend_from_slice(b"null"); // unreachable: serde_json numbers are finite
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    // ECMAScript JSON.stringify escaping (RFC 8785 §3.2.2.2): only `"`, `\` and controls.
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn check_envelope(map: &Map<String, Value>) -> Result<(), EncodingError> {
    match map.get("kind") {
        None => {
            return Err(err(
                "$.kind",
                "missing: every entry names its record kind, e.g. \"kind\": \"run\"",
            ));
        }
        Some(Value::String(k)) if valid_kind(k) => {}
        Some(other) => {
            return Err(err(
                "$.kind",
                format!(
                    "{other} is not a kind: use a lowercase name of letters, digits, `.`, `_` or `-` (e.g. \"run\", \"energy-contract\")"
                ),
            ));
        }
    }
    match map.get("v") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v >= 1) => Ok(()),
        None => Err(err(
            "$.v",
            "missing: every entry carries its schema version, e.g. \"v\": 1",
        )),
        Some(other) => Err(err(
            "$.v",
            format!("{other} is not a schema version: use an integer ≥ 1"),
        )),
    }
}

fn valid_kind(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && k.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

fn check_numbers(value: &Value, path: &mut String) -> Result<(), EncodingError> {
    match value {
        Value::Number(n) => check_number(n, path),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_numbers(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                check_numbers(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_number(n: &Number, path: &str) -> Result<(), EncodingError> {
    let too_big = match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => u > MAX_SAFE_INTEGER,
        (None, Some(i)) => i.unsigned_abs() > MAX_SAFE_INTEGER,
        (None, None) => false,
    };
    if too_big {
        return Err(err(
            path,
            format!(
                "{n} is beyond ±2^53 and would lose digits as a JSON number: store it as a string"
            ),
        ));
    }
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses JSON text like `serde_json`, but rejects duplicate object keys (which `serde_json`
/// would silently resolve to the last one), naming the object they are in.
pub fn parse_strict(text: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let value = StrictSeed { path: "$".into() }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Whether `bytes` are exactly the canonical encoding of a valid entry.
pub fn is_canonical(bytes: &[u8]) -> bool {
    parse_strict(bytes)
        .ok()
        .and_then(|v| canonicalize(&v).ok())
        .is_some_and(|c| c == bytes)
}

struct StrictSeed {
    path: String,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor { path: self.path })
    }
}

struct StrictVisitor {
    path: String,
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("field `{}`: {v} is not a finite number", self.path)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed {
            path: format!("{}[{}]", self.path, out.len()),
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}.{key}", self.path);
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "field `{path}`: duplicate key; an object may name each field once"
                )));
            }
            let v = map.next_value_seed(StrictSeed { path })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}
