# attack: clock_settime(CLOCK_REALTIME) to change the system clock (and fool time limits)
# expect: policy_violation
# violation: clock_settime(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
ts = (ctypes.c_long * 2)(0, 0)
r = libc.syscall(227, 0, ts)
print("ESCAPED: clock_settime returned", r, "errno", ctypes.get_errno())
sys.exit(42)
