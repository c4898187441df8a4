"""A match's replay for people: one self-contained HTML page, or text for a terminal.

    python3 -m game.viewer REPLAY --html FILE [--verdicts FILE]
    python3 -m game.viewer REPLAY --text [--turn N] [--verdicts FILE]

The page needs nothing but itself: no network, no external assets, its CSS and script inline
and pinned by a Content-Security-Policy that allows nothing else. It shows the board, a slider
and play/pause over the turns (`#turn=N` in the URL opens turn N), each turn's moves, scores
and events, and each player's verdict and its cause.

Everything taken from the replay is treated as hostile: the replay carries text a bot wrote
(an invalid move is quoted in the events) and names given by whoever started the match. The
page never builds markup from it (the script sets text only; the data block escapes `<`, `>`
and `&`), and the text form escapes every control, format and separator character so a bot
cannot move an operator's cursor or recolour the terminal.

`--verdicts FILE` (`-`: standard input) adds the sandbox's view of each player (the launcher
passes the runner's verdicts): a JSON object `{"<player id>": {"verdict": "...", "cause":
"..."}}`; an empty cause shows the verdict alone.

Exit status: 0 done; 2 bad command line, unreadable or invalid replay (one line on stderr).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import json
import os
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_PLAYERS = 4
MAX_SIDE = 100  # cells: above the game's own maximum, so replays of bigger settings still load
PLAYER_LETTERS = "ABCD"
# Escaped in text: controls (C0, DEL, C1), format characters (bidirectional overrides, zero
# width), lone surrogates (unprintable), and line/paragraph separators.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

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


# --- text -----------------------------------------------------------------------------------

def clean(text: str) -> str:
    """`text` with every character that could act on a terminal written as an escape."""
    out = []
    for ch in text:
        if unicodedata.category(ch) in _ESCAPED_CATEGORIES:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def letters(replay: Replay) -> dict[str, str]:
    return {p: PLAYER_LETTERS[i] for i, p in enumerate(replay.players)}


def board_lines(replay: Replay, turn: int) -> list[str]:
    h = replay.header
    rows = [list(r) for r in h.grid]
    for x, y in replay.gems_at(turn):
        rows[y][x] = "*"
    for p, (x, y) in replay.positions_at(turn).items():
        rows[y][x] = letters(replay)[p]
    return [" ".join(r) for r in rows]


def _outcome(replay: Replay) -> str:
    r = replay.result
    head = f"{r.winner} won" if r.winner is not None else "no winner"
    return f"{head} ({r.reason})"


def render_text(replay: Replay, turn: int | None = None,
                verdicts: Mapping[str, Verdict] | None = None) -> str:
    """The match for a terminal: summary, verdicts, the board at `turn` (default the last),
    then one line per turn. Only printable text: anything from the replay is `clean`ed."""
    h, r = replay.header, replay.result
    shown = len(replay.turns) if turn is None else turn
    if not 0 <= shown <= len(replay.turns):
        raise ReplayError(f"turn must be 0..{len(replay.turns)}")
    ls = letters(replay)
    verdicts = verdicts or {}
    out = [
        (f"{h.game}, seed {h.seed}, {h.width}x{h.height}, "
         f"{len(replay.turns)} of {h.turns} turns played"),
        f"result: {_outcome(replay)}",
        "",
    ]
    names = {p: clean(p) for p in replay.players}  # escaped before padding: columns line up
    width = max(len(n) for n in names.values())
    for p in replay.players:
        pr = r.players[p]
        line = f"  {ls[p]} {names[p]:<{width}}  score {r.scores[p]:>3}  {pr.status}: {pr.detail}"
        if p in verdicts:
            line += f"  [sandbox: {verdict_text(verdicts[p])}]"
        out.append(line)
    where = "at the start" if shown == 0 else f"after turn {shown}"
    out += ["", f"board {where} (# wall, * gem, " +
            ", ".join(f"{ls[p]} {p}" for p in replay.players) + "):"]
    out += ["  " + row for row in board_lines(replay, shown)]
    out += ["", "turn  " + "  ".join(f"{ls[p]:<4}" for p in replay.players) + "  scores  events"]
    for t in replay.turns:
        moves = "  ".join(f"{t.moves.get(p, '-'):<4}" for p in replay.players)
        scores = "-".join(str(t.scores[p]) for p in replay.players)
        events = "; ".join(f"{ls[p]} {e}" for p in replay.players for e in t.events.get(p, ()))
        out.append(f"{t.turn:>4}  {moves}  {scores:<6}  {events}".rstrip())
    return "\n".join(clean(line) for line in out) + "\n"


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
:root { --wall: #3b3f4a; --floor: #f3f1ea; --gem: #1f9e89; --ink: #1d1f24; }
* { box-sizing: border-box; }
body { font: 15px/1.4 system-ui, sans-serif; color: var(--ink); margin: 1.5em; background: #fff; }
h1 { font-size: 1.3em; margin: 0 0 .2em; }
h2 { font-size: 1em; margin: 1.2em 0 .2em; }
.meta { color: #555; margin: 0 0 1em; }
main { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
#board { display: inline-grid; gap: 2px; background: #c9c6bd; padding: 2px; border-radius: 4px; }
.cell { width: 34px; height: 34px; background: var(--floor); display: flex;
        align-items: center; justify-content: center; position: relative; }
.cell.wall { background: var(--wall); }
.cell.gem::before { content: ""; width: 12px; height: 12px; background: var(--gem);
                    transform: rotate(45deg); border-radius: 2px; }
.token { position: absolute; inset: 3px; border-radius: 50%; color: #fff; font-weight: 700;
         display: flex; align-items: center; justify-content: center; }
.p0 { background: #d1495b; } .p1 { background: #2e6fd8; }
.p2 { background: #e09f1f; } .p3 { background: #7a4bc2; }
.swatch { display: inline-block; width: 1.4em; height: 1.4em; border-radius: 50%; color: #fff;
          text-align: center; font-weight: 700; font-size: .85em; line-height: 1.4em; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #ddd;
         vertical-align: top; }
td.cause { max-width: 28em; overflow-wrap: anywhere; white-space: pre-wrap; }
#controls { display: flex; gap: .6em; align-items: center; margin: 1em 0; flex-wrap: wrap; }
#slider { width: 22em; }
#events { margin: .3em 0 0; padding-left: 1.2em; min-height: 1.4em;
          overflow-wrap: anywhere; white-space: pre-wrap; }
.forfeit { color: #b00020; font-weight: 600; }
"""

