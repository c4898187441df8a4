//! One function per command: build what it needs, call the library, hand the result to
//! [`render`](crate::render), say which exit code it means (`main` turns it into the
//! process's).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{self, IsTerminal as _, Write as _};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use launcher::backend::{Backend, MatchRef, PlayOptions};
use launcher::batch::{self, BatchEvent, BatchOptions};
use launcher::cluster::{KubeBackend, KubeOptions};
use launcher::error::{LaunchError, LauncherExit};
use launcher::local::{LocalBackend, LocalConfig};
use launcher::outcome::{Outcome, Verdict};
use launcher::plan::{self, ClusterSettings};
use launcher::replay::{self, ViewForm};
use runner::units::Size;

use crate::args::{BackendKind, Cli, Command, Global, OutputFormat, RequestArgs};
use crate::render::{self, Out};

/// Runs the command the line asked for.
pub async fn run(cli: Cli) -> anyhow::Result<LauncherExit> {
    let g = &cli.global;
    match &cli.command {
        Command::Render { request, as_pod } => render_plan(g, request, *as_pod),
        Command::Play {
            request,
            timeout,
            keep,
        } => {
            let opts = PlayOptions {
                timeout: *timeout,
                keep: *keep,
            };
            play(g, request, opts).await
        }
        Command::Submit { request } => submit(g, request).await,
        Command::Preflight => preflight(g).await,
        Command::Status { id } => status(g, &id.id).await,
        Command::Wait { id, timeout } => wait(g, &id.id, *timeout).await,
        Command::Result { id, keep } => result(g, &id.id, *keep).await,
        Command::Replay { id, html, text: _ } => replay(g, &id.id, html.as_deref()).await,
        Command::Logs { id, limit_bytes } => logs(g, &id.id, *limit_bytes).await,
        Command::Cancel { id } => cancel(g, &id.id).await,
        Command::Delete { id } => delete(g, &id.id).await,
        Command::Suspend { id } => set_suspended(g, &id.id, true).await,
        Command::Resume { id } => set_suspended(g, &id.id, false).await,
        Command::List => list(g).await,
        Command::Gc { older_than } => gc(g, *older_than).await,
        Command::Batch {
            file,
            concurrency,
            timeout,
            keep,
            strict,
        } => {
            let play = PlayOptions {
                timeout: *timeout,
                keep: *keep,
            };
            run_batch(g, file, *concurrency, play, *strict).await
        }
        Command::Completions { shell } => completions(*shell),
        Command::Man => man(),
    }
}

/// Writes to standard output and flushes. A reader that went away (`launcher logs ID | head`)
/// ends the output, not the command: nothing more can reach it, and the exit code stays the
/// command's, as `head` expects of a producer.
pub fn emit<E: Into<anyhow::Error>>(
    f: impl FnOnce(Out<'_>) -> Result<(), E>,
) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    let written = f(&mut out)
        .map_err(Into::into)
        .and_then(|()| out.flush().map_err(anyhow::Error::from));
    match written {
        Err(e) if is_broken_pipe(&e) => {
            tracing::debug!("standard output closed by its reader; the rest is dropped");
            Ok(())
        }
        Err(e) => match e.downcast::<io::Error>() {
            Ok(source) => Err(LaunchError::Io {
                what: "cannot write to standard output".to_owned(),
                source,
            }
            .into()),
            Err(e) => Err(e),
        },
        Ok(()) => Ok(()),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| {
                c.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
            == Some(io::ErrorKind::BrokenPipe)
    })
}

fn settings(g: &Global, context_ns: Option<String>) -> anyhow::Result<ClusterSettings> {
    let mut s = match &g.settings {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read settings {}", p.display()))?;
            serde_saphyr::from_str::<ClusterSettings>(&text).map_err(|source| {
                LaunchError::SettingsFile {
                    path: p.clone(),
                    source: Box::new(source),
                }
            })?
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

/// Resolves on SIGINT or SIGTERM. A signal that cannot be watched is said on stderr, and
/// never taken for an interruption.
async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot watch SIGINT ({e}); Ctrl-C will not cancel cleanly");
            std::future::pending::<()>().await;
        }
    };
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                () = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!("cannot watch SIGTERM ({e}); only Ctrl-C cancels cleanly");
            ctrl_c.await;
        }
    }
}

fn render_plan(g: &Global, request: &RequestArgs, as_pod: bool) -> anyhow::Result<LauncherExit> {
    let s = settings(g, None)?;
    let m = request.to_match(g.namespace.as_deref())?;
    let p = plan::plan(&m, &s).map_err(LaunchError::from)?;
    if s.uses_placeholder_image() {
        eprintln!(
            "launcher: note: placeholder image; pass --image REPO@sha256:DIGEST for a real cluster"
        );
    }
    emit(|w| render::plan(w, &p, as_pod, g.output))?;
    Ok(LauncherExit::Ok)
}

