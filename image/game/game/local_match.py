"""Development form, no sandbox: spawn the bots here and referee them in this process.

    python3 -m game.local_match --seed N [--output-dir DIR] [--id ID ...] BOT1 BOT2

Each bot runs as `python3 BOT` with PYTHONPATH including this game, its stdin and stdout on
pipes, its stderr in DIR/<id>.stderr.log. The same referee code as `game.referee` plays the
match; the result JSON goes to stdout and replay.jsonl to DIR (a new temporary directory
unless --output-dir is given; its path is printed on stderr). Never used inside the sandbox.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile

from .referee import (
    ID_RE,
    ConfigError,
    Pauser,
    add_settings_args,
    dumps,
    play_match,
    player_id_from_path,
    settings_from_args,
    unique_ids,
)

# Types for mypy only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO

    from .referee import GameResult, Settings

GAME_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ProcessPauser(Pauser):
    """What the runner's control channel does, done here: SIGSTOP and SIGCONT."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__()
        self.pids = pids

    def signal(self, verb: str, pid: str) -> None:
        try:
            os.kill(self.pids[pid], signal.SIGSTOP if verb == "stop" else signal.SIGCONT)
        except ProcessLookupError:
            pass  # it has ended: nothing to stop


def run_local_match(bots: Sequence[str], settings: Settings, output_dir: str,
                    ids: Sequence[str] | None = None) -> GameResult:
    ids = ids or unique_ids([player_id_from_path(b) for b in bots])
    if len(ids) != len(bots) or len(set(ids)) != len(ids) or not all(ID_RE.fullmatch(i) for i in ids):
        raise ConfigError("need one distinct id matching [a-z0-9-]{1,63} per bot")
    settings.validate(len(bots))
    os.makedirs(output_dir, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (GAME_ROOT, env.get("PYTHONPATH")) if p)
    env.pop("GAME_PLAYERS", None)
    env.pop("GAME_OUTPUT_DIR", None)
    env.pop("GAME_CONTROL", None)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for pid, bot in zip(ids, bots, strict=False):
            with open(os.path.join(output_dir, f"{pid}.stderr.log"), "wb") as log:
                procs.append(subprocess.Popen(
                    [sys.executable, os.path.abspath(bot)], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=log, env=env, close_fds=True))
        conns = [(pid, pipe_fd(p.stdout), pipe_fd(p.stdin)) for pid, p in zip(ids, procs, strict=False)]
        pauser = ProcessPauser({pid: p.pid for pid, p in zip(ids, procs, strict=False)})
        return play_match(conns, settings, output_dir, pauser)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            for f in (p.stdin, p.stdout):
                try:
                    if f is not None:
                        f.close()
                except OSError:
                    pass
            p.wait()


def pipe_fd(f: IO[bytes] | None) -> int:
    if f is None:  # cannot happen: Popen was given stdin=PIPE, stdout=PIPE
        raise ConfigError("a bot has no pipe")
    return f.fileno()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m game.local_match",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("bots", nargs="+", metavar="BOT", help="bot .py files, in player order")
    ap.add_argument("--id", action="append", dest="ids", metavar="ID",
                    help="player id, once per bot (default: the file's stem)")
    ap.add_argument("--output-dir", help="where replay.jsonl and the bots' logs go")
    add_settings_args(ap)
    args = ap.parse_args(argv)
    for b in args.bots:
        if not os.path.isfile(b):
            ap.error(f"no such file: {b}")
    output_dir = args.output_dir or tempfile.mkdtemp(prefix="game-match-")
    try:
        result = run_local_match(args.bots, settings_from_args(args), output_dir, args.ids)
    except (ConfigError, ValueError) as e:
        print(f"local_match: {e}", file=sys.stderr)
        return 2
    print(f"local_match: replay and logs in {output_dir}", file=sys.stderr)
    sys.stdout.write(dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
