//! Human-friendly sizes and durations, shared by the command line, the spec and the profile.
//!
//! One grammar for each, wherever a size or a duration is written (command line, spec, profile,
//! request and batch files): sizes are plain bytes or an IEC suffix (`KiB`, `MiB`, `GiB`; `K`,
//! `M`, `G` are read the same way); `MB`-style decimal suffixes are refused with a hint rather
//! than read as something the writer may not have meant. Durations are plain seconds (`2`,
//! `0.5`) or humantime (`500ms`, `90s`, `1m`, `1h`, `1h 30m`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a size or duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {input:?}: {why}")]
pub struct ParseError {
    kind: &'static str,
    input: String,
    why: &'static str,
}

impl ParseError {
    fn new(kind: &'static str, input: &str, why: &'static str) -> Self {
        Self {
            kind,
            input: input.to_owned(),
            why,
        }
    }
}

/// A number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(pub u64);

impl Size {
    pub const KIB: u64 = 1024;
    pub const MIB: u64 = 1024 * 1024;
    pub const GIB: u64 = 1024 * 1024 * 1024;

    pub const fn bytes(self) -> u64 {
        self.0
    }
    pub const fn mib(n: u64) -> Self {
        Self(n * Self::MIB)
    }
}

impl FromStr for Size {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        const KIND: &str = "size";
        let s = input.trim();
        if s.starts_with('-') {
            return Err(ParseError::new(KIND, input, "a size cannot be negative"));
        }
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, suffix) = s.split_at(split);
        if digits.is_empty() {
            return Err(ParseError::new(
                KIND,
                input,
                "expected a whole number of bytes, optionally followed by KiB, MiB or GiB",
            ));
        }
        let n: u64 = digits
            .parse()
            .map_err(|_| ParseError::new(KIND, input, "number too large"))?;
        let mult = match suffix.trim() {
            "" | "B" => 1,
            "K" | "KiB" | "k" => Size::KIB,
            "M" | "MiB" => Size::MIB,
            "G" | "GiB" => Size::GIB,
            "kB" | "KB" => return Err(ParseError::new(KIND, input, DECIMAL_HINT_K)),
            "MB" => return Err(ParseError::new(KIND, input, DECIMAL_HINT_M)),
            "GB" => return Err(ParseError::new(KIND, input, DECIMAL_HINT_G)),
            _ => {
                return Err(ParseError::new(
                    KIND,
                    input,
                    "unknown suffix (use KiB, MiB or GiB)",
                ));
            }
        };
        n.checked_mul(mult)
            .map(Size)
            .ok_or_else(|| ParseError::new(KIND, input, "size overflows 64 bits"))
    }
}

// Decimal units are refused rather than read as binary: `256MB` means 256,000,000 bytes to some
// writers and 256 MiB to others, and a limit must not depend on which one wrote it.
const DECIMAL_HINT_K: &str = "decimal units are not accepted: write KiB (1024 bytes)";
const DECIMAL_HINT_M: &str = "decimal units are not accepted: write MiB (1024 KiB)";
const DECIMAL_HINT_G: &str = "decimal units are not accepted: write GiB (1024 MiB)";

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n != 0 && n.is_multiple_of(Size::GIB) {
            write!(f, "{}GiB", n / Size::GIB)
        } else if n != 0 && n.is_multiple_of(Size::MIB) {
            write!(f, "{}MiB", n / Size::MIB)
        } else if n != 0 && n.is_multiple_of(Size::KIB) {
            write!(f, "{}KiB", n / Size::KIB)
        } else {
            write!(f, "{n}")
        }
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumOrStr::deserialize(d)? {
            NumOrStr::Num(n) if n >= 0.0 && n.fract() == 0.0 && n <= u64::MAX as f64 =>
            {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok(Size(n as u64))
            }
            NumOrStr::Num(n) => Err(serde::de::Error::custom(format!(
                "size {n}: expected a whole, non-negative number of bytes"
            ))),
            NumOrStr::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A span of time, kept in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secs(pub Duration);

impl Secs {
    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }
    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Longer than any match should run; protects arithmetic on deadlines from overflow.
const MAX_SECS: f64 = 7.0 * 24.0 * 3600.0;

impl FromStr for Secs {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let d = parse_duration(input)?;
        secs_from_f64(d.as_secs_f64()).ok_or_else(|| {
            ParseError::new("duration", input, "must be more than 0 and at most 7 days")
        })
    }
}

