//! Every way a launcher operation can fail, and the process exit code each one maps to.

use std::path::PathBuf;

runner::coded_enum! {
    /// Exit code of the `launcher` process: the one list, which `launcher --help` prints and the
    /// README's table repeats (a test holds them together). Chosen in one place, the binary's
    /// `main`, from what the command returned.
    pub enum LauncherExit {
        Ok = 0 => "success; for play, wait and result: the match produced a validated result",
        Internal = 1 => "internal error",
        Usage = 2 => "bad command line or invalid match request (nothing was created)",
        MatchFailed = 3 => "the match produced no validated result (referee or runner failed, Job failed, cancelled, deadline exceeded, could not start)",
        Backend = 4 => "backend error (cannot reach the API server, API server refused, runner not found, I/O)",
        Timeout = 5 => "timed out waiting (the match may still be running)",
        NotFound = 6 => "no such match",
        PreflightFailed = 7 => "the namespace failed preflight (preflight: a rule failed; submit, play, batch on kube: refused, nothing was created; see --allow-unisolated-namespace)",
        Interrupted = 130 => "interrupted (what had been started was cancelled)",
    }
    /// What the code means, in the words of `launcher --help` and the README.
    pub fn meaning;
}

/// Tests and callers compare an exit code with its number.
impl PartialEq<u8> for LauncherExit {
    fn eq(&self, other: &u8) -> bool {
        self.code() == *other
    }
}

impl From<LauncherExit> for std::process::ExitCode {
    fn from(e: LauncherExit) -> Self {
        Self::from(e.code())
    }
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

    #[error("cluster settings {path}")]
    SettingsFile {
        path: PathBuf,
        #[source]
        source: Box<serde_saphyr::Error>,
    },

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

    #[error("Kubernetes API error during {during}")]
    Api {
        during: String,
        #[source]
        source: kube::Error,
    },

    /// No answer at all (connection refused, reset, timed out, TLS failed): not a judgement of
    /// anything in the cluster.
    #[error("cannot reach the API server (check KUBECONFIG or --context, and that it is up)")]
    Unreachable {
        #[source]
        source: std::sync::Arc<dyn std::error::Error + Send + Sync>,
    },

    #[error("cannot configure the Kubernetes client{}", context.as_ref().map(|c| format!(" (context {c})")).unwrap_or_default())]
    Config {
        context: Option<String>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("the shared watch on {resource} failed ({hint})")]
    Watch {
        resource: String,
        hint: String,
        #[source]
        source: std::sync::Arc<kube::runtime::watcher::Error>,
    },

    #[error("timed out after {secs}s waiting for match {id}")]
    Timeout { id: String, secs: u64 },

    #[error("match {id} is not finished yet ({state}); use `wait`")]
    NotFinished { id: String, state: String },

    #[error("match {id} is running; cancel it first (`launcher cancel {id}`)")]
    StillRunning { id: String },

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
    pub fn exit_code(&self) -> LauncherExit {
        match self {
            Self::Request(_)
            | Self::Settings(_)
            | Self::SettingsFile { .. }
            | Self::Batch { .. }
            | Self::Unsupported(..)
            | Self::Conflict { .. }
            | Self::StillRunning { .. } => LauncherExit::Usage,
            Self::NotFound { .. } => LauncherExit::NotFound,
            Self::Timeout { .. } | Self::NotFinished { .. } => LauncherExit::Timeout,
            Self::Interrupted => LauncherExit::Interrupted,
            Self::NoReplay { .. } => LauncherExit::MatchFailed,
            Self::Unisolated { .. } => LauncherExit::PreflightFailed,
            Self::Read { .. }
            | Self::Io { .. }
            | Self::RunnerNotFound { .. }
            | Self::GameDirNotFound { .. }
            | Self::Forbidden { .. }
            | Self::Rejected { .. }
            | Self::Api { .. }
            | Self::Unreachable { .. }
            | Self::Config { .. }
            | Self::Watch { .. }
            | Self::Viewer { .. } => LauncherExit::Backend,
        }
    }

