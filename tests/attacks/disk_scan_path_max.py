# attack: blind the post-run scan: grow a file past the size limit (catching EFBIG) below a path longer than PATH_MAX, where path-based stat fails, and exit 0
# expect: file_size_limit
# exit-code: 0
# reason-contains: larger than
# args: {scratch}
import errno
import os
import sys

NAME = "d" * 250
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for _ in range(20):  # 20 * 251 bytes: past PATH_MAX (4096)
    os.mkdir(NAME, dir_fd=fd)
    sub = os.open(NAME, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = sub
f = os.open("fill", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
try:
    while True:
        os.write(f, b"x" * 65536)
except OSError as e:
    if e.errno != errno.EFBIG:
        raise
print("a file past the limit, 5,000 bytes deep; exiting 0")
