# cheat: look for descriptors leaked into it (the opponent's pipes, the referee's ends, the output directory, the runner's logs) to read the opponent's moves or write in its name; it starts second, when the runner already holds the first player's pipes
# verdict: ok
# win: score
# order: second
# log: no descriptor beyond 0, 1 and 2
"""Only standard input (observations), output (moves) and error (its log) may be open."""
import os
import stat
import sys

found = []
for fd in range(3, 4096):
    try:
        st = os.fstat(fd)
    except OSError:
        continue
    found.append(f"{fd} (mode {stat.filemode(st.st_mode)}, inode {st.st_ino})")
if found:
    print(f"ESCAPED: inherited descriptors: {', '.join(found)}", file=sys.stderr, flush=True)
    os._exit(42)
print("no descriptor beyond 0, 1 and 2", file=sys.stderr, flush=True)

from game.sdk import run  # noqa: E402

run(lambda observation: "STAY")
