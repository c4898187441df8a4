# attack: finit_module(2) to load a kernel module
# expect: policy_violation
# violation: finit_module(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(313, 0, b"", 0)
print("ESCAPED: finit_module returned", r, "errno", ctypes.get_errno())
sys.exit(42)
