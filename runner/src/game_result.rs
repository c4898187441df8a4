//! The referee's result: one typed document, read once, by [`GameResult::parse`].
//!
//! Its JSON Schema (`schemas/v1/game-result.json`) is generated from this type, and the
//! game's own tests validate the referee's real output against it, so the Python that writes
//! the result and the Rust that reads it cannot drift apart unnoticed.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::ids::PlayerId;

/// Largest result the referee may print.
pub const RESULT_MAX_BYTES: usize = 64 * 1024;

/// What the referee prints: the winner, every player's score, why the game ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GameResult {
    /// A player id, or `null` for a draw. Required: a missing winner is not a draw.
    #[serde(deserialize_with = "Option::deserialize")]
    #[schemars(required, schema_with = "player_id_or_null")]
    pub winner: Option<PlayerId>,
    /// Every player's score, and no one else's.
    #[serde(deserialize_with = "scores")]
    pub scores: BTreeMap<PlayerId, i64>,
    /// `higher score`, `draw: equal scores`, `forfeit by <ids>`, ...
    pub reason: String,
    /// Turns played.
    #[serde(deserialize_with = "turns")]
    pub turns: u64,
    /// Each player's standing at the end, as the referee saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<BTreeMap<PlayerId, PlayerStanding>>,
}

/// One player's standing in the referee's eyes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayerStanding {
    pub status: Standing,
    /// `ok`, `ok, N strike(s) (...)`, or `turn T: <why>` for a forfeit.
    #[serde(default)]
    pub detail: String,
}

/// Whether the referee let a player play to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Ok,
    Forfeit,
}

// `required` on an Option would drop its `null` from the schema; a draw's winner is `null`.
fn player_id_or_null(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [g.subschema_for::<PlayerId>(), { "type": "null" }]
    })
}

// serde's own messages for these ("invalid type: string, expected i64") do not say which field
// was wrong; a refused result's reason is read by people deciding whether the referee is buggy.
fn scores<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<PlayerId, i64>, D::Error> {
    let raw = BTreeMap::<PlayerId, serde_json::Value>::deserialize(d)?;
    raw.into_iter()
        .map(|(id, v)| match v.as_i64() {
            Some(n) => Ok((id, n)),
            None => Err(serde::de::Error::custom(format!(
                "score of {id} is not an integer"
            ))),
        })
        .collect()
}

fn turns<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    u64::deserialize(d)
        .map_err(|_| serde::de::Error::custom("turns must be a non-negative integer"))
}

impl GameResult {
    /// Accepts the referee's output only in the documented shape, naming exactly the players
    /// `ids` (a referee that names someone else, or forgets someone, is refused).
    pub fn parse(bytes: &[u8], ids: &[&str]) -> Result<Self, String> {
        if bytes.is_empty() {
            return Err("the referee printed no result".into());
        }
        if bytes.len() > RESULT_MAX_BYTES {
            return Err(format!(
                "the result is {} bytes, over the {RESULT_MAX_BYTES}-byte cap",
                bytes.len()
            ));
        }
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("the result is not JSON: {e}"))?;
        if !v.is_object() {
            return Err("the result is not a JSON object".into());
        }
        let r: Self = serde_json::from_value(v).map_err(|e| e.to_string())?;
        if let Some(w) = &r.winner
            && !ids.contains(&w.as_str())
        {
            return Err(format!("winner {w} is not one of the players"));
        }
        let mut named: Vec<&str> = r.scores.keys().map(PlayerId::as_str).collect();
        named.sort_unstable();
        let mut expected = ids.to_vec();
        expected.sort_unstable();
        if named != expected {
            return Err(format!(
                "scores name {named:?}, the players are {expected:?}"
            ));
        }
        if let Some(id) = r
            .players
            .iter()
            .flat_map(BTreeMap::keys)
            .find(|id| !ids.contains(&id.as_str()))
        {
            return Err(format!("players names {id}, who is not playing"));
        }
        Ok(r)
    }

    /// The players the referee declared forfeit.
    pub fn forfeited(&self) -> impl Iterator<Item = &PlayerId> {
        self.players
            .iter()
            .flatten()
            .filter(|(_, p)| p.status == Standing::Forfeit)
            .map(|(id, _)| id)
    }

    /// One line for the report: who won and why.
    pub fn describe(&self) -> String {
        match &self.winner {
            Some(w) => format!("{w} won ({})", self.reason),
            None => format!("no winner ({})", self.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[&str] = &["random", "greedy"];

    #[test]
    fn a_good_result_is_accepted() {
        let r = br#"{"winner":"greedy","scores":{"random":1,"greedy":5},"reason":"higher score","turns":100,
                    "players":{"random":{"status":"ok","detail":""},"greedy":{"status":"forfeit","detail":"x"}}}"#;
        let v = GameResult::parse(r, IDS).unwrap();
        assert_eq!(v.describe(), "greedy won (higher score)");
        assert_eq!(v.forfeited().collect::<Vec<_>>(), ["greedy"]);
    }

    #[test]
    fn forged_or_broken_results_are_refused() {
        for (doc, needle) in [
            (
                r#"{"winner":"mallory","scores":{"random":1,"greedy":5},"reason":"","turns":1}"#,
                "not one of the players",
            ),
            (
                r#"{"scores":{"random":1,"greedy":5},"reason":"","turns":1}"#,
                "winner",
            ),
            (
                r#"{"winner":null,"scores":{"random":1},"reason":"","turns":1}"#,
                "scores name",
            ),
            (
                r#"{"winner":null,"scores":{"random":1,"greedy":"9"},"reason":"","turns":1}"#,
                "not an integer",
            ),
            (
                r#"{"winner":null,"scores":{"random":1,"greedy":2},"reason":"","turns":-1}"#,
                "turns",
            ),
            (
                r#"{"winner":null,"scores":{"random":1,"greedy":2},"reason":"","turns":1,"bonus":1}"#,
                "unknown field",
            ),
            (
                r#"{"winner":null,"scores":{"random":1,"greedy":2},"reason":"","turns":1,"players":{"mallory":{"status":"ok"}}}"#,
                "not playing",
            ),
            (
                r#"{"winner":null,"scores":{"random":1,"greedy":2},"reason":"","turns":1,"players":{"random":{"status":"won"}}}"#,
                "unknown variant",
            ),
            (r#"[1,2]"#, "not a JSON object"),
            ("garbage", "not JSON"),
            ("", "no result"),
        ] {
            let e = GameResult::parse(doc.as_bytes(), IDS).unwrap_err();
            assert!(e.contains(needle), "{doc}: {e}");
        }
        let huge = format!(
            r#"{{"winner":null,"scores":{{"random":1,"greedy":2}},"reason":"{}","turns":1}}"#,
            "x".repeat(70_000)
        );
        assert!(
            GameResult::parse(huge.as_bytes(), IDS)
                .unwrap_err()
                .contains("cap")
        );
    }
}
