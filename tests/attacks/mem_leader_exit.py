# attack: hide memory from the sampler: the main thread ends with a raw exit(2) (the thread-group leader becomes a zombie whose /proc entry shows no resident memory) while a worker thread allocates 256 MiB under a 128 MiB limit and holds it
# expect: memory_limit
# memory-signal: rss_sampler
# stdout: leader exiting
import ctypes
import sys
import threading
import time

SYS_exit = 60
libc = ctypes.CDLL(None, use_errno=True)
held = []


def worker():
    time.sleep(0.3)  # until the leader is gone
    for _ in range(256):
        held.append(bytearray(1 << 20))  # touched: zero-filled by CPython
    time.sleep(30)
    sys.stderr.write("ESCAPED: held 256 MiB for 30 s after the leader exited\n")
    sys.stderr.flush()
    libc.syscall(231, 42)  # exit_group(42)


threading.Thread(target=worker).start()
print("leader exiting", flush=True)
libc.syscall(SYS_exit, 0)  # only this thread ends; the process lives on in the worker
