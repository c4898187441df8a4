"""A replay read back for the viewer: its model (header, turns, result, verdicts) and the
parser that checks every line, since a replay carries text a bot wrote."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_PLAYERS = 4
PLAYER_LETTERS = "ABCD"  # how each player is shown, in order
MAX_SIDE = 100  # cells: above the game's own maximum, so replays of bigger settings still load

Cell = tuple[int, int]


class ReplayError(Exception):
    """The replay cannot be shown: says which line and what is wrong."""


@dataclass(frozen=True)
class Header:
    game: str
    seed: int
    players: tuple[str, ...]
    width: int
    height: int
    turns: int
    grid: tuple[str, ...]
    positions: dict[str, Cell]
    gems: tuple[Cell, ...]


@dataclass(frozen=True)
class Turn:
    turn: int
    moves: dict[str, str]
    positions: dict[str, Cell]
    scores: dict[str, int]
    gems: tuple[Cell, ...]
    collected: dict[str, Cell]
    events: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class PlayerResult:
    status: str
    detail: str


@dataclass(frozen=True)
class Result:
    winner: str | None
    scores: dict[str, int]
    reason: str
    turns: int
    players: dict[str, PlayerResult]


@dataclass(frozen=True)
class Verdict:
    """The sandbox's view of one player, given by the launcher."""

    verdict: str
    cause: str


def verdict_text(v: Verdict) -> str:
    return f"{v.verdict}: {v.cause}" if v.cause else v.verdict


@dataclass(frozen=True)
class Replay:
    header: Header
    turns: tuple[Turn, ...]
    result: Result

    @property
    def players(self) -> tuple[str, ...]:
        return self.header.players

    def positions_at(self, turn: int) -> dict[str, Cell]:
        return self.header.positions if turn == 0 else self.turns[turn - 1].positions

    def gems_at(self, turn: int) -> tuple[Cell, ...]:
        return self.header.gems if turn == 0 else self.turns[turn - 1].gems

    def scores_at(self, turn: int) -> dict[str, int]:
        return {p: 0 for p in self.players} if turn == 0 else self.turns[turn - 1].scores


# --- reading --------------------------------------------------------------------------------

def _obj(v: object, what: str) -> dict[str, object]:
    if not isinstance(v, dict):
        raise ReplayError(f"{what} must be an object")
    return v


def _field(o: Mapping[str, object], key: str, what: str) -> object:
    if key not in o:
        raise ReplayError(f"{what}: missing field {key!r}")
    return o[key]


def _int(v: object, what: str, lo: int = 0, hi: int | None = None) -> int:
    # bool is an int in Python; a replay's `true` is not a number.
    if not isinstance(v, int) or isinstance(v, bool) or v < lo or (hi is not None and v > hi):
        bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ReplayError(f"{what} must be an integer {bound}")
    return v


def _str(v: object, what: str) -> str:
    if not isinstance(v, str):
        raise ReplayError(f"{what} must be a string")
    return v


def _list(v: object, what: str) -> list[object]:
    if not isinstance(v, list):
        raise ReplayError(f"{what} must be a list")
    return v


def _cell(v: object, what: str, h: Header | None, width: int = 0, height: int = 0) -> Cell:
    if h is not None:
        width, height = h.width, h.height
    items = _list(v, what)
    if len(items) != 2:
        raise ReplayError(f"{what} must be [x, y]")
    x = _int(items[0], f"{what} x", 0, width - 1)
    y = _int(items[1], f"{what} y", 0, height - 1)
    return x, y


def _per_player(v: object, what: str, players: Sequence[str], every: bool) -> dict[str, object]:
    o = _obj(v, what)
    unknown = [k for k in o if k not in players]
    if unknown:
        raise ReplayError(f"{what}: unknown player {unknown[0]!r}")
    if every and len(o) != len(players):
        missing = next(p for p in players if p not in o)
        raise ReplayError(f"{what}: missing player {missing!r}")
    return o


def _header(o: dict[str, object]) -> Header:
    what = "header"
    version = _field(o, "version", what)
    if version != 1:
        raise ReplayError(f"unsupported replay version {version!r} (this viewer reads 1)")
    raw_players = _list(_field(o, "players", what), "players")
    players = tuple(_str(p, "a player id") for p in raw_players)
    if not 1 <= len(players) <= MAX_PLAYERS or len(set(players)) != len(players):
        raise ReplayError(f"players must be 1..{MAX_PLAYERS} distinct ids")
    width = _int(_field(o, "width", what), "width", 1, MAX_SIDE)
    height = _int(_field(o, "height", what), "height", 1, MAX_SIDE)
    grid = tuple(_str(r, "a grid row") for r in _list(_field(o, "grid", what), "grid"))
    if len(grid) != height or any(len(r) != width or set(r) - {".", "#"} for r in grid):
        raise ReplayError(f"grid must be {height} rows of {width} '.' or '#'")
    positions = _per_player(_field(o, "positions", what), "positions", players, True)
    gems = _list(_field(o, "gems", what), "gems")
    return Header(
        game=_str(_field(o, "game", what), "game"),
        seed=_int(_field(o, "seed", what), "seed"),
        players=players, width=width, height=height,
        turns=_int(_field(o, "turns", what), "turns"),
        grid=grid,
        positions={p: _cell(positions[p], f"position of {p!r}", None, width, height)
                   for p in players},
        gems=tuple(_cell(g, "a gem", None, width, height) for g in gems),
    )


