# attack: signal the runner (the parent): SIGTERM, SIGINT, SIGHUP, SIGKILL, SIGSTOP; each must fail with EPERM and the report must still be written
# expect: ok
import errno
import os
import signal
import sys

ppid = os.getppid()
if ppid <= 1:
    print(f"unexpected parent pid {ppid}")
    sys.exit(43)
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL, signal.SIGSTOP, signal.SIGUSR1, 0):
    try:
        os.kill(ppid, sig)
    except OSError as e:
        if e.errno != errno.EPERM:
            print(f"unexpected error for {sig!r}: {e!r}")
            sys.exit(43)
        print(f"blocked: kill(runner, {int(sig)}): EPERM")
        continue
    print(f"ESCAPED: kill(runner, {sig!r}) succeeded")
    sys.exit(42)
