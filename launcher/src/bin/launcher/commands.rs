//! One function per command: build what it needs, call the library, hand the result to
//! [`render`](crate::render), return the exit code.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use launcher::backend::Backend;
use launcher::batch::{self, BatchEvent, BatchOptions};
use launcher::cluster::{KubeBackend, KubeOptions};
use launcher::error::{LaunchError, exit};
use launcher::local::{LocalBackend, LocalConfig};
use launcher::plan::{self, ClusterSettings};
use launcher::replay::{self, ViewForm};
use runner::units::Size;

use crate::args::{BackendKind, Cli, Command, Global, RequestArgs};
use crate::render;

/// Runs the command the line asked for.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Render { request, as_pod } => render_plan(g, request, *as_pod),
        Command::Play {
            request,
            timeout,
            keep,
        } => play(g, request, *timeout, *keep).await,
        Command::Submit { request } => submit(g, request).await,
        Command::Preflight => preflight(g).await,
        Command::Status { id } => status(g, id).await,
        Command::Wait { id, timeout } => wait(g, id, *timeout).await,
        Command::Result { id, keep } => result(g, id, *keep).await,
        Command::Replay { id, html, text: _ } => replay(g, id, html.as_deref()).await,
        Command::Logs { id, limit_bytes } => logs(g, id, *limit_bytes).await,
        Command::Cancel { id } => cancel(g, id).await,
        Command::Suspend { id } => set_suspended(g, id, true).await,
        Command::Resume { id } => set_suspended(g, id, false).await,
        Command::List => list(g).await,
        Command::Gc { older_than } => gc(g, *older_than).await,
        Command::Batch {
            file,
            concurrency,
            timeout,
            keep,
        } => run_batch(g, file, *concurrency, *timeout, *keep).await,
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

fn render_plan(g: &Global, request: &RequestArgs, as_pod: bool) -> anyhow::Result<ExitCode> {
    let s = settings(g, None)?;
    let m = request.to_match(g.namespace.as_deref())?;
    let p = plan::plan(&m, &s).map_err(LaunchError::from)?;
    if s.uses_placeholder_image() {
        eprintln!(
            "launcher: note: placeholder image; pass --image REPO@sha256:DIGEST for a real cluster"
        );
    }
    render::plan(&p, as_pod, g.output)?;
    Ok(ExitCode::SUCCESS)
}

async fn play(
    g: &Global,
    request: &RequestArgs,
    timeout: Option<Duration>,
    keep: bool,
) -> anyhow::Result<ExitCode> {
    let m = request.to_match(g.namespace.as_deref())?;
    let b = backend(g).await?;
    let mns = b.namespace_of(&m);
    preflight_gate(&b, mns.clone()).await?;
    tokio::select! {
        r = b.play(&m, timeout, keep) => {
            let o = r?;
            render::outcome(&o, g.output)?;
            Ok(ExitCode::from(o.exit_code()))
        }
        () = interrupted() => {
            eprintln!("launcher: interrupted; cancelling match {}", m.id);
            b.cancel(mns.as_deref(), &m.id).await?;
            Ok(ExitCode::from(exit::INTERRUPTED))
        }
    }
}

async fn submit(g: &Global, request: &RequestArgs) -> anyhow::Result<ExitCode> {
    let m = request.to_match(g.namespace.as_deref())?;
    let b = backend(g).await?;
    preflight_gate(&b, b.namespace_of(&m)).await?;
    let info = b.submit(&m).await?;
    render::submitted(&info, g.output)?;
    Ok(ExitCode::SUCCESS)
}

async fn preflight(g: &Global) -> anyhow::Result<ExitCode> {
    let (client, context_ns) = launcher::cluster::connect(g.context.as_deref()).await?;
    let k = KubeBackend::new(client, settings(g, context_ns)?, KubeOptions::default())?;
    let p = k.preflight(&k.settings().namespace).await?;
    render::preflight(&p, g.output)?;
    Ok(ExitCode::from(if p.passed() {
        exit::OK
    } else {
        exit::PREFLIGHT_FAILED
    }))
}

async fn status(g: &Global, id: &str) -> anyhow::Result<ExitCode> {
    let st = backend(g).await?.status(g.namespace.as_deref(), id).await?;
    render::status(&st, g.output)?;
    Ok(ExitCode::SUCCESS)
}

