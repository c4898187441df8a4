# attack: SIGSTOP itself so that nothing it does counts as CPU or exit (the runner must still end it on the wall clock)
# expect: timeout_wall
# runner-args: --wall-time 1
import os
import signal
import sys

os.kill(os.getpid(), signal.SIGSTOP)
print("ESCAPED: resumed")
sys.exit(42)
