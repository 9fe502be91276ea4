//! A minimal CSV reader for the registry tables that xtask writes (RFC 4180: comma-separated,
//! `"`-quoted fields with `""` escapes, `\n` or `\r\n` line ends).
//!
//! Invariant: never panics; a malformed table is a [`TableError`]. The tables are generated and
//! tested, so this only has to be correct, not fast or forgiving.

use std::fmt;

/// A malformed registry table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    /// Which table.
    pub table: &'static str,
    /// 1-based line of the record.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.table, self.line, self.reason)
    }
}

impl std::error::Error for TableError {}

/// Splits `text` into records of fields. The header is returned as the first record.
pub fn records(table: &'static str, text: &str) -> Result<Vec<Vec<String>>, TableError> {
    let mut out = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            '"' => {
                return Err(TableError {
                    table,
                    line,
                    reason: "quote inside an unquoted field".into(),
                });
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                out.push(std::mem::take(&mut record));
                at_field_start = true;
                line += 1;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err(TableError {
            table,
            line,
            reason: "unterminated quote".into(),
        });
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        out.push(record);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_commas_and_line_ends() {
        let t = "a,b\n1,\"x, \"\"y\"\"\"\r\n,\n2,z";
        let r = records("t", t).unwrap();
        assert_eq!(
            r,
            vec![
                vec!["a", "b"],
                vec!["1", "x, \"y\""],
                vec!["", ""],
                vec!["2", "z"],
            ]
        );
        assert!(records("t", "a,\"b").is_err());
        assert!(records("t", "a,b\"c").is_err());
    }
}
