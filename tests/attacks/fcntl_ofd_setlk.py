# attack: an open-file-description lock (F_OFD_SETLK, the lock form not tied to the pid), the same channel as F_SETLK by another command number
# expect: policy_violation
# violation: fcntl(3, F_OFD_SETLK,
# stdout: reached F_OFD_SETLK
import fcntl
import os
import struct
import sys

F_OFD_SETLK = 37
fd = os.open(os.__file__, os.O_RDONLY)
lock = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, 7, 1, 0)
print("reached F_OFD_SETLK", flush=True)
fcntl.fcntl(fd, F_OFD_SETLK, lock)
print("ESCAPED: took an OFD read lock")
sys.exit(42)
