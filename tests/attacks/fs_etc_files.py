# attack: read /etc/shadow, /etc/passwd, /etc/hostname, /etc/resolv.conf, /root and list /
# expect: ok
import errno
import os
import pwd
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


for path in ("/etc/shadow", "/etc/passwd", "/etc/group", "/etc/hostname", "/etc/resolv.conf", "/etc/hosts"):
    must_fail(f"read {path}", lambda: open(path, "rb").read(), errno.EACCES, errno.ENOENT)
for path in ("/", "/etc", "/root", "/home", "/tmp", "/var/run/secrets"):
    must_fail(f"listdir {path}", lambda: os.listdir(path), errno.EACCES, errno.ENOENT)
try:
    entry = pwd.getpwuid(0)
except KeyError:
    print("blocked: pwd.getpwuid(0): no password database")
else:
    print(f"ESCAPED: read the password database: {entry.pw_name}")
    sys.exit(42)

