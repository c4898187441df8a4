//! The versioned report the runner writes for every run, and the short summary that goes to
//! the container's termination message.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped whenever a field changes meaning or is added; readers refuse other versions.
pub const REPORT_VERSION: u32 = 3;

/// The termination message of a container is cut by the kubelet at 4096 bytes.
pub const SUMMARY_MAX_BYTES: usize = 4096;

/// How the run ended. Exactly one per report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Exited with status 0.
    Ok,
    /// Exited with a non-zero status.
    RuntimeError,
    /// Killed by a signal that no limit explains.
    Signaled,
    /// Ran past the wall-clock limit.
    TimeoutWall,
    /// Used more CPU time than allowed.
    TimeoutCpu,
    /// Used more memory than allowed.
    MemoryLimit,
    /// Wrote more to standard output or error than allowed.
    OutputLimit,
    /// Tried to grow a file past the file-size limit.
    FileSizeLimit,
    /// Filled the writable paths past their byte or entry budget.
    DiskLimit,
    /// Made a system call the seccomp policy forbids.
    PolicyViolation,
    /// The runner was asked to stop (SIGTERM or SIGINT) before the program ended.
    Cancelled,
    /// The sandbox could not be set up; the program was not run.
    SandboxError,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::RuntimeError => "runtime_error",
            Self::Signaled => "signaled",
            Self::TimeoutWall => "timeout_wall",
            Self::TimeoutCpu => "timeout_cpu",
            Self::MemoryLimit => "memory_limit",
            Self::OutputLimit => "output_limit",
            Self::FileSizeLimit => "file_size_limit",
            Self::DiskLimit => "disk_limit",
            Self::PolicyViolation => "policy_violation",
            Self::Cancelled => "cancelled",
            Self::SandboxError => "sandbox_error",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which observation decided a `memory_limit` verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemorySignal {
    /// The runner's sampler saw the resident size pass the limit and killed the program.
    RssSampler,
    /// The container cgroup's `memory.events` counted an OOM kill.
    CgroupOom,
    /// The peak resident size after exit was over the limit.
    PeakRss,
    /// One allocation larger than the address-space backstop, stopped by the runner's seccomp
    /// guard before the kernel refused it.
    AddressSpace,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub version: u32,
    pub status: Status,
    /// One sentence a player can act on.
    pub reason: String,
    /// Exit status when the program exited.
    pub exit_code: Option<i32>,
    /// Signal number when the program was killed by one.
    pub signal: Option<i32>,
    /// Signal name (`SIGKILL`) when the program was killed by one.
    pub signal_name: Option<String>,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub max_rss_kib: u64,
    pub stdout_bytes: u64,
    pub stdout_truncated: bool,
    pub stderr_bytes: u64,
    pub stderr_truncated: bool,
    /// Which observation decided a memory verdict, when there is one.
    pub memory_signal: Option<MemorySignal>,
    /// The forbidden system call that decided a `policy_violation`, when the supervisor saw it
    /// (every call but x32 and foreign-architecture numbers, which the kernel kills unseen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<Violation>,
    /// The limits that were applied.
    pub limits: AppliedLimits,
    /// What the sandbox enforced.
    pub enforced: Enforcement,
}

/// A forbidden system call, as the seccomp listener saw it before it could run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Violation {
    /// The call's name (`socket`), or `syscall N` for a number this runner cannot name.
    pub call: String,
    /// The x86_64 system call number.
    pub nr: u32,
    /// The call with its arguments decoded: `socket(AF_INET, SOCK_STREAM, 0)`.
    pub decoded: String,
    /// What the program tried, for a player: `tried to open a network socket`.
    pub sentence: String,
}

/// Limits as applied, in plain units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedLimits {
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub memory_bytes: u64,
    /// RLIMIT_AS: the backstop above `memory_bytes` for allocations too fast to sample.
    pub address_space_bytes: u64,
    pub output_bytes: u64,
    pub file_size_bytes: u64,
    pub open_files: u64,
    /// What the writable paths may hold in all: bytes (allocated) and entries.
    pub disk_bytes: u64,
    pub disk_inodes: u64,
}