_JS = """
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("replay-data").textContent);
  const players = data.players;
  const last = data.turns.length;
  const board = document.getElementById("board");
  const slider = document.getElementById("slider");
  const label = document.getElementById("turn-label");
  const play = document.getElementById("play");
  const speed = document.getElementById("speed");
  const events = document.getElementById("events");
  const cells = [];
  board.style.gridTemplateColumns = "repeat(" + data.width + ", 34px)";
  for (let y = 0; y < data.height; y++) {
    for (let x = 0; x < data.width; x++) {
      const c = document.createElement("div");
      c.className = "cell" + (data.grid[y][x] === "#" ? " wall" : "");
      c.dataset.x = String(x);
      c.dataset.y = String(y);
      board.appendChild(c);
      cells.push(c);
    }
  }
  const tokens = players.map(function (p, i) {
    const t = document.createElement("span");
    t.className = "token p" + i;
    t.dataset.player = p;
    t.title = p;
    t.textContent = "ABCD"[i];
    return t;
  });
  function state(n) {
    if (n === 0) {
      const zero = {};
      players.forEach(function (p) { zero[p] = 0; });
      return {positions: data.positions, gems: data.gems, scores: zero, moves: {}, events: {}};
    }
    return data.turns[n - 1];
  }
  function show(n) {
    const s = state(n);
    cells.forEach(function (c) { c.classList.remove("gem"); });
    s.gems.forEach(function (g) { cells[g[1] * data.width + g[0]].classList.add("gem"); });
    players.forEach(function (p, i) {
      const pos = s.positions[p];
      cells[pos[1] * data.width + pos[0]].appendChild(tokens[i]);
      document.getElementById("score-" + i).textContent = String(s.scores[p]);
      document.getElementById("move-" + i).textContent = (s.moves && s.moves[p]) || "";
    });
    events.replaceChildren();
    players.forEach(function (p) {
      ((s.events && s.events[p]) || []).forEach(function (e) {
        const li = document.createElement("li");
        li.textContent = p + ": " + e;
        if (e === "forfeit") { li.className = "forfeit"; }
        events.appendChild(li);
      });
    });
    slider.value = String(n);
    label.textContent = n === 0 ? "start" : "turn " + n + " / " + last;
    board.dataset.turn = String(n);
  }
  let timer = null;
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.textContent = "Play";
  }
  function start() {
    if (Number(slider.value) >= last) { show(0); }
    play.textContent = "Pause";
    timer = setInterval(function () {
      const n = Number(slider.value) + 1;
      if (n > last) { stop(); } else { show(n); }
    }, 400 / Number(speed.value));
  }
  play.addEventListener("click", function () { if (timer === null) { start(); } else { stop(); } });
  speed.addEventListener("change", function () { if (timer !== null) { stop(); start(); } });
  slider.addEventListener("input", function () { stop(); show(Number(slider.value)); });
  document.getElementById("prev").addEventListener("click", function () {
    stop(); show(Math.max(0, Number(slider.value) - 1));
  });
  document.getElementById("next").addEventListener("click", function () {
    stop(); show(Math.min(last, Number(slider.value) + 1));
  });
  function fromHash() {
    const m = /^#turn=(\\d+)$/.exec(location.hash);
    return m ? Math.min(last, Number(m[1])) : 0;
  }
  window.addEventListener("hashchange", function () { stop(); show(fromHash()); });
  show(fromHash());
  document.body.dataset.ready = "1";
})();
"""


