# cheat: learn without reading: stat() the opponent's and the referee's logs at their predictable paths in the output directory, turn after turn, to see when and how much the opponent writes (stat needs no Landlock right)
# verdict: ok
# win: score
# args: {out} {opponent_id}
# log: no log could be found by its name
"""The runner writes each log under a hidden random name while the match runs and gives it its
own name only when every process has ended; the output directory cannot be listed."""
import errno
import os
import sys

from game.sdk import run

OUT, OPPONENT = sys.argv[1:3]
NAMES = [f"{OPPONENT}.stderr.log", "referee.stderr.log", "stat-logs.stderr.log"]


def act(observation):
    if observation["turn"] <= 3:
        for name in NAMES:
            path = os.path.join(OUT, name)
            try:
                st = os.stat(path)
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.EACCES):
                    print("UNEXPECTED", path, e, file=sys.stderr, flush=True)
                    sys.exit(43)
                continue
            print("ESCAPED: stat", path, "size", st.st_size, file=sys.stderr, flush=True)
            sys.exit(42)
        try:
            os.listdir(OUT)
            print("ESCAPED: listed the output directory", file=sys.stderr, flush=True)
            sys.exit(42)
        except PermissionError:
            pass
    if observation["turn"] == 3:
        print("no log could be found by its name", file=sys.stderr, flush=True)
    return "STAY"


run(act)
