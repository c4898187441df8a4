# attack: fill every pipe and unix socketpair the descriptor limit allows (default sizes: F_SETPIPE_SZ kills, setsockopt is not allowed), to hold kernel memory outside the resident size
# expect: ok
# runner-args: --open-files 64
import errno
import os
import socket
import sys

# Measured with 64 descriptors: 1.9 MiB in 30 pipes, 6.7 MiB in 30 socketpairs, 4.3 MiB in
# this mix; a pipe grown with F_SETPIPE_SZ would hold 1 MiB alone.
BOUND = 12 << 20


def fill(write):
    n = 0
    for size in (65536, 4096, 1):
        while True:
            try:
                n += write(b"\x01" * size)
            except BlockingIOError:
                break
    return n


held, total = [], 0
try:
    while True:
        r, w = os.pipe()
        held.append((r, w))
        os.set_blocking(w, False)
        total += fill(lambda d: os.write(w, d))
        a, b = socket.socketpair()
        held.append((a, b))
        a.setblocking(False)
        total += fill(a.send)
except OSError as e:
    if e.errno != errno.EMFILE:
        raise
if total > BOUND:
    print(f"ESCAPED: {total} bytes held in kernel buffers")
    sys.exit(42)
print(f"{total} bytes in {len(held)} pipes and socketpairs", file=sys.stderr)
