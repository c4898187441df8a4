# attack: directory notifications (F_NOTIFY, dnotify) on the standard library's directory: a signal whenever anything on the node touches it
# expect: policy_violation
# violation: fcntl(3, F_NOTIFY,
# stdout: reached F_NOTIFY
import fcntl
import os
import sys

fd = os.open(os.path.dirname(os.__file__), os.O_RDONLY | os.O_DIRECTORY)
print("reached F_NOTIFY", flush=True)
fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_ACCESS | fcntl.DN_MULTISHOT)
print("ESCAPED: dnotify armed")
sys.exit(42)
