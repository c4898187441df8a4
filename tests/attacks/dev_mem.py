# attack: read physical and kernel memory through /dev/mem, /dev/kmem, /dev/port
# expect: ok
import errno
import sys


def must_fail(what, fn, *codes):
    """Runs fn; the attack failed (good) only if it raises OSError with one of codes."""
    try:
        result = fn()
    except OSError as e:
        if e.errno in codes:
            print(f"blocked: {what}: {errno.errorcode[e.errno]}")
            return
        print(f"unexpected error for {what}: {e!r}")
        sys.exit(43)
    print(f"ESCAPED: {what} succeeded: {str(result)[:60]!r}")
    sys.exit(42)


for path in ("/dev/mem", "/dev/kmem", "/dev/port"):
    must_fail(f"open {path}", lambda: open(path, "rb"), errno.EACCES, errno.ENOENT)

