//! The launcher: turns match requests into sandboxed runs of the runner, on this machine
//! (`local`) or as Kubernetes Jobs (`kube`), and brings back each match's verdict.
//!
//! - [`request`]: what the platform asks for, validated into a [`request::Match`];
//! - [`plan`]: a pure function from a match to the ConfigMap and Job that run it;
//! - [`local`] and [`cluster`]: the two backends (local and kube), both returning an
//!   [`outcome::Outcome`];
//! - [`batch`]: many matches with bounded concurrency and priorities;
//! - [`terminal`]: match text (players' logs, reasons) escaped for the operator's terminal.

pub mod backend;
pub mod batch;
pub mod cluster;
pub mod error;
pub mod game;
pub mod local;
mod match_lock;
pub mod names;
pub mod outcome;
pub mod plan;
pub mod preflight;
pub mod request;
pub mod terminal;

pub use error::{LaunchError, LauncherExit, RequestError};
