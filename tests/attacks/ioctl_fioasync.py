# attack: an ioctl outside the short allowlist (FIOASYNC on a pipe, to get SIGIO machinery)
# expect: policy_violation
# violation: ioctl(3, FIOASYNC)
import fcntl
import os
import struct
import sys

FIOASYNC = 0x5452
r, w = os.pipe()
fcntl.ioctl(r, FIOASYNC, struct.pack("i", 1))
print("ESCAPED: FIOASYNC accepted")
sys.exit(42)
