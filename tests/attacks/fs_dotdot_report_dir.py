# attack: reach the report directory from the writable scratch through "..": absolute, relative after chdir, and openat with a scratch dir fd
# expect: ok
# args: {scratch} {report_dir}
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


scratch, report_dir = sys.argv[1], sys.argv[2]
name = os.path.basename(report_dir)
via = os.path.join(scratch, "..", name, "report.json")
must_fail(f"create {via}", lambda: open(via, "w"), errno.EACCES)
os.chdir(scratch)
must_fail("create ../report/report.json", lambda: open(os.path.join("..", name, "report.json"), "w"), errno.EACCES)
fd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
must_fail("openat(scratch_fd, ../report/x)", lambda: os.open(f"../{name}/x", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), errno.EACCES)
must_fail("openat(scratch_fd, ..)", lambda: os.listdir(os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)), errno.EACCES)
os.mkdir(os.path.join(scratch, "sub"))
must_fail("rename scratch/sub to ../report/sub", lambda: os.rename(os.path.join(scratch, "sub"), os.path.join(report_dir, "sub")), errno.EACCES, errno.EXDEV)