def _h(text: str) -> str:
    return html.escape(clean(text), quote=True)


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _data_json(replay: Replay) -> str:
    """The replay as the page's script reads it, safe inside a <script> data block: JSON
    escapes for `<`, `>` and `&` mean no `</script>` or `<!--` can appear in the text."""
    h = replay.header
    data = {
        "players": list(h.players), "width": h.width, "height": h.height,
        "grid": list(h.grid), "positions": {p: list(c) for p, c in h.positions.items()},
        "gems": [list(g) for g in h.gems],
        "turns": [{"turn": t.turn, "moves": t.moves,
                   "positions": {p: list(c) for p, c in t.positions.items()},
                   "scores": t.scores, "gems": [list(g) for g in t.gems],
                   "events": {p: list(es) for p, es in t.events.items()}}
                  for t in replay.turns],
    }
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(replay: Replay, verdicts: Mapping[str, Verdict] | None = None) -> str:
    """One self-contained page. Text from the replay goes through `_h` (escaped markup) or
    the data block (escaped JSON); the script only ever sets textContent."""
    h, r = replay.header, replay.result
    verdicts = verdicts or {}
    csp = ("default-src 'none'; img-src 'none'; base-uri 'none'; form-action 'none'; "
           f"style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}")
    sandbox_col = bool(verdicts)
    rows = []
    for i, p in enumerate(h.players):
        pr = r.players[p]
        status_class = ' class="forfeit"' if pr.status != "ok" else ""
        cells = [
            f'<td><span class="swatch p{i}">{PLAYER_LETTERS[i]}</span></td>',
            f"<td>{_h(p)}</td>",
            f'<td id="score-{i}"></td>', f'<td id="move-{i}"></td>',
            f"<td>{r.scores[p]}</td>",
            f"<td{status_class}>{_h(pr.status)}</td>",
            f'<td class="cause">{_h(pr.detail)}</td>',
        ]
        if sandbox_col:
            v = verdicts.get(p)
            cells.append(f'<td class="cause">{_h(verdict_text(v)) if v else ""}</td>')
        rows.append(f'<tr data-player="{_h(p)}">' + "".join(cells) + "</tr>")
    sandbox_head = "<th>sandbox</th>" if sandbox_col else ""
    title = f"{h.game}: {_outcome(replay)}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_h(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{_h(title)}</h1>
<p class="meta">seed {h.seed} · {h.width}&times;{h.height} · {len(replay.turns)} of {h.turns} turns
played</p>
<noscript><p>The board and the turn slider need JavaScript; the verdicts below do not.</p>
</noscript>
<main>
<div>
<div id="board"></div>
<div id="controls">
<button id="prev" type="button" title="previous turn">◀</button>
<button id="play" type="button">Play</button>
<button id="next" type="button" title="next turn">▶</button>
<input id="slider" type="range" min="0" max="{len(replay.turns)}" value="0"
 aria-label="turn">
<span id="turn-label">start</span>
<select id="speed" aria-label="speed"><option value="1">1&times;</option>
<option value="2" selected>2&times;</option><option value="4">4&times;</option>
<option value="10">10&times;</option></select>
</div>
</div>
<div>
<table id="players">
<thead><tr><th></th><th>player</th><th>score</th><th>move</th><th>final score</th>
<th>verdict</th><th>cause</th>{sandbox_head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<h2>This turn's events</h2>
<ul id="events"></ul>
</div>
</main>
<script type="application/json" id="replay-data">{_data_json(replay)}</script>
<script>{_JS}</script>
</body>
</html>
"""


# --- command line ---------------------------------------------------------------------------

def _write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m game.viewer",
                                 description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("replay", metavar="REPLAY", help="a replay.jsonl")
    form = ap.add_mutually_exclusive_group(required=True)
    form.add_argument("--html", metavar="FILE", help="write the page to FILE ('-': stdout)")
    form.add_argument("--text", action="store_true", help="print the match as text")
    ap.add_argument("--turn", type=int, metavar="N",
                    help="with --text: the board after turn N (0: the start; default: the end)")
    ap.add_argument("--verdicts", metavar="FILE",
                    help='the sandbox\'s verdicts: {"ID": {"verdict": ..., "cause": ...}} '
                    "('-': standard input)")
    args = ap.parse_args(argv)
    if args.turn is not None and not args.text:
        ap.error("--turn goes with --text (the page takes #turn=N in its URL)")
    try:
        with open(args.replay, "rb") as f:
            replay = parse_replay(f.read())
        verdicts = None
        if args.verdicts == "-":
            verdicts = parse_verdicts(sys.stdin.buffer.read(), replay.players)
        elif args.verdicts is not None:
            with open(args.verdicts, "rb") as f:
                verdicts = parse_verdicts(f.read(), replay.players)
        if args.text:
            if isinstance(sys.stdout, io.TextIOWrapper):
                # A terminal that cannot show a name's letters gets escapes, not a crash.
                sys.stdout.reconfigure(errors="backslashreplace")
            sys.stdout.write(render_text(replay, args.turn, verdicts))
        elif args.html == "-":
            sys.stdout.write(render_html(replay, verdicts))
        else:
            _write_atomically(args.html, render_html(replay, verdicts))
    except (ReplayError, OSError) as e:
        # The message may quote the replay: escaped like everything else shown.
        print(clean(f"viewer: {args.replay}: {e}"), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
