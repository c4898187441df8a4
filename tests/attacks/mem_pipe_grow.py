# attack: hold memory the resident size does not count: grow pipes to 1 MiB each with F_SETPIPE_SZ and fill them (56 MiB held under a 32 MiB limit ended ok), drawing on the per-uid pipe budget every sandbox on the node shares
# expect: policy_violation
# violation: fcntl(4, F_SETPIPE_SZ, 0x100000)
# runner-args: --memory 32MiB
# stdout: reached F_SETPIPE_SZ
import fcntl
import os
import sys

F_SETPIPE_SZ = 1031
r, w = os.pipe()
print("reached F_SETPIPE_SZ", flush=True)
fcntl.fcntl(w, F_SETPIPE_SZ, 1 << 20)
held = [(r, w)]
for _ in range(55):
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 1 << 20)
    os.write(w, b"\x01" * (1 << 20))
    held.append((r, w))
print("ESCAPED: 56 MiB held in pipe buffers")
sys.exit(42)
