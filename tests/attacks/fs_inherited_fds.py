# attack: look for descriptors inherited from the runner (report dir, signalfd, pipes) beyond 0, 1 and 2
# expect: ok
import errno
import os
import stat
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


leaked = []
for fd in range(3, 1024):
    try:
        st = os.fstat(fd)
    except OSError as e:
        if e.errno != errno.EBADF:
            print(f"unexpected error on fd {fd}: {e!r}")
            sys.exit(43)
        continue
    leaked.append((fd, stat.filemode(st.st_mode)))
if leaked:
    print(f"ESCAPED: inherited descriptors {leaked}")
    sys.exit(42)
print("blocked: no descriptor beyond stdio was inherited")
for fd in (0, 1, 2):
    print(fd, stat.filemode(os.fstat(fd).st_mode))

