# attack: a read lease (F_SETLEASE) on a file in scratch: a lease breaks, and signals its holder, when anyone opens the file for writing
# expect: policy_violation
# violation: fcntl(3, F_SETLEASE,
# args: {scratch}
# stdout: reached F_SETLEASE
import fcntl
import os
import sys

path = os.path.join(sys.argv[1], "leased")
with open(path, "w") as f:
    f.write("x")
fd = os.open(path, os.O_RDONLY)
print("reached F_SETLEASE", flush=True)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
print("ESCAPED: took a lease")
sys.exit(42)
