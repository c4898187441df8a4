# attack: the ld.so trick: exec the dynamic loader (which is executable) and have it load /bin/sh
# expect: runtime_error
# exit-code: 127
# stderr-contains: /bin/sh: cannot open shared object file: Permission denied
import os

# The loader itself may run (the interpreter needs it), but it must not be able to read the
# shell: Landlock grants no read access to /usr/bin beyond python3.11. It exits 127.
LDSO = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
os.execv(LDSO, [LDSO, "/bin/sh", "-c", "echo ESCAPED; exit 42"])
