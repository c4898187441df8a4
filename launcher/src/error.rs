//! Every way a launcher operation can fail, and the process exit code each one maps to.

use std::path::PathBuf;

/// Documented exit codes of the `launcher` command (also listed in `launcher --help`).
pub mod exit {
    /// The operation succeeded; for `play`, `wait` and `result`: the match produced a
    /// validated result (whatever each player's verdict).
    pub const OK: u8 = 0;
    /// Unexpected internal error.
    pub const INTERNAL: u8 = 1;
    /// Bad command line or invalid match request; nothing was created.
    pub const USAGE: u8 = 2;
    /// The match ran or was attempted but produced no validated result: the referee failed,
    /// the sandbox or the runner failed, the Job failed, was cancelled, or could not start.
    pub const MATCH_FAILED: u8 = 3;
    /// The backend failed: API server refused or unreachable, runner binary missing, I/O.
    pub const BACKEND: u8 = 4;
    /// Waiting timed out; the match may still be running.
    pub const TIMEOUT: u8 = 5;
    /// No such match.
    pub const NOT_FOUND: u8 = 6;
    /// The namespace failed preflight (it is not proven isolated): `launcher preflight`
    /// reported a failed rule, or submit/play/batch refused to create anything there.
    pub const PREFLIGHT_FAILED: u8 = 7;
    /// Interrupted (SIGINT/SIGTERM); what had been started was cancelled.
    pub const INTERRUPTED: u8 = 130;
}

/// A request refused before anything was created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid match request: {0}")]
pub struct RequestError(pub String);

impl RequestError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// Errors of launcher operations.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Request(#[from] RequestError),

    #[error("cluster settings: {0}")]
    Settings(String),

    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },

    #[error(
        "runner binary not found (tried: {tried}); build it with `cargo build --release -p runner` (or `cargo build -p runner`), or pass --runner PATH or set LAUNCHER_RUNNER"
    )]
    RunnerNotFound { tried: String },

    #[error(
        "game directory not found (tried: {tried}); pass --game-dir DIR or set LAUNCHER_GAME_DIR"
    )]
    GameDirNotFound { tried: String },

    #[error("no match {id} {place}")]
    NotFound { id: String, place: String },

    #[error(
        "match {id} already exists {place} with a different request (request digest {existing}, this one {ours}); use another match id"
    )]
    Conflict {
        id: String,
        place: String,
        existing: String,
        ours: String,
    },

    #[error(
        "forbidden: {message} (the launcher's identity needs `{verb}` on {resource} in namespace {namespace}; see policies/kubernetes/base/role-launcher.yaml)"
    )]
    Forbidden {
        verb: String,
        resource: String,
        namespace: String,
        message: String,
    },

    #[error("the API server rejected the {resource}: {message}")]
    Rejected { resource: String, message: String },

    #[error("Kubernetes API error during {during}: {message}")]
    Api { during: String, message: String },

    /// No answer at all (connection refused, reset, timed out, TLS failed): not a judgement of
    /// anything in the cluster.
    #[error("cannot reach the API server (check KUBECONFIG or --context, and that it is up)")]
    Unreachable {
        #[source]
        source: kube::Error,
    },

    #[error("cannot configure the Kubernetes client: {0}")]
    Config(String),

    #[error("the shared watch on {resource} failed: {message}")]
    Watch { resource: String, message: String },

    #[error("timed out after {secs}s waiting for match {id}")]
    Timeout { id: String, secs: u64 },

    #[error("match {id} is not finished yet ({state}); use `wait`")]
    NotFinished { id: String, state: String },

    #[error("{0} is not supported by the {1} backend")]
    Unsupported(&'static str, &'static str),

    #[error(
        "refusing to run matches in namespace {namespace}: it failed preflight ({failures}); nothing was created. Apply policies/kubernetes/base (or a tenant overlay), check with `launcher preflight --namespace {namespace}`, or pass --allow-unisolated-namespace to run there anyway"
    )]
    Unisolated { namespace: String, failures: String },

    #[error("batch file {path}: {message}")]
    Batch { path: PathBuf, message: String },

    #[error("no replay of match {id} here: {why}")]
    NoReplay { id: String, why: String },

    #[error("the game's viewer could not show {replay} ({status}; its error is above)")]
    Viewer { replay: PathBuf, status: String },

    #[error("interrupted")]
    Interrupted,
}

impl LaunchError {
    /// The launcher's process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Request(_) | Self::Settings(_) | Self::Batch { .. } | Self::Unsupported(..) => {
                exit::USAGE
            }
            Self::Conflict { .. } => exit::USAGE,
            Self::NotFound { .. } => exit::NOT_FOUND,
            Self::Timeout { .. } | Self::NotFinished { .. } => exit::TIMEOUT,
            Self::Interrupted => exit::INTERRUPTED,
            Self::NoReplay { .. } => exit::MATCH_FAILED,
            Self::Unisolated { .. } => exit::PREFLIGHT_FAILED,
            Self::Read { .. }
            | Self::Io { .. }
            | Self::RunnerNotFound { .. }
            | Self::GameDirNotFound { .. }
            | Self::Forbidden { .. }
            | Self::Rejected { .. }
            | Self::Api { .. }
            | Self::Unreachable { .. }
            | Self::Config(_)
            | Self::Watch { .. }
            | Self::Viewer { .. } => exit::BACKEND,
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
