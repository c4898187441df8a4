# attack: raw mount(2) of a tmpfs over /tmp
# expect: policy_violation
# violation: mount(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(ctypes.c_long(165), b"none", b"/tmp", b"tmpfs", ctypes.c_long(0), None)
print("ESCAPED: mount returned", r, "errno", ctypes.get_errno())
sys.exit(42)
