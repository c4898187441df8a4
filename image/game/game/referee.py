"""The trusted referee: plays one match between player processes over inherited pipes.

    GAME_PLAYERS=alice:3:4,bob:5:6 GAME_CONTROL=7:8 GAME_OUTPUT_DIR=/out \
        python3 -m game.referee --seed 7

Reads each player's lines from its `rfd`, writes observations to its `wfd`, writes
$GAME_OUTPUT_DIR/replay.jsonl, and prints the result as one JSON line on stdout. With
GAME_CONTROL (the runner's control channel) it stops each player once it has answered and at
the end of every turn, and continues it when the next turn starts, so no player computes
while others think or between turns.
Exit status: 0 with a result; 2 for a bad command line or environment (no result);
3 for an internal error, which is a bug (no result). See ../PROTOCOL.md.

Only os.read/os.write on the given descriptors, poll, time.monotonic and files in
GAME_OUTPUT_DIR are used: no threads, no signals of its own (the runner stops and continues
players), no subprocesses, no sockets, no /proc.
Nothing a player sends can make it raise, block past the deadline, or buffer more than
LINE_CAP bytes of an unfinished line.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import time
from dataclasses import dataclass, field

# Re-exported: the player side moved to game.players; its names stay importable from here.
from .players import FD_RE as FD_RE
from .players import ID_RE as ID_RE
from .players import LINE_CAP as LINE_CAP
from .players import TOO_LONG as TOO_LONG
from .players import ConfigError as ConfigError
from .players import ControlError as ControlError
from .players import LineReader as LineReader
from .players import Pauser as Pauser
from .players import Player as Player
from .players import RunnerControl as RunnerControl
from .players import parse_control as parse_control
from .players import parse_move as parse_move
from .players import parse_players as parse_players
from .players import player_id_from_path as player_id_from_path
from .players import unique_ids as unique_ids
from .rules import MAX_SEED, GameConfig, GameState, winner_by_score

# Types for mypy only: importing typing would cost the referee's start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Literal, NoReturn, TextIO, TypedDict

    from .players import Conn
    from .rules import Cell

    Json = dict[str, Any]  # a JSON object as json.dumps writes it

    class PlayerStanding(TypedDict):
        """One player's standing in the result: `ok`, or `forfeit` with the turn and why."""
        status: Literal["ok", "forfeit"]
        detail: str

    class GameResult(TypedDict):
        """The result the referee prints (PROTOCOL.md). The runner reads it as
        `runner::game_result::GameResult`; tests validate it against schemas/v1/game-result.json,
        which is generated from that Rust type."""
        winner: str | None
        scores: dict[str, int]
        reason: str
        turns: int
        players: dict[str, PlayerStanding]


READ_CHUNK = 65536
DRAIN_CAP = 256 * 1024  # bytes read per player before a turn's observation goes out
OUT_CAP = 64 * 1024  # unsent bytes to a player that does not read: then it forfeits
REPLAY_NAME = "replay.jsonl"
REPLAY_VERSION = 1


def dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True)
class Settings:
    seed: int = 0
    game: GameConfig = field(default_factory=GameConfig)
    turn_timeout_ms: int = 1000
    first_turn_timeout_ms: int = 5000
    max_strikes: int = 3

    def validate(self, players: int) -> None:
        self.game.validate(players)
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be 0..{MAX_SEED}")
        for name in ("turn_timeout_ms", "first_turn_timeout_ms"):
            if not 1 <= getattr(self, name) <= 600_000:
                raise ValueError(f"{name} must be 1..600000")
        if not 1 <= self.max_strikes <= 100:
            raise ValueError("max_strikes must be 1..100")


# --- the replay -----------------------------------------------------------------------------

class Replay:
    """replay.jsonl, written to a temporary name and renamed into place by close()."""

    def __init__(self, output_dir: str | None) -> None:
        self.file: TextIO | None = None
        self.final = self.tmp = ""
        if output_dir:
            self.final = os.path.join(output_dir, REPLAY_NAME)
            self.tmp = os.path.join(output_dir, "." + REPLAY_NAME + ".tmp")
            try:
                # Held open across the match, closed or discarded by finish().
                self.file = open(self.tmp, "w", encoding="ascii", newline="\n")  # noqa: SIM115
            except OSError as e:
                print(f"referee: cannot write replay: {e}", file=sys.stderr)

    def write(self, obj: object) -> None:
        if self.file is None:
            return
        try:
            self.file.write(dumps(obj) + "\n")
        except OSError as e:
            print(f"referee: replay write failed: {e}", file=sys.stderr)
            self._abandon()

    def close(self) -> None:
        if self.file is None:
            return
        try:
            self.file.close()
            os.rename(self.tmp, self.final)
        except OSError as e:
            print(f"referee: replay not saved: {e}", file=sys.stderr)
        self.file = None

    def _abandon(self) -> None:
        if self.file is None:
            return
        try:
            self.file.close()
            os.unlink(self.tmp)
        except OSError:
            pass
        self.file = None


