# attack: none; reading the --ro data file must work, writing it must not
# expect: ok
# args: {data}
# stdout: lines=3 words=9 first=alpha
import errno
import sys

with open(sys.argv[1]) as f:
    text = f.read()
try:
    open(sys.argv[1], "a")
except PermissionError as e:
    assert e.errno == errno.EACCES
else:
    print("ESCAPED: the read-only data file opened for writing")
    sys.exit(42)
print(f"lines={len(text.splitlines())} words={len(text.split())} first={text.split()[0]}")
