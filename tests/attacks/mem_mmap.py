# attack: anonymous mmap of 256 MiB touched page by page (memory outside Python's allocator)
# expect: memory_limit
# memory-signal: rss_sampler
# runner-args: --memory 64MiB
import mmap
import sys

m = mmap.mmap(-1, 256 << 20)
for off in range(0, len(m), 4096):
    m[off] = 1
print("ESCAPED: touched 256 MiB")
sys.exit(42)
