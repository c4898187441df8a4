# attack: pty.fork() a child on a new terminal (needs /dev/ptmx, which Landlock hides, then fork)
# expect: ok
import pty
import sys

try:
    pid, fd = pty.fork()
except OSError as e:
    # pty.fork tries os.forkpty, then opens /dev/ptmx and the legacy /dev/pty* names itself:
    # every one is denied, so it gives up before reaching fork().
    print(f"blocked: pty.fork: {e}")
    sys.exit(0)
if pid == 0:
    sys.exit(0)
print("ESCAPED: pty.fork returned", pid, fd)
sys.exit(42)
