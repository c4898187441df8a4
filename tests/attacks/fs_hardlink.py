# attack: hard-link the secret file (or the interpreter) into scratch to gain a writable name for it
# expect: policy_violation
# violation: link(
# args: {scratch} {secret}
import os
import sys

os.link(sys.argv[2], os.path.join(sys.argv[1], "secret-link"))
print("ESCAPED: hard-linked the secret")
sys.exit(42)
