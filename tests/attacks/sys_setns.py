# attack: setns(2) into another namespace
# expect: policy_violation
# violation: setns(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(308, 0, 0)
print("ESCAPED: setns returned", r, "errno", ctypes.get_errno())
sys.exit(42)
