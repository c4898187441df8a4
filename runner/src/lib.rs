//! The runner: the container entrypoint that runs hostile code in a sandbox and reports.
//!
//! The library half holds the types other crates share (the spec it reads, the report it
//! writes, its exit codes); the sandbox and the supervisor live here too so tests can reach them.

mod coded;
pub mod digest;
pub mod exit;
pub mod game_result;
pub mod ids;
pub mod profile;
pub mod report;
pub mod schema;
pub mod spec;
pub mod terminal;
pub mod units;

pub mod confine;
pub mod control;
pub mod matches;
pub mod notify;
pub mod policy;
pub mod sandbox;
pub mod scan;
mod spawn;
pub mod supervise;
pub mod syscalls;

pub use digest::sha256_hex;
