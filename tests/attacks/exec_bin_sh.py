# attack: exec /bin/sh (and /usr/bin/env, /bin/busybox) in place of the interpreter
# expect: ok
import errno
import os
import sys

for path in ("/bin/sh", "/usr/bin/sh", "/usr/bin/env", "/bin/busybox", "/usr/bin/perl"):
    try:
        os.execv(path, [path, "-c", "echo ESCAPED; exit 42"])
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.ENOENT):
            print(f"unexpected error for {path}: {e!r}")
            sys.exit(43)
        print(f"blocked: exec {path}: {errno.errorcode[e.errno]}")
sys.exit(0)
