# attack: /proc/self tricks: reopen a read-only file for writing through its /proc/self/fd magic link, write own memory, lower own oom_score_adj, write through /proc/self/exe
# expect: ok
# args: {data}
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


# The magic link resolves to the file itself, so Landlock judges the real file: the read-only
# data file stays read-only however it is reached.
fd = os.open(sys.argv[1], os.O_RDONLY)
must_fail("reopen the ro data file for writing via /proc/self/fd", lambda: open(f"/proc/self/fd/{fd}", "w"), errno.EACCES)
must_fail("reopen the ro data file via /dev/fd", lambda: open(f"/dev/fd/{fd}", "a"), errno.EACCES, errno.ENOENT)
# Magic links to granted files (stdin is /dev/null, exe is the interpreter) may open, but only
# ever as the granted file itself.
for link, real in (("/proc/self/fd/0", "/dev/null"), ("/proc/self/exe", "/usr/bin/python3.11")):
    try:
        with open(link, "rb") as f:
            st, want = os.fstat(f.fileno()), os.stat(real)
            if (st.st_dev, st.st_ino) != (want.st_dev, want.st_ino):
                print(f"ESCAPED: {link} opened something other than {real}")
                sys.exit(42)
            print(f"allowed: {link} is the granted {real}")
    except PermissionError:
        print(f"blocked: open {link}: EACCES")
must_fail("open /proc/self/exe for writing", lambda: open("/proc/self/exe", "r+b"), errno.EACCES, errno.ETXTBSY)
# Its own stdout/stderr pipes: Landlock does not govern pipefs, so whether this opens depends
# on who owns the pipe (root-created: no; same uid, as in the pod: yes). Either way it can only
# be the program's own pipe to the runner, nothing new.
for n in (1, 2):
    try:
        with open(f"/proc/self/fd/{n}", "rb") as f:
            st, want = os.fstat(f.fileno()), os.fstat(n)
            if (st.st_dev, st.st_ino) != (want.st_dev, want.st_ino):
                print(f"ESCAPED: /proc/self/fd/{n} opened something other than fd {n}")
                sys.exit(42)
            print(f"allowed: /proc/self/fd/{n} is its own pipe")
    except PermissionError:
        print(f"blocked: open /proc/self/fd/{n}: EACCES")
for path in ("/proc/self/mem", "/proc/self/environ", "/proc/self/maps"):
    must_fail(f"open {path}", lambda: open(path, "rb"), errno.EACCES)
must_fail("listdir /proc/self/fd", lambda: os.listdir("/proc/self/fd"), errno.EACCES)
must_fail("lower /proc/self/oom_score_adj", lambda: open("/proc/self/oom_score_adj", "w").write("-1000"), errno.EACCES)
must_fail("write /proc/self/attr/current", lambda: open("/proc/self/attr/current", "w").write("unconfined"), errno.EACCES)

