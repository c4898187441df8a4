//! The runner's own exit codes: the one place they are defined. The Job's podFailurePolicy
//! and the launcher rely on these numbers to tell a player's failure from an infrastructure one.

crate::coded_enum! {
    /// Exit code of the `runner` process.
    pub enum RunnerExit {
        /// The program ran and a report was written, whatever its verdict.
        Reported = 0,
        /// The command line or the spec was refused; nothing ran, no report was written
        /// (the reason goes to standard error and the termination log).
        BadSpec = 2,
        /// The sandbox could not be set up; the program did not run. A report with status
        /// `sandbox_error` was written.
        SandboxSetup = 3,
        /// The report could not be written.
        ReportWrite = 4,
    }
}

impl RunnerExit {
    /// Codes that say "the infrastructure failed; running again will not help the player".
    pub const NON_RETRYABLE: [RunnerExit; 3] =
        [Self::BadSpec, Self::SandboxSetup, Self::ReportWrite];
}

impl From<RunnerExit> for std::process::ExitCode {
    fn from(e: RunnerExit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}
