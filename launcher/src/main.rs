//! `launcher`: runs matches locally or on Kubernetes. Thin: parse, build the backend, call the
//! library, print. Exit codes are `launcher::error::exit` (see `launcher --help`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use launcher::backend::{Backend, parse_duration};
use launcher::batch::{self, BatchEvent, BatchOptions};
use launcher::cluster::{KubeBackend, KubeOptions};
use launcher::error::{LaunchError, exit};
use launcher::local::{LocalBackend, LocalConfig};
use launcher::outcome::{self, Outcome};
use launcher::plan::{self, ClusterSettings};
use launcher::request::{LimitsRequest, Match, MatchRequest, PlayerInput};
use launcher::terminal::{SECTION, escape, log_body};
use runner::units::{Secs, Size};
use serde::Serialize;

const EXIT_CODES: &str = "\
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
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendKind {
    Local,
    Kube,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
struct Global {
    /// Where matches run.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "local",
        env = "LAUNCHER_BACKEND"
    )]
    backend: BackendKind,
    /// Readable table, or JSON for machines.
    #[arg(long, global = true, value_enum, default_value = "table")]
    output: OutputFormat,
    /// Namespace (kube). Default: the tenant's `games-<tenant>`, else the kubeconfig
    /// context's namespace, else `games`.
    #[arg(long, global = true, value_name = "NS", env = "LAUNCHER_NAMESPACE")]
    namespace: Option<String>,
    /// kubeconfig context (kube). Default: the current context, else in-cluster config.
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
    /// Cluster settings file (YAML or JSON; see launcher::plan::ClusterSettings).
    #[arg(long, global = true, value_name = "FILE", env = "LAUNCHER_SETTINGS")]
    settings: Option<PathBuf>,
    /// Runner image pinned by digest (REPO@sha256:HEX).
    #[arg(long, global = true, value_name = "IMAGE", env = "LAUNCHER_IMAGE")]
    image: Option<String>,
    /// RuntimeClass for game pods (gvisor, kata).
    #[arg(long, global = true, value_name = "NAME")]
    runtime_class: Option<String>,
    /// PVC receiving each match's artifacts under the sub-path <match-id>.
    #[arg(long, global = true, value_name = "CLAIM")]
    results_pvc: Option<String>,
    /// Give game pods their own user namespace (hostUsers: false).
    #[arg(long, global = true)]
    user_namespace: bool,
    /// DANGEROUS (kube): submit, play and batch even in a namespace that fails preflight
    /// (not isolated: no PSA restricted, no deny-all NetworkPolicy, no quota, or a token-mounting
    /// game ServiceAccount). Warns on stderr and records the failed rules in the outcome.
    #[arg(long, global = true)]
    allow_unisolated_namespace: bool,
    /// How long a Job may go without starting before it is reported (kube).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    start_grace: Duration,
    /// Runner binary (local).
    #[arg(long, global = true, value_name = "PATH")]
    runner: Option<PathBuf>,
    /// Game directory (local).
    #[arg(long, global = true, value_name = "DIR")]
    game_dir: Option<PathBuf>,
    /// Work directory for local matches (default $TMPDIR/launcher).
    #[arg(long, global = true, value_name = "DIR", env = "LAUNCHER_WORK_DIR")]
    work_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct RequestArgs {
    /// A player's code: [ID=]FILE (the id defaults to the file's stem).
    #[arg(long = "player", value_name = "[ID=]FILE")]
    players: Vec<String>,
    /// Players' code, as positional arguments.
    #[arg(value_name = "[ID=]FILE")]
    files: Vec<String>,
    /// Match id (names every object; the same id twice attaches). Default: generated.
    #[arg(long, value_name = "ID")]
    match_id: Option<String>,
    #[arg(long, value_name = "NAME", default_value = launcher::game::DEFAULT)]
    game: String,
    /// Wall-clock limit per player (e.g. 60s, 2m), counting only the time it may run (not the
    /// time the referee holds it stopped between turns). Default: what the game's turns allow,
    /// the first turn's budget and every other turn's, 5 % and 10 s more (120s for 100 turns
    /// of 1s).
    #[arg(long, value_name = "SECS")]
    wall_time: Option<Secs>,
    /// CPU-time limit per player. Default: the wall time.
    #[arg(long, value_name = "SECS")]
    cpu_time: Option<Secs>,
    /// Memory limit per player (e.g. 256MiB).
    #[arg(long, value_name = "SIZE")]
    memory: Option<Size>,
    /// Standard-error cap per player.
    #[arg(long, value_name = "SIZE")]
    output_limit: Option<Size>,
    /// Tenant (its namespace is games-<tenant>).
    #[arg(long, value_name = "NAME")]
    tenant: Option<String>,
    /// Extra label KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    priority: i32,
    /// Game seed (default: derived from the match id).
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    turns: Option<u32>,
    #[arg(long, value_name = "MS")]
    turn_timeout_ms: Option<u32>,
}

