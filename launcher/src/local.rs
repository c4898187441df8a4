//! The local backend: runs the runner binary on this machine with the same match spec the pod
//! would get, but with host paths. No cluster needed.
//!
//! Each match gets a directory `<work>/<match-id>/`:
//!
//! ```text
//! request.sha256   what the match runs (spec and code): a second submit of the same id attaches
//! code/<id>-<token>.py  each player's code (readable by the sandbox uid; Landlock lets each
//!                  player read its own file only; the token keeps the others from `stat()`)
//! spec.json        the runner's MatchSpec
//! runner.log       the runner's own standard output and error
//! report.json      the runner's MatchReport
//! summary.json     the short summary (what a pod's termination message would hold)
//! out/             result.json, replay.jsonl, referee.stderr.log, <player>.stderr.log
//! ```
//!
//! While the runner runs, it holds an exclusive `flock` on the match directory's `runner.log`:
//! the launcher takes it (in the staging directory, before the rename that publishes it) and
//! hands the locked descriptor to the runner as its standard output and error, which it keeps
//! open for its whole life. The lock lives exactly as long as the runner, so a second `start`
//! of the same match sees it and attaches instead of running the match again, and no pid is
//! ever read from a file. (Not the directory itself: a directory cannot be a process's
//! standard stream, and Python, which a test's fake runner is, refuses one as stdin.)
//!
//! When the launcher runs as root, the runner drops every sandboxed process to uid 65532: the
//! directories are made traversable and the code readable by it, while `out/` is created by
//! the runner itself and writable only by it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use runner::exit::RunnerExit;
use runner::report::MatchReport;

use crate::error::LaunchError;
use crate::match_lock::{LOG, lock_dir, lock_holders, runner_holds};
use crate::outcome::{
    Artifacts, GameUsed, ListEntry, LogChunk, MatchStatus, Outcome, State, Verdict,
};
use crate::plan::{self, Layout};
use crate::request::Match;

mod discover;
mod files;

use discover::game_digest;
pub use discover::{find_game_dir, find_runner};
use files::{is_root, mkdir, remove_stale, tail, write_file};

pub const BACKEND: &str = "local";

/// Where the runner, the game and the work directories are. None: discovered.
#[derive(Debug, Clone, Default)]
pub struct LocalConfig {
    /// `--runner`, else `LAUNCHER_RUNNER`, else `runner` next to the launcher executable,
    /// else `target/{release,debug}/runner` under the current directory or an ancestor (a
    /// checkout, found at run time).
    pub runner: Option<PathBuf>,
    /// `--game-dir`, else `LAUNCHER_GAME_DIR`, else `/opt/game` (the image's), else
    /// `image/game` under the current directory or an ancestor (a checkout).
    pub game_dir: Option<PathBuf>,
    /// `--work-dir`, else `LAUNCHER_WORK_DIR`, else `$TMPDIR/launcher`.
    pub work_dir: Option<PathBuf>,
}

/// The local backend.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    runner: PathBuf,
    game_dir: PathBuf,
    game: GameUsed,
    work_root: PathBuf,
}

/// A run handed to the runner.
#[derive(Debug)]
pub struct Started {
    pub match_id: String,
    pub dir: PathBuf,
    /// The runner process, when this call started it.
    pub child: Option<tokio::process::Child>,
    pub attached: bool,
}

impl LocalBackend {
    pub fn new(cfg: &LocalConfig) -> Result<Self, LaunchError> {
        let runner = find_runner(cfg.runner.as_deref())?;
        let game_dir = find_game_dir(cfg.game_dir.as_deref())?;
        let work_root = cfg
            .work_dir
            .clone()
            .or_else(|| std::env::var_os("LAUNCHER_WORK_DIR").map(PathBuf::from))
            .unwrap_or_else(|| std::env::temp_dir().join("launcher"));
        let work_root = if work_root.is_absolute() {
            work_root
        } else {
            std::env::current_dir()
                .map_err(|e| LaunchError::io("cannot read the current directory", e))?
                .join(work_root)
        };
        let game = GameUsed {
            source: game_dir.display().to_string(),
            digest: game_digest(&game_dir)?,
        };
        Ok(Self {
            runner,
            game_dir,
            game,
            work_root,
        })
    }

    pub fn runner(&self) -> &Path {
        &self.runner
    }

    pub fn game_dir(&self) -> &Path {
        &self.game_dir
    }

    /// The game this backend runs, with its digest.
    pub fn game(&self) -> &GameUsed {
        &self.game
    }

    pub fn match_dir(&self, id: &str) -> PathBuf {
        self.work_root.join(id)
    }

