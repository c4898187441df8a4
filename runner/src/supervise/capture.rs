//! Captured output: a stream's pipe, where its bytes go and its byte cap.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::OwnedFd;

use nix::errno::Errno;

/// Bytes of standard error kept in memory: the report quotes its last line in the reason and
/// its last lines as `stderr_tail` (a little over the quoted bound, to start at a line).
const STDERR_TAIL: usize = crate::report::STDERR_TAIL_BYTES + 512;

/// What the runner could not do with a captured stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CaptureError {
    pub(super) what: &'static str,
    /// The OS error, 0 when there was none (a short write).
    pub(super) errno: i32,
}

/// Where a captured stream's bytes go.
#[derive(Debug)]
pub enum Sink {
    /// Counted and dropped.
    Discard,
    /// Written to a file as they arrive.
    File(File),
    /// Kept in memory (bounded by the cap): the referee's result.
    Memory(Vec<u8>),
}

/// One captured stream: a pipe read end, where its bytes go, a byte cap.
#[derive(Debug)]
pub(super) struct Capture {
    pub(super) name: &'static str,
    pub(super) pipe: Option<OwnedFd>,
    pub(super) sink: Sink,
    pub(super) cap: u64,
    pub(super) bytes: u64,
    pub(super) truncated: bool,
    pub(super) tail: Vec<u8>,
}

impl Capture {
    pub(super) fn new(name: &'static str, pipe: OwnedFd, sink: Sink, cap: u64) -> Self {
        Self {
            name,
            pipe: Some(pipe),
            sink,
            cap,
            bytes: 0,
            truncated: false,
            tail: Vec::new(),
        }
    }

    /// Reads what is there. Returns true when the stream went over its cap. Bytes past the
    /// cap are read and dropped, so the runner's memory stays flat whatever the program writes.
    /// An error names what the runner could not do: the capture is then incomplete, and the
    /// caller stops the program rather than pass off a partial file as its output.
    pub(super) fn pump(&mut self, buf: &mut [u8]) -> Result<bool, CaptureError> {
        let Some(fd) = &self.pipe else {
            return Ok(false);
        };
        match nix::unistd::read(fd, buf) {
            Ok(0) => self.pipe = None,
            Ok(n) => {
                let chunk = &buf[..n];
                let room =
                    usize::try_from(self.cap.saturating_sub(self.bytes)).unwrap_or(usize::MAX);
                let kept = &chunk[..n.min(room)];
                let written = match &mut self.sink {
                    Sink::File(f) => f.write_all(kept),
                    Sink::Memory(v) => {
                        v.extend_from_slice(kept);
                        Ok(())
                    }
                    Sink::Discard => Ok(()),
                };
                if let Err(e) = written {
                    self.sink = Sink::Discard;
                    return Err(self.error(false, &e));
                }
                if self.name == "stderr" {
                    self.tail.extend_from_slice(kept);
                    let excess = self.tail.len().saturating_sub(STDERR_TAIL);
                    self.tail.drain(..excess);
                }
                self.bytes += n as u64;
                if self.bytes > self.cap {
                    self.truncated = true;
                    return Ok(true);
                }
            }
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => {
                self.pipe = None;
                return Err(self.error(true, &std::io::Error::from(e)));
            }
        }
        Ok(false)
    }

    fn error(&self, reading: bool, e: &std::io::Error) -> CaptureError {
        let what = match (self.name, reading) {
            ("stdout", true) => "read the program's standard output",
            ("stdout", false) => "write the program's standard output to its file",
            (_, true) => "read the program's standard error",
            (_, false) => "write the program's standard error to its file",
        };
        CaptureError {
            what,
            errno: e.raw_os_error().unwrap_or(0),
        }
    }
}

pub(super) fn last_line(tail: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(tail);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let clean: String = line.chars().filter(|c| !c.is_control()).take(200).collect();
    Some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_capture_write_is_an_error_not_a_discard() {
        let (r, w) = nix::unistd::pipe().unwrap();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut c = Capture::new("stdout", r, Sink::File(full), 1024);
        nix::unistd::write(&w, b"hello").unwrap();
        let e = c.pump(&mut [0u8; 64]).unwrap_err();
        assert_eq!(e.errno, libc::ENOSPC);
        assert!(e.what.contains("standard output to its file"), "{}", e.what);
    }

    #[test]
    fn last_line_is_clean_and_short() {
        assert_eq!(
            last_line(b"Traceback\n  x\nValueError: bad\n\n").as_deref(),
            Some("ValueError: bad")
        );
        assert_eq!(last_line(b"\x1b[31mred\x07").as_deref(), Some("[31mred"));
        assert_eq!(last_line(b"").as_deref(), None);
    }
}
