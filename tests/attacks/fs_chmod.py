# attack: chmod a scratch file setuid/world-writable (chmod and chown are not allowed)
# expect: policy_violation
# violation: chmod(
# args: {scratch}
import os
import sys

path = os.path.join(sys.argv[1], "f")
open(path, "w").close()
os.chmod(path, 0o4777)
print("ESCAPED: chmod succeeded")
sys.exit(42)
