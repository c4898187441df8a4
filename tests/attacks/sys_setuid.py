# attack: setuid(0) / setresuid(0,0,0) to regain root
# expect: policy_violation
# violation: setresuid(0, 0, 0)
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(117, 0, 0, 0)
print("ESCAPED: setresuid returned", r, "errno", ctypes.get_errno())
sys.exit(42)
