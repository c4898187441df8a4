# attack: the Dirty Pipe pattern: splice a read-only file's page-cache pages into a pipe, then write to the pipe (splice/vmsplice/tee are not allowed)
# expect: policy_violation
# violation: splice(
# args: {data}
import os
import sys

fd = os.open(sys.argv[1], os.O_RDONLY)
r, w = os.pipe()
n = os.splice(fd, w, 1, offset_src=0)
os.write(w, b"ESCAPED")
print("ESCAPED: splice returned", n)
sys.exit(42)
