# attack: tamper with the interpreter: overwrite os.py, drop a .pth file or sitecustomize.py into the import path, replace python3.11
# expect: ok
import errno
import os
import sys


# The runner's `namespaces` confinement makes the program PID 1 of a PID namespace of its own;
# there the file-system wall is a root of bind mounts: a path outside the grants does not exist
# (ENOENT) and a read-only grant is a read-only mount (EROFS). Under Landlock the program is
# never PID 1, and only the codes each attack names count.
WALL_ERRNOS = {errno.ENOENT, errno.EROFS} if os.getpid() == 1 else set()


def must_fail(what, fn, *codes):
    """Runs fn; the attack failed (good) only if it raises OSError with one of codes."""
    try:
        result = fn()
    except OSError as e:
        if e.errno in codes or e.errno in WALL_ERRNOS:
            print(f"blocked: {what}: {errno.errorcode[e.errno]}")
            return
        print(f"unexpected error for {what}: {e!r}")
        sys.exit(43)
    print(f"ESCAPED: {what} succeeded: {str(result)[:60]!r}")
    sys.exit(42)


must_fail("append to os.py", lambda: open("/usr/lib/python3.11/os.py", "a"), errno.EACCES)
must_fail("truncate os.py", lambda: os.truncate("/usr/lib/python3.11/os.py", 0), errno.EACCES)
must_fail("create sitecustomize.py", lambda: open("/usr/lib/python3.11/sitecustomize.py", "w"), errno.EACCES)
must_fail("create a .pth file", lambda: open("/usr/lib/python3/dist-packages/evil.pth", "w"), errno.EACCES, errno.ENOENT)
must_fail("open python3.11 for writing", lambda: open("/usr/bin/python3.11", "r+b"), errno.EACCES, errno.ETXTBSY)
must_fail("unlink os.py", lambda: os.unlink("/usr/lib/python3.11/os.py"), errno.EACCES)

