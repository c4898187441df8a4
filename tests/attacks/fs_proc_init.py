# attack: read /proc/1/* (PID 1's environment, command line, root directory) and /proc itself
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


for path in ("/proc/1/environ", "/proc/1/cmdline", "/proc/1/mountinfo", "/proc/cmdline", "/proc/kallsyms", "/proc/sys/kernel/core_pattern"):
    must_fail(f"read {path}", lambda: open(path, "rb").read(), errno.EACCES)
for path in ("/proc", "/proc/1/root", "/proc/1/fd", "/sys/fs/cgroup"):
    must_fail(f"listdir {path}", lambda: os.listdir(path), errno.EACCES)
must_fail("write /proc/sys/kernel/core_pattern", lambda: open("/proc/sys/kernel/core_pattern", "w").write("|/tmp/x"), errno.EACCES)