    fn layout(&self, dir: &Path) -> Layout {
        Layout {
            python: plan::PYTHON.into(),
            game_dir: self.game_dir.clone(),
            code_dir: dir.join("code"),
            output_dir: dir.join("out"),
            report: Some(dir.join("report.json")),
            termination_log: Some(dir.join("summary.json")),
        }
    }

    fn check_id(id: &str) -> Result<(), LaunchError> {
        runner::ids::MatchId::new(id)
            .map(drop)
            .map_err(|e| crate::RequestError::from(e).into())
    }

    /// Prepares the match directory and starts the runner, or attaches to an existing run of
    /// the same match.
    pub async fn start(&self, m: &Match) -> Result<Started, LaunchError> {
        mkdir(&self.work_root)?;
        let dir = self.match_dir(&m.id);
        let spec = plan::match_spec(m, &self.layout(&dir));
        let spec_json = serde_json::to_string_pretty(&spec)
            .map_err(|e| LaunchError::io("cannot serialise the spec", std::io::Error::other(e)))?;
        let mut entries: Vec<(String, &[u8])> =
            vec![(plan::SPEC_KEY.to_owned(), spec_json.as_bytes())];
        for p in &m.players {
            entries.push((p.file_name(), &p.code));
        }
        let digest = plan::digest(entries.iter().map(|(k, v)| (k.as_str(), *v)));

        // Build the directory aside, locked, then rename it in place: the rename is the one
        // atomic step that decides which of two concurrent submits runs the match, and the
        // lock (on the directory, which the rename keeps) is already held when it appears.
        // Unique per call, not only per process: two starts may run in one process.
        static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let staging = self
            .work_root
            .join(format!(".{}.{}.{n}.tmp", m.id, std::process::id()));
        remove_stale(&staging)?;
        mkdir(&staging.join("code"))?;
        let lock = lock_dir(&staging)?.ok_or_else(|| {
            LaunchError::io(
                format!("cannot lock {}", staging.display()),
                std::io::Error::from(std::io::ErrorKind::WouldBlock),
            )
        })?;
        write_file(&staging.join("request.sha256"), digest.as_bytes(), 0o644)?;
        write_file(&staging.join(plan::SPEC_KEY), spec_json.as_bytes(), 0o644)?;
        // The runner writes the summary into an existing file, as into a pod's
        // /dev/termination-log.
        write_file(&staging.join("summary.json"), b"", 0o600)?;
        for p in &m.players {
            write_file(&staging.join("code").join(p.file_name()), &p.code, 0o644)?;
        }
        match std::fs::rename(&staging, &dir) {
            Ok(()) => {}
            Err(e) if dir.exists() => {
                drop(lock);
                remove_stale(&staging)?;
                let existing =
                    std::fs::read_to_string(dir.join("request.sha256")).unwrap_or_default();
                if existing.trim() != digest {
                    return Err(LaunchError::Conflict {
                        id: m.id.clone(),
                        place: format!("in {}", dir.display()),
                        existing: existing.trim().to_owned(),
                        ours: digest,
                    });
                }
                let _ = e;
                let lock = match lock_dir(&dir)? {
                    Some(lock) if !dir.join("report.json").exists() => lock,
                    // A runner holds it, or the match has finished.
                    _ => {
                        return Ok(Started {
                            match_id: m.id.clone(),
                            dir,
                            child: None,
                            attached: true,
                        });
                    }
                };
                // The earlier run died without a report: run it again in place.
                remove_stale(&dir.join("out"))?;
                let summary = dir.join("summary.json");
                std::fs::write(&summary, b"").map_err(|e| {
                    LaunchError::io(format!("cannot empty {}", summary.display()), e)
                })?;
                let child = self.spawn(&dir, lock)?;
                return Ok(Started {
                    match_id: m.id.clone(),
                    dir,
                    child: Some(child),
                    attached: true,
                });
            }
            Err(e) => {
                drop(lock);
                let what = match remove_stale(&staging) {
                    Ok(()) => format!("cannot create {}", dir.display()),
                    Err(c) => format!("cannot create {} (and {c})", dir.display()),
                };
                return Err(LaunchError::io(what, e));
            }
        }
        let child = self.spawn(&dir, lock)?;
        Ok(Started {
            match_id: m.id.clone(),
            dir,
            child: Some(child),
            attached: false,
        })
    }

