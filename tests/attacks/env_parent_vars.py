# attack: find the runner's environment (SECRET_TOKEN, KUBERNETES_SERVICE_HOST) in os.environ
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


allowed = {"HOME", "PATH", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE", "MALLOC_ARENA_MAX", "TMPDIR", "TZ"}
extra = sorted(set(os.environ) - allowed)
if extra:
    print(f"ESCAPED: unexpected environment variables {extra}")
    sys.exit(42)
for name in ("SECRET_TOKEN", "KUBERNETES_SERVICE_HOST", "KUBERNETES_PORT"):
    if os.getenv(name) is not None:
        print(f"ESCAPED: {name} leaked")
        sys.exit(42)
print("blocked: environment is", sorted(os.environ))