def replay_header(settings: Settings, state: GameState, ids: Sequence[str]) -> Json:
    g = settings.game
    return {
        "type": "header", "version": REPLAY_VERSION, "game": "gems", "seed": settings.seed,
        "players": list(ids), "width": g.width, "height": g.height, "turns": g.turns,
        "gems_count": g.gems, "wall_percent": g.wall_percent,
        "turn_timeout_ms": settings.turn_timeout_ms,
        "first_turn_timeout_ms": settings.first_turn_timeout_ms,
        "max_strikes": settings.max_strikes,
        "grid": state.grid_rows(),
        "positions": {ids[i]: list(p) for i, p in enumerate(state.positions)},
        "gems": [list(c) for c in state.gems],
    }


def replay_turn(state: GameState, ids: Sequence[str], moves: Sequence[object],
                collected: Sequence[Cell | None], events: dict[str, list[str]]) -> Json:
    line: Json = {
        "type": "turn", "turn": state.turn,
        "moves": {ids[i]: m for i, m in enumerate(moves)},
        "positions": {ids[i]: list(p) for i, p in enumerate(state.positions)},
        "scores": {ids[i]: s for i, s in enumerate(state.scores)},
        "gems": [list(c) for c in state.gems],
        "collected": {ids[i]: list(c) for i, c in enumerate(collected) if c is not None},
    }
    if events:
        line["events"] = events
    return line


def make_result(ids: Sequence[str], scores: Sequence[int], winner: str | None, reason: str, turns: int,
                statuses: dict[str, PlayerStanding]) -> GameResult:
    return {
        "winner": winner,
        "scores": {pid: scores[i] for i, pid in enumerate(ids)},
        "reason": reason,
        "turns": turns,
        "players": statuses,
    }


# --- the match ------------------------------------------------------------------------------