/// What the sandbox actually put in place, so an auditor can see it per run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enforcement {
    pub runner_version: String,
    /// Landlock ABI the ruleset was built for (None when the sandbox never got that far).
    pub landlock_abi: Option<u32>,
    /// `fully_enforced`, or `not_applied` when setup stopped before Landlock or the profile's
    /// confinement is `namespaces`.
    pub landlock_status: String,
    /// The file-system confinement that was in place when the program started (the profile
    /// names it: `landlock` or `namespaces`); None when the sandbox never got that far.
    #[serde(default)]
    pub confinement: Option<crate::confine::Confinement>,
    /// How a call outside the allowlist ended for this program (the profile names it:
    /// `notify`, named in `violation`; `kill_process`, SIGSYS and not named); None when the
    /// sandbox never got that far.
    #[serde(default)]
    pub seccomp_default: Option<crate::profile::SeccompDefault>,
    /// sha256 of the seccomp policy JSON compiled into this runner.
    pub seccomp_policy_sha256: String,
    /// sha256 of the sandbox profile in force.
    pub profile_sha256: String,
    /// Identity the program ran as.
    pub uid: u32,
    pub gid: u32,
    pub no_new_privs: bool,
    /// True once every capability set was verified empty.
    pub capabilities_dropped: bool,
}

/// The short form written to the termination message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

impl Report {
    /// A report for a process that never started.
    pub fn not_run(reason: String) -> Self {
        Self {
            version: REPORT_VERSION,
            status: Status::SandboxError,
            reason,
            exit_code: None,
            signal: None,
            signal_name: None,
            wall_ms: 0,
            cpu_ms: 0,
            max_rss_kib: 0,
            stdout_bytes: 0,
            stdout_truncated: false,
            stderr_bytes: 0,
            stderr_truncated: false,
            memory_signal: None,
            violation: None,
            limits: AppliedLimits::default(),
            enforced: Enforcement::default(),
        }
    }

    /// The summary for the termination message, guaranteed under [`SUMMARY_MAX_BYTES`].
    pub fn summary_json(&self) -> String {
        let s = Summary {
            version: self.version,
            status: self.status,
            reason: self.reason.clone(),
            exit_code: self.exit_code,
            signal: self.signal,
            wall_ms: self.wall_ms,
            cpu_ms: self.cpu_ms,
            max_rss_kib: self.max_rss_kib,
            stdout_bytes: self.stdout_bytes,
            stderr_bytes: self.stderr_bytes,
            violation: self.violation.clone(),
            winner: None,
            players: BTreeMap::new(),
            scores: BTreeMap::new(),
        };
        fit_summary(s)
    }
}

/// Serialises a summary, shortening its reason until it fits the termination message.
pub fn fit_summary(mut s: Summary) -> String {
    loop {
        let text = serde_json::to_string(&s).unwrap_or_default();
        if text.len() <= SUMMARY_MAX_BYTES || s.reason.is_empty() {
            return text;
        }
        let keep = s
            .reason
            .len()
            .saturating_sub(text.len() - SUMMARY_MAX_BYTES + 8);
        let cut = (0..=keep)
            .rev()
            .find(|&i| s.reason.is_char_boundary(i))
            .unwrap_or(0);
        s.reason.truncate(cut);
    }
}

/// A player's verdict in a match, from its own process and the referee's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayerVerdict {
    /// Played to the end within its limits.
    Ok,
    /// Ran out of wall or CPU time.
    Timeout,
    /// Went over its memory limit.
    Memory,
    /// Exited with an error or was killed by a signal (including output and file limits).
    Crash,
    /// Made a forbidden system call.
    PolicyViolation,
    /// Ran, but the referee declared it forfeit (no answer, garbage, early exit).
    Forfeit,
    /// Its sandbox could not be set up (infrastructure, not the player's fault).
    SandboxError,
    /// The match was cancelled before it ended.
    Cancelled,
}

/// One player of a match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayerReport {
    pub verdict: PlayerVerdict,
    /// The player's own process report.
    pub process: Report,
}

