# attack: re-exec the interpreter with a huge argv and environment (about 10 MiB) to exhaust kernel memory
# expect: ok
import errno
import os
import sys

args = ["/usr/bin/python3.11", "-c", "print('ESCAPED: huge argv accepted')"] + ["A" * 100_000] * 100
try:
    os.execve(args[0], args, {"X": "B" * 100_000})
except OSError as e:
    if e.errno != errno.E2BIG:
        print(f"unexpected error: {e!r}")
        sys.exit(43)
    print("blocked: execve with ~10 MB of arguments: E2BIG")
    sys.exit(0)