async fn play(
    g: &Global,
    request: &RequestArgs,
    opts: PlayOptions,
) -> anyhow::Result<LauncherExit> {
    let m = request.to_match(g.namespace.as_deref())?;
    let b = backend(g).await?;
    let mns = b.namespace_of(&m);
    preflight_gate(&b, mns.clone()).await?;
    tokio::select! {
        r = b.play(&m, opts) => {
            let o = r?;
            emit(|w| render::outcome(w, &o, g.output))?;
            Ok(o.exit_code())
        }
        () = interrupted() => {
            eprintln!("launcher: interrupted; cancelling match {}", m.id);
            b.cancel(MatchRef {
                namespace: mns.as_deref(),
                id: &m.id,
            })
            .await?;
            Ok(LauncherExit::Interrupted)
        }
    }
}

async fn submit(g: &Global, request: &RequestArgs) -> anyhow::Result<LauncherExit> {
    let m = request.to_match(g.namespace.as_deref())?;
    let b = backend(g).await?;
    preflight_gate(&b, b.namespace_of(&m)).await?;
    let info = b.submit(&m).await?;
    emit(|w| render::submitted(w, &info, g.output))?;
    Ok(LauncherExit::Ok)
}

async fn preflight(g: &Global) -> anyhow::Result<LauncherExit> {
    let (client, context_ns) = launcher::cluster::connect(g.context.as_deref()).await?;
    let k = KubeBackend::new(client, settings(g, context_ns)?, KubeOptions::default())?;
    let p = k.preflight(&k.settings().namespace).await?;
    emit(|w| render::preflight(w, &p, g.output))?;
    Ok(if p.passed() {
        LauncherExit::Ok
    } else {
        LauncherExit::PreflightFailed
    })
}

/// The match `id` in the namespace the command line named (kube), or the backend's own.
fn match_ref<'a>(g: &'a Global, id: &'a str) -> MatchRef<'a> {
    MatchRef {
        namespace: g.namespace.as_deref(),
        id,
    }
}

async fn status(g: &Global, id: &str) -> anyhow::Result<LauncherExit> {
    let st = backend(g).await?.status(match_ref(g, id)).await?;
    emit(|w| render::status(w, &st, g.output))?;
    Ok(LauncherExit::Ok)
}

async fn wait(g: &Global, id: &str, timeout: Option<Duration>) -> anyhow::Result<LauncherExit> {
    let o = backend(g).await?.wait(match_ref(g, id), timeout).await?;
    emit(|w| render::outcome(w, &o, g.output))?;
    Ok(o.exit_code())
}

async fn result(g: &Global, id: &str, keep: bool) -> anyhow::Result<LauncherExit> {
    let o = backend(g).await?.result(match_ref(g, id), keep).await?;
    emit(|w| render::outcome(w, &o, g.output))?;
    Ok(o.exit_code())
}

/// The game's viewer on a finished match's replay, told each player's runner verdict.
async fn replay(g: &Global, id: &str, html: Option<&Path>) -> anyhow::Result<LauncherExit> {
    // keep: looking at a kube match's replay must not delete its Job.
    let o = backend(g).await?.result(match_ref(g, id), true).await?;
    let file = replay::replay_path(&o)?;
    let game = replay::game_of(&file)?;
    let game_dir = launcher::local::find_game_dir(g.game_dir.as_deref())?;
    let form = html.map_or(ViewForm::Text, |f| ViewForm::Html(f.to_owned()));
    let python = Path::new(plan::PYTHON);
    replay::view(python, &game_dir, game, &file, &form, &replay::verdicts(&o))?;
    if let ViewForm::Html(page) = &form {
        emit(|w| render::wrote_page(w, id, page, g.output))?;
    }
    Ok(LauncherExit::Ok)
}

async fn logs(g: &Global, id: &str, limit_bytes: Size) -> anyhow::Result<LauncherExit> {
    let max = usize::try_from(limit_bytes.bytes()).unwrap_or(usize::MAX);
    let logs = backend(g).await?.logs(match_ref(g, id), max).await?;
    emit(|w| render::logs(w, &logs, g.output))?;
    Ok(LauncherExit::Ok)
}

async fn cancel(g: &Global, id: &str) -> anyhow::Result<LauncherExit> {
    backend(g).await?.cancel(match_ref(g, id)).await?;
    emit(|w| render::acted(w, id, "cancelled", g.output))?;
    Ok(LauncherExit::Ok)
}

