//! The command line's definition: global flags, the match request's flags, the subcommands.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use launcher::backend::parse_duration;
use launcher::error::LaunchError;
use launcher::request::{LimitsRequest, Match, MatchRequest, PlayerInput};
use runner::units::{Secs, Size};

pub const EXIT_CODES: &str = "\
Exit codes:
  0    success; for play, wait and result: the match produced a validated result
  1    internal error
  2    bad command line or invalid match request (nothing was created)
  3    the match produced no validated result (referee or runner failed, Job failed,
       cancelled, deadline exceeded, could not start)
  4    backend error (API server refused or unreachable, runner not found, I/O)
  5    timed out waiting (the match may still be running)
  6    no such match
  7    the namespace failed preflight (preflight: a rule failed; submit, play, batch on
       kube: refused, nothing was created; see --allow-unisolated-namespace)
  130  interrupted (what had been started was cancelled)";

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Runs sandboxed game matches on this machine (local) or as Kubernetes Jobs (kube).",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    Local,
    Kube,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct Global {
    /// Where matches run.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "local",
        env = "LAUNCHER_BACKEND"
    )]
    pub backend: BackendKind,
    /// Readable table, or JSON for machines.
    #[arg(long, global = true, value_enum, default_value = "table")]
    pub output: OutputFormat,
    /// Namespace (kube). Default: the tenant's `games-<tenant>`, else the kubeconfig
    /// context's namespace, else `games`.
    #[arg(long, global = true, value_name = "NS", env = "LAUNCHER_NAMESPACE")]
    pub namespace: Option<String>,
    /// kubeconfig context (kube). Default: the current context, else in-cluster config.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Cluster settings file (YAML or JSON; see launcher::plan::ClusterSettings).
    #[arg(long, global = true, value_name = "FILE", env = "LAUNCHER_SETTINGS")]
    pub settings: Option<PathBuf>,
    /// Runner image pinned by digest (REPO@sha256:HEX).
    #[arg(long, global = true, value_name = "IMAGE", env = "LAUNCHER_IMAGE")]
    pub image: Option<String>,
    /// RuntimeClass for game pods (gvisor, kata).
    #[arg(long, global = true, value_name = "NAME")]
    pub runtime_class: Option<String>,
    /// PVC receiving each match's artifacts under the sub-path <match-id>.
    #[arg(long, global = true, value_name = "CLAIM")]
    pub results_pvc: Option<String>,
    /// Give game pods their own user namespace (hostUsers: false).
    #[arg(long, global = true)]
    pub user_namespace: bool,
    /// DANGEROUS (kube): submit, play and batch even in a namespace that fails preflight
    /// (not isolated: no PSA restricted, no deny-all NetworkPolicy, no quota, or a token-mounting
    /// game ServiceAccount). Warns on stderr and records the failed rules in the outcome.
    #[arg(long, global = true)]
    pub allow_unisolated_namespace: bool,
    /// How long a Job may go without starting before it is reported (kube).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub start_grace: Duration,
    /// Runner binary (local).
    #[arg(long, global = true, value_name = "PATH")]
    pub runner: Option<PathBuf>,
    /// Game directory (local).
    #[arg(long, global = true, value_name = "DIR")]
    pub game_dir: Option<PathBuf>,
    /// Work directory for local matches (default $TMPDIR/launcher).
    #[arg(long, global = true, value_name = "DIR", env = "LAUNCHER_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct RequestArgs {
    /// A player's code: [ID=]FILE (the id defaults to the file's stem).
    #[arg(long = "player", value_name = "[ID=]FILE")]
    pub players: Vec<String>,
    /// Players' code, as positional arguments.
    #[arg(value_name = "[ID=]FILE")]
    pub files: Vec<String>,
    /// Match id (names every object; the same id twice attaches). Default: generated.
    #[arg(long, value_name = "ID")]
    pub match_id: Option<String>,
    #[arg(long, value_name = "NAME", default_value = launcher::game::DEFAULT)]
    pub game: String,
    /// Wall-clock limit per player (e.g. 60s, 2m).
    #[arg(long, value_name = "SECS")]
    pub wall_time: Option<Secs>,
    /// CPU-time limit per player.
    #[arg(long, value_name = "SECS")]
    pub cpu_time: Option<Secs>,
    /// Memory limit per player (e.g. 256MiB).
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<Size>,
    /// Standard-error cap per player.
    #[arg(long, value_name = "SIZE")]
    pub output_limit: Option<Size>,
    /// Tenant (its namespace is games-<tenant>).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// Extra label KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Game seed (default: derived from the match id).
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub turns: Option<u32>,
    #[arg(long, value_name = "MS")]
    pub turn_timeout_ms: Option<u32>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a match and wait for its verdict (submit + wait + clean up).
    Play {
        #[command(flatten)]
        request: RequestArgs,
        /// Give up waiting after this long.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        timeout: Option<Duration>,
        /// Keep the Job after the verdict (kube).
        #[arg(long)]
        keep: bool,
    },
    /// Print the match's Kubernetes objects as YAML (ConfigMap and Job).
    Render {
        #[command(flatten)]
        request: RequestArgs,
        /// The Job's pod as a bare Pod (for `podman kube play`).
        #[arg(long)]
        as_pod: bool,
    },
    /// Start a match and return.
    Submit {
        #[command(flatten)]
        request: RequestArgs,
    },
    /// Where a match stands.
    Status { id: String },
    /// Wait for a match's verdict.
    Wait {
        id: String,
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        timeout: Option<Duration>,
    },
    /// The verdict of a finished match (then deletes its Job unless --keep).
    Result {
        id: String,
        #[arg(long)]
        keep: bool,
    },
    /// Show a finished match's replay with the game's viewer: text here, or with --html one
    /// self-contained page (board, turn slider, play/pause, each player's verdict and cause).
    Replay {
        id: String,
        /// Write the page to FILE (open it in a browser; FILE#turn=N opens turn N).
        #[arg(long, value_name = "FILE", conflicts_with = "text")]
        html: Option<PathBuf>,
        /// Print the match as text (the default).
        #[arg(long)]
        text: bool,
    },
    /// The match's logs, capped per container (local: the runner's and each process's).
    Logs {
        id: String,
        #[arg(long, value_name = "SIZE", default_value = "64KiB")]
        limit_bytes: Size,
    },
    /// Stop a match (kube: delete its Job with background propagation).
    Cancel { id: String },
    /// Suspend a match's Job (kube).
    Suspend { id: String },
    /// Resume a suspended match (kube; it starts over).
    Resume { id: String },
    /// The launcher's matches.
    List,
    /// Delete finished matches older than a duration.
    Gc {
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        older_than: Duration,
    },
    /// Check that the namespace (--namespace) is isolated, rule by rule (always kube; exit 7
    /// when a rule fails). submit, play and batch on kube run the same check first.
    Preflight,
    /// Run many matches from a file (YAML or JSON list of requests).
    Batch {
        file: PathBuf,
        /// Matches in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        timeout: Option<Duration>,
        #[arg(long)]
        keep: bool,
    },
}

impl RequestArgs {
    pub fn to_request(&self, namespace: Option<&str>) -> Result<MatchRequest, LaunchError> {
        let mut labels = BTreeMap::new();
        for kv in &self.labels {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                LaunchError::Request(launcher::RequestError(format!(
                    "--label {kv:?}: expected KEY=VALUE"
                )))
            })?;
            labels.insert(k.to_owned(), v.to_owned());
        }
        let players = self
            .players
            .iter()
            .chain(&self.files)
            .map(|p| PlayerInput::parse_arg(p))
            .collect();
        Ok(MatchRequest {
            match_id: self.match_id.clone(),
            game: self.game.clone(),
            players,
            limits: LimitsRequest {
                wall_time: self.wall_time,
                cpu_time: self.cpu_time,
                memory: self.memory,
                output: self.output_limit,
            },
            tenant: self.tenant.clone(),
            namespace: namespace.map(str::to_owned),
            labels,
            priority: self.priority,
            seed: self.seed,
            turns: self.turns,
            turn_timeout_ms: self.turn_timeout_ms,
        })
    }

    pub fn to_match(&self, namespace: Option<&str>) -> Result<Match, LaunchError> {
        Ok(self.to_request(namespace)?.validate()?)
    }
}
