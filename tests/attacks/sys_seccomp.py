# attack: seccomp(SECCOMP_SET_MODE_FILTER) / prctl to change its own filter (e.g. a USER_NOTIF trap)
# expect: policy_violation
# violation: seccomp(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(317, 1, 0, 0)
print("ESCAPED: seccomp returned", r, "errno", ctypes.get_errno())
sys.exit(42)
