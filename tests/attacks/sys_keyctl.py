# attack: keyctl(KEYCTL_GET_KEYRING_ID) to read the session keyring
# expect: policy_violation
# violation: keyctl(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(250, 0, -3, 0)
print("ESCAPED: keyctl returned", r, "errno", ctypes.get_errno())
sys.exit(42)
