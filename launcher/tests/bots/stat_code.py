"""A player that learns about its opponent's code without reading it: stat() on the opponent's
file at its predictable path next to its own (the opponent's id + ".py"), which needs no Landlock
right. Played by launcher/tests/cli.rs against a bot named `honest`. If it finds the file it
writes ESCAPED on its standard error and exits 42; otherwise it stands still."""
import errno
import os
import sys

from game.sdk import run

HERE = os.path.dirname(os.path.abspath(__file__))
for guess in ("honest.py", "honest"):
    path = os.path.join(HERE, guess)
    try:
        st = os.stat(path)
    except OSError as e:
        if e.errno not in (errno.ENOENT, errno.EACCES):
            print("UNEXPECTED", path, e, file=sys.stderr, flush=True)
            sys.exit(43)
        continue
    print(f"ESCAPED: stat {path}: {st.st_size} bytes", file=sys.stderr, flush=True)
    sys.exit(42)
try:
    os.listdir(HERE)
    print("ESCAPED: listed the code directory", file=sys.stderr, flush=True)
    sys.exit(42)
except PermissionError:
    pass
print("the opponent's code could not be found by its name", file=sys.stderr, flush=True)
run(lambda observation: "STAY")
