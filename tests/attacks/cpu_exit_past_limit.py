# attack: spin just past the CPU limit (between two of the sampler's 10 ms clock ticks) and exit 0 before the sampler sees it
# expect: timeout_cpu
# exit-code: 0
# runner-args: --cpu-time 500ms --wall-time 20
import os
import time

# /proc/PID/stat counts CPU in 10 ms ticks, so a sampler reading it sees 500 ms until the
# program has used 510 ms: stopping at 504 ms is invisible to it. The exit status is 0; only
# the figure measured after exit (rusage) shows the limit was passed.
while time.process_time() < 0.504:
    pass
os._exit(0)
