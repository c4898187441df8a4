//! The command line's definition: global flags, the match request's flags, the subcommands.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{
    ArgAction, Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum,
};
use launcher::backend::parse_duration;
use launcher::error::{LaunchError, LauncherExit};
use launcher::request::{Limits, Match, MatchRequest, PlayerInput};
use runner::units::{Secs, Size};

/// The environment variables the launcher reads, for `--help` and the man page.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("LAUNCHER_BACKEND", "--backend"),
    ("LAUNCHER_OUTPUT", "--output"),
    ("LAUNCHER_NAMESPACE", "--namespace"),
    ("LAUNCHER_SETTINGS", "--settings"),
    ("LAUNCHER_IMAGE", "--image"),
    ("LAUNCHER_WORK_DIR", "--work-dir"),
    (
        "LAUNCHER_RUNNER",
        "the runner binary when --runner is not given (local)",
    ),
    (
        "LAUNCHER_GAME_DIR",
        "the game directory when --game-dir is not given (local)",
    ),
    (
        "KUBECONFIG",
        "kubeconfig files, as for kubectl (kube; default ~/.kube/config, else in-cluster)",
    ),
    (
        "RUST_LOG",
        "log filter (tracing EnvFilter syntax, e.g. launcher=debug,kube=debug); overrides -v",
    ),
];

/// The text after the options in `launcher --help`: exit codes and environment, from
/// [`LauncherExit::ALL`] and [`ENVIRONMENT`].
fn after_help() -> String {
    let mut s = String::from("Exit codes:\n");
    for e in LauncherExit::ALL {
        s.push_str(&format!("  {:<4} {}\n", e.code(), e.meaning()));
    }
    s.push_str("\nEnvironment:\n");
    for (name, what) in ENVIRONMENT {
        s.push_str(&format!("  {name:<20} {what}\n"));
    }
    s
}

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Runs sandboxed game matches on this machine (local) or as Kubernetes Jobs (kube).",
    after_help = after_help(),
    help_expected = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The command line as parsed and as its help shows: global flags are listed once, in
/// `launcher --help`. Each subcommand carries a hidden copy of every global flag (same id,
/// so clap does not propagate a visible one and the value still reaches [`Global`]).
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    cmd.mut_subcommands(|sc| {
        globals
            .iter()
            .fold(sc, |sc, a| sc.arg(a.clone().hide(true)))
            .after_help("Global options (--backend, -o/--output, --namespace, -v, ...): see `launcher --help`.")
    })
}

/// The command line as clap defines it, global flags in every subcommand: what completion
/// scripts and the man page are generated from (a completion offers `launcher list --backend`).
pub fn completion_command() -> clap::Command {
    Cli::command()
}

/// Parses the process's arguments with [`command`].
pub fn parse() -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

