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

# Types for mypy only: importing typing would cost every bot's start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    Observation = dict[str, Any]  # one decoded JSON line of PROTOCOL.md
    Act = Callable[[Observation], object]

__all__ = ["DELTAS", "MOVES", "Rng", "first_step", "neighbours", "run", "walkable"]

LINE_CAP = 4096

# Set by game.solo: run() then only records `act` and returns, and solo calls it directly.
_capture: list[Act] | None = None


def walkable(observation: Observation, x: int, y: int) -> bool:
    """True if (x, y) is inside the grid and not a wall (players and gems do not count)."""
    return bool(0 <= x < observation["width"] and 0 <= y < observation["height"]
                and observation["grid"][y][x] != "#")


def neighbours(observation: Observation, x: int, y: int) -> list[tuple[str, tuple[int, int]]]:
    """[(move, (nx, ny))] for the moves N, E, S, W that do not hit a wall or the border."""
    out = []
    for move in ("N", "E", "S", "W"):
        dx, dy = DELTAS[move]
        if walkable(observation, x + dx, y + dy):
            out.append((move, (x + dx, y + dy)))
    return out


def first_step(observation: Observation, start: Sequence[int], goals: Iterable[Sequence[int]],
               avoid: Iterable[Sequence[int]] = ()) -> tuple[str, int] | tuple[None, None]:
    """The first move of a shortest path from `start` to the nearest cell of `goals`, as
    (move, distance); ("STAY", 0) if start is a goal; (None, None) if no goal is reachable.
    Cells in `avoid` are treated as walls. Ties go to N, then E, S, W."""
    origin = tuple(start)
    targets = {tuple(g) for g in goals}
    blocked = {tuple(a) for a in avoid}
    if origin in targets:
        return "STAY", 0
    first: dict[tuple[int, ...], str | None] = {origin: None}
    frontier = [origin]
    dist = 0
    while frontier:
        dist += 1
        nxt: list[tuple[int, ...]] = []
        for cell in frontier:
            for move, n in neighbours(observation, *cell):
                if n in first or n in blocked:
                    continue
                step = first[cell] or move
                first[n] = step
                if n in targets:
                    return step, dist
                nxt.append(n)
        frontier = nxt
    return None, None


def _normalise(move: object) -> str:
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


def run(act: Act, *, infd: int = 0, outfd: int = 1) -> Observation | None:
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
        observation: Observation = json.loads(line)
        if observation.get("type") == "end":
            return observation
        move = _normalise(act(observation))
        try:
            _write_all(outfd, (move + "\n").encode("ascii"))
        except BrokenPipeError:
            return None
