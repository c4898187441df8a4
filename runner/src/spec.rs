//! The run specification: what to execute, with which limits and paths, and where results go.
//!
//! This is the one input that crosses from the launcher into the runner, so it is parsed
//! strictly: unknown fields, bad sizes and relative paths are errors with a clear message.
//! The command-line flags of `runner run` build the same structure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ids::PlayerId;
use crate::profile::ProfileLimits;
use crate::report::AppliedLimits;
use crate::units::{Secs, Size};

/// The only spec format version this runner understands.
pub const SPEC_VERSION: u32 = 1;

/// Why a spec was refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read spec {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid spec {origin}: {source}")]
    Parse {
        origin: String,
        source: serde_json::Error,
    },
    #[error("invalid spec: {0}")]
    Invalid(String),
}

/// One program to run in the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Format version; must be 1.
    #[serde(default = "spec_version")]
    pub version: u32,
    /// argv: the program (an absolute path) and its arguments.
    pub program: Vec<String>,
    /// Limits; anything left out comes from the profile.
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
    /// Paths granted on top of the profile's defaults.
    #[serde(default, skip_serializing_if = "Paths::is_empty")]
    pub paths: Paths,
    /// Extra environment variables for the program (on top of the profile's fixed set).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Working directory of the program (default: the first `rw` path, else `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// File read as the program's standard input (default: `/dev/null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<PathBuf>,
    /// Hand the runner's own standard input to the program instead of `/dev/null`. Only on
    /// request: whatever the caller's stdin holds (a terminal, a pipe with someone else's
    /// data) would otherwise be readable by hostile code. Not with `stdin`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inherit_stdin: bool,
    /// Where the JSON report goes (default: the runner's standard output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<PathBuf>,
    /// Where the captured standard output goes (default: kept only as a count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<PathBuf>,
    /// Where the captured standard error goes (default: kept only as a count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<PathBuf>,
    /// Where the short summary goes (default: `/dev/termination-log` if it is writable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_log: Option<PathBuf>,
    /// Sandbox profile to use instead of the embedded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<PathBuf>,
}

/// Per-run limits. Every field is optional; the profile supplies the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock time on a monotonic clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_time: Option<Secs>,
    /// CPU time, user plus system, all threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_time: Option<Secs>,
    /// Resident memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    /// Bytes of standard output and of standard error, each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Size>,
    /// Largest file the program may write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<Size>,
    /// Open file descriptors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_files: Option<u64>,
    /// Bytes the writable paths may hold in all (allocated blocks of every file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<Size>,
    /// Entries (files, directories, anything) the writable paths may hold in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_inodes: Option<u64>,
}

impl Limits {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The one resolve step: each limit asked for, else the profile's default, in the plain
    /// units the report states. The address-space backstop is the memory plus the profile's
    /// headroom, never asked for on its own.
    pub fn resolve(&self, defaults: &ProfileLimits) -> AppliedLimits {
        let memory = self.memory.unwrap_or(defaults.memory).bytes();
        AppliedLimits {
            wall_ms: self.wall_time.unwrap_or(defaults.wall_time).as_millis(),
            cpu_ms: self.cpu_time.unwrap_or(defaults.cpu_time).as_millis(),
            memory_bytes: memory,
            address_space_bytes: memory.saturating_add(defaults.address_space_headroom.bytes()),
            output_bytes: self.output.unwrap_or(defaults.output).bytes(),
            file_size_bytes: self.file_size.unwrap_or(defaults.file_size).bytes(),
            open_files: self.open_files.unwrap_or(defaults.open_files),
            disk_bytes: self.disk.unwrap_or(defaults.disk).bytes(),
            disk_inodes: self.disk_inodes.unwrap_or(defaults.disk_inodes),
        }
    }
}

/// Landlock paths added to the profile's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    /// Read-only files and directories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ro: Vec<PathBuf>,
    /// Read and execute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rx: Vec<PathBuf>,
    /// Read and write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rw: Vec<PathBuf>,
}

