//! What a match came to, the same for every backend, and how it is shown: a readable table by
//! default, one JSON object for machines. The other views of a match (`status`, `list`, logs)
//! are in its `views` module.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use runner::game_result::GameResult;
use runner::report::{Cause, MatchReport, PlayerVerdict, Status, Summary, Violation};
use serde::{Deserialize, Serialize};

use crate::error::LauncherExit;

mod views;

pub use views::{ListEntry, LogChunk, MatchStatus, State, list_table, table};

/// The match's verdict, from the launcher's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Verdict {
    /// The referee's result was validated: there is a winner or a draw.
    Ok,
    /// The match ran but produced no accepted result (the referee failed, or its result was
    /// refused); no player is credited.
    NoResult,
    /// Stopped on request before the end.
    Cancelled,
    /// The sandbox, the runner or the pod failed: not the players' fault.
    InfrastructureError,
    /// The match never started (quota, scheduling, image pull), reported after the grace.
    CannotStart,
    /// The Job's activeDeadlineSeconds passed before the runner reported.
    DeadlineExceeded,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The runner's match status, as a launcher verdict.
    pub fn from_status(s: Status) -> Self {
        match s {
            Status::Ok => Self::Ok,
            Status::Cancelled => Self::Cancelled,
            Status::SandboxError => Self::InfrastructureError,
            _ => Self::NoResult,
        }
    }

    pub fn exit_code(self) -> LauncherExit {
        match self {
            Self::Ok => LauncherExit::Ok,
            _ => LauncherExit::MatchFailed,
        }
    }
}

/// One player's part of the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PlayerOutcome {
    /// The runner's verdict on the player's process (None when the runner never reported).
    pub verdict: Option<PlayerVerdict>,
    /// The score, when the game result is at hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
    /// The referee's word on the player (`ok`, or why it forfeited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The forbidden system call that ended the player, as the runner named it (from the full
    /// report; the termination message carries only verdicts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation: Option<Violation>,
    /// Why the runner ended the player as it did, in its words (`exited with status 1:
    /// KeyError: 'missing_key'`, `used more than 256MiB of memory`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The turn it ended in: how many turns the referee had let it play.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    /// The last lines of its standard error (at most 20 lines, 2 KiB), control characters
    /// escaped by the runner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr_tail: Option<String>,
}

impl PlayerOutcome {
    fn with_cause(mut self, c: Option<&Cause>) -> Self {
        if let Some(c) = c {
            self.reason = Some(c.reason.clone()).filter(|r| !r.is_empty());
            self.turn = c.turn;
            self.stderr_tail = Some(c.stderr_tail.clone()).filter(|t| !t.is_empty());
        }
        self
    }
}

/// Where a match's artifacts (result.json, replay.jsonl, logs, report) are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Artifacts {
    /// On this machine: the output directory, and each file only when it exists (a match
    /// without an accepted result has no `result.json`).
    Local {
        dir: PathBuf,
        #[serde(skip_serializing_if = "Option::is_none")]
        report: Option<PathBuf>,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<PathBuf>,
        #[serde(skip_serializing_if = "Option::is_none")]
        replay: Option<PathBuf>,
    },
    /// In the results PVC, under the match's sub-path.
    Pvc {
        namespace: String,
        claim: String,
        sub_path: String,
    },
}

/// Version of the outcome document (`schemas/v1/outcome.json`); bumped when a field changes
/// meaning or goes away.
pub const OUTCOME_VERSION: u32 = 1;

/// What a match came to. The same type from every backend.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Outcome {
    /// [`OUTCOME_VERSION`].
    pub version: u32,
    pub match_id: String,
    pub backend: &'static str,
    /// How the match went: the one verdict of the outcome.
    pub verdict: Verdict,
    /// The runner's match status, when it reported. Not printed: `verdict` is the outcome's
    /// one verdict field, and `reason` says what the runner saw.
    #[serde(skip)]
    pub status: Option<Status>,
    pub reason: String,
    /// The winner's id; None for a draw or when there is no result.
    pub winner: Option<String>,
    pub players: BTreeMap<String, PlayerOutcome>,
    /// The validated game result (`winner`, `scores`, `reason`, `turns`, `players`), when the
    /// backend can read it (local: always; kube: from the artifacts, not the verdict; the
    /// winner and each player's verdict and score come from the verdict either way).
    pub result: Option<GameResult>,
    pub artifacts: Option<Artifacts>,
    /// True when this call attached to a run that already existed.
    pub attached: bool,
    pub wall_ms: Option<u64>,
    /// The runner's own exit code (0: report written; 2, 3, 4: see `runner::exit`).
    pub runner_exit_code: Option<i32>,
    /// The namespace of a kube match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kube: the preflight rules the namespace failed, run anyway because the caller passed
    /// `--allow-unisolated-namespace` (absent when the namespace passed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preflight_overridden: Vec<crate::preflight::Check>,
    /// The game the match was played with, and its digest: what a replayed or disputed result
    /// is checked against. Kube: what the match's pod ran, not what the launcher's settings
    /// say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub game: Option<GameUsed>,
}

