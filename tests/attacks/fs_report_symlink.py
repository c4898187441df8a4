# attack: replace the report path with a symlink to a victim file (the harness also pre-plants one; the report must end up a regular file with the real verdict)
# expect: policy_violation
# violation: symlink(
# args: {report} {secret}
# check: report-symlink
import os
import sys

report, secret = sys.argv[1], sys.argv[2]
try:
    os.unlink(report)
except OSError as e:
    print(f"blocked: unlink report: {e.strerror}", flush=True)
# symlink(2) is not on the allowlist: this call kills the program whatever the path.
os.symlink(secret, report)
print("ESCAPED: planted a symlink at the report path")
sys.exit(42)