#[derive(Subcommand, Debug)]
enum Command {
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
    fn to_request(&self, namespace: Option<&str>) -> Result<MatchRequest, LaunchError> {
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

    fn to_match(&self, namespace: Option<&str>) -> Result<Match, LaunchError> {
        Ok(self.to_request(namespace)?.validate()?)
    }
}

fn settings(g: &Global, context_ns: Option<String>) -> anyhow::Result<ClusterSettings> {
    let mut s = match &g.settings {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read settings {}", p.display()))?;
            serde_saphyr::from_str::<ClusterSettings>(&text)
                .map_err(|e| anyhow::anyhow!("settings {}: {e}", p.display()))?
        }
        None => ClusterSettings::default(),
    };
    if let Some(i) = &g.image {
        s.image.clone_from(i);
    }
    if let Some(ns) = g.namespace.clone().or(context_ns) {
        s.namespace = ns;
    }
    if g.runtime_class.is_some() {
        s.runtime_class.clone_from(&g.runtime_class);
    }
    if g.results_pvc.is_some() {
        s.results_pvc.clone_from(&g.results_pvc);
    }
    if g.user_namespace {
        s.user_namespace = true;
    }
    s.validate().map_err(LaunchError::from)?;
    Ok(s)
}

async fn backend(g: &Global) -> anyhow::Result<Backend> {
    Ok(match g.backend {
        BackendKind::Local => Backend::Local(LocalBackend::new(&LocalConfig {
            runner: g.runner.clone(),
            game_dir: g.game_dir.clone(),
            work_dir: g.work_dir.clone(),
        })?),
        BackendKind::Kube => {
            let (client, context_ns) = launcher::cluster::connect(g.context.as_deref()).await?;
            let s = settings(g, context_ns)?;
            Backend::Kube(Box::new(KubeBackend::new(
                client,
                s,
                KubeOptions {
                    start_grace: g.start_grace,
                    allow_unisolated_namespace: g.allow_unisolated_namespace,
                    ..KubeOptions::default()
                },
            )?))
        }
    })
}

/// Kube: checks each namespace before anything starts. One that fails preflight is refused
/// (exit 7) unless --allow-unisolated-namespace, which warns here naming the failed rules. The
/// backend keeps each result, so submitting afterwards reads nothing again.
async fn preflight_gate(
    b: &Backend,
    namespaces: impl IntoIterator<Item = String>,
) -> Result<(), LaunchError> {
    let Backend::Kube(k) = b else {
        return Ok(());
    };
    for ns in namespaces.into_iter().collect::<BTreeSet<_>>() {
        let overridden = k.admit(&ns).await?;
        if !overridden.is_empty() {
            eprintln!(
                "launcher: WARNING: namespace {ns} failed preflight; running there anyway because of --allow-unisolated-namespace. Failed rules: {}",
                launcher::preflight::describe(&overridden)
            );
        }
    }
    Ok(())
}

fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

fn print_outcome(o: &Outcome, fmt: OutputFormat) -> anyhow::Result<ExitCode> {
    match fmt {
        OutputFormat::Json => print_json(o)?,
        OutputFormat::Table => print!("{}", escape(&o.table())),
    }
    Ok(ExitCode::from(o.exit_code()))
}

