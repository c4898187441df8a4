# attack: signal the runner through tgkill(2) and tkill(2) instead of kill(2)
# expect: ok
import ctypes
import errno
import os
import signal
import sys

libc = ctypes.CDLL(None, use_errno=True)
SYS_tkill, SYS_tgkill = 200, 234
ppid = os.getppid()
for name, args in (("tgkill", (SYS_tgkill, ppid, ppid, signal.SIGKILL)), ("tkill", (SYS_tkill, ppid, signal.SIGKILL))):
    r = libc.syscall(*[ctypes.c_long(a) for a in args])
    err = ctypes.get_errno()
    if r == 0:
        print(f"ESCAPED: {name}(runner, SIGKILL) succeeded")
        sys.exit(42)
    if err != errno.EPERM:
        print(f"unexpected errno for {name}: {errno.errorcode.get(err, err)}")
        sys.exit(43)
    print(f"blocked: {name}(runner, SIGKILL): EPERM")
