"""A stand-in referee for one player (the game's referee needs two to four): the runner's
match wiring with a single player. Plays `--turns` turns of the gem game alone, writes
replay.jsonl into GAME_OUTPUT_DIR and prints the result; the player wins if it collected at
least one gem.

    GAME_PLAYERS=id:3:4 GAME_OUTPUT_DIR=DIR python3 solo.py --seed N [--turns T]
"""
import argparse
import json
import os
import select
import sys

from game.rules import MOVES, GameConfig, GameState


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--timeout-ms", type=int, default=3000)
    args = ap.parse_args()
    entries = os.environ["GAME_PLAYERS"].split(",")
    if len(entries) != 1:
        print(f"solo: one player, not {len(entries)}", file=sys.stderr)
        return 2
    pid, rfd, wfd = entries[0].split(":")
    rfd, wfd = int(rfd), int(wfd)
    state = GameState(GameConfig(turns=args.turns), args.seed, 1)
    out_dir = os.environ["GAME_OUTPUT_DIR"]
    tmp = os.path.join(out_dir, ".replay.jsonl.tmp")
    replay = open(tmp, "w")
    replay.write(dumps({"type": "header", "game": "gems-solo", "seed": args.seed,
                        "players": [pid], "grid": state.grid_rows()}) + "\n")
    buf, status, detail = b"", "ok", "ok"
    while not state.finished():
        os.write(wfd, (dumps(state.observation([pid], 0, timeout_ms=args.timeout_ms)) + "\n").encode())
        while b"\n" not in buf:
            poller = select.poll()
            poller.register(rfd, select.POLLIN)
            chunk = os.read(rfd, 4096) if poller.poll(args.timeout_ms) else b""
            if not chunk:
                break
            buf += chunk
        if b"\n" not in buf:
            status, detail = "forfeit", f"turn {state.turn + 1}: no answer"
            break
        line, buf = buf.split(b"\n", 1)
        move = line.strip().decode("ascii", "replace")
        state.step([move if move in MOVES else "STAY"])
        replay.write(dumps({"type": "turn", "turn": state.turn, "moves": {pid: move},
                            "scores": {pid: state.scores[0]}}) + "\n")
    score = state.scores[0]
    winner = pid if status == "ok" and score > 0 else None
    result = {"winner": winner, "scores": {pid: score},
              "reason": f"solo: {score} gem(s)" if winner else "solo: no gem",
              "turns": state.turn, "players": {pid: {"status": status, "detail": detail}}}
    replay.write(dumps({"type": "result", **result}) + "\n")
    replay.close()
    os.rename(tmp, os.path.join(out_dir, "replay.jsonl"))
    if status == "ok":
        try:
            os.write(wfd, (dumps({"type": "end", "you": pid, **result}) + "\n").encode())
        except OSError:
            pass
    sys.stdout.write(dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
