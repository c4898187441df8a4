"""A replay as text for a terminal: every character that could act on one is escaped."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from game.replay import PLAYER_LETTERS, Replay, ReplayError, Verdict, verdict_text

# Escaped in text: controls (C0, DEL, C1), format characters (bidirectional overrides, zero
# width), lone surrogates (unprintable), and line/paragraph separators.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


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


def outcome_text(replay: Replay) -> str:
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
        f"result: {outcome_text(replay)}",
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

