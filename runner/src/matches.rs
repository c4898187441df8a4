//! A match: the trusted referee and each hostile player as separate sandboxed processes of
//! one runner, connected by pipes the runner creates. No player can read another's code or
//! the referee's files, signal or trace anyone, or write the result: the referee prints it,
//! and the runner validates it, records its digest and writes it where no process can.
//!
//! Wiring: player `i`'s standard output goes to the referee's descriptor `3 + 2i` and the
//! referee's descriptor `4 + 2i` is the player's standard input; `GAME_PLAYERS` names them
//! (`id:rfd:wfd,...`). After the players' pipes, the referee's descriptors `3 + 2n` and
//! `4 + 2n` are the control channel (`GAME_CONTROL=rfd:wfd`, see [`crate::control`]), through
//! which it stops and continues players. The referee writes `replay.jsonl` into
//! `GAME_OUTPUT_DIR`, a staging directory only it may write, from which the runner moves it
//! into the output directory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read as _;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::sys::signalfd::SignalFd;

use crate::control::Control;
use crate::game_result::GameResult;
use crate::profile::Profile;
use crate::report::{MatchReport, PlayerReport, PlayerVerdict, REPORT_VERSION, Report, Status};
use crate::spec::{MatchSpec, ProcessSpec, SpecError};
use crate::supervise::{
    self, OutputDir, Proc, Settings, Sink, StdoutTo, Wiring, create_sink, pipe,
};

pub use crate::game_result::RESULT_MAX_BYTES;
/// Largest replay the runner accepts from the staging directory.
pub const REPLAY_MAX_BYTES: u64 = 64 * 1024 * 1024;
const STAGING: &str = ".referee-staging";

/// Everything that can stop a match before it starts.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("output directory {path}: {source}")]
    OutputDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A log could not be created under its hidden name: the match does not run with a
    /// process whose output would be lost or published live.
    #[error("log {path}: {source}")]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Runs a whole match and returns its report. Errors only for a spec that cannot run at all.
