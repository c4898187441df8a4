# attack: execveat(2) through ctypes (a second exec entry point the allowlist must not forget)
# expect: policy_violation
# violation: execveat(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
SYS_execveat = 322
AT_FDCWD = -100
argv = (ctypes.c_char_p * 2)(b"/usr/bin/python3.11", None)
envp = (ctypes.c_char_p * 1)(None)
r = libc.syscall(SYS_execveat, AT_FDCWD, b"/usr/bin/python3.11", argv, envp, 0)
print("ESCAPED: execveat returned", r, ctypes.get_errno())
sys.exit(42)
