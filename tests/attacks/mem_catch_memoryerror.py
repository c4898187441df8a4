# attack: catch MemoryError and keep the memory already obtained, hoping for ok or runtime_error instead of a memory verdict
# expect: memory_limit
# memory-signal: rss_sampler
# runner-args: --memory 64MiB
import sys

hold = []
for _ in range(100_000):
    try:
        hold.append(bytearray(16 << 20))
    except MemoryError:
        pass
print("ESCAPED: survived with", len(hold), "blocks of 16 MiB")
sys.exit(0)