pub fn run(
    spec: &MatchSpec,
    profile: &Profile,
    signals: &SignalFd,
) -> Result<MatchReport, MatchError> {
    let started = Instant::now();
    let out = &spec.output_dir;
    let staging = prepare_output_dir(out, profile)?;
    // Opened before anything forks: the result and the replay are read and written through
    // these descriptors, whatever the paths to them have become by the end of the match.
    let open = |dir: &Path| {
        OutputDir::open(dir).map_err(|source| MatchError::OutputDir {
            path: dir.to_owned(),
            source,
        })
    };
    let (out_dir, staging_dir) = (open(out)?, open(&staging)?);

    // Resolve every process first: a bad spec must stop the match before anything runs.
    let mut referee = spec.referee.to_run_spec();
    referee.paths.rw.push(staging.clone());
    referee.cwd = Some(staging.clone());
    let wiring_env: Vec<String> = spec
        .players
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}:{}:{}", p.id, 3 + 2 * i, 4 + 2 * i))
        .collect();
    referee
        .env
        .insert("GAME_PLAYERS".into(), wiring_env.join(","));
    let control_fd = RawFd::try_from(3 + 2 * spec.players.len()).unwrap_or(RawFd::MAX);
    referee.env.insert(
        "GAME_CONTROL".into(),
        format!("{}:{}", control_fd, control_fd + 1),
    );
    referee
        .env
        .insert("GAME_OUTPUT_DIR".into(), staging.display().to_string());
    let report_path = spec.report.as_deref();
    let referee_settings = Settings::resolve(&referee, profile, report_path)?;
    let player_settings = spec
        .players
        .iter()
        .map(|p| {
            player_settings(&p.process, profile, report_path).map_err(|e| prefix(p.id.as_str(), e))
        })
        .collect::<Result<Vec<_>, _>>()?;

    // Pipes, players, then the referee with the other ends.
    let mut logs = Logs::default();
    let mut procs = Vec::with_capacity(spec.players.len() + 1);
    let mut referee_fds: Vec<(RawFd, OwnedFd)> = Vec::new();
    for (i, (p, settings)) in spec.players.iter().zip(player_settings).enumerate() {
        let stderr = logs.sink(out, &format!("{}.stderr.log", p.id))?;
        let (wiring, to_referee, from_referee) = match (pipe(), pipe()) {
            (Ok((moves_r, moves_w)), Ok((obs_r, obs_w))) => (
                Some(Wiring {
                    stdin: obs_r,
                    stdout: StdoutTo::Pipe(moves_w),
                    stderr,
                    handed_on: Vec::new(),
                }),
                Some(moves_r),
                Some(obs_w),
            ),
            _ => (None, None, None),
        };
        let target = RawFd::try_from(3 + 2 * i).unwrap_or(RawFd::MAX);
        if let (Some(r), Some(w)) = (to_referee, from_referee) {
            referee_fds.push((target, r));
            referee_fds.push((target + 1, w));
        }
        procs.push(match wiring {
            Some(w) => Proc::spawn(settings, w),
            None => Proc::failed(settings, "cannot create the player's pipes".into()),
        });
    }
    let player_ids = spec.players.iter().map(|p| p.id.to_string()).collect();
    let mut control = match (pipe(), pipe()) {
        (Ok((requests_r, requests_w)), Ok((answers_r, answers_w))) => {
            referee_fds.push((control_fd, answers_r));
            referee_fds.push((control_fd + 1, requests_w));
            Control::new(requests_r, answers_w, player_ids).ok()
        }
        _ => None,
    };
    let referee_proc = match (File::open("/dev/null"), &control) {
        (_, None) => Proc::failed(referee_settings, "cannot create the control channel".into()),
        (Err(e), _) => Proc::failed(referee_settings, format!("cannot open /dev/null: {e}")),
        (Ok(null), Some(_)) => Proc::spawn(
            referee_settings,
            Wiring {
                stdin: OwnedFd::from(null),
                stdout: StdoutTo::Capture(Sink::Memory(Vec::new())),
                stderr: logs.sink(out, "referee.stderr.log")?,
                handed_on: referee_fds,
            },
        ),
    };
    procs.push(referee_proc);
    let referee_index = procs.len() - 1;

    let oom_kill = supervise::supervise(&mut procs, Some(referee_index), signals, control.as_mut());

    let referee_proc = procs.pop();
    let result_bytes = referee_proc
        .as_ref()
        .and_then(|p| p.stdout_memory())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let referee_report = referee_proc
        .map(|p| p.finish(oom_kill))
        .unwrap_or_else(|| Report::not_run("the referee never ran".into()));
    let player_reports: Vec<Report> = procs.into_iter().map(|p| p.finish(oom_kill)).collect();
    let unpublished = logs.publish();

    let ids: Vec<&str> = spec.players.iter().map(|p| p.id.as_str()).collect();
    let mut report = MatchReport {
        version: REPORT_VERSION,
        status: Status::Ok,
        reason: String::new(),
        wall_ms: 0,
        result: None,
        result_sha256: None,
        replay_sha256: None,
        output_dir: out.clone(),
        referee: referee_report,
        players: BTreeMap::new(),
    };
    let failed_setup = std::iter::once(("the referee".to_owned(), &report.referee))
        .chain(
            ids.iter()
                .zip(&player_reports)
                .map(|(id, r)| (format!("player {id}"), r)),
        )
        .find(|(_, r)| r.status == Status::SandboxError)
        .map(|(who, r)| format!("the sandbox of {who} could not be set up: {}", r.reason));

    if let Some(reason) = failed_setup {
        (report.status, report.reason) = (Status::SandboxError, reason);
    } else if report.referee.status == Status::Cancelled {
        (report.status, report.reason) = (Status::Cancelled, report.referee.reason.clone());
    } else if report.referee.status != Status::Ok {
        (report.status, report.reason) = (
            report.referee.status,
            format!(
                "the referee failed ({}); no result, no player credited",
                report.referee.reason
            ),
        );
    } else {
        match GameResult::parse(&result_bytes, &ids) {
            Err(why) => {
                (report.status, report.reason) = (
                    Status::RuntimeError,
                    format!("the referee's result was refused: {why}; no player credited"),
                );
            }
            Ok(result) => match publish(&out_dir, &staging_dir, &result_bytes) {
                Ok((result_sha, replay_sha)) => {
                    report.reason = result.describe();
                    report.result = Some(result);
                    report.result_sha256 = Some(result_sha);
                    report.replay_sha256 = replay_sha;
                }
                Err(e) => {
                    (report.status, report.reason) = (
                        Status::SandboxError,
                        format!("cannot write the match output: {e}"),
                    );
                }
            },
        }
    }
    for (id, mut r) in ids.iter().zip(player_reports) {
        // A player starts running on turn 1 and the referee resumes it for every later turn.
        r.turns = Some(r.turns.unwrap_or(0).saturating_add(1));
        let forfeit = report
            .result
            .as_ref()
            .is_some_and(|res| res.forfeited().any(|f| f == id));
        let verdict = player_verdict(&r, forfeit);
        report.players.insert(
            (*id).to_owned(),
            PlayerReport {
                verdict,
                process: r,
            },
        );
    }
    // The match has run: what could not be tidied up is said, not dropped, and a log left
    // under its hidden name means the artifacts are incomplete.
    if let Some(e) = unpublished {
        (report.status, report.reason) = (
            Status::SandboxError,
            format!(
                "the match ran but its logs could not all be published ({e}); no player credited"
            ),
        );
        report.result = None;
    }
    if let Err(e) = std::fs::remove_dir_all(&staging) {
        report.reason.push_str(&format!(
            " (the staging directory {} could not be removed: {e})",
            staging.display()
        ));
    }
    report.wall_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

