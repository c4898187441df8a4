# attack: copy an ELF into the writable scratch and run it through the loader (Landlock's execute right does not cover the loader's mmap); seccomp must still hold in the copy
# expect: policy_violation
# violation: clone(flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD)
# runner-args: --file-size-limit 16MiB
# args: {scratch}
import os
import sys

copy = os.path.join(sys.argv[1], "py")
with open("/usr/bin/python3.11", "rb") as src, open(copy, "wb") as dst:
    dst.write(src.read())
try:
    os.execv(copy, [copy, "-c", "print('ESCAPED: executed a file from scratch')"])
except PermissionError:
    print("blocked: direct exec from scratch: EACCES", flush=True)
LDSO = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
# Known Landlock limit: this runs. What matters is that the copy is still under the same
# seccomp filter, so its fork is killed like any other.
os.execv(LDSO, [LDSO, copy, "-c", "import os, sys; os.fork(); print('ESCAPED: forked'); sys.exit(42)"])
