# attack: read the runner's memory with process_vm_readv
# expect: policy_violation
# violation: process_vm_readv(
import ctypes
import os
import sys


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
local = IoVec(ctypes.cast(buf, ctypes.c_void_p), 64)
remote = IoVec(0x400000, 64)
SYS_process_vm_readv = 310
r = libc.syscall(SYS_process_vm_readv, os.getppid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
print("ESCAPED: process_vm_readv returned", r, ctypes.get_errno())
sys.exit(42)
