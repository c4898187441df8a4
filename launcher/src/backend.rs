//! One interface over both backends, for the command line and for batches.

use std::time::Duration;

use serde::Serialize;

use crate::cluster::KubeBackend;
use crate::error::LaunchError;
use crate::local::LocalBackend;
use crate::outcome::{GameUsed, ListEntry, LogChunk, MatchStatus, Outcome, State, Verdict};
use crate::request::Match;

/// Where matches run.
#[derive(Debug)]
pub enum Backend {
    Local(LocalBackend),
    Kube(Box<KubeBackend>),
}

/// A match submitted earlier: its id and, on kube, the namespace it runs in (`None`: the
/// settings' namespace). The local backend has no namespaces and reads only the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchRef<'a> {
    pub namespace: Option<&'a str>,
    pub id: &'a str,
}

impl<'a> MatchRef<'a> {
    /// The match `id` in the backend's own namespace.
    pub const fn new(id: &'a str) -> Self {
        Self {
            namespace: None,
            id,
        }
    }
}

/// How `play` runs a match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlayOptions {
    /// How long to wait for the verdict (`None`: as long as it takes).
    pub timeout: Option<Duration>,
    /// Kube: leave the Job in place for inspection instead of deleting it after the verdict.
    pub keep: bool,
}

/// What `submit` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmitInfo {
    pub match_id: String,
    pub backend: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// An earlier submit of the same request had already started it.
    pub attached: bool,
    /// Kube: the preflight rules the namespace failed, overridden by
    /// `--allow-unisolated-namespace` (absent when it passed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preflight_overridden: Vec<crate::preflight::Check>,
}

/// Whether a local match that a submit attached to (same id, same request) ended cancelled;
/// if so its directory is removed, so the caller runs it again instead of handing back the
/// cancelled result (a batch interrupted by Ctrl-C is re-run this way). On kube a cancelled
/// match has no Job left (cancel deletes it), so a new submit runs it again by itself.
fn cancelled_locally(l: &LocalBackend, id: &str) -> Result<bool, LaunchError> {
    let st = l.status(id)?;
    let cancelled = st.state != State::Running
        && st
            .outcome
            .as_ref()
            .is_some_and(|o| o.verdict == Verdict::Cancelled);
    if cancelled {
        let dir = l.match_dir(id);
        tracing::info!(
            match_id = id,
            "the earlier run was cancelled; running it again"
        );
        std::fs::remove_dir_all(&dir).map_err(|e| LaunchError::Io {
            what: format!("cannot remove the cancelled run {}", dir.display()),
            source: e,
        })?;
    }
    Ok(cancelled)
}

