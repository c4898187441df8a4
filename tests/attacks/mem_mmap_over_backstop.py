# attack: reserve 2 GiB of anonymous memory with mmap (never touched, so no resident size to sample) under a 128 MiB limit; catch the refusal and exit 0 hoping for ok
# expect: memory_limit
# memory-signal: address_space
# reason-contains: 2.0GiB in one allocation
import mmap
import sys

try:
    m = mmap.mmap(-1, 2 << 30)
except OSError as err:
    print("refused:", err.errno, flush=True)
    sys.exit(0)
print("ESCAPED: mapped", len(m))
sys.exit(42)
