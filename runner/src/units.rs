//! Human-friendly sizes and durations, shared by the command line, the spec and the profile.
//!
//! Sizes accept plain bytes or a binary suffix (`KiB`, `MiB`, `GiB`; `K`, `M`, `G` are read the
//! same way). Durations accept plain seconds (`2`, `0.5`) or a suffix (`ms`, `s`, `m`).

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
            "K" | "KiB" | "k" | "KB" => Size::KIB,
            "M" | "MiB" | "MB" => Size::MIB,
            "G" | "GiB" | "GB" => Size::GIB,
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
        const KIND: &str = "duration";
        let s = input.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, suffix) = s.split_at(split);
        let n: f64 = num.parse().map_err(|_| {
            ParseError::new(KIND, input, "expected seconds, e.g. 2, 0.5, 500ms, 1m")
        })?;
        let secs = match suffix.trim() {
            "" | "s" => n,
            "ms" => n / 1000.0,
            "m" | "min" => n * 60.0,
            _ => {
                return Err(ParseError::new(
                    KIND,
                    input,
                    "unknown suffix (use ms, s or m)",
                ));
            }
        };
        secs_from_f64(secs)
            .ok_or_else(|| ParseError::new(KIND, input, "must be more than 0 and at most 7 days"))
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
        assert!("1h".parse::<Secs>().is_err());
        assert!("1e9".parse::<Secs>().is_err());
    }
}
