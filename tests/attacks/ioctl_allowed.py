# attack: none; the ioctls the allowlist does grant (isatty, terminal size, FIONREAD, FIOCLEX, FIONBIO) must work and not kill
# expect: ok
import fcntl
import os
import shutil
import socket
import struct
import termios

print("isatty", [os.isatty(fd) for fd in (0, 1, 2)])
print("terminal size", tuple(shutil.get_terminal_size((80, 24))))
r, w = os.pipe()
os.write(w, b"abc")
print("FIONREAD", struct.unpack("i", fcntl.ioctl(r, termios.FIONREAD, b"\0\0\0\0"))[0])
os.set_inheritable(r, True)
os.set_inheritable(r, False)
a, b = socket.socketpair()
a.setblocking(False)
a.close()
b.close()
print("done")
