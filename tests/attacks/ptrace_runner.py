# attack: ptrace(PTRACE_ATTACH) the runner to take over the supervisor
# expect: policy_violation
# violation: ptrace(16,
import ctypes
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
r = libc.ptrace(PTRACE_ATTACH, os.getppid(), None, None)
print("ESCAPED: ptrace returned", r, ctypes.get_errno())
sys.exit(42)
