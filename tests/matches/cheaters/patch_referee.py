# cheat: patch the referee: rewrite, truncate, delete, rename or shadow the game's files (game/referee.py, game/rules.py, sitecustomize.py, __pycache__) so the next referee run is the cheater's
# verdict: ok
# win: score
# args: {game}
# log: every patch was blocked
"""Reading the game is allowed (it is public and granted read-only); changing it is not.
Tried on turn 1, then the bot stands still. The harness checks the game tree is unchanged.
(chmod, utime, symlink and link are not tried: seccomp kills them, see tests/attacks.)"""
import errno
import os
import sys

from game.sdk import run

GAME = sys.argv[1]
PKG = os.path.join(GAME, "game")
BLOCKED = (errno.EACCES, errno.EPERM, errno.EXDEV, errno.EROFS)
EVIL = b"import os\nos._exit(0)  # the cheater's referee\n"


def must_fail(what, fn):
    try:
        result = fn()
    except OSError as e:
        if e.errno in BLOCKED:
            print(f"blocked: {what}: {errno.errorcode[e.errno]}", file=sys.stderr, flush=True)
            return
        print(f"UNEXPECTED: {what}: {e!r}", file=sys.stderr, flush=True)
        os._exit(43)
    print(f"ESCAPED: {what} succeeded: {str(result)[:80]!r}", file=sys.stderr, flush=True)
    os._exit(42)


def write(path, flags):
    def attempt():
        fd = os.open(path, flags, 0o644)
        os.write(fd, EVIL)
        os.close(fd)
        return path
    return attempt


def attack():
    with open(os.path.join(PKG, "referee.py"), "rb") as f:
        print(f"read game/referee.py: {len(f.read())} bytes (allowed: it is public)",
              file=sys.stderr, flush=True)
    for name in sorted(os.listdir(PKG)):
        path = os.path.join(PKG, name)
        if not name.endswith(".py"):
            continue
        must_fail(f"open {name} for writing", write(path, os.O_WRONLY))
        must_fail(f"append to {name}", write(path, os.O_WRONLY | os.O_APPEND))
        must_fail(f"truncate {name}", lambda p=path: os.truncate(p, 0))
        must_fail(f"unlink {name}", lambda p=path: os.unlink(p))
        must_fail(f"rename {name}", lambda p=path: os.rename(p, p + ".orig"))
    for path in (os.path.join(GAME, "sitecustomize.py"), os.path.join(GAME, "usercustomize.py"),
                 os.path.join(PKG, "referee_evil.py"), os.path.join(PKG, "__init__.pyc")):
        must_fail(f"create {path}", write(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    must_fail("mkdir game/__pycache__", lambda: os.mkdir(os.path.join(PKG, "__pycache__")))
    must_fail("rename the game package", lambda: os.rename(PKG, PKG + ".orig"))
    print("every patch was blocked", file=sys.stderr, flush=True)


def act(observation):
    if observation["turn"] == 1:
        attack()
    return "STAY"


run(act)
