# attack: block or ignore every catchable signal, then sleep, hoping to outlive the wall clock
# expect: timeout_wall
# runner-args: --wall-time 1
import signal
import sys
import time

for s in signal.valid_signals():
    try:
        signal.signal(s, signal.SIG_IGN)
    except (OSError, ValueError):
        pass
signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
time.sleep(3600)
print("ESCAPED: woke up")
sys.exit(42)
