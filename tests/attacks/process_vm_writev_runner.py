# attack: write into the runner's memory with process_vm_writev
# expect: policy_violation
# violation: process_vm_writev(
import ctypes
import os
import sys


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(b"ESCAPED", 64)
local = IoVec(ctypes.cast(buf, ctypes.c_void_p), 8)
remote = IoVec(0x400000, 8)
SYS_process_vm_writev = 311
r = libc.syscall(SYS_process_vm_writev, os.getppid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
print("ESCAPED: process_vm_writev returned", r, ctypes.get_errno())
sys.exit(42)
