# attack: read the kernel log and inject fake kernel messages through /dev/kmsg
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


must_fail("read /dev/kmsg", lambda: open("/dev/kmsg", "rb"), errno.EACCES)
must_fail("write /dev/kmsg", lambda: open("/dev/kmsg", "w"), errno.EACCES)

