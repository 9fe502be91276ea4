//! Canonical grid-zone keys, in the Electricity Maps style (`DE`, `GB`, `US-CAL-CISO`).
//! Which keys exist, and their aliases, is kite-regions' business; this type only guarantees the
//! spelling, so a `ZoneKey` can be used as a map key and printed without escaping.

use std::fmt;

/// Why a string is not a zone key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a zone key: use upper-case letters, digits and '-', 2 to 32 characters (e.g. DE, US-CAL-CISO)"
)]
pub struct ZoneKeyError {
    /// What was given.
    pub input: String,
}

/// A canonical zone key such as `DE` or `US-MIDA-PJM`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZoneKey(String);

impl ZoneKey {
    /// Checks the spelling; does not check that the zone exists.
    pub fn new(key: &str) -> Result<ZoneKey, ZoneKeyError> {
        let ok = (2..=32).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            && !key.starts_with('-')
            && !key.ends_with('-');
        if ok {
            Ok(ZoneKey(key.to_string()))
        } else {
            Err(ZoneKeyError {
                input: key.to_string(),
            })
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ZoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_is_checked() {
        assert_eq!(ZoneKey::new("US-CAL-CISO").unwrap().as_str(), "US-CAL-CISO");
        assert!(ZoneKey::new("de").is_err());
        assert!(ZoneKey::new("D").is_err());
        assert!(ZoneKey::new("-DE").is_err());
        assert!(ZoneKey::new("CAISO_NORTH").is_err());
    }
}
