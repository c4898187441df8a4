# attack: fanotify_init(2) to watch file accesses system-wide
# expect: policy_violation
# violation: fanotify_init(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(300, 0, 0)
print("ESCAPED: fanotify_init returned", r, "errno", ctypes.get_errno())
sys.exit(42)
