# attack: userfaultfd(2) (a classic kernel exploitation primitive)
# expect: policy_violation
# violation: userfaultfd(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(323, 0)
print("ESCAPED: userfaultfd returned", r, "errno", ctypes.get_errno())
sys.exit(42)
