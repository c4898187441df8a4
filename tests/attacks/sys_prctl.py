# attack: prctl(PR_SET_DUMPABLE) / other prctl knobs
# expect: policy_violation
# violation: prctl(4, 1, 0, 0, 0)
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(157, 4, 1, 0, 0, 0)
print("ESCAPED: prctl returned", r, "errno", ctypes.get_errno())
sys.exit(42)
