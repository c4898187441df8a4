# attack: open descriptors until the process table of files is exhausted
# expect: ok
# runner-args: --open-files 32
import errno
import os
import sys

fds = []
try:
    while True:
        fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    if e.errno != errno.EMFILE:
        print(f"unexpected error: {e!r}")
        sys.exit(43)
if len(fds) > 32:
    print(f"ESCAPED: opened {len(fds)} descriptors past the limit of 32")
    sys.exit(42)
print(f"blocked: EMFILE after {len(fds)} descriptors")