    /// Starts the runner on `dir`, handing it the directory's lock as its standard input.
    /// Starts the runner on `dir`, handing it the locked `runner.log` as its output.
    fn spawn(&self, dir: &Path, log: std::fs::File) -> Result<tokio::process::Child, LaunchError> {
        let log2 = log
            .try_clone()
            .map_err(|e| LaunchError::io("cannot duplicate runner.log", e))?;
        let child = tokio::process::Command::new(&self.runner)
            .arg("run")
            .arg("--spec")
            .arg(dir.join(plan::SPEC_KEY))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .current_dir(dir)
            .spawn()
            .map_err(|e| LaunchError::io(format!("cannot start {}", self.runner.display()), e))?;
        Ok(child)
    }

    fn running(&self, id: &str) -> bool {
        runner_holds(&self.match_dir(id))
    }

    /// Runs a match to the end: start (or attach) and wait.
    pub async fn play(&self, m: &Match) -> Result<Outcome, LaunchError> {
        let started = self.start(m).await?;
        self.finish(started, None).await
    }

    /// Waits for a started run.
    pub async fn finish(
        &self,
        started: Started,
        timeout: Option<Duration>,
    ) -> Result<Outcome, LaunchError> {
        let Started {
            match_id,
            dir: _,
            child,
            attached,
        } = started;
        let code = match child {
            Some(mut child) => {
                let status = match timeout {
                    Some(t) => tokio::time::timeout(t, child.wait()).await.map_err(|_| {
                        LaunchError::Timeout {
                            id: match_id.clone(),
                            secs: t.as_secs(),
                        }
                    })?,
                    None => child.wait().await,
                }
                .map_err(|e| LaunchError::io("cannot wait for the runner", e))?;
                Some(status.code().unwrap_or(-1))
            }
            None => {
                self.wait_for_exit(&match_id, timeout).await?;
                None
            }
        };
        let mut o = self.outcome_of(&match_id, code)?;
        o.attached = attached;
        Ok(o)
    }

