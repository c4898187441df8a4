//! The supervisor: the parent half of the runner. It is never sandboxed. It resolves a spec
//! into settings, forks the child (see [`crate::sandbox`]), watches it — wall clock, CPU time,
//! resident memory, output — reaps it and every other child it inherits (it may be PID 1),
//! turns SIGTERM/SIGINT into a cancellation, and returns exactly one report.

mod capture;
mod files;
mod kernel;
mod process;
mod settings;
mod verdict;

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

pub(crate) use capture::Sink;
pub(crate) use files::create_sink;
pub use files::{OutputDir, write_termination_log};
pub(crate) use process::{Proc, StdoutTo, Wiring};
pub use settings::{Settings, StdinFrom};

use crate::control::{Action, Control};
use crate::report::{Report, Status};
use process::SAMPLE_EVERY;
use verdict::Stop;

/// After the child exits, how long to keep draining pipes that something else still holds.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Blocks the signals the supervisor handles through a signalfd. Call first thing in
/// `main`, before anything can be interrupted: a SIGTERM that arrives early must still end
/// in a `cancelled` report rather than a runner killed with no report.
pub fn take_signals() -> nix::Result<SignalFd> {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        set.add(s);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
}

pub(crate) fn pipe() -> nix::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
}

fn sandbox_error(mut report: Report, reason: String) -> Report {
    report.status = Status::SandboxError;
    report.reason = reason;
    report
}

/// After the primary process (the referee) ends, how long the others get to exit by themselves.
const MATCH_OVER_GRACE: Duration = Duration::from_millis(500);
/// Poll slots that are not a process's streams.
const SIGNALS: usize = usize::MAX;
const CONTROL: usize = usize::MAX - 1;

/// Supervises processes until every one has exited and its pipes are drained. When
/// `primary` is given and that process ends, the others are continued if the referee had
/// stopped them, and stopped for good after a short grace. `control` carries the referee's
/// stop and continue requests for the processes it names.
/// Returns true when the cgroup's OOM killer struck during the run.
pub(crate) fn supervise(
    procs: &mut [Proc],
    primary: Option<usize>,
    signals: &SignalFd,
    mut control: Option<&mut Control>,
) -> bool {
    // The runner may not be PID 1 (local use): become the reaper of anything the programs
    // orphan, so nothing escapes the final process-group kill by being re-parented.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let oom_before = cgroup_oom_kills();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        if procs.iter().all(|p| {
            !p.running()
                && (p.drained() || p.ended.is_some_and(|t| now.duration_since(t) > DRAIN_GRACE))
        }) {
            break;
        }
        if let Some(i) = primary
            && !procs[i].running()
        {
            for (j, p) in procs.iter_mut().enumerate() {
                if j != i && p.stop_at.is_none() {
                    // A stopped player could not see its input close and leave on its own.
                    // If it cannot be continued it is stopped at once: it could not leave.
                    if p.paused && p.pause(Action::Cont).is_err() {
                        p.kill(Stop::MatchOver);
                    }
                    p.stop_at = Some(now + MATCH_OVER_GRACE);
                }
            }
        }
        let next = procs
            .iter_mut()
            .filter_map(|p| p.tick(now))
            .min()
            .unwrap_or(now + DRAIN_GRACE);
        // Whole milliseconds, rounded up: rounded down, poll woke just before every deadline
        // and the loop polled once more for the rest, two wakes for each sample.
        let wait_ms = next
            .saturating_duration_since(Instant::now())
            .as_micros()
            .div_ceil(1000)
            .max(1);
        let timeout = PollTimeout::try_from(wait_ms).unwrap_or(PollTimeout::MAX);

        // (process index, or SIGNALS or CONTROL; which stream)
        let mut who: Vec<(usize, u8)> = vec![(SIGNALS, 0)];
        let mut pfds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        if let Some(fd) = control.as_ref().and_then(|c| c.fd()) {
            pfds.push(PollFd::new(fd, PollFlags::POLLIN));
            who.push((CONTROL, 0));
        }
        for (i, p) in procs.iter().enumerate() {
            let streams = [
                (0u8, p.setup.as_ref()),
                (1, p.stdout.as_ref().and_then(|c| c.pipe.as_ref())),
                (2, p.stderr.as_ref().and_then(|c| c.pipe.as_ref())),
                // Watched until it hangs up: from then on no task uses the filter, so no call
                // can be held, and a hung-up descriptor would wake every poll until the reap.
                (
                    3,
                    p.listener
                        .as_ref()
                        .filter(|_| p.running() && !p.listener_hung_up),
                ),
            ];
            for (tag, fd) in streams {
                if let Some(fd) = fd {
                    pfds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                    who.push((i, tag));
                }
            }
        }
        let polled = poll(&mut pfds, timeout);
        let ready: Vec<(usize, u8, PollFlags)> = pfds
            .iter()
            .zip(&who)
            .filter_map(|(p, &(i, tag))| p.revents().filter(|r| !r.is_empty()).map(|r| (i, tag, r)))
            .collect();
        drop(pfds);
        match polled {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                // Cannot watch: stop everything rather than run unwatched.
                let stop = Stop::Supervisor {
                    what: "watch the program (poll failed)",
                    errno: e as i32,
                };
                procs.iter_mut().for_each(|p| p.kill(stop));
                std::thread::sleep(SAMPLE_EVERY);
            }
        }
        for (i, tag, revents) in ready {
            if i == SIGNALS {
                handle_signals(procs, signals);
                continue;
            }
            if i == CONTROL {
                if let Some(c) = control.as_deref_mut()
                    && let Err(e) = serve_control(c, procs, &mut buf)
                {
                    // The referee could be left waiting for an answer that never comes.
                    let stop = Stop::Supervisor {
                        what: "use the referee's control channel",
                        errno: e as i32,
                    };
                    procs.iter_mut().for_each(|p| p.kill(stop));
                }
                continue;
            }
            let p = &mut procs[i];
            match tag {
                0 => p.read_setup(&mut buf),
                3 => {
                    if revents.contains(PollFlags::POLLIN) {
                        p.on_notification();
                    }
                    if revents.contains(PollFlags::POLLHUP) {
                        p.listener_hung_up = true;
                    }
                }
                _ => {
                    let (capture, stream) = if tag == 1 {
                        (p.stdout.as_mut(), "stdout")
                    } else {
                        (p.stderr.as_mut(), "stderr")
                    };
                    match capture.map(|c| c.pump(&mut buf)) {
                        Some(Ok(true)) => p.kill(Stop::Output { stream }),
                        Some(Err(e)) => p.kill(Stop::Supervisor {
                            what: e.what,
                            errno: e.errno,
                        }),
                        None | Some(Ok(false)) => {}
                    }
                }
            }
        }
    }
    oom_before.is_some() && cgroup_oom_kills() > oom_before
}