/// The one duration grammar: plain seconds (`2`, `0.5`) or humantime (`500ms`, `90s`, `1m`,
/// `1h 30m`, `7d`). [`Secs`] adds its range on top; a caller with another range (how old a
/// finished match must be to be collected) checks its own.
pub fn parse_duration(input: &str) -> Result<Duration, ParseError> {
    const KIND: &str = "duration";
    const EXPECTED: &str = "expected seconds (2, 0.5) or a duration such as 500ms, 90s, 1m, 1h";
    let s = input.trim();
    if s.starts_with('-') {
        return Err(ParseError::new(
            KIND,
            input,
            "a duration cannot be negative",
        ));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = s
            .parse()
            .map_err(|_| ParseError::new(KIND, input, EXPECTED))?;
        Duration::try_from_secs_f64(secs).map_err(|_| ParseError::new(KIND, input, EXPECTED))
    } else {
        humantime::parse_duration(s).map_err(|_| ParseError::new(KIND, input, EXPECTED))
    }
}

fn secs_from_f64(secs: f64) -> Option<Secs> {
    (secs.is_finite() && secs > 0.0 && secs <= MAX_SECS)
        .then(|| Secs(Duration::from_secs_f64(secs)))
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_millis();
        if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl Serialize for Secs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumOrStr::deserialize(d)? {
            NumOrStr::Num(n) => secs_from_f64(n).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "duration {n}: must be more than 0 and at most 7 days"
                ))
            }),
            NumOrStr::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl schemars::JsonSchema for Size {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Bytes: a whole number, or a string with an IEC suffix (`64MiB`, `1GiB`; `K`, `M`, `G` read the same). Decimal units (`MB`) are refused.",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+\\s*(B|K|k|KiB|M|MiB|G|GiB)?\\s*$" }
            ]
        })
    }
}

impl schemars::JsonSchema for Secs {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "More than 0 and at most 7 days: seconds as a number or a string (`2`, `0.5`), or a humantime string (`500ms`, `90s`, `1m`, `1h`).",
            "anyOf": [
                { "type": "number", "exclusiveMinimum": 0, "maximum": MAX_SECS },
                { "type": "string", "pattern": "^\\s*[0-9]" }
            ]
        })
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    Num(f64),
    Str(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!("4096".parse::<Size>(), Ok(Size(4096)));
        assert_eq!("64MiB".parse::<Size>(), Ok(Size(64 << 20)));
        assert_eq!("2 GiB".parse::<Size>(), Ok(Size(2 << 30)));
        assert_eq!("1K".parse::<Size>(), Ok(Size(1024)));
        assert!("".parse::<Size>().is_err());
        assert!("-1".parse::<Size>().is_err());
        let negative = "-1".parse::<Size>().unwrap_err().to_string();
        assert!(negative.contains("negative"), "{negative}");
        let decimal = "256MB".parse::<Size>().unwrap_err().to_string();
        assert!(decimal.contains("MiB"), "{decimal}");
        assert!("1GB".parse::<Size>().is_err());
        assert!("12XB".parse::<Size>().is_err());
        assert!("99999999999999999999GiB".parse::<Size>().is_err());
        assert_eq!(Size(64 << 20).to_string(), "64MiB");
    }

    #[test]
    fn durations() {
        assert_eq!("2".parse::<Secs>(), Ok(Secs::from_millis(2000)));
        assert_eq!("0.25".parse::<Secs>(), Ok(Secs::from_millis(250)));
        assert_eq!("500ms".parse::<Secs>(), Ok(Secs::from_millis(500)));
        assert_eq!("1m".parse::<Secs>(), Ok(Secs::from_millis(60_000)));
        assert!("0".parse::<Secs>().is_err());
        assert!("nan".parse::<Secs>().is_err());
        assert_eq!("90s".parse::<Secs>(), Ok(Secs::from_millis(90_000)));
        assert_eq!("1h".parse::<Secs>(), Ok(Secs::from_millis(3_600_000)));
        assert_eq!("1h 30m".parse::<Secs>(), Ok(Secs::from_millis(5_400_000)));
        assert!("8days".parse::<Secs>().is_err());
        assert!("1e9".parse::<Secs>().is_err());
        assert!("2 parsecs".parse::<Secs>().is_err());
        let negative = "-2s".parse::<Secs>().unwrap_err().to_string();
        assert!(negative.contains("negative"), "{negative}");
    }
}
