# attack: mknod(2) of a character device (/dev/mem's 1:1) in the current directory
# expect: policy_violation
# violation: mknod(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(ctypes.c_long(133), b"mem", ctypes.c_long(0o20600), ctypes.c_long(0x101))
print("ESCAPED: mknod returned", r, "errno", ctypes.get_errno())
sys.exit(42)