fn prefix(id: &str, e: SpecError) -> SpecError {
    SpecError::Invalid(format!(
        "player {id}: {}",
        e.to_string().trim_start_matches("invalid spec: ")
    ))
}

/// A player gets no writable path and no working directory of its own.
fn player_settings(
    p: &ProcessSpec,
    profile: &Profile,
    report: Option<&Path>,
) -> Result<Settings, SpecError> {
    let mut spec = p.to_run_spec();
    spec.cwd = Some(PathBuf::from("/"));
    Settings::resolve(&spec, profile, report)
}

/// The logs of a match, each written under a hidden, random name while the match runs and
/// given its own name (`<id>.stderr.log`) once every process has ended. A player cannot list
/// the output directory (Landlock), but `stat` needs no Landlock right: under a predictable
/// name the opponent's log would show when and how much it writes, turn by turn.
#[derive(Debug, Default)]
struct Logs {
    /// (name while running, final name)
    names: Vec<(PathBuf, PathBuf)>,
}

impl Logs {
    fn sink(&mut self, dir: &Path, name: &str) -> Result<Sink, MatchError> {
        let log_error = |source| MatchError::Log {
            path: dir.join(name),
            source,
        };
        // No randomness, no hidden name: the log would be published live.
        let token = random_hex().ok_or_else(|| {
            log_error(std::io::Error::other(
                "no random bytes for the log's hidden name",
            ))
        })?;
        let running = dir.join(format!(".{token}.{name}"));
        let f = create_sink(&running).map_err(log_error)?;
        self.names.push((running, dir.join(name)));
        Ok(Sink::File(f))
    }

    /// Every log under its own name; the processes have ended. The first failure, if any.
    fn publish(self) -> Option<String> {
        let mut first = None;
        for (running, done) in self.names {
            if let Err(e) = std::fs::rename(&running, &done) {
                first.get_or_insert_with(|| format!("{}: {e}", done.display()));
            }
        }
        first
    }
}

/// 128 random bits in hex, from the kernel.
fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 16];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the buffer it is given.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    (usize::try_from(n).ok() == Some(bytes.len())).then(|| crate::digest::hex(&bytes))
}

