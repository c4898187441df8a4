//! `launcher`: runs matches locally or on Kubernetes. Thin: parse ([`args`]), build the backend
//! and call the library ([`commands`]), print ([`render`]). Exit codes are
//! `launcher::error::exit` (see `launcher --help`).

mod args;
mod commands;
mod render;

use std::process::ExitCode;

use clap::Parser as _;
use launcher::error::{LaunchError, exit};
use launcher::terminal::escape;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
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
    match rt.block_on(commands::run(cli)) {
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