/// Resolves on SIGINT or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    let ns = g.namespace.as_deref();
    let fmt = g.output;
    match &cli.command {
        Command::Render { request, as_pod } => {
            let s = settings(g, None)?;
            let m = request.to_match(ns)?;
            let p = plan::plan(&m, &s).map_err(LaunchError::from)?;
            if s.uses_placeholder_image() {
                eprintln!(
                    "launcher: note: placeholder image; pass --image REPO@sha256:DIGEST for a real cluster"
                );
            }
            match fmt {
                // The objects as a JSON list, for clients that create them themselves.
                OutputFormat::Json if *as_pod => {
                    print_json(&serde_json::json!([p.config_map, p.pod()]))?;
                }
                OutputFormat::Json => print_json(&serde_json::json!([p.config_map, p.job]))?,
                OutputFormat::Table => print!("{}", p.to_yaml(*as_pod).map_err(LaunchError::from)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Play {
            request,
            timeout,
            keep,
        } => {
            let m = request.to_match(ns)?;
            let b = backend(g).await?;
            let mns = b.namespace_of(&m);
            preflight_gate(&b, mns.clone()).await?;
            tokio::select! {
                r = b.play(&m, *timeout, *keep) => print_outcome(&r?, fmt),
                () = interrupted() => {
                    eprintln!("launcher: interrupted; cancelling match {}", m.id);
                    b.cancel(mns.as_deref(), &m.id).await?;
                    Ok(ExitCode::from(exit::INTERRUPTED))
                }
            }
        }
        Command::Submit { request } => {
            let m = request.to_match(ns)?;
            let b = backend(g).await?;
            preflight_gate(&b, b.namespace_of(&m)).await?;
            let info = b.submit(&m).await?;
            match fmt {
                OutputFormat::Json => print_json(&info)?,
                OutputFormat::Table => println!(
                    "{} match {}{}",
                    if info.attached {
                        "attached to"
                    } else {
                        "submitted"
                    },
                    info.match_id,
                    info.namespace
                        .map(|n| format!(" in namespace {n}"))
                        .unwrap_or_default()
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Preflight => {
            let (client, context_ns) = launcher::cluster::connect(g.context.as_deref()).await?;
            let k = KubeBackend::new(client, settings(g, context_ns)?, KubeOptions::default())?;
            let p = k.preflight(&k.settings().namespace).await?;
            match fmt {
                OutputFormat::Json => print_json(&serde_json::json!({
                    "namespace": p.namespace,
                    "passed": p.passed(),
                    "checks": p.checks,
                }))?,
                OutputFormat::Table => print!("{}", escape(&p.table())),
            }
            Ok(ExitCode::from(if p.passed() {
                exit::OK
            } else {
                exit::PREFLIGHT_FAILED
            }))
        }
        Command::Status { id } => {
            let st = backend(g).await?.status(ns, id).await?;
            match fmt {
                OutputFormat::Json => print_json(&st)?,
                OutputFormat::Table => print!("{}", escape(&st.table())),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Wait { id, timeout } => {
            let o = backend(g).await?.wait(ns, id, *timeout).await?;
            print_outcome(&o, fmt)
        }
        Command::Result { id, keep } => {
            let o = backend(g).await?.result(ns, id, *keep).await?;
            print_outcome(&o, fmt)
        }
        Command::Logs { id, limit_bytes } => {
            let max = usize::try_from(limit_bytes.bytes()).unwrap_or(usize::MAX);
            let logs = backend(g).await?.logs(ns, id, max).await?;
            match fmt {
                OutputFormat::Json => print_json(&logs)?,
                OutputFormat::Table => {
                    for l in logs {
                        // A player's log is its raw bytes: escaped, and no body line
                        // can pass for a section header.
                        println!(
                            "{SECTION} {}{} <==",
                            escape(&l.source),
                            if l.truncated { " (truncated)" } else { "" }
                        );
                        print!("{}", log_body(&l.text));
                        if !l.text.ends_with('\n') {
                            println!();
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cancel { id } | Command::Suspend { id } | Command::Resume { id } => {
            let b = backend(g).await?;
            let what = match &cli.command {
                Command::Cancel { .. } => {
                    b.cancel(ns, id).await?;
                    "cancelled"
                }
                Command::Suspend { .. } => {
                    b.set_suspended(ns, id, true).await?;
                    "suspended"
                }
                _ => {
                    b.set_suspended(ns, id, false).await?;
                    "resumed"
                }
            };
            match fmt {
                OutputFormat::Json => {
                    print_json(&serde_json::json!({ "match_id": id, what: true }))?
                }
                OutputFormat::Table => println!("{what} match {id}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            let entries = backend(g).await?.list(ns).await?;
            match fmt {
                OutputFormat::Json => print_json(&entries)?,
                OutputFormat::Table => print!("{}", escape(&outcome::list_table(&entries))),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Gc { older_than } => {
            let removed = backend(g).await?.gc(ns, *older_than).await?;
            match fmt {
                OutputFormat::Json => print_json(&serde_json::json!({ "deleted": removed }))?,
                OutputFormat::Table => println!(
                    "deleted {} finished match(es){}",
                    removed.len(),
                    if removed.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", removed.join(", "))
                    }
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Batch {
            file,
            concurrency,
            timeout,
            keep,
        } => {
            let mut matches = batch::load(file)?;
            if let Some(n) = ns {
                for m in &mut matches {
                    m.namespace.get_or_insert_with(|| n.to_owned());
                }
            }
            let b = backend(g).await?;
            preflight_gate(&b, matches.iter().filter_map(|m| b.namespace_of(m))).await?;
            let bar = std::io::stderr().is_terminal();
            let opts = BatchOptions {
                concurrency: *concurrency,
                timeout: *timeout,
                keep: *keep,
            };
            let summary = batch::run(
                &b,
                matches,
                opts,
                |ev| {
                    let p = match ev {
                        BatchEvent::Started(_, p) => p,
                        BatchEvent::Finished(r, p) => {
                            if bar {
                                eprint!("\r\x1b[2K");
                            }
                            let _ = print_json(r);
                            p
                        }
                    };
                    if bar {
                        eprint!("\r\x1b[2K{}", progress_bar(p));
                    }
                },
                interrupted(),
            )
            .await;
            if bar {
                eprintln!();
            }
            match fmt {
                OutputFormat::Json => print_json(&serde_json::json!({ "summary": summary }))?,
                OutputFormat::Table => eprint!("{}", escape(&summary.table())),
            }
            Ok(ExitCode::from(summary.exit_code()))
        }
    }
}

fn progress_bar(p: &batch::Progress) -> String {
    const WIDTH: usize = 30;
    let filled = (p.finished * WIDTH).checked_div(p.total).unwrap_or(0);
    format!(
        "[{}{}] {}/{}  running {}  ok {}  failed {}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        p.finished,
        p.total,
        p.running,
        p.ok,
        p.failed
    )
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("launcher: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("launcher: {}", escape(&format!("{e:#}")));
            let code = e
                .downcast_ref::<LaunchError>()
                .map_or(exit::INTERNAL, LaunchError::exit_code);
            ExitCode::from(code)
        }
    }
}