/// The game a match ran with: found at run time, never a path compiled into the launcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GameUsed {
    /// Where it came from: the local game directory, or (kube) the runner image, which
    /// carries the game, as the kubelet reports the runner container's `image`. A kube match
    /// no pod is known to have run (it could not start, or its pod is gone) names the image
    /// its Job was submitted with.
    pub source: String,
    /// `sha256:HEX`. Local: of the game's files (every file under `game/` but bytecode, by
    /// path, size and content, in path order). Kube: the image digest the kubelet reports for
    /// the runner container (its `imageID`, after the `@`: the repository digest, or the
    /// image's own id when the runtime knows no repository digest); empty when the `imageID`
    /// carries no sha256 digest, never guessed. A kube match no pod is known to have run: the
    /// digest its submitted image is pinned by, if it is.
    pub digest: String,
}

impl Outcome {
    /// An outcome with no runner report (the match failed around the runner).
    pub fn failed(match_id: &str, backend: &'static str, verdict: Verdict, reason: String) -> Self {
        Self {
            version: OUTCOME_VERSION,
            match_id: match_id.to_owned(),
            backend,
            verdict,
            status: None,
            reason,
            winner: None,
            players: BTreeMap::new(),
            result: None,
            artifacts: None,
            attached: false,
            wall_ms: None,
            runner_exit_code: None,
            namespace: None,
            preflight_overridden: Vec::new(),
            game: None,
        }
    }

    /// From the runner's full match report.
    pub fn from_report(match_id: &str, backend: &'static str, r: &MatchReport) -> Self {
        let result = r.result.clone();
        let scores = r.scores();
        let players = r
            .players
            .iter()
            .map(|(id, p)| {
                (
                    id.clone(),
                    PlayerOutcome {
                        verdict: Some(p.verdict),
                        score: scores.get(id).copied(),
                        detail: result.as_ref().and_then(|v| {
                            Some(v.players.as_ref()?.get(id.as_str())?.detail.clone())
                        }),
                        violation: p.process.violation.clone(),
                        reason: None,
                        turn: None,
                        stderr_tail: None,
                    }
                    .with_cause(Some(&Cause::of(&p.process))),
                )
            })
            .collect();
        Self {
            version: OUTCOME_VERSION,
            match_id: match_id.to_owned(),
            backend,
            verdict: Verdict::from_status(r.status),
            status: Some(r.status),
            reason: r.reason.clone(),
            winner: r.winner(),
            players,
            result,
            artifacts: None,
            attached: false,
            wall_ms: Some(r.wall_ms),
            runner_exit_code: None,
            namespace: None,
            preflight_overridden: Vec::new(),
            game: None,
        }
    }

    /// From the runner's summary (the termination message).
    pub fn from_summary(match_id: &str, backend: &'static str, s: &Summary) -> Self {
        Self {
            version: OUTCOME_VERSION,
            match_id: match_id.to_owned(),
            backend,
            verdict: Verdict::from_status(s.status),
            status: Some(s.status),
            reason: s.reason.clone(),
            winner: s.winner.clone(),
            players: s
                .players
                .iter()
                .map(|(id, v)| {
                    (
                        id.clone(),
                        PlayerOutcome {
                            verdict: Some(*v),
                            score: s.scores.get(id).copied(),
                            detail: None,
                            violation: None,
                            reason: None,
                            turn: None,
                            stderr_tail: None,
                        }
                        .with_cause(s.causes.get(id)),
                    )
                })
                .collect(),
            result: None,
            artifacts: None,
            attached: false,
            wall_ms: Some(s.wall_ms),
            runner_exit_code: None,
            namespace: None,
            preflight_overridden: Vec::new(),
            game: None,
        }
    }

    pub fn exit_code(&self) -> LauncherExit {
        self.verdict.exit_code()
    }

    /// The one-line form (batch progress, logs).
    pub fn one_line(&self) -> String {
        let who = match (&self.verdict, &self.winner) {
            (Verdict::Ok, Some(w)) => format!("{w} wins"),
            (Verdict::Ok, None) => "draw".to_owned(),
            _ => self.reason.clone(),
        };
        format!("{} {}: {}", self.match_id, self.verdict, who)
    }