/// Whether the raw arguments ask for JSON output, for an error found before they could be
/// parsed (a usage error is reported in the format asked for too).
pub fn wants_json(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut json = std::env::var("LAUNCHER_OUTPUT").is_ok_and(|v| v == "json");
    for (i, a) in args.iter().enumerate() {
        if a == "--" {
            break;
        }
        let value = match a.as_str() {
            "--output" | "-o" => args.get(i + 1).map(String::as_str),
            _ => a
                .strip_prefix("--output=")
                .or_else(|| a.strip_prefix("-o="))
                .or_else(|| a.strip_prefix("-o").filter(|v| !v.is_empty())),
        };
        if let Some(v) = value {
            json = v == "json";
        }
    }
    json
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
    /// Readable table, or JSON for machines (a failure is then one JSON object too).
    #[arg(
        short,
        long,
        global = true,
        value_enum,
        default_value = "table",
        env = "LAUNCHER_OUTPUT"
    )]
    pub output: OutputFormat,
    /// Log what the kube backend does on stderr: -v its decisions, submits and watch
    /// restarts, -vv also kube-rs's requests, -vvv everything (RUST_LOG overrides).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
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
    /// Game to play (a directory under the game directory).
    #[arg(long, value_name = "NAME", default_value = launcher::game::DEFAULT)]
    pub game: String,
    /// Wall-clock limit per player (e.g. 60s, 2m), counting only the time it may run (not the
    /// time the referee holds it stopped between turns). Default: what the game's turns allow,
    /// the first turn's budget and every other turn's, 5 % and 10 s more (120s for 100 turns
    /// of 1s).
    #[arg(long, value_name = "SECS")]
    pub wall_time: Option<Secs>,
    /// CPU-time limit per player. Default: the wall time.
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
    /// Batch scheduling priority: higher starts first.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Game seed (default: derived from the match id).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of turns (default: the game's).
    #[arg(long)]
    pub turns: Option<u32>,
    /// Time a player has per turn, in milliseconds (default: the game's).
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
    Status {
        #[command(flatten)]
        id: MatchIdArg,
    },
    /// Wait for a match's verdict.
    Wait {
        #[command(flatten)]
        id: MatchIdArg,
        /// Give up waiting after this long (exit 5; the match goes on).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        timeout: Option<Duration>,
    },
    /// The verdict of a finished match (then deletes its Job unless --keep).
    Result {
        #[command(flatten)]
        id: MatchIdArg,
        /// Keep the Job (kube).
        #[arg(long)]
        keep: bool,
    },
    /// Show a finished match's replay with the game's viewer: text here, or with --html one
    /// self-contained page (board, turn slider, play/pause, each player's verdict and cause).
    Replay {
        #[command(flatten)]
        id: MatchIdArg,
        /// Write the page to FILE (open it in a browser; FILE#turn=N opens turn N).
        #[arg(long, value_name = "FILE", conflicts_with = "text")]
        html: Option<PathBuf>,
        /// Print the match as text (the default).
        #[arg(long)]
        text: bool,
    },
    /// The match's logs, capped per container (local: the runner's and each process's).
    Logs {
        #[command(flatten)]
        id: MatchIdArg,
        /// At most this much of each log.
        #[arg(long, value_name = "SIZE", default_value = "64KiB")]
        limit_bytes: Size,
    },
    /// Stop a match (kube: delete its Job with background propagation).
    Cancel {
        #[command(flatten)]
        id: MatchIdArg,
    },
    /// Remove a match and what it left (kube: its Job, pods and ConfigMap; local: its work
    /// directory, once it is not running).
    Delete {
        #[command(flatten)]
        id: MatchIdArg,
    },
    /// Suspend a match's Job (kube).
    Suspend {
        #[command(flatten)]
        id: MatchIdArg,
    },
    /// Resume a suspended match (kube; it starts over).
    Resume {
        #[command(flatten)]
        id: MatchIdArg,
    },
    /// The launcher's matches.
    List,
    /// Delete finished matches older than a duration.
    Gc {
        /// How long ago a match must have finished.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        older_than: Duration,
    },
    /// Check that the namespace (--namespace) is isolated, rule by rule (always kube; exit 7
    /// when a rule fails). submit, play and batch on kube run the same check first.
    Preflight,
    /// Run many matches from a file (YAML or JSON list of requests).
    Batch {
        /// The batch file (YAML or JSON).
        file: PathBuf,
        /// Matches in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Give up waiting for each match after this long.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        timeout: Option<Duration>,
        /// Keep each match's Job after its verdict (kube).
        #[arg(long)]
        keep: bool,
        /// Run nothing if any entry is refused (by default a refused entry is printed as one
        /// JSON line and the rest of the batch runs).
        #[arg(long)]
        strict: bool,
    },
    /// Print a shell completion script for this command line.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from this command line.
    Man,
}

/// The match a command acts on.
#[derive(Args, Debug, Clone)]
pub struct MatchIdArg {
    /// The match id (as given to play, submit or batch, or printed by them).
    #[arg(value_name = "ID")]
    pub id: String,
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
            limits: Limits {
                wall_time: self.wall_time,
                cpu_time: self.cpu_time,
                memory: self.memory,
                output: self.output_limit,
                ..Limits::default()
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
