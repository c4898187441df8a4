# attack: create and overwrite files outside the --rw scratch (a world-writable directory, /tmp, /, the home of root)
# expect: ok
# args: {outside}
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


outside = sys.argv[1]
must_fail("create a file in the outside dir", lambda: open(os.path.join(outside, "planted"), "w"), errno.EACCES)
must_fail("append to the canary outside", lambda: open(os.path.join(outside, "canary"), "a"), errno.EACCES)
must_fail("truncate the canary outside", lambda: os.truncate(os.path.join(outside, "canary"), 0), errno.EACCES)
must_fail("unlink the canary outside", lambda: os.unlink(os.path.join(outside, "canary")), errno.EACCES)
must_fail("mkdir in the outside dir", lambda: os.mkdir(os.path.join(outside, "d")), errno.EACCES)
for path in ("/tmp/planted", "/planted", "/root/planted", "/dev/shm/planted", "/var/tmp/planted"):
    must_fail(f"create {path}", lambda: open(path, "w"), errno.EACCES, errno.ENOENT)

