# attack: fill the address space with untouched mappings (no resident memory for the sampler to see) until the backstop refuses one, and let that refusal end the program, hoping for runtime_error instead of a memory verdict
# expect: memory_limit
# memory-signal: allocation_refused
# reason-contains: an allocation was refused because of the memory limit
# runner-args: --memory 64MiB
import mmap
import time

hold = []
while True:
    # 16 MiB at a time, untouched: address space only. The kernel refuses the mapping that
    # would pass RLIMIT_AS with ENOMEM, and the uncaught OSError ends the program.
    hold.append(mmap.mmap(-1, 16 << 20))
    time.sleep(0.02)
