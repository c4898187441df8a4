# attack: raw ptrace(PTRACE_TRACEME) through ctypes
# expect: policy_violation
# violation: ptrace(0
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(101, 0, 0, 0, 0)
print("ESCAPED: ptrace returned", r, "errno", ctypes.get_errno())
sys.exit(42)
