//! The short form of a run's or a match's report that goes to the container's termination
//! message, cut to fit it without losing a verdict or a score.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{PlayerVerdict, Report, SUMMARY_MAX_BYTES, Status, Violation};

/// The short form written to the termination message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub version: u32,
    pub status: Status,
    pub reason: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub max_rss_kib: u64,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    /// The forbidden call of a `policy_violation`, when it was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<Violation>,
    /// For a match: the winner's id (None for a draw or when no result was accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
    /// For a match: each player's verdict.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub players: BTreeMap<String, PlayerVerdict>,
    /// For a match with an accepted result: each player's score, so a launcher that reads
    /// only the termination message still has the whole standing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scores: BTreeMap<String, i64>,
    /// For a match: why each player ended as it did, for the player. Cut to fit the
    /// termination message: the stderr tails first, then the calls, then the reasons; never a
    /// verdict or a score.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub causes: BTreeMap<String, Cause>,
}

/// Why one player ended as it did: what a player whose bot lost reads first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cause {
    /// The runner's reason (`exited with status 1: KeyError: 'missing_key'`).
    pub reason: String,
    /// The turns the referee had let it play: the turn it ended in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    /// The forbidden call, decoded (`socket(AF_INET, SOCK_STREAM, 0)`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub call: String,
    /// The end of its standard error, escaped (see [`Report::stderr_tail`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr_tail: String,
}

impl Cause {
    /// The cause a player's own process report gives.
    pub fn of(r: &Report) -> Self {
        Self {
            reason: r.reason.clone(),
            turn: r.turns,
            call: r
                .violation
                .as_ref()
                .map(|v| v.decoded.clone())
                .unwrap_or_default(),
            stderr_tail: r.stderr_tail.clone(),
        }
    }
}

/// Serialises a summary so that it fits the termination message. What a player reads first
/// goes last: the players' stderr tails are cut first (halved, then dropped), then their
/// decoded calls, then their reasons, then the match's reason; verdicts, scores and the winner
/// are never cut.
pub fn fit_summary(mut s: Summary) -> String {
    let fits = |s: &Summary| {
        let text = serde_json::to_string(s).unwrap_or_default();
        (text.len() <= SUMMARY_MAX_BYTES).then_some(text)
    };
    // Halving every tail at once keeps as much of each as fits, in few rounds.
    while s.causes.values().any(|c| !c.stderr_tail.is_empty()) {
        if let Some(text) = fits(&s) {
            return text;
        }
        for c in s.causes.values_mut() {
            c.stderr_tail = keep_end(&c.stderr_tail, c.stderr_tail.len() / 2);
        }
    }
    let ids: Vec<String> = s.causes.keys().cloned().collect();
    for field in [0, 1, 2] {
        for id in &ids {
            if let Some(text) = fits(&s) {
                return text;
            }
            if let Some(c) = s.causes.get_mut(id) {
                match field {
                    0 => c.call.clear(),
                    1 => c.reason = keep_start(&c.reason, 80),
                    _ => c.reason.clear(),
                }
            }
        }
    }
    if fits(&s).is_none() {
        // Sixteen players with the longest ids: their causes cannot ride along at all.
        s.causes.clear();
    }
    loop {
        let text = serde_json::to_string(&s).unwrap_or_default();
        if text.len() <= SUMMARY_MAX_BYTES || s.reason.is_empty() {
            return text;
        }
        let keep = s
            .reason
            .len()
            .saturating_sub(text.len() - SUMMARY_MAX_BYTES + 8);
        s.reason = keep_start(&s.reason, keep);
    }
}

/// The first `n` bytes of `s`, cut at a character boundary.
fn keep_start(s: &str, n: usize) -> String {
    let cut = (0..=n.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    s[..cut].to_owned()
}

/// The last `n` bytes of `s`, cut at a line start when there is one (else a character
/// boundary); empty when `n` is small.
fn keep_end(s: &str, n: usize) -> String {
    if n < 16 {
        return String::new();
    }
    let from = (s.len() - n.min(s.len())..=s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    let tail = &s[from..];
    match tail.find('\n') {
        Some(nl) if from > 0 && nl + 1 < tail.len() => tail[nl + 1..].to_owned(),
        _ => tail.to_owned(),
    }
}