/// Reads the referee's requests and answers each, in order.
fn serve_control(c: &mut Control, procs: &mut [Proc], buf: &mut [u8]) -> nix::Result<()> {
    for request in c.read(buf)? {
        let answer = match request {
            Ok((j, action)) => match procs.get_mut(j).map(|p| (p.pause(action), p)) {
                Some((Ok(true), p)) => {
                    // The referee resumes each player still in for every turn after the
                    // first: the count says which turn a player ended in.
                    if action == Action::Cont {
                        p.turns = Some(p.turns.map_or(1, |t| t.saturating_add(1)));
                    }
                    "ok".to_owned()
                }
                None | Some((Ok(false), _)) => "gone".to_owned(),
                Some((Err(e), _)) => format!("error cannot signal the player: {e}"),
            },
            Err(why) => format!("error {why}"),
        };
        c.answer(&answer)?;
    }
    Ok(())
}

fn handle_signals(procs: &mut [Proc], signals: &SignalFd) {
    while let Ok(Some(info)) = signals.read_signal() {
        let sig = i32::try_from(info.ssi_signo)
            .ok()
            .and_then(|s| Signal::try_from(s).ok());
        let sender = i32::try_from(info.ssi_pid).ok();
        match sig {
            Some(Signal::SIGCHLD) | None => {}
            // Only the outside can cancel: the programs' signals cannot reach the runner
            // (Landlock scoping); ignoring their pids is the second fence.
            Some(s) if !procs.iter().any(|p| p.child.map(Pid::as_raw) == sender) => {
                procs.iter_mut().for_each(|p| p.kill(Stop::Cancel(s)));
            }
            Some(_) => {}
        }
    }
    reap_all(procs);
}

/// Runs one program under the sandbox and returns its report. Never panics; every path
/// returns a report.
pub fn run(settings: &Settings, signals: &SignalFd) -> Report {
    let blank = settings.blank_report();
    let io = (|| -> std::io::Result<_> {
        let stdin = match &settings.stdin {
            StdinFrom::File(p) => OwnedFd::from(File::open(p)?),
            StdinFrom::Inherit => std::io::stdin().as_fd().try_clone_to_owned()?,
        };
        let sink = |p: &Option<PathBuf>| {
            p.as_deref()
                .map(create_sink)
                .transpose()
                .map(|f| f.map_or(Sink::Discard, Sink::File))
        };
        Ok((stdin, sink(&settings.stdout)?, sink(&settings.stderr)?))
    })();
    let (stdin, stdout, stderr) = match io {
        Ok(v) => v,
        Err(e) => {
            return sandbox_error(
                blank,
                format!("cannot open the program's standard streams: {e}"),
            );
        }
    };
    let wiring = Wiring {
        stdin,
        stdout: StdoutTo::Capture(stdout),
        stderr,
        handed_on: Vec::new(),
    };
    let mut procs = [Proc::spawn(settings.clone(), wiring)];
    let oom_kill = supervise(&mut procs, None, signals, None);
    let [p] = procs;
    p.finish(oom_kill)
}

/// Reaps every exited child (the runner may be PID 1 and inherit orphans), recording the
/// exits of the supervised processes. Each ended child is looked at first without being
/// reaped, so a supervised one is reaped by [`Proc::reap`], after its process group is killed.
fn reap_all(procs: &mut [Proc]) {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid value for waitid to fill in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes to the valid siginfo it is given; WNOWAIT leaves the child.
        let r = unsafe {
            libc::waitid(
                libc::P_ALL,
                0,
                &raw mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: waitid filled in a SIGCHLD siginfo (or left it zeroed: pid 0).
        let pid = unsafe { info.si_pid() };
        if r < 0 || pid == 0 {
            // ECHILD (no child at all) or nothing ended yet.
            return;
        }
        match procs
            .iter_mut()
            .find(|p| p.running() && p.child.map(Pid::as_raw) == Some(pid))
        {
            Some(p) => p.reap(),
            None => {
                let mut status = 0;
                // SAFETY: reaping an orphan that has ended; the status pointer is valid.
                if unsafe { libc::waitpid(pid, &raw mut status, libc::WNOHANG) } != pid {
                    return; // not reapable after all: do not spin on it
                }
            }
        }
    }
}

/// Count of OOM kills in the container's cgroup (v2), when there is one to read.
fn cgroup_oom_kills() -> Option<u64> {
    let text = std::fs::read_to_string("/sys/fs/cgroup/memory.events").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}
