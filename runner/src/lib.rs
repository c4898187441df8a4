//! The runner: the container entrypoint that runs hostile code in a sandbox and reports.
//!
//! The library half holds the types other crates share (the spec it reads, the report it
//! writes, its exit codes); the sandbox and the supervisor live here too so tests can reach them.

pub mod exit;
pub mod report;
pub mod spec;
pub mod units;
