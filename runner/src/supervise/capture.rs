//! Captured output: a stream's pipe, where its bytes go and its byte cap.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::OwnedFd;

use nix::errno::Errno;

/// Bytes of standard error kept in memory to quote the last line in the report's reason.
const STDERR_TAIL: usize = 512;

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
    pub(super) fn pump(&mut self, buf: &mut [u8]) -> bool {
        let Some(fd) = &self.pipe else { return false };
        match nix::unistd::read(fd, buf) {
            Ok(0) => self.pipe = None,
            Ok(n) => {
                let chunk = &buf[..n];
                let room =
                    usize::try_from(self.cap.saturating_sub(self.bytes)).unwrap_or(usize::MAX);
                let kept = &chunk[..n.min(room)];
                match &mut self.sink {
                    Sink::File(f) => {
                        if f.write_all(kept).is_err() {
                            self.sink = Sink::Discard;
                        }
                    }
                    Sink::Memory(v) => v.extend_from_slice(kept),
                    Sink::Discard => {}
                }
                if self.name == "stderr" {
                    self.tail.extend_from_slice(kept);
                    let excess = self.tail.len().saturating_sub(STDERR_TAIL);
                    self.tail.drain(..excess);
                }
                self.bytes += n as u64;
                if self.bytes > self.cap {
                    self.truncated = true;
                    return true;
                }
            }
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(_) => self.pipe = None,
        }
        false
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
    fn last_line_is_clean_and_short() {
        assert_eq!(
            last_line(b"Traceback\n  x\nValueError: bad\n\n").as_deref(),
            Some("ValueError: bad")
        );
        assert_eq!(last_line(b"\x1b[31mred\x07").as_deref(), Some("[31mred"));
        assert_eq!(last_line(b"").as_deref(), None);
    }
}
