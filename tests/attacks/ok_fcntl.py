# attack: none; the fcntl commands Python needs still work: duplicate (F_DUPFD, F_DUPFD_CLOEXEC), close-on-exec (F_GETFD, F_SETFD), status flags (F_GETFL, F_SETFL), os.set_blocking, os.set_inheritable, os.dup
# expect: ok
import fcntl
import os

r, w = os.pipe()
d = fcntl.fcntl(r, fcntl.F_DUPFD, 10)
assert d >= 10, d
c = fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 20)
assert c >= 20 and fcntl.fcntl(c, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
fcntl.fcntl(d, fcntl.F_SETFD, 0)
assert fcntl.fcntl(d, fcntl.F_GETFD) == 0
os.set_inheritable(d, False)
assert not os.get_inheritable(d)
os.set_blocking(w, False)
assert fcntl.fcntl(w, fcntl.F_GETFL) & os.O_NONBLOCK
assert not os.get_blocking(w)
fcntl.fcntl(w, fcntl.F_SETFL, 0)
assert os.get_blocking(w)
e = os.dup(w)
os.write(e, b"ok")
assert os.read(r, 2) == b"ok"
