# attack: a symlink inside scratch pointing at the secret, to be followed by whoever reads scratch later
# expect: policy_violation
# violation: symlink(
# args: {scratch} {secret}
import os
import sys

os.symlink(sys.argv[2], os.path.join(sys.argv[1], "innocent.txt"))
print("ESCAPED: created a symlink in scratch")
sys.exit(42)
