# attack: pidfd_open the runner to signal it or grab its descriptors with pidfd_getfd
# expect: policy_violation
# violation: pidfd_open(
import os
import sys

fd = os.pidfd_open(os.getppid())
print("ESCAPED: pidfd_open returned", fd)
sys.exit(42)
