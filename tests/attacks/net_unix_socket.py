# attack: create an AF_UNIX socket to reach a host daemon or an abstract socket (must fail with ENOSYS, not kill)
# expect: ok
import errno
import socket
import sys

for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    try:
        s = socket.socket(socket.AF_UNIX, kind)
    except OSError as e:
        if e.errno != errno.ENOSYS:
            print(f"unexpected error: {e!r}")
            sys.exit(43)
        print(f"blocked: socket(AF_UNIX, {kind!r}): ENOSYS")
        continue
    print(f"ESCAPED: got an AF_UNIX socket {s.fileno()}")
    sys.exit(42)
