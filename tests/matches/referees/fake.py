"""A broken or lying referee, to check that the runner credits nobody unless the referee
exits 0 with a result of the documented shape. Never talks to the players.

    python3 fake.py MODE      (GAME_PLAYERS names the real players)

MODE: foreign-winner  a well-formed result whose winner is not a player
      extra-field     a result with a field the runner does not know
      not-json        a line that is not JSON
      two-results     two results, one per line
      empty           exits 0 and prints nothing
      crash-after     prints a valid result, then exits 3
      killed          prints a valid result, then dies of SIGKILL
      hang            prints a valid result, then never exits (the wall limit stops it)
"""
import json
import os
import signal
import sys
import time

mode = sys.argv[1]
ids = [e.split(":")[0] for e in os.environ["GAME_PLAYERS"].split(",")]


def result(**extra):
    r = {"winner": ids[0], "scores": {i: 1 for i in ids}, "reason": "higher score", "turns": 1,
         "players": {i: {"status": "ok", "detail": "ok"} for i in ids}}
    r.update(extra)
    return json.dumps(r, separators=(",", ":"))


out = sys.stdout
if mode == "foreign-winner":
    out.write(result(winner="mallory") + "\n")
elif mode == "extra-field":
    out.write(result(bonus=1000) + "\n")
elif mode == "not-json":
    out.write("the winner is " + ids[0] + "\n")
elif mode == "two-results":
    out.write(result() + "\n" + result(winner=ids[-1]) + "\n")
elif mode == "empty":
    pass
elif mode in ("crash-after", "killed", "hang"):
    out.write(result() + "\n")
    out.flush()
    if mode == "crash-after":
        sys.exit(3)
    if mode == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    while True:
        time.sleep(3600)
else:
    print(f"fake referee: unknown mode {mode}", file=sys.stderr)
    sys.exit(2)
out.flush()
