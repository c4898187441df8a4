# cheat: read the opponent's code: by its path, by listing the code directory, through /proc (its command line, open files, root and cwd links)
# verdict: ok
# win: score
# args: {opponent} {code}
# log: every read was blocked
"""Tried on turn 1, when the opponent is certainly running; then the bot stands still."""
import errno
import os
import sys

from game.sdk import run

OPPONENT, CODE = sys.argv[1:3]
BLOCKED = (errno.EACCES, errno.EPERM)
GONE = (errno.ENOENT, errno.ESRCH)


def must_fail(what, fn, also=(), quiet=False):
    try:
        result = fn()
    except OSError as e:
        if e.errno in BLOCKED + tuple(also):
            if not quiet:
                print(f"blocked: {what}: {errno.errorcode[e.errno]}", file=sys.stderr, flush=True)
            return e.errno
        print(f"UNEXPECTED: {what}: {e!r}", file=sys.stderr, flush=True)
        os._exit(43)
    print(f"ESCAPED: {what} succeeded: {str(result)[:80]!r}", file=sys.stderr, flush=True)
    os._exit(42)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def attack():
    must_fail(f"read {OPPONENT}", lambda: read(OPPONENT))
    must_fail(f"list {CODE}", lambda: os.listdir(CODE))
    must_fail(f"open {CODE} as a directory", lambda: os.open(CODE, os.O_RDONLY | os.O_DIRECTORY))
    must_fail("list /proc", lambda: os.listdir("/proc"))
    me = os.getpid()
    blocked = 0
    for pid in range(max(2, me - 300), me + 300):
        if pid == me:
            continue
        base = f"/proc/{pid}"
        for what, fn in (
            ("cmdline", lambda: read(f"{base}/cmdline")),
            ("opponent via root", lambda: read(f"{base}/root{OPPONENT}")),
            ("fd list", lambda: os.listdir(f"{base}/fd")),
            ("cwd", lambda: os.listdir(f"{base}/cwd")),
        ):
            if must_fail(f"{base} {what}", fn, also=GONE, quiet=True) in BLOCKED:
                blocked += 1
    if blocked == 0:
        print("UNEXPECTED: no process next to this one was found", file=sys.stderr, flush=True)
        os._exit(43)
    print(f"every read was blocked ({blocked} /proc attempts on live processes)",
          file=sys.stderr, flush=True)


def act(observation):
    if observation["turn"] == 1:
        attack()
    return "STAY"


run(act)
