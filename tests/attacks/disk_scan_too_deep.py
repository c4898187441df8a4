# attack: nest directories deeper than the post-run scan descends (130 levels), so what lies at the bottom is never checked, and exit 0
# expect: file_size_limit
# exit-code: 0
# reason-contains: could not all be checked
# args: {scratch}
import os
import sys

fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for _ in range(130):
    os.mkdir("d", dir_fd=fd)
    sub = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = sub
print("130 levels; exiting 0")
