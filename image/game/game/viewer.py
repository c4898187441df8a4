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
import io
import os
import sys
from collections.abc import Sequence

# The viewer's parts, importable from here as before the split.
from game.replay import (
    MAX_PLAYERS,
    MAX_SIDE,
    PLAYER_LETTERS,
    Cell,
    Header,
    PlayerResult,
    Replay,
    ReplayError,
    Result,
    Turn,
    Verdict,
    parse_replay,
    parse_verdicts,
    verdict_text,
)
from game.viewer_page import render_html
from game.viewer_text import board_lines, clean, letters, render_text

__all__ = [
    "MAX_PLAYERS", "MAX_SIDE", "PLAYER_LETTERS", "Cell", "Header", "PlayerResult", "Replay",
    "ReplayError", "Result", "Turn", "Verdict", "board_lines", "clean", "letters", "main",
    "parse_replay", "parse_verdicts", "render_html", "render_text", "verdict_text",
]


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
