# cheat: read (and write) the referee's memory through /proc: mem, maps, environ, its pipe descriptors under fd/, its exe and cwd, for every pid near its own (getppid is the runner; the referee and the opponent were started next to it)
# verdict: ok
# win: score
# log: every /proc access was blocked
"""Tried on turn 1, when the referee is certainly running; then the bot stands still.
Only errors are allowed: EACCES/EPERM for live processes (Landlock: /proc is not granted, and
its ptrace scoping refuses the ptrace-mode checks), ENOENT/ESRCH for pids that do not exist."""
import errno
import os
import sys

from game.sdk import run

BLOCKED = (errno.EACCES, errno.EPERM)
GONE = (errno.ENOENT, errno.ESRCH)


def attempt(what, fn):
    try:
        result = fn()
    except OSError as e:
        if e.errno in BLOCKED:
            return 1
        if e.errno in GONE:
            return 0
        print(f"UNEXPECTED: {what}: {e!r}", file=sys.stderr, flush=True)
        os._exit(43)
    print(f"ESCAPED: {what} succeeded: {str(result)[:80]!r}", file=sys.stderr, flush=True)
    os._exit(42)


def read(path, n=64):
    with open(path, "rb", buffering=0) as f:
        return f.read(n)


def read_mem(pid):
    # The first mapping's start address, from maps if it were readable, else a usual one.
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as f:
        f.seek(0x400000)
        return f.read(16)


def same_uid(pid):
    """stat() of /proc/PID is not a Landlock right: it tells the owner, nothing more."""
    try:
        return os.stat(f"/proc/{pid}").st_uid == os.getuid()
    except OSError:
        return False


def attack():
    me = os.getpid()
    pids = [os.getppid()] + [p for p in range(max(2, me - 300), me + 300) if p != me]
    siblings = [p for p in pids if same_uid(p)]
    if len(siblings) < 2:
        print(f"UNEXPECTED: only {siblings} of its own uid found", file=sys.stderr, flush=True)
        os._exit(43)
    blocked = 0
    for pid in pids:
        base = f"/proc/{pid}"
        for what, fn in (
            ("mem", lambda: read_mem(pid)),
            ("mem (write)", lambda: os.open(f"{base}/mem", os.O_RDWR)),
            ("maps", lambda: read(f"{base}/maps")),
            ("environ", lambda: read(f"{base}/environ")),
            ("auxv", lambda: read(f"{base}/auxv")),
            ("fd/", lambda: os.listdir(f"{base}/fd")),
            ("fd/3 (a player pipe, for the referee)", lambda: read(f"{base}/fd/3")),
            ("fd/4 (a player pipe, for the referee)", lambda: os.open(f"{base}/fd/4", os.O_WRONLY)),
            ("fd/0", lambda: read(f"{base}/fd/0")),
            ("fd/1", lambda: os.open(f"{base}/fd/1", os.O_WRONLY)),
            ("readlink exe", lambda: os.readlink(f"{base}/exe")),
            ("readlink cwd", lambda: os.readlink(f"{base}/cwd")),
            ("readlink fd/3", lambda: os.readlink(f"{base}/fd/3")),
            ("list cwd (the referee's staging)", lambda: os.listdir(f"{base}/cwd")),
        ):
            blocked += attempt(f"{base}/{what}", fn)
    if blocked == 0:
        print("UNEXPECTED: no live process was found near this one", file=sys.stderr, flush=True)
        os._exit(43)
    print(f"every /proc access was blocked ({blocked} attempts on live processes, "
          f"{len(siblings)} of them of its own uid: the referee and the opponent among them)",
          file=sys.stderr, flush=True)


def act(observation):
    if observation["turn"] == 1:
        attack()
    return "STAY"


run(act)
