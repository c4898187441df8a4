# attack: read and write the runner's memory through /proc/<ppid>/mem
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


path = f"/proc/{os.getppid()}/mem"
must_fail(f"open {path} for reading", lambda: open(path, "rb"), errno.EACCES)
must_fail(f"open {path} for writing", lambda: os.open(path, os.O_RDWR), errno.EACCES)

