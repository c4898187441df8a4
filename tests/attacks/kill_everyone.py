# attack: kill(-1, SIGKILL) and kill(-1, SIGTERM): every process the uid may signal (in a pod, the runner has the same uid)
# expect: ok
import errno
import os
import signal
import sys

for sig in (signal.SIGTERM, signal.SIGKILL):
    try:
        os.kill(-1, sig)
        print(f"kill(-1, {int(sig)}) returned (the kernel ignores per-process EPERM here)")
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ESRCH):
            print(f"unexpected error: {e!r}")
            sys.exit(43)
        print(f"blocked: kill(-1, {int(sig)}): {errno.errorcode[e.errno]}")
# If the runner had been reached, it would be dead now and no report would exist.
print("still running; the harness checks the runner wrote its report")
