# attack: socket(AF_INET) through its x32 number (41 | 0x40000000)
# expect: policy_violation
# violation: kernel
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(0x40000000 | 41, 2, 1, 0)
print("ESCAPED: x32 socket returned", r, "errno", ctypes.get_errno())
sys.exit(42)
