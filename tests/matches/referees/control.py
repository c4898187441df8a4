"""A stand-in referee that checks the runner's control channel (GAME_CONTROL) from the
referee's side, against `ticker` (ticker.py, ticking) and `quitter` (ticker.py --exit). It
prints a result whose reason is `control: all held`, or `control: ` and every check that
failed; it ends with the ticker stopped, which the runner must continue so it can leave.

    python3 control.py
"""
import json
import os
import select
import sys
import time

players = {e.split(":")[0]: int(e.split(":")[1]) for e in os.environ["GAME_PLAYERS"].split(",")}
answers_fd, requests_fd = (int(x) for x in os.environ["GAME_CONTROL"].split(":"))
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def ask_all(lines):
    """Sends the lines in one write; returns the answers, one a line."""
    os.write(requests_fd, "".join(line + "\n" for line in lines).encode())
    answers = b""
    while answers.count(b"\n") < len(lines):
        if not select.select([answers_fd], [], [], 10)[0]:
            return ["(no answer in 10 s)"] * len(lines)
        byte = os.read(answers_fd, 1)
        if not byte:
            return ["(channel closed)"] * len(lines)
        answers += byte
    return answers.decode().splitlines()


def ask(line):
    return ask_all([line])[0]


def ticks(fd, seconds, first=False):
    """Bytes read from `fd` within `seconds` (with `first`: until the first bytes)."""
    end, got = time.monotonic() + seconds, 0
    while (left := end - time.monotonic()) > 0 and not (first and got):
        if select.select([fd], [], [], left)[0]:
            data = os.read(fd, 65536)
            if not data:
                break
            got += len(data)
    return got


ticker, quitter = players["ticker"], players["quitter"]
check(ticks(ticker, 30, first=True) > 0, "the ticker never ticked")
check(ask("stop ticker") == "ok", "stop was not ok")
time.sleep(0.1)
ticks(ticker, 0.05)  # what was written before the stop landed
check(ticks(ticker, 0.5) == 0, "the ticker ticked while stopped")
check(ask("stop ticker") == "ok", "a second stop was not ok")
check(ask("cont ticker") == "ok", "cont was not ok")
check(ticks(ticker, 10, first=True) > 0, "the ticker did not tick again once continued")
check(ask("cont ticker") == "ok", "cont of a running player was not ok")

answer = ask("stop mallory")
check(answer.startswith('error no player "mallory"'), f"stop mallory: {answer}")
answer = ask("launch ticker")
check(answer.startswith('error unknown request "launch"'), f"launch: {answer}")
answer = ask("stop " + "x" * 200)
check(answer.startswith("error a request is at most"), f"long line: {answer}")
answers = ask_all(["cont ticker", "stop mallory", "cont ticker"])
check(answers[0] == "ok" and answers[1].startswith("error no player") and answers[2] == "ok",
      f"answers out of the order of their requests: {answers}")

ticks(quitter, 30)  # until it has exited and closed its pipe
deadline, answer = time.monotonic() + 10, ""
while time.monotonic() < deadline and answer != "gone":
    answer = ask("stop quitter")
    time.sleep(0.05)
check(answer == "gone", f"stop of a player that has exited: {answer}")

check(ask("stop ticker") == "ok", "the final stop was not ok")
reason = "control: " + ("; ".join(failures) or "all held")
ids = sorted(players)
print(json.dumps({"winner": None, "scores": {i: 0 for i in ids}, "reason": reason, "turns": 0,
                  "players": {i: {"status": "ok", "detail": "ok"} for i in ids}}))
sys.stdout.flush()