/// Creates the output directory (the runner's alone) and a fresh staging directory inside it
/// that only the referee's uid may write. A reused directory loses the previous match's
/// artifacts first: a failed match must never leave an earlier winner readable there.
fn prepare_output_dir(out: &Path, profile: &Profile) -> Result<PathBuf, MatchError> {
    let err = |source| MatchError::OutputDir {
        path: out.to_owned(),
        source,
    };
    std::fs::create_dir_all(out).map_err(err)?;
    for entry in std::fs::read_dir(out).map_err(err)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Logs under their own name or a hidden one (a match the runner did not finish).
        if name == "result.json" || name == "replay.jsonl" || name.ends_with(".stderr.log") {
            std::fs::remove_file(entry.path()).map_err(err)?;
        }
    }
    let staging = out.join(STAGING);
    if std::fs::symlink_metadata(&staging).is_ok() {
        std::fs::remove_dir_all(&staging).map_err(err)?;
    }
    std::fs::create_dir(&staging).map_err(err)?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    if nix::unistd::geteuid().is_root() {
        let uid = nix::unistd::Uid::from_raw(profile.identity.uid);
        let gid = nix::unistd::Gid::from_raw(profile.identity.gid);
        nix::unistd::chown(&staging, Some(uid), Some(gid)).map_err(|e| err(e.into()))?;
    }
    Ok(staging)
}

/// A player's verdict: its own process first (limits, crashes, violations), then the referee.
pub fn player_verdict(r: &Report, forfeit: bool) -> PlayerVerdict {
    match r.status {
        Status::SandboxError => PlayerVerdict::SandboxError,
        Status::Cancelled => PlayerVerdict::Cancelled,
        Status::TimeoutWall | Status::TimeoutCpu => PlayerVerdict::Timeout,
        Status::MemoryLimit => PlayerVerdict::Memory,
        Status::PolicyViolation => PlayerVerdict::PolicyViolation,
        Status::RuntimeError
        | Status::Signaled
        | Status::OutputLimit
        | Status::FileSizeLimit
        | Status::DiskLimit => PlayerVerdict::Crash,
        Status::Ok if forfeit => PlayerVerdict::Forfeit,
        Status::Ok => PlayerVerdict::Ok,
    }
}

/// Writes result.json and moves replay.jsonl out of staging; returns their digests.
fn publish(
    out: &OutputDir,
    staging: &OutputDir,
    result: &[u8],
) -> std::io::Result<(String, Option<String>)> {
    let text = std::str::from_utf8(result).map_err(std::io::Error::other)?;
    out.write_atomically("result.json".as_ref(), text.trim_end().as_bytes())?;
    let result_sha = crate::sha256_hex(text.trim_end().as_bytes());
    // Opened without following a link, and checked on the descriptor: the referee is
    // trusted, but its directory is still checked: a regular file, of sane size, with one
    // name; never a link to something of the runner's.
    let not_plain = || std::io::Error::other("replay.jsonl is not a plain file of acceptable size");
    let replay = match staging.open_file("replay.jsonl".as_ref()) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((result_sha, None)),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(not_plain()),
        Err(e) => return Err(e),
    };
    let meta = replay.metadata()?;
    if !meta.is_file() || meta.nlink() != 1 || meta.len() > REPLAY_MAX_BYTES {
        return Err(not_plain());
    }
    let mut bytes = Vec::new();
    replay.take(REPLAY_MAX_BYTES).read_to_end(&mut bytes)?;
    let sha = crate::sha256_hex(&bytes);
    std::str::from_utf8(&bytes).map_err(std::io::Error::other)?;
    out.write_atomically("replay.jsonl".as_ref(), &bytes)?;
    Ok((result_sha, Some(sha)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_for_players() {
        let mut r = Report::not_run(String::new());
        r.status = Status::Ok;
        assert_eq!(player_verdict(&r, false), PlayerVerdict::Ok);
        assert_eq!(player_verdict(&r, true), PlayerVerdict::Forfeit);
        r.status = Status::MemoryLimit;
        assert_eq!(
            player_verdict(&r, true),
            PlayerVerdict::Memory,
            "the process's own verdict comes first"
        );
        r.status = Status::PolicyViolation;
        assert_eq!(player_verdict(&r, false), PlayerVerdict::PolicyViolation);
    }
}
