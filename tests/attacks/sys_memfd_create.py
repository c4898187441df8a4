# attack: memfd_create(2) to build an anonymous executable file
# expect: policy_violation
# violation: memfd_create(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(ctypes.c_long(319), b"x", ctypes.c_long(0))
print("ESCAPED: memfd_create returned", r, "errno", ctypes.get_errno())
sys.exit(42)
