# attack: read the runner's own standard input (the caller's data; the harness puts a canary there) through fd 0 and /dev/stdin
# expect: ok
import os
import stat
import sys

st = os.fstat(0)
data = os.read(0, 4096)
if data:
    print("ESCAPED: read the runner's stdin:", data[:60])
    sys.exit(42)
# Not just empty: /dev/null itself (char device 1:3), not a closed pipe or an empty file.
if not stat.S_ISCHR(st.st_mode) or (os.major(st.st_rdev), os.minor(st.st_rdev)) != (1, 3):
    print("unexpected standard input:", st)
    sys.exit(43)
try:
    with open("/dev/stdin", "rb") as f:
        more = f.read()
except OSError:
    more = b""
if more:
    print("ESCAPED: read the runner's stdin through /dev/stdin:", more[:60])
    sys.exit(42)