/// The report of a match: the referee's and every player's process, and the referee's result,
/// accepted only after validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchReport {
    pub version: u32,
    /// `ok` when the referee exited 0 and its result passed validation; otherwise why not
    /// (the referee's own status, or `runtime_error` for a result that failed validation,
    /// or `sandbox_error`). No player is credited unless this is `ok`.
    pub status: Status,
    pub reason: String,
    pub wall_ms: u64,
    /// The validated result (winner, scores, reason, turns, players), as the referee wrote it.
    pub result: Option<serde_json::Value>,
    /// sha256 of `result.json` as written to the output directory.
    pub result_sha256: Option<String>,
    /// sha256 of `replay.jsonl` as moved to the output directory.
    pub replay_sha256: Option<String>,
    /// Where result.json, replay.jsonl and the logs landed.
    pub output_dir: std::path::PathBuf,
    pub referee: Report,
    pub players: BTreeMap<String, PlayerReport>,
}

impl MatchReport {
    /// Winner named by a validated result.
    pub fn winner(&self) -> Option<String> {
        self.result
            .as_ref()?
            .get("winner")?
            .as_str()
            .map(str::to_owned)
    }

    /// Scores named by a validated result (validation made every one an i64 of a real player).
    pub fn scores(&self) -> BTreeMap<String, i64> {
        self.result
            .as_ref()
            .and_then(|r| r.get("scores")?.as_object())
            .map(|scores| {
                scores
                    .iter()
                    .filter_map(|(id, v)| Some((id.clone(), v.as_i64()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The summary for the termination message, guaranteed under [`SUMMARY_MAX_BYTES`].
    pub fn summary_json(&self) -> String {
        fit_summary(Summary {
            version: self.version,
            status: self.status,
            reason: self.reason.clone(),
            exit_code: self.referee.exit_code,
            signal: self.referee.signal,
            wall_ms: self.wall_ms,
            cpu_ms: self.referee.cpu_ms
                + self.players.values().map(|p| p.process.cpu_ms).sum::<u64>(),
            max_rss_kib: self
                .players
                .values()
                .map(|p| p.process.max_rss_kib)
                .fold(self.referee.max_rss_kib, u64::max),
            stdout_bytes: self.referee.stdout_bytes,
            stderr_bytes: self.referee.stderr_bytes,
            violation: None,
            winner: self.winner(),
            players: self
                .players
                .iter()
                .map(|(id, p)| (id.clone(), p.verdict))
                .collect(),
            scores: self.scores(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_fits_even_with_a_huge_reason() {
        let r = Report::not_run("é".repeat(10_000));
        let s = r.summary_json();
        assert!(s.len() <= SUMMARY_MAX_BYTES);
        let back: Summary = serde_json::from_str(&s).unwrap();
        assert_eq!(back.status, Status::SandboxError);
    }

    #[test]
    fn the_largest_match_summary_keeps_every_verdict_and_score() {
        let ids: Vec<String> = (0..crate::spec::MAX_PLAYERS)
            .map(|i| format!("{i:02}{}", "p".repeat(61)))
            .collect();
        let scores: serde_json::Map<String, serde_json::Value> = ids
            .iter()
            .map(|id| (id.clone(), serde_json::Value::from(i64::MIN)))
            .collect();
        let r = MatchReport {
            version: REPORT_VERSION,
            status: Status::Ok,
            reason: "é".repeat(10_000),
            wall_ms: u64::MAX,
            result: Some(serde_json::json!({ "winner": ids[0], "scores": scores })),
            result_sha256: None,
            replay_sha256: None,
            output_dir: std::path::PathBuf::new(),
            referee: Report::not_run(String::new()),
            players: ids
                .iter()
                .map(|id| {
                    let process = Report::not_run(String::new());
                    let verdict = PlayerVerdict::PolicyViolation;
                    (id.clone(), PlayerReport { verdict, process })
                })
                .collect(),
        };
        let s = r.summary_json();
        assert!(s.len() <= SUMMARY_MAX_BYTES, "{} bytes", s.len());
        let back: Summary = serde_json::from_str(&s).unwrap();
        assert_eq!(back.winner.as_deref(), Some(ids[0].as_str()));
        assert_eq!(back.players.len(), ids.len());
        assert_eq!(back.scores, r.scores());
        assert_eq!(back.scores.len(), ids.len());
    }

    #[test]
    fn status_names_are_the_documented_ones() {
        for (s, name) in [
            (Status::TimeoutWall, "\"timeout_wall\""),
            (Status::PolicyViolation, "\"policy_violation\""),
        ] {
            assert_eq!(serde_json::to_string(&s).unwrap(), name);
            assert_eq!(format!("\"{s}\""), name);
        }
    }
}
