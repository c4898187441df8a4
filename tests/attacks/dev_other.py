# attack: open other devices: /dev/tty, /dev/zero, /dev/random writes, /dev/shm, /dev/fuse, /dev/kvm
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


for path in ("/dev/tty", "/dev/zero", "/dev/full", "/dev/fuse", "/dev/kvm", "/dev/ptmx", "/dev/console"):
    must_fail(f"open {path}", lambda: open(path, "rb"), errno.EACCES, errno.ENOENT)
must_fail("write /dev/urandom (ro)", lambda: open("/dev/urandom", "wb"), errno.EACCES)
must_fail("list /dev/shm", lambda: os.listdir("/dev/shm"), errno.EACCES, errno.ENOENT)

