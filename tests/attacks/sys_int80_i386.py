# attack: a 32-bit system call (int 0x80) from shellcode in an RWX mapping: the i386 table has other numbers, so x86_64 rules do not apply
# expect: policy_violation
# violation: kernel
import ctypes
import mmap
import os
import sys

# mov eax, 20 (getpid on i386); int 0x80; ret
code = bytes([0xB8, 0x14, 0x00, 0x00, 0x00, 0xCD, 0x80, 0xC3])
m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
m.write(code)
fn = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
r = fn()
print("ESCAPED: int 0x80 returned", r, "pid", os.getpid())
sys.exit(42)
