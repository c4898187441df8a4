//! The referee's control channel: the referee asks the runner to stop and continue players, so
//! that a player which spins while it has nothing to answer cannot take CPU from the players
//! still thinking, and each turn's clock measures only the player that moves.
//!
//! The referee writes one request a line, `stop ID` or `cont ID`, to the descriptor named by
//! the second number of `GAME_CONTROL` (`rfd:wfd`), and reads one answer a line from the first,
//! in order: `ok` (signalled), `gone` (the player has ended; nothing to do) or `error WHY`.
//! The runner sends SIGSTOP or SIGCONT, which no program can catch, block or ignore; the
//! players themselves have no channel and cannot signal anyone (Landlock scoping).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// Longest request line; a longer one is answered with an error and skipped.
pub const LINE_MAX: usize = 128;

/// What the referee asked for one player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Stop,
    Cont,
}

/// The runner's ends of the channel.
#[derive(Debug)]
pub struct Control {
    /// Requests from the referee; None once it closed its end.
    requests: Option<OwnedFd>,
    /// Answers to the referee, non-blocking: the runner never waits for the referee.
    answers: OwnedFd,
    /// Player ids in the order of the processes they name.
    ids: Vec<String>,
    line: Vec<u8>,
    overlong: bool,
}

impl Control {
    /// Takes the runner's ends (requests to read, answers to write) and the players' ids, in
    /// the order of their processes.
    pub fn new(requests: OwnedFd, answers: OwnedFd, ids: Vec<String>) -> nix::Result<Self> {
        for fd in [&requests, &answers] {
            fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        }
        Ok(Self {
            requests: Some(requests),
            answers,
            ids,
            line: Vec::with_capacity(LINE_MAX),
            overlong: false,
        })
    }

    /// The descriptor to poll for requests, while the referee can still send any.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.requests.as_ref().map(AsFd::as_fd)
    }

    /// Reads what the referee sent and returns its complete requests in order: (player index,
    /// action), or why the line is not a request. Each gets one [`Control::answer`], in order.
    /// An error is the channel failing, not the referee closing it (that ends it quietly).
    pub fn read(&mut self, buf: &mut [u8]) -> nix::Result<Vec<Result<(usize, Action), String>>> {
        let mut out = Vec::new();
        let Some(fd) = &self.requests else {
            return Ok(out);
        };
        let n = match nix::unistd::read(fd, buf) {
            Ok(0) => {
                self.requests = None;
                return Ok(out);
            }
            Ok(n) => n,
            Err(Errno::EAGAIN | Errno::EINTR) => return Ok(out),
            Err(e) => {
                self.requests = None;
                return Err(e);
            }
        };
        for &b in &buf[..n] {
            if b != b'\n' {
                if self.line.len() < LINE_MAX {
                    self.line.push(b);
                } else {
                    self.overlong = true;
                }
                continue;
            }
            let line = std::mem::take(&mut self.line);
            out.push(if std::mem::take(&mut self.overlong) {
                Err(format!("a request is at most {LINE_MAX} bytes"))
            } else {
                self.parse(&line)
            });
        }
        Ok(out)
    }

    fn parse(&self, line: &[u8]) -> Result<(usize, Action), String> {
        let text = std::str::from_utf8(line).map_err(|_| "a request is not UTF-8".to_owned())?;
        let (verb, id) = text
            .split_once(' ')
            .ok_or_else(|| format!("{text:?} is not `stop ID` or `cont ID`"))?;
        let action = match verb {
            "stop" => Action::Stop,
            "cont" => Action::Cont,
            _ => return Err(format!("unknown request {verb:?}: `stop ID` or `cont ID`")),
        };
        let index = self
            .ids
            .iter()
            .position(|p| p == id)
            .ok_or_else(|| format!("no player {id:?}"))?;
        Ok((index, action))
    }

    /// Writes one answer line. A referee that stopped reading (a full pipe) or closed its end
    /// loses answers rather than stalling the runner: by design, not an error. Any other
    /// failure, or a line cut short, is the channel failing.
    pub fn answer(&self, text: &str) -> nix::Result<()> {
        let line = format!("{text}\n");
        match nix::unistd::write(&self.answers, line.as_bytes()) {
            Ok(n) if n == line.len() => Ok(()),
            Ok(_) => Err(Errno::EIO),
            Err(Errno::EAGAIN | Errno::EPIPE) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> (Control, OwnedFd, OwnedFd) {
        let (req_r, req_w) = nix::unistd::pipe().unwrap();
        let (ans_r, ans_w) = nix::unistd::pipe().unwrap();
        let c = Control::new(req_r, ans_w, vec!["alice".into(), "bob".into()]).unwrap();
        (c, req_w, ans_r)
    }

    fn answers(fd: &OwnedFd) -> String {
        fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        let mut buf = [0u8; 4096];
        let n = nix::unistd::read(fd, &mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn requests_split_across_reads_are_parsed_in_order() {
        let (mut c, w, _r) = channel();
        let mut buf = [0u8; 64];
        nix::unistd::write(&w, b"stop bob\ncont al").unwrap();
        assert_eq!(c.read(&mut buf), Ok(vec![Ok((1, Action::Stop))]));
        nix::unistd::write(&w, b"ice\n").unwrap();
        assert_eq!(c.read(&mut buf), Ok(vec![Ok((0, Action::Cont))]));
    }

    #[test]
    fn bad_requests_keep_their_place_and_say_why() {
        let (mut c, w, _r) = channel();
        let mut buf = [0u8; 512];
        let long = format!("stop {}\n", "x".repeat(LINE_MAX));
        let text = format!("stop bob\nstop mallory\npause alice\nstop\n{long}cont bob\n");
        nix::unistd::write(&w, text.as_bytes()).unwrap();
        let got = c.read(&mut buf).unwrap();
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[0], Ok((1, Action::Stop)));
        let why = |i: usize| got[i].clone().err().unwrap_or_default();
        assert!(why(1).starts_with("no player \"mallory\""), "{got:?}");
        assert!(why(2).starts_with("unknown request \"pause\""), "{got:?}");
        assert!(why(3).starts_with("\"stop\" is not"), "{got:?}");
        assert!(why(4).starts_with("a request is at most"), "{got:?}");
        assert_eq!(
            got[5],
            Ok((1, Action::Cont)),
            "the channel goes on after bad lines"
        );
    }

    #[test]
    fn answers_are_lines() {
        let (c, _w, r) = channel();
        c.answer("ok").unwrap();
        c.answer("error no player \"x\"").unwrap();
        assert_eq!(answers(&r), "ok\nerror no player \"x\"\n");
    }

    #[test]
    fn the_referee_closing_its_end_ends_the_channel() {
        let (mut c, w, _r) = channel();
        drop(w);
        assert!(c.fd().is_some());
        assert_eq!(c.read(&mut [0u8; 16]), Ok(vec![]));
        assert!(c.fd().is_none());
    }
}
