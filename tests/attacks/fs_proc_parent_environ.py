# attack: read the runner's environment through /proc/<ppid>/environ (and cmdline, status)
# expect: ok
import errno
import os
import sys


def must_fail(what, fn, *codes):
    """Runs fn; the attack failed (good) only if it raises OSError with one of codes."""
    try:
        result = fn()
    except OSError as e:
        if e.errno in codes:
            print(f"blocked: {what}: {errno.errorcode[e.errno]}")
            return
        print(f"unexpected error for {what}: {e!r}")
        sys.exit(43)
    print(f"ESCAPED: {what} succeeded: {str(result)[:60]!r}")
    sys.exit(42)


ppid = os.getppid()
for name in ("environ", "cmdline", "status", "maps", "fd", "cwd", "root"):
    path = f"/proc/{ppid}/{name}"
    if name in ("fd", "cwd", "root"):
        must_fail(f"listdir {path}", lambda: os.listdir(path), errno.EACCES)
    else:
        must_fail(f"read {path}", lambda: open(path, "rb").read(), errno.EACCES)

