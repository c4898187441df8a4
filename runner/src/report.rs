//! The versioned report the runner writes for every run, and the short summary that goes to
//! the container's termination message.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod summary;

pub use summary::{Cause, Summary, fit_summary};

/// Bumped whenever a field changes meaning or is added; readers refuse other versions.
pub const REPORT_VERSION: u32 = 3;

/// The termination message of a container is cut by the kubelet at 4096 bytes.
pub const SUMMARY_MAX_BYTES: usize = 4096;

/// Lines of a program's standard error quoted in its report and outcome (its last ones).
pub const STDERR_TAIL_LINES: usize = 20;
/// Bytes of a program's standard error quoted in its report and outcome, at most.
pub const STDERR_TAIL_BYTES: usize = 2048;

/// How the run ended. Exactly one per report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
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
    /// The name reports, summaries and tests use (the same as serde's, checked by a test).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Which observation decided a `memory_limit` verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
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
    /// The program ended with an error after its allocations had filled the address-space
    /// backstop (the sampler saw its virtual size at the backstop), or with a refused
    /// allocation as its last error (`MemoryError`, `Cannot allocate memory`): the kernel
    /// refused an allocation because of the memory limit.
    AllocationRefused,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// The end of what the program wrote to standard error, for the player: at most
    /// [`STDERR_TAIL_LINES`] lines and [`STDERR_TAIL_BYTES`] bytes, control characters escaped
    /// (`\x1b`), so a bot cannot paint the terminal of whoever reads it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr_tail: String,
    /// For a match player: how many turns the referee had let it play (each turn resumes it),
    /// so the turn it ended in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<u32>,
    /// The limits that were applied.
    pub limits: AppliedLimits,
    /// What the sandbox enforced.
    pub enforced: Enforcement,
}

/// A forbidden system call, as the seccomp listener saw it before it could run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// Limits as applied, in plain units: what `spec::Limits::resolve` makes of a request
/// and the profile's defaults. A type of its own rather than a filled-in `Limits`: every field
/// is present (nothing left for a reader to default), the units are the report's plain
/// milliseconds and bytes, and it holds the address-space backstop no request names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// The end of a program's standard error as a player may read it, and an operator print: the
/// last [`STDERR_TAIL_LINES`] lines within the last [`STDERR_TAIL_BYTES`] bytes (a line cut by
/// the byte bound is dropped), invalid UTF-8 replaced, and escaped by
/// [`crate::terminal::escape`] (`\x1b`, `\u{202e}`, a backslash doubled), so what a bot printed
/// cannot move a cursor, clear a screen or reorder the text around it.
pub fn escape_tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL_BYTES);
    let mut window = &bytes[start..];
    if start > 0
        && let Some(nl) = window.iter().position(|&b| b == b'\n')
    {
        // Cut at a line start so no half line leads.
        window = &window[nl + 1..];
    }
    let text = String::from_utf8_lossy(window);
    let text = text.trim_end_matches(['\n', '\r']);
    let lines: Vec<&str> = text.split('\n').collect();
    let kept = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
    crate::terminal::escape(&kept).into_owned()
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
            stderr_tail: String::new(),
            turns: None,
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
            causes: BTreeMap::new(),
        };
        fit_summary(s)
    }
}

/// A player's verdict in a match, from its own process and the referee's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayerReport {
    pub verdict: PlayerVerdict,
    /// The player's own process report.
    pub process: Report,
}

