# attack: write the image's root filesystem: the interpreter, the standard library, the game, /etc, /, and plant a sitecustomize
# expect: ok
# (chmod and chown are not here: seccomp kills them, see tests/attacks/fs_chmod.py.)
# In the container two layers answer: the read-only root filesystem (EROFS) and, around the
# program, Landlock (EACCES). Either is a block; success is an escape.
import errno
import os
import sys

BLOCKED = (errno.EACCES, errno.EROFS, errno.EPERM, errno.ENOENT, errno.ETXTBSY)


def must_fail(what, fn):
    try:
        result = fn()
    except OSError as e:
        if e.errno in BLOCKED:
            print(f"blocked: {what}: {errno.errorcode[e.errno]}")
            return
        print(f"unexpected error for {what}: {e!r}")
        sys.exit(43)
    print(f"ESCAPED: {what} succeeded: {str(result)[:60]!r}")
    sys.exit(42)


must_fail("open python3.11 for writing", lambda: open("/usr/bin/python3.11", "r+b"))
must_fail("append to os.pyc", lambda: open("/usr/lib/python3.11/os.pyc", "ab"))
must_fail("create sitecustomize.py", lambda: open("/usr/lib/python3.11/sitecustomize.py", "w"))
must_fail("overwrite the referee", lambda: open("/opt/game/game/referee.py", "w"))
must_fail("replace the runner", lambda: os.rename("/usr/lib/python3.11/os.pyc", "/usr/local/bin/runner"))
must_fail("append to /etc/passwd", lambda: open("/etc/passwd", "a"))
must_fail("create /planted", lambda: open("/planted", "w"))
must_fail("mkdir /tmp", lambda: os.mkdir("/tmp"))
must_fail("write the match's files", lambda: open("/match/spec.json", "a"))