    /// A stable name for what failed, for machines (`--output json`): one per variant.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Request(_) => "invalid_request",
            Self::Settings(_) | Self::SettingsFile { .. } => "invalid_settings",
            Self::Read { .. } => "read_failed",
            Self::Io { .. } => "io_failed",
            Self::RunnerNotFound { .. } => "runner_not_found",
            Self::GameDirNotFound { .. } => "game_dir_not_found",
            Self::NotFound { .. } => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::Forbidden { .. } => "forbidden",
            Self::Rejected { .. } => "rejected",
            Self::Api { .. } => "api_error",
            Self::Unreachable { .. } => "unreachable",
            Self::Config { .. } => "kube_config",
            Self::Watch { .. } => "watch_failed",
            Self::Timeout { .. } => "timeout",
            Self::NotFinished { .. } => "not_finished",
            Self::StillRunning { .. } => "still_running",
            Self::Unsupported(..) => "unsupported",
            Self::Unisolated { .. } => "unisolated_namespace",
            Self::Batch { .. } => "invalid_batch",
            Self::NoReplay { .. } => "no_replay",
            Self::Viewer { .. } => "viewer_failed",
            Self::Interrupted => "interrupted",
        }
    }

    /// What the caller can do about it.
    pub fn fix(&self) -> String {
        match self {
            Self::Request(_) => "correct the match request (see `launcher play --help`)".into(),
            Self::Settings(_) | Self::SettingsFile { .. } => {
                "correct the cluster settings (--settings FILE, --image, LAUNCHER_IMAGE)".into()
            }
            Self::Read { path, .. } => format!("check that {} exists and is readable", path.display()),
            Self::Io { .. } => "check the work directory's disk space and permissions (--work-dir, LAUNCHER_WORK_DIR)".into(),
            Self::RunnerNotFound { .. } => "pass --runner PATH or set LAUNCHER_RUNNER".into(),
            Self::GameDirNotFound { .. } => "pass --game-dir DIR or set LAUNCHER_GAME_DIR".into(),
            Self::NotFound { .. } => "check the match id and --namespace (`launcher list`)".into(),
            Self::Conflict { .. } => "use another match id".into(),
            Self::Forbidden { verb, resource, namespace, .. } => format!(
                "grant `{verb}` on {resource} in namespace {namespace} to the launcher's identity (policies/kubernetes/base/role-launcher.yaml)"
            ),
            Self::Rejected { .. } => "correct what the API server named (cluster settings or request)".into(),
            Self::Api { .. } => "retry; if it persists, check the API server's health".into(),
            Self::Unreachable { .. } => {
                "check KUBECONFIG or --context, and that the API server is up".into()
            }
            Self::Config { .. } => "check KUBECONFIG, --context, or the in-cluster service account".into(),
            Self::Watch { hint, .. } => hint.clone(),
            Self::Timeout { .. } => "wait again (`launcher wait ID`), or give a longer --timeout".into(),
            Self::NotFinished { .. } => "wait for it (`launcher wait ID`)".into(),
            Self::StillRunning { id } => format!("`launcher cancel {id}`, then delete it"),
            Self::Unsupported(..) => "use the backend that supports it (--backend)".into(),
            Self::Unisolated { namespace, .. } => format!(
                "apply policies/kubernetes/base (or a tenant overlay) and check with `launcher preflight --namespace {namespace}`"
            ),
            Self::Batch { .. } => "correct the batch file".into(),
            Self::NoReplay { .. } => "only a finished local match with a result has a replay here (`launcher result ID`)".into(),
            Self::Viewer { .. } => "check the game directory (--game-dir, LAUNCHER_GAME_DIR) and the replay file".into(),
            Self::Interrupted => "run it again".into(),
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
