# attack: signal the runner through rt_sigqueueinfo(2), a signal path other than kill/tgkill
# expect: policy_violation
# violation: rt_sigqueueinfo(
import ctypes
import os
import signal
import sys

libc = ctypes.CDLL(None, use_errno=True)
info = ctypes.create_string_buffer(128)
ctypes.c_int.from_buffer(info).value = signal.SIGTERM  # si_signo
ctypes.c_int.from_buffer(info, 8).value = -1  # si_code = SI_QUEUE
SYS_rt_sigqueueinfo = 129
r = libc.syscall(SYS_rt_sigqueueinfo, os.getppid(), signal.SIGTERM, info)
print("ESCAPED: rt_sigqueueinfo returned", r, ctypes.get_errno())
sys.exit(42)
