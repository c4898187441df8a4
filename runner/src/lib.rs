//! The runner: the container entrypoint that runs hostile code in a sandbox and reports.
//!
//! The library half holds the types other crates share (the spec it reads, the report it
//! writes, its exit codes); the sandbox and the supervisor live here too so tests can reach them.

pub mod exit;
pub mod profile;
pub mod report;
pub mod spec;
pub mod units;

/// Lower-case hex sha256, as reports and policies print digests.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
pub mod confine;
pub mod control;
pub mod matches;
pub mod notify;
pub mod policy;
pub mod sandbox;
pub mod scan;
pub mod supervise;
pub mod syscalls;
