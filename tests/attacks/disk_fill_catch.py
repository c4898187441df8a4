# attack: grow a file past the limit, catch the EFBIG error and exit 0 as if nothing happened
# expect: file_size_limit
# args: {scratch}
import errno
import os
import sys

fd = os.open(os.path.join(sys.argv[1], "fill"), os.O_WRONLY | os.O_CREAT, 0o644)
written = 0
try:
    while True:
        written += os.write(fd, b"x" * 65536)
except OSError as e:
    if e.errno != errno.EFBIG:
        raise
os.close(fd)
print("stopped after", written, "bytes; exiting 0")
sys.exit(0)
