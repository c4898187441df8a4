# attack: re-exec the interpreter (allowed) hoping the new image escapes the sandbox, then open a socket
# expect: policy_violation
# violation: socket(AF_INET, SOCK_STREAM
import os

code = "import socket, sys; socket.socket(socket.AF_INET); print('ESCAPED: socket after re-exec'); sys.exit(42)"
os.execv("/usr/bin/python3.11", ["/usr/bin/python3.11", "-S", "-c", code])
