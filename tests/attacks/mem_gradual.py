# attack: grow memory gradually, 1 MiB at a time, well past the limit
# expect: memory_limit
# memory-signal: rss_sampler
# runner-args: --memory 64MiB
hold = []
while True:
    hold.append(bytearray(1 << 20))
