//! Byte-level CSV reading without per-row allocation: lines are found with memchr, fields are
//! slices of the input collected into one reused `Vec`. Only the CSV subset intensity files use
//! is handled: comma separators, `\n` or `\r\n` line ends, and double-quoted fields (a quoted
//! field is returned without its quotes; `""` inside it is kept as is, which is harmless for
//! the numeric, time and zone fields read here).

use memchr::{memchr, memchr_iter};

/// Lines of `bytes` with their 1-based numbers, `\r` stripped.
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    number: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Lines<'a> {
        // A UTF-8 byte-order mark, as spreadsheet programs write, is not part of the header.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        Lines {
            bytes,
            pos: 0,
            number: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        let rest = self.bytes.get(self.pos..).filter(|r| !r.is_empty())?;
        let (line, advance) = match memchr(b'\n', rest) {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        self.number += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some((self.number, line))
    }
}

/// Splits `line` into `fields` (cleared first).
pub(crate) fn split<'a>(line: &'a [u8], fields: &mut Vec<&'a [u8]>) {
    fields.clear();
    if memchr(b'"', line).is_some() {
        return split_quoted(line, fields);
    }
    let mut start = 0;
    for comma in memchr_iter(b',', line) {
        fields.push(&line[start..comma]);
        start = comma + 1;
    }
    fields.push(&line[start..]);
}

fn split_quoted<'a>(line: &'a [u8], fields: &mut Vec<&'a [u8]>) {
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            // Find the closing quote, skipping doubled quotes.
            let open = i + 1;
            let mut j = open;
            while j < line.len() {
                if line[j] == b'"' {
                    if line.get(j + 1) == Some(&b'"') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            fields.push(&line[open..j.min(line.len())]);
            // Anything between the closing quote and the next comma is dropped.
            match memchr(b',', line.get(j..).unwrap_or_default()) {
                Some(k) => i = j + k + 1,
                None => return,
            }
        } else {
            match memchr(b',', &line[i.min(line.len())..]) {
                Some(k) => {
                    fields.push(&line[i..i + k]);
                    i += k + 1;
                }
                None => {
                    fields.push(&line[i.min(line.len())..]);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        split(line.as_bytes(), &mut out);
        out.iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    #[test]
    fn splits_plain_and_quoted_fields() {
        assert_eq!(fields("a,b,,c"), ["a", "b", "", "c"]);
        assert_eq!(fields("a,"), ["a", ""]);
        assert_eq!(fields(""), [""]);
        assert_eq!(
            fields("2021,\"Korea, Republic of\",KR,1.5"),
            ["2021", "Korea, Republic of", "KR", "1.5"]
        );
        assert_eq!(fields("\"a\"\"b\",c"), ["a\"\"b", "c"]);
        assert_eq!(fields("x,\"\""), ["x", ""]);
    }

    #[test]
    fn lines_strip_bom_and_cr() {
        let got: Vec<(usize, &[u8])> = Lines::new(b"\xEF\xBB\xBFh\r\na\n\nb").collect();
        assert_eq!(
            got,
            vec![
                (1, &b"h"[..]),
                (2, &b"a"[..]),
                (3, &b""[..]),
                (4, &b"b"[..])
            ]
        );
    }
}
