"""The player of control.py: writes a tick line every 5 ms. With `--exit` it exits at once.
When the referee is gone (its pipe is closed) it leaves, exit 0, as a bot leaves at the end,
so its report shows whether the runner continued it after the referee ended."""
import os
import sys
import time

if "--exit" in sys.argv:
    sys.exit(0)
while True:
    try:
        os.write(1, b"tick\n")
    except BrokenPipeError:
        sys.exit(0)
    time.sleep(0.005)
