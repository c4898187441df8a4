//! Player and match ids: checked once, where they enter (a spec, a request, a batch file, the
//! command line), and carried as types afterwards so nothing downstream checks them again.
//!
//! An id that is not valid is refused with the reason and, when one exists, the valid id the
//! writer probably meant; it is never rewritten behind their back (`Alice` is not `alice`): the
//! id names files, logs, Kubernetes objects and the result's scores, and a silent rewrite makes
//! two spellings of one player, or one spelling of two.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest player id: a DNS-1123 label.
pub const PLAYER_ID_MAX: usize = 63;

/// Longest match id: `match-` plus the id must stay a DNS-1123 label (63), and the Job
/// controller appends `-xxxxx` to name the pod, which must stay under 63 for labels too.
pub const MATCH_ID_MAX: usize = 52;

/// Ids no player may take: the referee's files in the output directory use it.
pub const RESERVED_PLAYER_IDS: &[&str] = &["referee"];

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {input:?} {why}{}", hint.as_ref().map(|h| format!(" (did you mean {h:?}?)")).unwrap_or_default())]
pub struct IdError {
    what: &'static str,
    input: String,
    why: String,
    hint: Option<String>,
}

/// Checks `s` is a DNS-1123 label of at most `max` characters: `[a-z0-9-]`, not starting or
/// ending with `-`. Returns why not.
fn check_label(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("is empty".to_owned());
    }
    if s.len() > max {
        return Err(format!("is longer than {max} characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may use only a-z, 0-9 and -".to_owned());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("may not start or end with -".to_owned());
    }
    Ok(())
}

/// The valid label closest to `raw`, to suggest in an error: lower-cased, runs of other
/// characters turned into one `-`, trimmed. Only ever shown, never used in `raw`'s place.
pub fn suggest_label(raw: &str, max: usize) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    (!out.is_empty() && out != raw).then_some(out)
}

/// Checks a DNS-1123 label (a tenant, a namespace, an id) and refuses it with a suggestion.
pub fn check_name(what: &'static str, raw: &str, max: usize) -> Result<(), IdError> {
    check_label(raw, max).map_err(|why| IdError {
        what,
        input: raw.to_owned(),
        why: format!("is not a DNS-1123 label of at most {max} characters: it {why}"),
        hint: suggest_label(raw, max),
    })
}

/// A player id: 1 to 63 of `[a-z0-9-]`, not starting or ending with `-`, not `referee`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlayerId(String);

impl PlayerId {
    pub fn new(raw: &str) -> Result<Self, IdError> {
        check_name("player id", raw, PLAYER_ID_MAX)?;
        if RESERVED_PLAYER_IDS.contains(&raw) {
            return Err(IdError {
                what: "player id",
                input: raw.to_owned(),
                why: "is reserved for the referee".to_owned(),
                hint: None,
            });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A match id: 1 to 52 of `[a-z0-9-]`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MatchId(String);

impl MatchId {
    pub fn new(raw: &str) -> Result<Self, IdError> {
        check_name("match id", raw, MATCH_ID_MAX)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_like {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(&s)
            }
        }
        impl From<$t> for String {
            fn from(id: $t) -> String {
                id.0
            }
        }
        impl std::str::FromStr for $t {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::borrow::Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}
string_like!(PlayerId);
string_like!(MatchId);

/// A DNS-1123 label of at most `max` characters, as a JSON Schema pattern.
fn label_pattern(max: usize) -> String {
    format!("^[a-z0-9]([a-z0-9-]{{0,{}}}[a-z0-9])?$", max - 2)
}

impl schemars::JsonSchema for PlayerId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PlayerId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A player id: a DNS-1123 label of at most 63 characters, not `referee`.",
            "type": "string",
            "pattern": label_pattern(PLAYER_ID_MAX),
            "not": { "enum": RESERVED_PLAYER_IDS },
        })
    }
}

impl schemars::JsonSchema for MatchId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MatchId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A match id: a DNS-1123 label of at most 52 characters.",
            "type": "string",
            "pattern": label_pattern(MATCH_ID_MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_are_kept_as_written() {
        for ok in ["a", "random", "bot-2", &"x".repeat(63)] {
            assert_eq!(PlayerId::new(ok).unwrap(), ok);
        }
        assert_eq!(MatchId::new(&"m".repeat(52)).unwrap().as_str().len(), 52);
    }

    #[test]
    fn invalid_ids_are_refused_with_the_valid_spelling_never_rewritten() {
        let e = PlayerId::new("Alice").unwrap_err().to_string();
        assert!(
            e.contains("a-z") && e.contains("did you mean \"alice\""),
            "{e}"
        );
        let e = PlayerId::new("numpy_bot").unwrap_err().to_string();
        assert!(e.contains("\"numpy-bot\""), "{e}");
        let e = PlayerId::new("referee").unwrap_err().to_string();
        assert!(e.contains("reserved"), "{e}");
        let e = MatchId::new(&"m".repeat(53)).unwrap_err().to_string();
        assert!(e.contains("52"), "{e}");
        for bad in ["", "-a", "a-", "a.b", "é"] {
            assert!(PlayerId::new(bad).is_err(), "{bad}");
        }
        assert_eq!(suggest_label("ÄÖ", 63), None);
    }

    #[test]
    fn the_schema_pattern_agrees_with_the_check() {
        let re = label_pattern(PLAYER_ID_MAX);
        assert_eq!(re, "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");
        assert_eq!(
            label_pattern(MATCH_ID_MAX),
            "^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$"
        );
    }

    #[test]
    fn serde_checks_on_the_way_in() {
        let id: PlayerId = serde_json::from_str("\"bot-1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"bot-1\"");
        let e = serde_json::from_str::<PlayerId>("\"Bot\"").unwrap_err();
        assert!(e.to_string().contains("\"bot\""), "{e}");
    }
}
