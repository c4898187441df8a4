# cheat: write result.json and replay.jsonl (in the output directory and in the referee's staging directory), rewrite, truncate or move the replay being written, plant files and directories, clobber the logs, the report, the termination log and its own code
# verdict: ok
# win: score
# args: {out} {open} {self} {report} {tlog} {opponent_id}
# log: every write was blocked
"""Everything is tried on turn 1 (the referee is running and its staging directory exists),
then the bot stands still, so the honest bot wins on score. In the pod the runner, the
referee and the players share uid 65532: Landlock alone stands between this bot and the
staging directory. An attempt that works prints ESCAPED and exits 42. (symlink, link and
chmod are not tried: seccomp kills them, see tests/attacks.)"""
import errno
import os
import sys

from game.sdk import run

OUT, OPEN_DIR, ME, REPORT, TLOG, OPPONENT = sys.argv[1:7]
STAGING = os.path.join(OUT, ".referee-staging")
FORGED = ('{"winner":"write-output","scores":{"write-output":99,"%s":0},"reason":"forged",'
          '"turns":20,"players":{}}\n' % OPPONENT)
BLOCKED = (errno.EACCES, errno.EPERM, errno.EXDEV, errno.EROFS)


def must_fail(what, fn, also=()):
    try:
        result = fn()
    except OSError as e:
        if e.errno in BLOCKED + also:
            print(f"blocked: {what}: {errno.errorcode[e.errno]}", file=sys.stderr, flush=True)
            return
        print(f"UNEXPECTED: {what}: {e!r}", file=sys.stderr, flush=True)
        os._exit(43)
    print(f"ESCAPED: {what} succeeded: {str(result)[:80]!r}", file=sys.stderr, flush=True)
    os._exit(42)


def create(path, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    def attempt():
        fd = os.open(path, flags, 0o644)
        os.write(fd, FORGED.encode())
        os.close(fd)
        return path
    return attempt


def attack():
    targets = [
        os.path.join(OUT, "result.json"),
        os.path.join(OUT, "replay.jsonl"),
        os.path.join(OUT, ".result.json.tmp"),
        os.path.join(OUT, "pwned"),
        os.path.join(STAGING, "replay.jsonl"),
        os.path.join(STAGING, "result.json"),
        os.path.join(STAGING, "pwned"),
        os.path.join(OPEN_DIR, "pwned"),
        REPORT,
        TLOG,
    ]
    for path in targets:
        must_fail(f"create {path}", create(path))
    # The replay the referee is writing right now, and the logs the runner is writing.
    live = os.path.join(STAGING, ".replay.jsonl.tmp")
    must_fail(f"open {live} for writing", create(live, os.O_WRONLY | os.O_APPEND))
    must_fail(f"truncate {live}", lambda: os.truncate(live, 0))
    must_fail(f"unlink {live}", lambda: os.unlink(live))
    # While the match runs the logs have hidden random names (their own names come at the end),
    # so opening one by name without O_CREAT or unlinking it finds nothing; creating under the
    # name is what Landlock refuses.
    for log in ("referee.stderr.log", f"{OPPONENT}.stderr.log"):
        path = os.path.join(OUT, log)
        must_fail(f"create {path}", create(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT))
        must_fail(f"open {path} for writing", create(path, os.O_WRONLY | os.O_APPEND),
                  also=(errno.ENOENT,))
        must_fail(f"unlink {path}", lambda p=path: os.unlink(p), also=(errno.ENOENT,))
    must_fail(f"append to its own code {ME}", create(ME, os.O_WRONLY | os.O_APPEND))
    must_fail("mkdir in the output directory", lambda: os.mkdir(os.path.join(OUT, "pwned.d")))
    must_fail("mkdir in staging", lambda: os.mkdir(os.path.join(STAGING, "pwned.d")))
    must_fail("rename the staging directory", lambda: os.rename(STAGING, os.path.join(OUT, "moved")))
    must_fail("rename the live replay",
              lambda: os.rename(live, os.path.join(STAGING, "replay.jsonl")))
    print("every write was blocked", file=sys.stderr, flush=True)


def act(observation):
    if observation["turn"] == 1:
        attack()
    return "STAY"


run(act)
