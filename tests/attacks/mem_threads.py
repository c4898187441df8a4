# attack: grow memory from several threads at once (RSS is per process, not per thread)
# expect: memory_limit
# memory-signal: rss_sampler
# runner-args: --memory 64MiB
import sys
import threading

hold = []


def grow():
    while True:
        hold.append(bytearray(1 << 20))


for _ in range(4):
    threading.Thread(target=grow, daemon=True).start()
threading.Event().wait(30)
print("ESCAPED: still alive")
sys.exit(42)
