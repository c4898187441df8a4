# attack: learn about the host without reading a file: sysinfo(2) tells its uptime, total and free memory, load averages and process count
# expect: ok
import ctypes
import errno
import sys

libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(128)  # struct sysinfo is 112 bytes on x86_64
SYS_sysinfo = 99
r = libc.syscall(SYS_sysinfo, buf)
if r == 0:
    uptime = int.from_bytes(buf.raw[:8], "little")
    print("ESCAPED: sysinfo answered; host uptime", uptime, "s")
    sys.exit(42)
if ctypes.get_errno() != errno.ENOSYS:
    print("unexpected errno", ctypes.get_errno())
    sys.exit(43)
# What uses it still works: glibc's qsort (every start-up) falls back to a fixed buffer, and
# os.sysconf("SC_PHYS_PAGES") answers without failing (glibc does not check the error).
import os

os.sysconf("SC_PHYS_PAGES")
print(sorted([3, 1, 2]))
