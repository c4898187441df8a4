//! `launcher`: runs matches locally or on Kubernetes. Thin: parse ([`args`]), build the backend
//! and call the library ([`commands`]), print ([`render`]). The exit code is chosen here only,
//! from what the command returned or how it failed ([`LauncherExit`], listed in
//! `launcher --help`).

mod args;
mod commands;
mod render;

use std::process::ExitCode;

use launcher::error::{LaunchError, LauncherExit};
use launcher::terminal::escape;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let json = args::wants_json(std::env::args_os());
    let cli = match args::parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help, --version: asked for, so success. clap prints them (in colour on a
            // terminal); a reader that went away is no failure.
            return match e.print() {
                Ok(()) => ExitCode::SUCCESS,
                Err(io) if io.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(source) => fail(
                    &LaunchError::Io {
                        what: "cannot write to standard output".to_owned(),
                        source,
                    }
                    .into(),
                    json,
                ),
            };
        }
        Err(e) if json => {
            // Standard error is where the usage goes; if even that fails there is nowhere left.
            let _ = e.print();
            let message = first_line(&e.render().to_string());
            report(
                "usage",
                LauncherExit::Usage,
                &message,
                "see `launcher --help`",
            );
            return LauncherExit::Usage.into();
        }
        Err(e) => {
            // Standard error is where this goes; if even that fails there is nowhere left.
            let _ = e.print();
            return LauncherExit::Usage.into();
        }
    };
    init_logging(cli.global.verbose);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = anyhow::Error::from(e).context("cannot start the async runtime");
            return fail(&e, json);
        }
    };
    match rt.block_on(commands::run(cli)) {
        Ok(code) => code.into(),
        Err(e) => fail(&e, json),
    }
}

/// Says why the command failed (a line on stderr, or one JSON object on stdout with
/// `--output json`) and returns its exit code.
fn fail(e: &anyhow::Error, json: bool) -> ExitCode {
    let launch = e.downcast_ref::<LaunchError>();
    let exit = launch.map_or(LauncherExit::Internal, LaunchError::exit_code);
    let message = chain(e);
    // Standard error gets the line in both formats (it is what an operator's log keeps);
    // with --output json, standard output gets the object a program reads.
    eprintln!("launcher: {}", escape(&message));
    if json {
        let (code, fix) = launch.map_or_else(
            || ("internal".to_owned(), "report this as a bug".to_owned()),
            |l| (l.code().to_owned(), l.fix()),
        );
        report(&code, exit, &message, &fix);
    }
    exit.into()
}

/// One JSON error object on stdout (the message is on stderr already).
fn report(code: &str, exit: LauncherExit, message: &str, fix: &str) {
    if let Err(e) = commands::emit(|w| render::error(w, code, exit.code(), message, fix)) {
        eprintln!("launcher: the error could not be written as JSON either: {e:#}");
    }
}

/// The error and its causes, each said once (kube's errors repeat their source's text in
/// their own).
fn chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned()
}

/// Logs on stderr through `tracing`: `RUST_LOG` if set, else by `-v` count. Without either,
/// only the launcher's own warnings.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "launcher=warn",
        1 => "launcher=debug",
        2 => "launcher=debug,kube=debug",
        _ => "trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) => EnvFilter::builder().parse(&spec).unwrap_or_else(|e| {
            eprintln!("launcher: RUST_LOG={spec:?} ignored ({e}); using {default:?}");
            EnvFilter::new(default)
        }),
        Err(_) => EnvFilter::new(default),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
