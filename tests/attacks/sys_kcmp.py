# attack: kcmp(2) against the runner to learn about its descriptors
# expect: policy_violation
# violation: kcmp(
import ctypes
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(312, os.getpid(), os.getppid(), 0, 0, 0)
print("ESCAPED: kcmp returned", r, "errno", ctypes.get_errno())
sys.exit(42)