/// The report of a match: the referee's and every player's process, and the referee's result,
/// accepted only after validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    pub result: Option<crate::game_result::GameResult>,
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
        Some(self.result.as_ref()?.winner.as_ref()?.to_string())
    }

    /// Scores named by a validated result.
    pub fn scores(&self) -> BTreeMap<String, i64> {
        self.result
            .iter()
            .flat_map(|r| &r.scores)
            .map(|(id, s)| (id.to_string(), *s))
            .collect()
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
            causes: self
                .players
                .iter()
                .map(|(id, p)| (id.clone(), Cause::of(&p.process)))
                .collect(),
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
        let pid = |id: &String| crate::ids::PlayerId::new(id).unwrap();
        let scores = ids.iter().map(|id| (pid(id), i64::MIN)).collect();
        let r = MatchReport {
            version: REPORT_VERSION,
            status: Status::Ok,
            reason: "é".repeat(10_000),
            wall_ms: u64::MAX,
            result: Some(crate::game_result::GameResult {
                winner: Some(pid(&ids[0])),
                scores,
                reason: String::new(),
                turns: 0,
                players: None,
            }),
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
    fn a_tail_is_the_last_lines_escaped() {
        let mut bytes = Vec::new();
        for i in 0..40 {
            bytes.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        bytes.extend_from_slice(b"\x1b[2J\x07 \\x1b \xff\xfe end\n\n");
        let tail = escape_tail(&bytes);
        let lines: Vec<&str> = tail.lines().collect();
        assert_eq!(lines.len(), STDERR_TAIL_LINES);
        assert_eq!(lines[0], "line 21");
        // A real escape and a typed one stay apart: the typed backslash is doubled.
        assert_eq!(lines[19], "\\x1b[2J\\x07 \\\\x1b \u{fffd}\u{fffd} end");
        // Past the byte bound the cut starts at a line, and the bound holds.
        let long = "x".repeat(100) + "\n";
        let tail = escape_tail(long.repeat(100).as_bytes());
        assert!(tail.len() <= STDERR_TAIL_BYTES, "{}", tail.len());
        assert!(tail.lines().all(|l| l.len() == 100));
        assert_eq!(escape_tail(b""), "");
    }

    #[test]
    fn a_summary_cuts_tails_before_reasons_and_never_a_verdict() {
        let players: BTreeMap<String, PlayerVerdict> = (0..8)
            .map(|i| (format!("p{i}"), PlayerVerdict::Crash))
            .collect();
        let causes = players
            .keys()
            .map(|id| {
                let cause = Cause {
                    reason: format!("{id} exited with status 1 (last error line: KeyError)"),
                    turn: Some(7),
                    call: String::new(),
                    stderr_tail: "Traceback line\n".repeat(120),
                };
                (id.clone(), cause)
            })
            .collect();
        let s = Summary {
            causes,
            players: players.clone(),
            ..serde_json::from_str::<Summary>(&Report::not_run(String::new()).summary_json())
                .unwrap()
        };
        let text = fit_summary(s);
        assert!(text.len() <= SUMMARY_MAX_BYTES, "{}", text.len());
        let back: Summary = serde_json::from_str(&text).unwrap();
        assert_eq!(back.players, players);
        for (id, c) in &back.causes {
            assert!(c.reason.starts_with(id.as_str()) && c.reason.ends_with("KeyError)"));
            assert_eq!(c.turn, Some(7));
            assert!(c.stderr_tail.len() < 1800, "the tails were cut");
            assert!(
                c.stderr_tail.starts_with("Traceback line"),
                "{:?}",
                c.stderr_tail
            );
        }
    }

    /// The names come from two derives (serde for JSON, strum for Display and FromStr) that
    /// must agree: a reader parsing a report's status with FromStr gets the same variant.
    #[test]
    fn serde_and_display_names_agree() {
        use strum::VariantArray as _;
        fn agree<T>(all: &[T])
        where
            T: Serialize + std::fmt::Display + std::str::FromStr + PartialEq + std::fmt::Debug,
            <T as std::str::FromStr>::Err: std::fmt::Debug,
        {
            for v in all {
                let json = serde_json::to_string(v).unwrap();
                assert_eq!(json, format!("\"{v}\""));
                assert_eq!(&v.to_string().parse::<T>().unwrap(), v);
            }
        }
        agree(Status::VARIANTS);
        agree(MemorySignal::VARIANTS);
        agree(PlayerVerdict::VARIANTS);
        assert!("timeout".parse::<Status>().is_err());
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
