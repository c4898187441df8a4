# cheat: signal the referee and the opponent to death or to a halt (SIGSTOP, SIGTERM, SIGKILL) by guessing pids next to its own, their process groups, the runner (getppid) and everyone (kill -1)
# verdict: ok
# win: score
# log: every signal was refused
"""Tried on turn 1, when the referee and the opponent are certainly running; then the bot
stands still. They run as the same uid as this bot, so only Landlock's signal scoping refuses
the signals (EPERM); ESRCH is for pids that do not exist. kill(-1) returns 0 even when every
single delivery was refused (the kernel ignores per-process EPERM there): the harness checks
that the referee and the opponent finished normally."""
import errno
import os
import signal
import sys

from game.sdk import run

SIGNALS = (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL)


def attempt(what, fn):
    try:
        fn()
    except OSError as e:
        if e.errno in (errno.EPERM, errno.ESRCH):
            return e.errno
        print(f"UNEXPECTED: {what}: {e!r}", file=sys.stderr, flush=True)
        os._exit(43)
    print(f"ESCAPED: {what} was delivered", file=sys.stderr, flush=True)
    os._exit(42)


def same_uid(pid):
    """stat() of /proc/PID is not a Landlock right: it tells the owner, nothing more."""
    try:
        return os.stat(f"/proc/{pid}").st_uid == os.getuid()
    except OSError:
        return False


def attack():
    me = os.getpid()
    counts = {errno.EPERM: 0, errno.ESRCH: 0}
    targets = [os.getppid()] + [p for p in range(max(2, me - 300), me + 300) if p != me]
    siblings = [p for p in targets if same_uid(p)]
    for pid in targets:
        for sig in SIGNALS:
            counts[attempt(f"kill({pid}, {sig.name})", lambda: os.kill(pid, sig))] += 1
            # killpg(1) is kill(-1), which reports no per-process EPERM (tried below). The pid
            # is 1 when the runner is the pod's init: the parent this bot signals first.
            if pid != 1:
                counts[attempt(f"killpg({pid}, {sig.name})", lambda: os.killpg(pid, sig))] += 1
    refused = [p for p in siblings
               if attempt(f"kill({p}, SIGKILL)", lambda: os.kill(p, signal.SIGKILL)) == errno.EPERM]
    # The referee and the opponent run as this uid (so does the runner, in the pod).
    if len(refused) < 2:
        print(f"UNEXPECTED: only {refused} of its own uid found and refused", file=sys.stderr,
              flush=True)
        os._exit(43)
    for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(-1, sig)
            print(f"kill(-1, {sig.name}) returned 0 (per-process EPERM is not reported)",
                  file=sys.stderr, flush=True)
        except OSError as e:
            print(f"blocked: kill(-1, {sig.name}): {errno.errorcode[e.errno]}",
                  file=sys.stderr, flush=True)
    print(f"every signal was refused ({counts[errno.EPERM]} EPERM, {counts[errno.ESRCH]} ESRCH; "
          f"EPERM from {len(refused)} processes of its own uid)", file=sys.stderr, flush=True)


def act(observation):
    if observation["turn"] == 1:
        attack()
    return "STAY"


run(act)
