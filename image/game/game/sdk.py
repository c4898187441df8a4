"""The bot SDK: write `act(observation) -> move` and call `run(act)`.

    from game.sdk import run

    def act(observation):
        return "N"

    run(act)

`run` reads one observation per turn from standard input, calls `act` with it (a dict, see
PROTOCOL.md), and writes the move back on standard output. It returns the final
{"type": "end", ...} message when the game is over (or None if the referee went away).

While `run` is in charge, print() and anything else written to standard output goes to
standard error instead (your log), so debug output can never be mistaken for a move.
An exception raised by `act` is not caught: the bot crashes and forfeits.

Helpers: MOVES, DELTAS, Rng (a seeded generator: `Rng(observation["rng_seed"])`),
walkable(), neighbours(), first_step() (breadth-first search).
Do not name your own file after a standard module you use (e.g. random.py + `import random`).
"""

from __future__ import annotations

import json
import os
import sys

from .rules import DELTAS, MOVES, Rng

__all__ = ["run", "MOVES", "DELTAS", "Rng", "walkable", "neighbours", "first_step"]

LINE_CAP = 4096

# Set by game.solo: run() then only records `act` and returns, and solo calls it directly.
_capture = None


def walkable(observation: dict, x: int, y: int) -> bool:
    """True if (x, y) is inside the grid and not a wall (players and gems do not count)."""
    return (0 <= x < observation["width"] and 0 <= y < observation["height"]
            and observation["grid"][y][x] != "#")


def neighbours(observation: dict, x: int, y: int) -> list:
    """[(move, (nx, ny))] for the moves N, E, S, W that do not hit a wall or the border."""
    out = []
    for move in ("N", "E", "S", "W"):
        dx, dy = DELTAS[move]
        if walkable(observation, x + dx, y + dy):
            out.append((move, (x + dx, y + dy)))
    return out


def first_step(observation: dict, start, goals, avoid=()):
    """The first move of a shortest path from `start` to the nearest cell of `goals`, as
    (move, distance); ("STAY", 0) if start is a goal; (None, None) if no goal is reachable.
    Cells in `avoid` are treated as walls. Ties go to N, then E, S, W."""
    start = tuple(start)
    goals = {tuple(g) for g in goals}
    avoid = {tuple(a) for a in avoid}
    if start in goals:
        return "STAY", 0
    first = {start: None}
    frontier = [start]
    dist = 0
    while frontier:
        dist += 1
        nxt = []
        for cell in frontier:
            for move, n in neighbours(observation, *cell):
                if n in first or n in avoid:
                    continue
                first[n] = first[cell] or move
                if n in goals:
                    return first[n], dist
                nxt.append(n)
        frontier = nxt
    return None, None


def _normalise(move) -> str:
    if isinstance(move, str) and move.strip().upper() in MOVES:
        return move.strip().upper()
    shown = repr(move)
    print(f"sdk: act() returned {shown[:60]}, not one of {', '.join(MOVES)}: sending STAY",
          file=sys.stderr)
    return "STAY"


def _write_all(fd: int, data: bytes) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]


def run(act, *, infd: int = 0, outfd: int = 1):
    """Play the game: for each observation line, call act(observation) and send the move."""
    if _capture is not None:
        _capture.append(act)
        return None
    if outfd == 1:
        # Keep the real standard output for moves only; send everything else to stderr.
        outfd = os.dup(1)
        try:
            os.dup2(2, 1)
        except OSError:
            pass
        sys.stdout = sys.stderr
    buf = bytearray()
    while True:
        nl = buf.find(b"\n")
        if nl < 0:
            if len(buf) > LINE_CAP:
                raise RuntimeError("sdk: observation line over the cap")
            try:
                chunk = os.read(infd, 65536)
            except InterruptedError:
                continue
            if not chunk:
                return None  # the referee closed the pipe
            buf += chunk
            continue
        line = bytes(buf[:nl])
        del buf[:nl + 1]
        observation = json.loads(line)
        if observation.get("type") == "end":
            return observation
        move = _normalise(act(observation))
        try:
            _write_all(outfd, (move + "\n").encode("ascii"))
        except BrokenPipeError:
            return None
