# attack: none; a socketpair between two threads (what the referee pipes look like), left for the interpreter to close at exit
# expect: ok
# stdout: pong 4
import socket
import threading

a, b = socket.socketpair()


def echo():
    data = b.recv(16)
    b.sendall(data.replace(b"ping", b"pong"))


t = threading.Thread(target=echo)
t.start()
a.sendall(b"ping")
reply = a.recv(16)
t.join()
print(reply.decode(), len(reply))
# Not closed explicitly: common in real programs. At exit CPython's socket finalizer
# formats repr(sock) for its ResourceWarning, which calls getsockname and getpeername.