    async fn wait_for_exit(&self, id: &str, timeout: Option<Duration>) -> Result<(), LaunchError> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        while self.running(id) && !self.match_dir(id).join("report.json").exists() {
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return Err(LaunchError::Timeout {
                    id: id.to_owned(),
                    secs: timeout.map_or(0, |t| t.as_secs()),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// The outcome of a run whose runner has exited (`code`: its exit code, when known).
    fn outcome_of(&self, id: &str, code: Option<i32>) -> Result<Outcome, LaunchError> {
        let dir = self.match_dir(id);
        let report_path = dir.join("report.json");
        let out = dir.join("out");
        let existing = |p: PathBuf| p.is_file().then_some(p);
        let artifacts = Artifacts::Local {
            dir: out.clone(),
            report: existing(report_path.clone()),
            result: existing(out.join("result.json")),
            replay: existing(out.join("replay.jsonl")),
        };
        let reported = code.is_none_or(|c| {
            c == i32::from(RunnerExit::Reported.code())
                || c == i32::from(RunnerExit::SandboxSetup.code())
        });
        if reported && let Ok(text) = std::fs::read_to_string(&report_path) {
            return match serde_json::from_str::<MatchReport>(&text) {
                Ok(r) => {
                    let mut o = Outcome::from_report(id, BACKEND, &r);
                    o.artifacts = Some(artifacts);
                    o.runner_exit_code = code;
                    Ok(o)
                }
                Err(e) => {
                    let mut o = Outcome::failed(
                        id,
                        BACKEND,
                        Verdict::InfrastructureError,
                        format!(
                            "the runner's report {} is unreadable: {e}",
                            report_path.display()
                        ),
                    );
                    o.runner_exit_code = code;
                    Ok(o)
                }
            };
        }
        if !dir.exists() {
            return Err(LaunchError::NotFound {
                id: id.to_owned(),
                place: format!("in {}", self.work_root.display()),
            });
        }
        let (log, _) = tail(&dir.join("runner.log"), 2048);
        let what = match code {
            Some(c) if c == i32::from(RunnerExit::BadSpec.code()) => {
                "the runner refused the spec".to_owned()
            }
            Some(c) if c == i32::from(RunnerExit::ReportWrite.code()) => {
                "the runner could not write its report".to_owned()
            }
            Some(-1) => "the runner was killed by a signal".to_owned(),
            Some(c) => format!("the runner exited with {c} and no report"),
            None => "the runner ended without a report".to_owned(),
        };
        let mut o = Outcome::failed(
            id,
            BACKEND,
            Verdict::InfrastructureError,
            format!("{what}: {}", log.trim()),
        );
        o.runner_exit_code = code;
        Ok(o)
    }

    /// Starts a match and returns at once; the runner goes on after the launcher exits.
    pub async fn submit(&self, m: &Match) -> Result<bool, LaunchError> {
        let started = self.start(m).await?;
        // The child is not waited for: dropping the handle leaves the process running.
        Ok(started.attached)
    }

    pub async fn wait(&self, id: &str, timeout: Option<Duration>) -> Result<Outcome, LaunchError> {
        Self::check_id(id)?;
        self.wait_for_exit(id, timeout).await?;
        self.outcome_of(id, None)
    }

    pub fn status(&self, id: &str) -> Result<MatchStatus, LaunchError> {
        Self::check_id(id)?;
        let dir = self.match_dir(id);
        if !dir.exists() {
            return Err(LaunchError::NotFound {
                id: id.to_owned(),
                place: format!("in {}", self.work_root.display()),
            });
        }
        let (state, detail, outcome) = if dir.join("report.json").exists() {
            (
                State::Finished,
                String::new(),
                Some(self.outcome_of(id, None)?),
            )
        } else if self.running(id) {
            let pids: Vec<String> = lock_holders(&dir)
                .iter()
                .map(|(p, _)| p.to_string())
                .collect();
            (
                State::Running,
                format!("runner pid {}", pids.join(", ")),
                None,
            )
        } else {
            let o = self.outcome_of(id, None)?;
            (State::Failed, o.reason.clone(), Some(o))
        };
        Ok(MatchStatus {
            match_id: id.to_owned(),
            backend: BACKEND,
            state,
            detail,
            namespace: None,
            outcome,
        })
    }

    pub fn result(&self, id: &str) -> Result<Outcome, LaunchError> {
        Self::check_id(id)?;
        if self.running(id) {
            return Err(LaunchError::NotFinished {
                id: id.to_owned(),
                state: "running".to_owned(),
            });
        }
        self.outcome_of(id, None)
    }

    /// The runner's log and each process's standard error, each capped at `max_bytes`.
    pub fn logs(&self, id: &str, max_bytes: usize) -> Result<Vec<LogChunk>, LaunchError> {
        Self::check_id(id)?;
        let dir = self.match_dir(id);
        if !dir.exists() {
            return Err(LaunchError::NotFound {
                id: id.to_owned(),
                place: format!("in {}", self.work_root.display()),
            });
        }
        let mut files = vec![dir.join(LOG)];
        if let Ok(rd) = std::fs::read_dir(dir.join("out")) {
            let mut logs: Vec<PathBuf> = rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".stderr.log"))
                .collect();
            logs.sort();
            files.extend(logs);
        }
        Ok(files
            .into_iter()
            .filter(|p| p.exists())
            .map(|p| {
                let (text, truncated) = tail(&p, max_bytes);
                LogChunk {
                    source: p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    text,
                    truncated,
                }
            })
            .collect())
    }

    /// Asks the runner to stop: it turns SIGTERM into a `cancelled` report.
    pub fn cancel(&self, id: &str) -> Result<(), LaunchError> {
        Self::check_id(id)?;
        let dir = self.match_dir(id);
        if !dir.exists() {
            return Err(LaunchError::NotFound {
                id: id.to_owned(),
                place: format!("in {}", self.work_root.display()),
            });
        }
        for (pid, pidfd) in lock_holders(&dir) {
            match rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::TERM) {
                // It ended meanwhile: nothing left to cancel.
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(e) => {
                    return Err(LaunchError::io(
                        format!("cannot signal runner pid {pid}"),
                        e.into(),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<ListEntry>, LaunchError> {
        let Ok(rd) = std::fs::read_dir(&self.work_root) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for e in rd.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.path().join("request.sha256").exists() {
                continue;
            }
            let state = if e.path().join("report.json").exists() {
                State::Finished
            } else if self.running(&name) {
                State::Running
            } else {
                State::Failed
            };
            let age_secs = e
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .map(|d| d.as_secs());
            out.push(ListEntry {
                match_id: name,
                state,
                age_secs,
                namespace: None,
                tenant: None,
            });
        }
        out.sort_by(|a, b| a.match_id.cmp(&b.match_id));
        Ok(out)
    }

    /// Deletes the directories of finished runs older than `older_than`.
    pub fn gc(&self, older_than: Duration) -> Result<Vec<String>, LaunchError> {
        let mut removed = Vec::new();
        for e in self.list()? {
            if e.state != State::Running && e.age_secs.is_some_and(|a| a >= older_than.as_secs()) {
                let dir = self.match_dir(&e.match_id);
                std::fs::remove_dir_all(&dir).map_err(|err| {
                    LaunchError::io(format!("cannot remove {}", dir.display()), err)
                })?;
                removed.push(e.match_id);
            }
        }
        Ok(removed)
    }

    /// True when running as root (the runner then drops the sandbox to uid 65532).
    pub fn runs_as_root(&self) -> bool {
        is_root()
    }
}