/// Plays a local match to its verdict, running it again rather than handing back a cancelled
/// run it attached to.
async fn play_locally(
    l: &LocalBackend,
    m: &Match,
    timeout: Option<Duration>,
) -> Result<Outcome, LaunchError> {
    let started = l.start(m).await?;
    if started.attached && cancelled_locally(l, &m.id)? {
        let started = l.start(m).await?;
        return l.finish(started, timeout).await;
    }
    l.finish(started, timeout).await
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Local(_) => crate::local::BACKEND,
            Self::Kube(_) => crate::cluster::BACKEND,
        }
    }

    /// The namespace a match runs in (kube), for cancelling it by id.
    pub fn namespace_of(&self, m: &Match) -> Option<String> {
        match self {
            Self::Local(_) => None,
            Self::Kube(k) => Some(k.settings().namespace_for(m)),
        }
    }

    /// The game a match started now would run with (see [`GameUsed`]): local, the game
    /// directory; kube, the settings' image, by the digest it is pinned with. A kube outcome
    /// does not take it from here: it names what the match's pod ran, which the settings may
    /// no longer say (they changed since the submit, or the Job was submitted by another
    /// launcher).
    pub fn game(&self) -> GameUsed {
        match self {
            Self::Local(l) => l.game().clone(),
            Self::Kube(k) => {
                let image = &k.settings().image;
                GameUsed {
                    source: image.clone(),
                    digest: crate::names::image_digest(image)
                        .unwrap_or_default()
                        .to_owned(),
                }
            }
        }
    }

    /// Names the game of an outcome that does not name it already: a kube outcome does, from
    /// its pod, and the settings must not overwrite that.
    fn with_game(&self, o: Result<Outcome, LaunchError>) -> Result<Outcome, LaunchError> {
        o.map(|mut o| {
            if o.game.is_none() {
                o.game = Some(self.game());
            }
            o
        })
    }

    /// Runs a match to its verdict.
    pub async fn play(&self, m: &Match, opts: PlayOptions) -> Result<Outcome, LaunchError> {
        let o = match self {
            Self::Local(l) => play_locally(l, m, opts.timeout).await,
            Self::Kube(k) => k.play(m, opts).await,
        };
        self.with_game(o)
    }

    pub async fn submit(&self, m: &Match) -> Result<SubmitInfo, LaunchError> {
        match self {
            Self::Local(l) => {
                let mut attached = l.submit(m).await?;
                if attached && cancelled_locally(l, &m.id)? {
                    attached = l.submit(m).await?;
                }
                Ok(SubmitInfo {
                    match_id: m.id.clone(),
                    backend: self.name(),
                    namespace: None,
                    attached,
                    preflight_overridden: Vec::new(),
                })
            }
            Self::Kube(k) => {
                let s = k.submit(m).await?;
                Ok(SubmitInfo {
                    match_id: s.match_id,
                    backend: self.name(),
                    namespace: Some(s.namespace),
                    attached: s.attached,
                    preflight_overridden: s.preflight_overridden,
                })
            }
        }
    }

    pub async fn wait(
        &self,
        m: MatchRef<'_>,
        timeout: Option<Duration>,
    ) -> Result<Outcome, LaunchError> {
        let o = match self {
            Self::Local(l) => l.wait(m.id, timeout).await,
            Self::Kube(k) => k.wait(m, timeout).await,
        };
        self.with_game(o)
    }

    pub async fn status(&self, m: MatchRef<'_>) -> Result<MatchStatus, LaunchError> {
        match self {
            Self::Local(l) => l.status(m.id),
            Self::Kube(k) => k.status(m).await,
        }
    }

    /// The verdict of a finished match. `keep`: leave its Job (kube) in place.
    pub async fn result(&self, m: MatchRef<'_>, keep: bool) -> Result<Outcome, LaunchError> {
        let o = match self {
            Self::Local(l) => l.result(m.id),
            Self::Kube(k) => k.result(m, keep).await,
        };
        self.with_game(o)
    }

    pub async fn logs(
        &self,
        m: MatchRef<'_>,
        max_bytes: usize,
    ) -> Result<Vec<LogChunk>, LaunchError> {
        match self {
            Self::Local(l) => l.logs(m.id, max_bytes),
            Self::Kube(k) => k.logs(m, max_bytes).await,
        }
    }

    pub async fn cancel(&self, m: MatchRef<'_>) -> Result<(), LaunchError> {
        match self {
            Self::Local(l) => l.cancel(m.id),
            Self::Kube(k) => k.cancel(m).await,
        }
    }

    /// Removes a match and what it left. Kube: its Job, with the pods and the ConfigMap it
    /// owns (the same request as `cancel`, which also removes a running match; artifacts on
    /// the results PVC stay). Local: its work directory, once it is not running (a running
    /// match is refused: cancel it first, so no runner writes into a removed directory).
    pub async fn delete(&self, m: MatchRef<'_>) -> Result<(), LaunchError> {
        match self {
            Self::Local(l) => {
                let st = l.status(m.id)?;
                if st.state == State::Running {
                    return Err(LaunchError::StillRunning {
                        id: m.id.to_owned(),
                    });
                }
                let dir = l.match_dir(m.id);
                std::fs::remove_dir_all(&dir).map_err(|e| LaunchError::Io {
                    what: format!("cannot remove {}", dir.display()),
                    source: e,
                })
            }
            Self::Kube(k) => k.cancel(m).await,
        }
    }

    /// Suspends (true) or resumes (false) a match; kube only.
    pub async fn set_suspended(&self, m: MatchRef<'_>, suspend: bool) -> Result<(), LaunchError> {
        match self {
            Self::Local(_) => Err(LaunchError::Unsupported(
                if suspend { "suspend" } else { "resume" },
                crate::local::BACKEND,
            )),
            Self::Kube(k) => k.set_suspended(m, suspend).await,
        }
    }

    pub async fn list(&self, ns: Option<&str>) -> Result<Vec<ListEntry>, LaunchError> {
        match self {
            Self::Local(l) => l.list(),
            Self::Kube(k) => k.list(ns).await,
        }
    }

    pub async fn gc(
        &self,
        ns: Option<&str>,
        older_than: Duration,
    ) -> Result<Vec<String>, LaunchError> {
        match self {
            Self::Local(l) => l.gc(older_than),
            Self::Kube(k) => k.gc(ns, older_than).await,
        }
    }
}

/// A command-line duration (`90s`, `15m`, `2h`, `7d`, plain seconds): the one grammar of
/// [`runner::units::parse_duration`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    runner::units::parse_duration(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        // One grammar with the spec's and the request's limits: humantime's weeks too.
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1 fortnight").is_err());
        assert!(parse_duration("-5m").unwrap_err().contains("negative"));
    }
}
