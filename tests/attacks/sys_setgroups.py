# attack: setgroups(2) to add supplementary groups
# expect: policy_violation
# violation: setgroups(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
groups = (ctypes.c_uint * 1)(0)
r = libc.syscall(116, 1, groups)
print("ESCAPED: setgroups returned", r, "errno", ctypes.get_errno())
sys.exit(42)