async fn delete(g: &Global, id: &str) -> anyhow::Result<LauncherExit> {
    backend(g).await?.delete(match_ref(g, id)).await?;
    emit(|w| render::acted(w, id, "deleted", g.output))?;
    Ok(LauncherExit::Ok)
}

async fn set_suspended(g: &Global, id: &str, suspend: bool) -> anyhow::Result<LauncherExit> {
    backend(g)
        .await?
        .set_suspended(match_ref(g, id), suspend)
        .await?;
    let what = if suspend { "suspended" } else { "resumed" };
    emit(|w| render::acted(w, id, what, g.output))?;
    Ok(LauncherExit::Ok)
}

async fn list(g: &Global) -> anyhow::Result<LauncherExit> {
    let entries = backend(g).await?.list(g.namespace.as_deref()).await?;
    emit(|w| render::list(w, &entries, g.output))?;
    Ok(LauncherExit::Ok)
}

async fn gc(g: &Global, older_than: Duration) -> anyhow::Result<LauncherExit> {
    let removed = backend(g)
        .await?
        .gc(g.namespace.as_deref(), older_than)
        .await?;
    emit(|w| render::gc(w, &removed, g.output))?;
    Ok(LauncherExit::Ok)
}

async fn run_batch(
    g: &Global,
    file: &Path,
    concurrency: usize,
    play: PlayOptions,
    strict: bool,
) -> anyhow::Result<LauncherExit> {
    let loaded = batch::load(file, strict)?;
    for r in &loaded.refused {
        emit(|w| render::json(w, r))?;
    }
    let refused = loaded.refused.len();
    let mut matches = loaded.matches;
    if let Some(n) = g.namespace.as_deref() {
        for m in &mut matches {
            m.namespace.get_or_insert_with(|| n.to_owned());
        }
    }
    let b = backend(g).await?;
    preflight_gate(&b, matches.iter().filter_map(|m| b.namespace_of(m))).await?;
    let ids: Vec<(String, Option<String>)> = matches
        .iter()
        .map(|m| (m.id.clone(), b.namespace_of(m)))
        .collect();
    let started = RefCell::new(BTreeSet::new());
    let finished = RefCell::new(BTreeSet::new());
    let bar = io::stderr().is_terminal();
    let opts = BatchOptions { concurrency, play };
    // A record that cannot be written does not stop the matches in flight; the first such
    // error is the batch's once they are done.
    let write_error = RefCell::new(None);
    let mut summary = batch::run(
        &b,
        matches,
        opts,
        |ev| {
            let p = match ev {
                BatchEvent::Started(id, p) => {
                    started.borrow_mut().insert(id.to_owned());
                    p
                }
                BatchEvent::Finished(r, p) => {
                    finished.borrow_mut().insert(r.match_id().to_owned());
                    if bar {
                        eprint!("\r\x1b[2K");
                    }
                    if let Err(e) = emit(|w| render::json(w, r)) {
                        write_error.borrow_mut().get_or_insert(e);
                    }
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
    if summary.interrupted {
        // Every match without a record gets one: a platform reading the stream learns the
        // fate of each, and which to run again.
        let (started, finished) = (started.into_inner(), finished.into_inner());
        for (id, ns) in ids.iter().filter(|(id, _)| !finished.contains(id)) {
            let reason = if started.contains(id) {
                "cancelled: the batch was interrupted while it ran"
            } else {
                "never started: the batch was interrupted first"
            };
            let mut o = Outcome::failed(id, b.name(), Verdict::Cancelled, reason.to_owned());
            o.namespace.clone_from(ns);
            if let Err(e) = emit(|w| render::json(w, &o)) {
                write_error.borrow_mut().get_or_insert(e);
            }
        }
    }
    if let Some(e) = write_error.into_inner() {
        return Err(e);
    }
    summary.refused = refused;
    summary.total += refused;
    match g.output {
        OutputFormat::Json => emit(|w| render::batch_summary(w, &summary))?,
        OutputFormat::Table => eprint!("{}", launcher::terminal::escape(&summary.table())),
    }
    Ok(summary.exit_code())
}

fn completions(shell: clap_complete::Shell) -> anyhow::Result<LauncherExit> {
    let mut cmd = crate::args::completion_command();
    // Into memory first: clap_complete panics on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "launcher", &mut script);
    emit(|w| w.write_all(&script))?;
    Ok(LauncherExit::Ok)
}

fn man() -> anyhow::Result<LauncherExit> {
    let page = clap_mangen::Man::new(crate::args::completion_command());
    emit(|w| page.render(w))?;
    Ok(LauncherExit::Ok)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use crate::args::Cli;

    /// clap's own checks, with `help_expected`: every flag and argument has a description.
    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
        crate::args::command().debug_assert();
    }
}