impl Paths {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn spec_version() -> u32 {
    SPEC_VERSION
}

/// Environment names the spec may never set: they change how the loader or the cluster
/// client behaves, and none of them is anything a game needs.
const FORBIDDEN_ENV_PREFIXES: &[&str] = &["LD_", "KUBERNETES_", "GCONV_", "MALLOC_"];

impl RunSpec {
    /// Parses a JSON spec and validates it. `origin` names the source in error messages.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, SpecError> {
        let spec: Self = serde_json::from_str(text).map_err(|source| SpecError::Parse {
            origin: origin.to_owned(),
            source,
        })?;
        spec.validate()?;
        Ok(spec)
    }

    /// Reads and validates a JSON spec file.
    pub fn from_file(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Checks what serde cannot: versions, absolute paths, names.
    pub fn validate(&self) -> Result<(), SpecError> {
        let bad = |m: String| Err(SpecError::Invalid(m));
        if self.version != SPEC_VERSION {
            return bad(format!(
                "version {} is not supported (this runner reads {SPEC_VERSION})",
                self.version
            ));
        }
        let Some(program) = self.program.first() else {
            return bad(
                "program is empty: give the interpreter's absolute path and its arguments".into(),
            );
        };
        if !program.starts_with('/') {
            return bad(format!("program {program:?} must be an absolute path"));
        }
        if self.program.iter().any(|a| a.contains('\0')) {
            return bad("program arguments may not contain NUL bytes".into());
        }
        let all_paths = self
            .paths
            .ro
            .iter()
            .chain(&self.paths.rx)
            .chain(&self.paths.rw);
        for p in all_paths.chain(&self.cwd).chain(&self.stdin) {
            if !p.is_absolute() {
                return bad(format!("path {} must be absolute", p.display()));
            }
        }
        for (name, value) in &self.env {
            if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
                return bad(format!(
                    "environment variable {name:?} is not a valid name=value pair"
                ));
            }
            if let Some(p) = FORBIDDEN_ENV_PREFIXES.iter().find(|p| name.starts_with(*p)) {
                return bad(format!(
                    "environment variable {name} may not be set (names starting with {p} are refused)"
                ));
            }
        }
        if self.inherit_stdin && self.stdin.is_some() {
            return bad("give either stdin or inherit_stdin, not both".into());
        }
        if self.limits.open_files == Some(0) {
            return bad("limits.open_files must be at least 1".into());
        }
        if let Some(n) = self.limits.disk_inodes
            && !(1..=crate::scan::MAX_ENTRIES).contains(&n)
        {
            return bad(format!(
                "limits.disk_inodes must be 1 to {} (the runner walks them all after the run)",
                crate::scan::MAX_ENTRIES
            ));
        }
        for (what, n) in [
            ("memory", self.limits.memory),
            ("output", self.limits.output),
            ("file_size", self.limits.file_size),
            ("disk", self.limits.disk),
        ] {
            if n == Some(Size(0)) {
                return bad(format!("limits.{what} must be more than 0"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_spec_parses() {
        let s = RunSpec::from_json(r#"{"program":["/usr/bin/python3","-c","pass"]}"#, "t").unwrap();
        assert_eq!(s.program.len(), 3);
        assert_eq!(s.version, 1);
    }

    #[test]
    fn sizes_and_times_parse() {
        let s = RunSpec::from_json(
            r#"{"program":["/p"],"limits":{"memory":"64MiB","wall_time":2.5,"cpu_time":"500ms","output":1024}}"#,
            "t",
        )
        .unwrap();
        assert_eq!(s.limits.memory, Some(Size(64 << 20)));
        assert_eq!(s.limits.wall_time, Some(Secs::from_millis(2500)));
        assert_eq!(s.limits.output, Some(Size(1024)));
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let e = RunSpec::from_json(r#"{"program":["/p"],"limits":{"memroy":"1MiB"}}"#, "t")
            .unwrap_err();
        assert!(e.to_string().contains("memroy"), "{e}");
        let e = RunSpec::from_json(r#"{"program":["/p"],"sudo":true}"#, "t").unwrap_err();
        assert!(e.to_string().contains("sudo"), "{e}");
    }

    #[test]
    fn bad_values_are_explained() {
        for (doc, needle) in [
            (
                r#"{"program":["/p"],"limits":{"memory":"12XB"}}"#,
                "unknown suffix",
            ),
            (
                r#"{"program":["/p"],"limits":{"memory":-5}}"#,
                "non-negative",
            ),
            (
                r#"{"program":["/p"],"limits":{"wall_time":0}}"#,
                "more than 0",
            ),
            (r#"{"program":[]}"#, "program is empty"),
            (
                r#"{"program":["/p"],"limits":{"disk_inodes":100001}}"#,
                "limits.disk_inodes must be 1 to 100000",
            ),
            (
                r#"{"program":["/p"],"limits":{"disk":0}}"#,
                "limits.disk must be more than 0",
            ),
            (r#"{"program":["python3"]}"#, "absolute"),
            (
                r#"{"program":["/p"],"paths":{"rw":["scratch"]}}"#,
                "absolute",
            ),
            (r#"{"program":["/p"],"env":{"LD_PRELOAD":"/x.so"}}"#, "LD_"),
            (r#"{"program":["/p"],"version":2}"#, "version 2"),
            (
                r#"{"program":["/p"],"limits":{"open_files":0}}"#,
                "open_files",
            ),
        ] {
            let e = RunSpec::from_json(doc, "t").unwrap_err().to_string();
            assert!(e.contains(needle), "{doc}: {e}");
        }
    }

    #[test]
    fn round_trips() {
        let s = RunSpec::from_json(
            r#"{"program":["/p","a"],"limits":{"memory":"64MiB","cpu_time":"1500ms"},"paths":{"rw":["/tmp/x"]},"env":{"A":"b"}}"#,
            "t",
        )
        .unwrap();
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(RunSpec::from_json(&text, "t").unwrap(), s);
    }
}

/// A match: one trusted referee and N hostile players, each its own sandboxed process,
/// connected by pipes that the runner creates. (Parsed here; run by the match supervisor.)
///
/// The referee receives, in its environment:
/// - `GAME_PLAYERS`: `id:rfd:wfd` entries joined by `,` — it reads player `id`'s moves from
///   `rfd` (the player's standard output) and writes observations to `wfd` (its standard input);
/// - `GAME_CONTROL`: `rfd:wfd`, the control channel on which it asks the runner to stop and
///   continue players (`crate::control`);
/// - `GAME_OUTPUT_DIR`: a private directory where it writes `replay.jsonl`.
///
/// It prints its result as one JSON document on its standard output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    #[serde(default = "spec_version")]
    pub version: u32,
    pub referee: ProcessSpec,
    pub players: Vec<PlayerSpec>,
    /// Where `result.json`, `replay.jsonl` and the per-process logs land, atomically.
    pub output_dir: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_log: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<PathBuf>,
}

/// One process of a match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    pub program: Vec<String>,
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
    #[serde(default, skip_serializing_if = "Paths::is_empty")]
    pub paths: Paths,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// A player: a process with an id, checked as it is read (see [`PlayerId`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayerSpec {
    pub id: PlayerId,
    #[serde(flatten)]
    pub process: ProcessSpec,
}

/// Most players one match may have: the referee gets two descriptors per player.
pub const MAX_PLAYERS: usize = 16;

impl ProcessSpec {
    /// The single-process spec this process runs as (paths and outputs filled in by the match).
    pub fn to_run_spec(&self) -> RunSpec {
        RunSpec {
            version: SPEC_VERSION,
            program: self.program.clone(),
            limits: self.limits.clone(),
            paths: self.paths.clone(),
            env: self.env.clone(),
            ..RunSpec::default()
        }
    }
}

impl MatchSpec {
    pub fn from_json(text: &str, origin: &str) -> Result<Self, SpecError> {
        let spec: Self = serde_json::from_str(text).map_err(|source| SpecError::Parse {
            origin: origin.to_owned(),
            source,
        })?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn validate(&self) -> Result<(), SpecError> {
        let bad = |m: String| Err(SpecError::Invalid(m));
        if self.version != SPEC_VERSION {
            return bad(format!(
                "version {} is not supported (this runner reads {SPEC_VERSION})",
                self.version
            ));
        }
        if !self.output_dir.is_absolute() {
            return bad(format!(
                "output_dir {} must be absolute",
                self.output_dir.display()
            ));
        }
        if self.players.is_empty() || self.players.len() > MAX_PLAYERS {
            return bad(format!(
                "a match needs 1 to {MAX_PLAYERS} players, not {}",
                self.players.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.players {
            if !seen.insert(p.id.as_str()) {
                return bad(format!("player id {} appears twice", p.id));
            }
        }
        let check = |who: &str, p: &ProcessSpec| {
            p.to_run_spec().validate().map_err(|e| {
                SpecError::Invalid(format!(
                    "{who}: {}",
                    e.to_string().trim_start_matches("invalid spec: ")
                ))
            })
        };
        check("referee", &self.referee)?;
        for p in &self.players {
            check(&format!("player {}", p.id), &p.process)?;
        }
        Ok(())
    }
}

/// What `runner run --spec` was given.
#[derive(Debug, Clone, PartialEq)]
pub enum AnySpec {
    Run(RunSpec),
    Match(MatchSpec),
}

impl AnySpec {
    /// Reads a spec file: a match when it has a `referee`, otherwise a single run.
    pub fn from_file(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_owned(),
            source,
        })?;
        let origin = path.display().to_string();
        let doc: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| SpecError::Parse {
                origin: origin.clone(),
                source,
            })?;
        if doc.get("referee").is_some() {
            MatchSpec::from_json(&text, &origin).map(Self::Match)
        } else {
            RunSpec::from_json(&text, &origin).map(Self::Run)
        }
    }
}

#[cfg(test)]
mod match_tests {
    use super::*;

    const OK: &str = r#"{"referee":{"program":["/usr/bin/python3","-m","game.referee"]},
        "players":[{"id":"random","program":["/usr/bin/python3","/m/random.py"],"limits":{"memory":"64MiB"}},
                   {"id":"greedy","program":["/usr/bin/python3","/m/greedy.py"]}],
        "output_dir":"/out"}"#;

    #[test]
    fn a_match_parses() {
        let m = MatchSpec::from_json(OK, "t").unwrap();
        assert_eq!(m.players[0].id, "random");
        assert_eq!(m.players[0].process.limits.memory, Some(Size(64 << 20)));
    }

    #[test]
    fn bad_matches_are_explained() {
        for (from, to, needle) in [
            ("\"greedy\"", "\"random\"", "twice"),
            ("\"greedy\"", "\"Greedy!\"", "a-z"),
            ("\"/out\"", "\"out\"", "absolute"),
            (
                "\"memory\":\"64MiB\"",
                "\"memory\":\"64XB\"",
                "unknown suffix",
            ),
            (
                "\"/m/greedy.py\"]",
                "\"/m/greedy.py\"],\"cheat\":1",
                "cheat",
            ),
            (
                "[\"/usr/bin/python3\",\"-m\",\"game.referee\"]",
                "[\"python3\"]",
                "referee",
            ),
        ] {
            let doc = OK.replace(from, to);
            let e = MatchSpec::from_json(&doc, "t").unwrap_err().to_string();
            assert!(e.contains(needle), "{from} -> {to}: {e}");
        }
    }

    #[test]
    fn ids() {
        let valid_player_id = |id: &str| PlayerId::new(id).is_ok();
        for ok in ["a", "random", "bot-2", &"x".repeat(63)] {
            assert!(valid_player_id(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a_b",
            "a.b",
            "referee",
            &"x".repeat(64),
        ] {
            assert!(!valid_player_id(bad), "{bad}");
        }
    }
}
