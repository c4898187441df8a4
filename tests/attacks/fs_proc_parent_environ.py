# attack: read the runner's environment through /proc/<ppid>/environ (and cmdline, status)
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


ppid = os.getppid()
for name in ("environ", "cmdline", "status", "maps", "fd", "cwd", "root"):
    path = f"/proc/{ppid}/{name}"
    if name in ("fd", "cwd", "root"):
        must_fail(f"listdir {path}", lambda: os.listdir(path), errno.EACCES)
    else:
        must_fail(f"read {path}", lambda: open(path, "rb").read(), errno.EACCES)

