# attack: read and change the runner's resource limits with prlimit(2)
# expect: policy_violation
# violation: prlimit64(
import os
import resource
import sys

print("limits of the runner:", resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE))
print("ESCAPED: prlimit on the runner")
sys.exit(42)
