# attack: make the kernel signal the runner for us: F_SETOWN a pipe to the runner's pid with O_ASYNC, F_SETSIG SIGKILL/SIGTERM, then write to it
# expect: policy_violation
# violation: fcntl(3, F_SETOWN,
# stdout: reached F_SETOWN
import fcntl
import os
import signal
import sys
import time

# F_SETOWN is not among the fcntl commands the sandbox allows, so the attack ends there. Were
# it allowed, Landlock's signal scoping would still keep SIGIO from the runner (this program
# ended `ok` with the runner alive before the fcntl allowlist).
F_SETSIG = 10
ppid = os.getppid()
r, w = os.pipe()
print("reached F_SETOWN", flush=True)
fcntl.fcntl(r, fcntl.F_SETOWN, ppid)
fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
for sig in (0, signal.SIGKILL, signal.SIGTERM, signal.SIGIO):
    fcntl.fcntl(r, F_SETSIG, int(sig))
    os.write(w, b"x")
    os.read(r, 1)
    time.sleep(0.05)
print("ESCAPED: F_SETOWN and F_SETSIG accepted")
sys.exit(42)
