# attack: setgid(0) to join the root group
# expect: policy_violation
# violation: setgid(0)
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(106, 0)
print("ESCAPED: setgid returned", r, "errno", ctypes.get_errno())
sys.exit(42)