async fn wait(g: &Global, id: &str, timeout: Option<Duration>) -> anyhow::Result<ExitCode> {
    let o = backend(g)
        .await?
        .wait(g.namespace.as_deref(), id, timeout)
        .await?;
    render::outcome(&o, g.output)?;
    Ok(ExitCode::from(o.exit_code()))
}

async fn result(g: &Global, id: &str, keep: bool) -> anyhow::Result<ExitCode> {
    let o = backend(g)
        .await?
        .result(g.namespace.as_deref(), id, keep)
        .await?;
    render::outcome(&o, g.output)?;
    Ok(ExitCode::from(o.exit_code()))
}

/// The game's viewer on a finished match's replay, told each player's runner verdict.
async fn replay(g: &Global, id: &str, html: Option<&Path>) -> anyhow::Result<ExitCode> {
    // keep: looking at a kube match's replay must not delete its Job.
    let o = backend(g)
        .await?
        .result(g.namespace.as_deref(), id, true)
        .await?;
    let file = replay::replay_path(&o)?;
    let game = replay::game_of(&file)?;
    let game_dir = launcher::local::find_game_dir(g.game_dir.as_deref())?;
    let form = html.map_or(ViewForm::Text, |f| ViewForm::Html(f.to_owned()));
    let python = Path::new(plan::PYTHON);
    replay::view(python, &game_dir, game, &file, &form, &replay::verdicts(&o))?;
    if let ViewForm::Html(page) = &form {
        render::wrote_page(id, page, g.output)?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn logs(g: &Global, id: &str, limit_bytes: Size) -> anyhow::Result<ExitCode> {
    let max = usize::try_from(limit_bytes.bytes()).unwrap_or(usize::MAX);
    let logs = backend(g)
        .await?
        .logs(g.namespace.as_deref(), id, max)
        .await?;
    render::logs(&logs, g.output)?;
    Ok(ExitCode::SUCCESS)
}

async fn cancel(g: &Global, id: &str) -> anyhow::Result<ExitCode> {
    backend(g).await?.cancel(g.namespace.as_deref(), id).await?;
    render::acted(id, "cancelled", g.output)?;
    Ok(ExitCode::SUCCESS)
}

async fn set_suspended(g: &Global, id: &str, suspend: bool) -> anyhow::Result<ExitCode> {
    backend(g)
        .await?
        .set_suspended(g.namespace.as_deref(), id, suspend)
        .await?;
    let what = if suspend { "suspended" } else { "resumed" };
    render::acted(id, what, g.output)?;
    Ok(ExitCode::SUCCESS)
}

async fn list(g: &Global) -> anyhow::Result<ExitCode> {
    let entries = backend(g).await?.list(g.namespace.as_deref()).await?;
    render::list(&entries, g.output)?;
    Ok(ExitCode::SUCCESS)
}

async fn gc(g: &Global, older_than: Duration) -> anyhow::Result<ExitCode> {
    let removed = backend(g)
        .await?
        .gc(g.namespace.as_deref(), older_than)
        .await?;
    render::gc(&removed, g.output)?;
    Ok(ExitCode::SUCCESS)
}

async fn run_batch(
    g: &Global,
    file: &Path,
    concurrency: usize,
    timeout: Option<Duration>,
    keep: bool,
) -> anyhow::Result<ExitCode> {
    let mut matches = batch::load(file)?;
    if let Some(n) = g.namespace.as_deref() {
        for m in &mut matches {
            m.namespace.get_or_insert_with(|| n.to_owned());
        }
    }
    let b = backend(g).await?;
    preflight_gate(&b, matches.iter().filter_map(|m| b.namespace_of(m))).await?;
    let bar = std::io::stderr().is_terminal();
    let opts = BatchOptions {
        concurrency,
        timeout,
        keep,
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
                    let _ = render::print_json(r);
                    p
                }
            };
            if bar {
                eprint!("\r\x1b[2K{}", render::progress_bar(p));
            }
        },
        interrupted(),
    )
    .await;
    if bar {
        eprintln!();
    }
    render::batch_summary(&summary, g.output)?;
    Ok(ExitCode::from(summary.exit_code()))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use crate::args::Cli;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