    /// The readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "match     {}{}",
            self.match_id,
            match &self.namespace {
                Some(ns) => format!(" ({} backend, namespace {ns})", self.backend),
                None => format!(" ({} backend)", self.backend),
            }
        );
        let _ = writeln!(out, "verdict   {}", self.verdict);
        if let Some(w) = &self.winner {
            let _ = writeln!(out, "winner    {w}");
        } else if self.verdict == Verdict::Ok {
            let _ = writeln!(out, "winner    none (draw)");
        }
        if !self.reason.is_empty() {
            let _ = writeln!(out, "reason    {}", self.reason);
        }
        if let Some(turns) = self.result.as_ref().map(|r| r.turns) {
            let _ = writeln!(out, "turns     {turns}");
        }
        if let Some(ms) = self.wall_ms {
            let _ = writeln!(out, "time      {:.1}s", ms as f64 / 1000.0);
        }
        if !self.preflight_overridden.is_empty() {
            let _ = writeln!(
                out,
                "WARNING   ran in a namespace that failed preflight (--allow-unisolated-namespace): {}",
                crate::preflight::describe(&self.preflight_overridden)
            );
        }
        if !self.players.is_empty() {
            let rows: Vec<[String; 4]> = self
                .players
                .iter()
                .map(|(id, p)| {
                    [
                        id.clone(),
                        p.verdict.map_or_else(|| "-".to_owned(), |v| v.to_string()),
                        p.score.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                        match (&p.detail, &p.violation) {
                            (d, Some(v)) => format!(
                                "{}{} {}",
                                d.as_ref().map_or(String::new(), |d| format!("{d}; ")),
                                v.sentence,
                                v.decoded
                            ),
                            (Some(d), None) => d.clone(),
                            (None, None) => String::new(),
                        },
                    ]
                })
                .collect();
            out.push('\n');
            out.push_str(&table(&["PLAYER", "VERDICT", "SCORE", "DETAIL"], &rows));
            // Why each player that did not simply play to the end ended, with the end of
            // its standard error: what a player whose bot lost reads first.
            for (id, p) in &self.players {
                let Some(v) = p.verdict.filter(|v| *v != PlayerVerdict::Ok) else {
                    continue;
                };
                let turn = p.turn.map(|t| format!(" on turn {t}")).unwrap_or_default();
                let reason = p.reason.as_deref().unwrap_or("no reason reported");
                let _ = writeln!(out, "\n{id}: {v}{turn}: {reason}");
                if let Some(tail) = &p.stderr_tail {
                    for line in tail.lines() {
                        let _ = writeln!(out, "  | {line}");
                    }
                }
            }
        }
        match &self.artifacts {
            Some(Artifacts::Local { dir, .. }) => {
                let _ = writeln!(out, "\nartifacts {}", dir.display());
                // A validated result means the runner checked the replay beside it.
                if self.result.is_some() {
                    let id = &self.match_id;
                    let _ = writeln!(out, "replay    launcher replay {id} --html {id}.html");
                }
            }
            Some(Artifacts::Pvc {
                namespace,
                claim,
                sub_path,
            }) => {
                let _ = writeln!(
                    out,
                    "\nartifacts pvc {namespace}/{claim}, sub-path {sub_path}"
                );
            }
            None => {}
        }
        if self.attached {
            let _ = writeln!(out, "(attached to an existing run of this match)");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On kube only the termination message comes back: the players' causes ride in it.
    #[test]
    fn a_kube_outcome_carries_each_players_cause_from_the_summary() {
        let mut r = MatchReport {
            version: runner::report::REPORT_VERSION,
            status: Status::Ok,
            reason: "greedy won".into(),
            wall_ms: 1,
            result: None,
            result_sha256: None,
            replay_sha256: None,
            output_dir: PathBuf::new(),
            referee: runner::report::Report::not_run(String::new()),
            players: BTreeMap::new(),
        };
        let mut process = runner::report::Report::not_run("exited with status 1 (KeyError)".into());
        process.turns = Some(3);
        process.stderr_tail = "Traceback\nKeyError: 'missing_key'".into();
        r.players.insert(
            "bot".into(),
            runner::report::PlayerReport {
                verdict: PlayerVerdict::Crash,
                process,
            },
        );
        let summary: Summary = serde_json::from_str(&r.summary_json()).unwrap();
        let o = Outcome::from_summary("m1", "kube", &summary);
        let bot = &o.players["bot"];
        assert_eq!(
            bot.reason.as_deref(),
            Some("exited with status 1 (KeyError)")
        );
        assert_eq!(bot.turn, Some(3));
        assert_eq!(
            bot.stderr_tail.as_deref(),
            Some("Traceback\nKeyError: 'missing_key'")
        );
        assert!(
            o.table().contains(
                "\nbot: crash on turn 3: exited with status 1 (KeyError)\n  | Traceback\n"
            )
        );
    }

    #[test]
    fn verdicts_from_statuses() {
        assert_eq!(Verdict::from_status(Status::Ok), Verdict::Ok);
        assert_eq!(
            Verdict::from_status(Status::SandboxError),
            Verdict::InfrastructureError
        );
        assert_eq!(
            Verdict::from_status(Status::RuntimeError),
            Verdict::NoResult
        );
        assert_eq!(Verdict::Ok.exit_code(), 0);
        assert_eq!(Verdict::CannotStart.exit_code(), 3);
        assert_eq!(
            PlayerVerdict::PolicyViolation.to_string(),
            "policy_violation"
        );
        use strum::VariantArray as _;
        for v in Verdict::VARIANTS {
            assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{v}\""));
            assert_eq!(v.to_string().parse::<Verdict>().unwrap(), *v);
        }
    }
}