class Match:
    def __init__(self, conns: Sequence[Conn], settings: Settings, output_dir: str | None = None,
                 pauser: Pauser | None = None) -> None:
        if len(conns) < 2:
            raise ValueError("a match needs at least two players")
        settings.validate(len(conns))
        self.settings = settings
        self.players = [Player(pid, i, rfd, wfd) for i, (pid, rfd, wfd) in enumerate(conns)]
        self.ids = [p.id for p in self.players]
        self.state = GameState(settings.game, settings.seed, len(self.players))
        self.replay = Replay(output_dir)
        self.pauser = pauser
        self.turn = 0  # the turn being played
        for p in self.players:
            for fd in {p.rfd, p.wfd}:
                try:
                    os.set_blocking(fd, False)
                except OSError as e:
                    raise ConfigError(f"player {p.id}: descriptor {fd}: {e}") from None

    # player bookkeeping

    def forfeit(self, p: Player, detail: str) -> None:
        if not p.active:
            return
        p.active = False
        p.detail = f"turn {self.turn}: {detail}"
        p.events.append("forfeit")
        p.out.clear()

    def strike(self, p: Player, reason: str) -> None:
        p.strikes.append(f"turn {self.turn}: {reason}")
        p.events.append(reason)
        if len(p.strikes) >= self.settings.max_strikes:
            self.forfeit(p, f"{len(p.strikes)} strikes (" + "; ".join(p.strikes) + ")")

    def closed(self, p: Player) -> None:
        self.forfeit(p, "closed its pipe (exited or crashed)")

    # I/O, all non-blocking

    def flush(self, p: Player) -> None:
        while p.active and p.out:
            try:
                n = os.write(p.wfd, p.out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EPIPE: nobody reads any more; EBADF &c.: same for us
                self.closed(p)
                return
            del p.out[:n]

    def send(self, p: Player, obj: object) -> None:
        data = (dumps(obj) + "\n").encode("ascii")
        if len(data) > LINE_CAP:
            raise AssertionError(f"referee bug: a {len(data)}-byte line")
        if len(p.out) + len(data) > OUT_CAP:
            self.forfeit(p, "does not read its input")
            return
        p.out += data
        self.flush(p)

    def on_line(self, p: Player, line: object, waiting: bool) -> None:
        # Line k from a player answers observation k. A line that answers an earlier turn is
        # late and dropped; a line that answers nothing is a strike.
        if p.outstanding == 0:
            self.strike(p, "unrequested line")
        elif p.outstanding > 1 or not waiting:
            p.outstanding -= 1
            p.events.append("late line dropped")
        else:
            p.outstanding = 0
            p.answer = line
            self.pause(p)

    def read_some(self, p: Player, waiting: bool) -> bool:
        """One read. False when nothing more is available now."""
        try:
            data = os.read(p.rfd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            self.closed(p)
            return False
        if not data:
            self.closed(p)
            return False
        for line in p.reader.feed(data):
            if not p.active:
                break
            self.on_line(p, line, waiting)
        return True

    def drain(self, p: Player) -> None:
        """Before a turn: take what the player wrote since the last turn (late answers,
        unrequested lines, or its closing the pipe)."""
        budget = DRAIN_CAP
        while p.active and budget > 0 and self.read_some(p, waiting=False):
            budget -= READ_CHUNK

    def wait_for_answers(self, timeout_ms: int) -> None:
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            waiting = [p for p in self.players if p.active and p.answer is None]
            if not waiting:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            masks: dict[int, int] = {}
            roles: dict[int, list[tuple[Player, str]]] = {}
            for p in waiting:
                masks[p.rfd] = masks.get(p.rfd, 0) | select.POLLIN
                roles.setdefault(p.rfd, []).append((p, "r"))
            for p in self.players:
                if p.active and p.out:
                    masks[p.wfd] = masks.get(p.wfd, 0) | select.POLLOUT
                    roles.setdefault(p.wfd, []).append((p, "w"))
            poller = select.poll()
            for fd, mask in masks.items():
                poller.register(fd, mask)
            try:
                ready = poller.poll(max(1, int(remaining * 1000 + 0.999)))
            except InterruptedError:
                continue
            for fd, ev in sorted(ready):
                for p, role in roles.get(fd, ()):
                    if not p.active:
                        continue
                    if ev & select.POLLNVAL:
                        self.closed(p)
                    elif role == "r" and p.answer is None and ev & (
                            select.POLLIN | select.POLLHUP | select.POLLERR):
                        self.read_some(p, waiting=True)
                    elif role == "w" and ev & (select.POLLOUT | select.POLLERR | select.POLLHUP):
                        self.flush(p)

    # pausing: a player runs only while the referee waits for its answer

    def pause(self, p: Player) -> None:
        if self.pauser:
            self.pauser.stop(p.id)

    def resume(self, p: Player) -> None:
        if self.pauser:
            self.pauser.cont(p.id)

    # the game

    def play(self) -> GameResult:
        st, ids = self.state, self.ids
        self.replay.write(replay_header(self.settings, st, ids))
        ended_by_forfeit = False
        while not st.finished():
            self.turn = st.turn + 1
            timeout_ms = (self.settings.first_turn_timeout_ms if self.turn == 1
                          else self.settings.turn_timeout_ms)
            for p in self.players:
                p.answer, p.events = None, []
                if p.active:
                    self.drain(p)
            for p in self.players:
                if p.active:
                    self.resume(p)
                    p.outstanding += 1
                    self.send(p, st.observation(ids, p.index, timeout_ms=timeout_ms))
            self.wait_for_answers(timeout_ms)
            for p in self.players:
                self.pause(p)  # also those that missed the deadline: nobody runs between turns
            moves = []
            for p in self.players:
                move = "STAY"
                if p.active:
                    if p.answer is None:
                        self.strike(p, "timeout")
                    else:
                        parsed = parse_move(p.answer)
                        if parsed[0] is None:
                            self.strike(p, parsed[1])
                        elif p.active:
                            move = parsed[0]
                moves.append(move)
            collected = st.step(moves)
            events = {p.id: p.events for p in self.players if p.events}
            self.replay.write(replay_turn(st, ids, moves, collected, events))
            if sum(p.active for p in self.players) < 2:
                ended_by_forfeit = True
                break
        result = self.result(ended_by_forfeit)
        self.replay.write({"type": "result", **result})
        self.replay.close()
        for p in self.players:
            self.resume(p)  # so that each can read the end and leave
            if p.active:
                self.send(p, {"type": "end", "you": p.id, "winner": result["winner"],
                              "scores": result["scores"], "reason": result["reason"],
                              "turns": result["turns"]})
        return result

    def result(self, ended_by_forfeit: bool) -> GameResult:
        st = self.state
        statuses: dict[str, PlayerStanding] = {}
        for p in self.players:
            if p.active:
                detail = "ok"
                if p.strikes:
                    detail = f"ok, {len(p.strikes)} strike(s) (" + "; ".join(p.strikes) + ")"
                statuses[p.id] = {"status": "ok", "detail": detail}
            else:
                statuses[p.id] = {"status": "forfeit", "detail": p.detail}
        alive = [p for p in self.players if p.active]
        if ended_by_forfeit:
            gone = ", ".join(p.id for p in self.players if not p.active)
            if not alive:
                winner, reason = None, "all players forfeited"
            elif len(alive) == 1:
                winner, reason = alive[0].id, f"forfeit by {gone}"
            else:  # cannot happen: play() stops when fewer than two remain
                raise AssertionError("referee bug: forfeit end with two players left")
        else:
            ids = [p.id for p in alive]
            winner = winner_by_score(ids, [st.scores[p.index] for p in alive])
            reason = "higher score" if winner else "draw: equal scores"
            if len(alive) < len(self.players):
                reason += " among players who did not forfeit"
        return make_result(self.ids, st.scores, winner, reason, st.turn, statuses)


def play_match(conns: Sequence[Conn], settings: Settings, output_dir: str | None = None,
               pauser: Pauser | None = None) -> GameResult:
    """Play a match over already-open descriptors: conns = [(id, rfd, wfd), ...]."""
    return Match(conns, settings, output_dir, pauser).play()


# --- command line ---------------------------------------------------------------------------

def add_settings_args(ap: argparse.ArgumentParser) -> None:
    d, g = Settings(), GameConfig()
    ap.add_argument("--seed", type=int, required=True, help=f"0..{MAX_SEED}")
    ap.add_argument("--turns", type=int, default=g.turns)
    ap.add_argument("--width", type=int, default=g.width)
    ap.add_argument("--height", type=int, default=g.height)
    ap.add_argument("--gems", type=int, default=g.gems)
    ap.add_argument("--wall-percent", type=int, default=g.wall_percent)
    ap.add_argument("--turn-timeout-ms", type=int, default=d.turn_timeout_ms)
    ap.add_argument("--first-turn-timeout-ms", type=int, default=d.first_turn_timeout_ms,
                    help="deadline of turn 1, which includes the players' start-up")
    ap.add_argument("--max-strikes", type=int, default=d.max_strikes)


def settings_from_args(args: argparse.Namespace) -> Settings:
    game = GameConfig(width=args.width, height=args.height, turns=args.turns,
                      gems=args.gems, wall_percent=args.wall_percent)
    return Settings(seed=args.seed, game=game, turn_timeout_ms=args.turn_timeout_ms,
                    first_turn_timeout_ms=args.first_turn_timeout_ms,
                    max_strikes=args.max_strikes)


class _ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def main(argv: Sequence[str] | None = None) -> int:
    ap = _ArgParser(prog="python3 -m game.referee", description=__doc__.split("\n\n")[0])
    add_settings_args(ap)
    try:
        args = ap.parse_args(argv)
        settings = settings_from_args(args)
        conns = parse_players(os.environ.get("GAME_PLAYERS", ""))
        pauser = parse_control(os.environ.get("GAME_CONTROL", ""))
        settings.validate(len(conns))
        output_dir = os.environ.get("GAME_OUTPUT_DIR") or None
        if output_dir is None:
            print("referee: GAME_OUTPUT_DIR unset, no replay", file=sys.stderr)
        match = Match(conns, settings, output_dir, pauser)
    except (ConfigError, ValueError) as e:
        print(f"referee: {e}", file=sys.stderr)
        return 2
    try:
        result = match.play()
    except Exception:  # a bug in the referee, never a player's doing
        import traceback
        traceback.print_exc()
        return 3
    sys.stdout.write(dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
