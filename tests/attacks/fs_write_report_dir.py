# attack: write into the report directory: forge report.json, plant files, overwrite the captured stdout
# expect: ok
# args: {report_dir}
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


d = sys.argv[1]
must_fail("create report.json", lambda: open(os.path.join(d, "report.json"), "w").write("{\"status\": \"ok\"}"), errno.EACCES)
must_fail("create a temp report", lambda: open(os.path.join(d, ".report.json.tmp.1"), "w"), errno.EACCES)
must_fail("append to the captured stdout", lambda: open(os.path.join(d, "stdout.txt"), "a"), errno.EACCES)
must_fail("write the termination log", lambda: open(os.path.join(d, "termination-log"), "w"), errno.EACCES)
must_fail("list the report dir", lambda: os.listdir(d), errno.EACCES)
must_fail("mkdir in the report dir", lambda: os.mkdir(os.path.join(d, "x")), errno.EACCES)

