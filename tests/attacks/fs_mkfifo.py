# attack: create a FIFO / device node in scratch (mknod is not allowed)
# expect: policy_violation
# violation: mknodat(
# args: {scratch}
import os
import sys

os.mkfifo(os.path.join(sys.argv[1], "fifo"))
print("ESCAPED: mkfifo succeeded")
sys.exit(42)
