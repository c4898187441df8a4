# attack: one huge allocation (512 MiB, zero-filled so every page is touched) against a 64 MiB limit
# expect: memory_limit
# memory-signal: rss_sampler
# runner-args: --memory 64MiB
import sys

b = bytearray(512 << 20)
print("ESCAPED: allocated", len(b))
sys.exit(42)
