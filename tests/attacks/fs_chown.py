# attack: chown a scratch file to root
# expect: policy_violation
# violation: chown(
# args: {scratch}
import os
import sys

path = os.path.join(sys.argv[1], "f")
open(path, "w").close()
os.chown(path, 0, 0)
print("ESCAPED: chown succeeded")
sys.exit(42)