def _turn(o: dict[str, object], h: Header, number: int) -> Turn:
    what = f"turn {number}"
    got = _int(_field(o, "turn", what), "turn")
    if got != number:
        raise ReplayError(f"turn {got} where turn {number} was expected")
    ps = h.players
    moves = _per_player(_field(o, "moves", what), "moves", ps, False)
    positions = _per_player(_field(o, "positions", what), "positions", ps, True)
    scores = _per_player(_field(o, "scores", what), "scores", ps, True)
    collected = _per_player(o.get("collected", {}), "collected", ps, False)
    events = _per_player(o.get("events", {}), "events", ps, False)
    return Turn(
        turn=number,
        moves={p: _str(m, f"move of {p!r}") for p, m in moves.items()},
        positions={p: _cell(positions[p], f"position of {p!r}", h) for p in ps},
        scores={p: _int(scores[p], f"score of {p!r}") for p in ps},
        gems=tuple(_cell(g, "a gem", h) for g in _list(_field(o, "gems", what), "gems")),
        collected={p: _cell(c, f"gem collected by {p!r}", h) for p, c in collected.items()},
        events={p: tuple(_str(e, f"event of {p!r}") for e in _list(es, f"events of {p!r}"))
                for p, es in events.items()},
    )


def _result(o: dict[str, object], h: Header) -> Result:
    what = "result"
    ps = h.players
    winner = _field(o, "winner", what)
    if winner is not None and winner not in ps:
        raise ReplayError(f"result: winner {winner!r} is not a player")
    scores = _per_player(_field(o, "scores", what), "result scores", ps, True)
    players = _per_player(_field(o, "players", what), "result players", ps, True)
    statuses = {}
    for p in ps:
        entry = _obj(players[p], f"result of {p!r}")
        statuses[p] = PlayerResult(
            status=_str(_field(entry, "status", f"result of {p!r}"), "status"),
            detail=_str(_field(entry, "detail", f"result of {p!r}"), "detail"))
    return Result(
        winner=winner if isinstance(winner, str) else None,
        scores={p: _int(scores[p], f"score of {p!r}") for p in ps},
        reason=_str(_field(o, "reason", what), "reason"),
        turns=_int(_field(o, "turns", what), "turns"),
        players=statuses,
    )


def parse_replay(data: bytes) -> Replay:
    """The replay in `data` (replay.jsonl's bytes), checked line by line."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise ReplayError("empty replay")
    header: Header | None = None
    turns: list[Turn] = []
    result: Result | None = None
    for n, raw in enumerate(lines, 1):
        try:
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError) as e:
                raise ReplayError(f"not JSON ({e})") from None
            o = _obj(value, "a replay line")
            kind = _field(o, "type", "a replay line")
            if result is not None:
                raise ReplayError("a line after the result")
            if header is None:
                if kind != "header":
                    raise ReplayError(f"the first line must be the header, not {kind!r}")
                header = _header(o)
            elif kind == "turn":
                turns.append(_turn(o, header, len(turns) + 1))
            elif kind == "result":
                result = _result(o, header)
            else:
                raise ReplayError(f"unexpected line type {kind!r}")
        except ReplayError as e:
            raise ReplayError(f"line {n}: {e}") from None
    if header is None or result is None:
        raise ReplayError("no result line: the replay is incomplete")
    return Replay(header, tuple(turns), result)


def parse_verdicts(data: bytes, players: Sequence[str]) -> dict[str, Verdict]:
    """The launcher's `--verdicts` file: `{id: {"verdict": str, "cause": str}}`."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise ReplayError(f"verdicts: not JSON ({e})") from None
    out = {}
    for p, v in _per_player(value, "verdicts", players, False).items():
        entry = _obj(v, f"verdict of {p!r}")
        extra = set(entry) - {"verdict", "cause"}
        if extra:
            raise ReplayError(f"verdict of {p!r}: unknown field {min(extra)!r}")
        out[p] = Verdict(_str(_field(entry, "verdict", p), "verdict"),
                         _str(_field(entry, "cause", p), "cause"))
    return out

