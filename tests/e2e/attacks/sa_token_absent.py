# attack: read the Kubernetes service-account token and the paths around it
# expect: ok
# args: /var/run/secrets/kubernetes.io/serviceaccount/token
# In the pod nothing is mounted there (automountServiceAccountToken: false), and the runner's
# Landlock rules would refuse it if it were: ENOENT or EACCES are both a block. The e2e also
# plants a token there and runs tests/attacks/fs_read_secret.py against it (EACCES only).
import errno
import os
import sys

path = sys.argv[1]
for what, fn in [
    ("open the token", lambda: open(path).read()),
    ("list the service-account directory", lambda: os.listdir(os.path.dirname(path))),
    ("open /run/secrets", lambda: os.listdir("/run/secrets")),
    ("read the runner's environment", lambda: open("/proc/1/environ", "rb").read()),
]:
    try:
        result = fn()
    except OSError as e:
        if e.errno in (errno.EACCES, errno.ENOENT, errno.EPERM):
            print(f"blocked: {what}: {errno.errorcode[e.errno]}")
            continue
        print(f"unexpected error for {what}: {e!r}")
        sys.exit(43)
    print(f"ESCAPED: {what} succeeded: {str(result)[:60]!r}")
    sys.exit(42)
