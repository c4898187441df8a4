"""Single-process form: the game imports the bot and calls its act() directly.

    python3 -m game.solo --bot FILE --seed N [--opponent greedy|random|none] [--target K]

For single-player levels and quick tries. The bot plays against a built-in scripted
opponent (default greedy), or alone with --opponent none, where it wins if it collects at
least --target gems. Prints the result JSON (same schema as the referee) on stdout;
writes replay.jsonl to --output-dir or $GAME_OUTPUT_DIR if given.

The bot runs inside the game's process, so this form cannot protect the result from the
bot and cannot interrupt an act() that never returns: an act() slower than the turn's
deadline only has its move discarded (a strike) once it returns. Use the referee for
anything that counts.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time

from . import sdk
from .referee import (
    Replay,
    Settings,
    add_settings_args,
    dumps,
    make_result,
    player_id_from_path,
    replay_header,
    replay_turn,
    settings_from_args,
    unique_ids,
)
from .rules import GameState, Rng, winner_by_score
from .sdk import first_step, neighbours

# Types for mypy only: importing typing would cost the start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .referee import GameResult, PlayerStanding
    from .sdk import Act, Observation

DEFAULT_TARGET = 15


# --- scripted opponents ---------------------------------------------------------------------

def greedy_opponent() -> Act:
    def act(obs: Observation) -> object:
        me = obs["positions"][obs["you"]]
        move, _ = first_step(obs, me, obs["gems"])
        return move or "STAY"
    return act


def random_opponent() -> Act:
    rng: Rng | None = None

    def act(obs: Observation) -> object:
        nonlocal rng
        if rng is None:
            rng = Rng(obs["rng_seed"])
        x, y = obs["positions"][obs["you"]]
        return rng.choice([m for m, _ in neighbours(obs, x, y)] + ["STAY"])
    return act


OPPONENTS = {"greedy": greedy_opponent, "random": random_opponent}


# --- loading the bot ------------------------------------------------------------------------

def load_bot(path: str) -> tuple[Act, None] | tuple[None, str]:
    """Import the bot file; return (act, None) or (None, why)."""
    sdk._capture = []
    try:
        spec = importlib.util.spec_from_file_location("_game_bot", path)
        if spec is None or spec.loader is None:
            return None, f"cannot import {path}"
        module = importlib.util.module_from_spec(spec)
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in sys.path:
            sys.path.append(folder)  # its helper modules, after the standard library
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        return None, f"crashed while loading: {_describe(e)}"
    finally:
        captured, sdk._capture = sdk._capture, None
    act = captured[0] if captured else getattr(module, "act", None)
    if not callable(act):
        return None, "defines no act(observation) and never calls run(act)"
    return act, None


def _describe(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= 200 else text[:197] + "..."


# --- the game -------------------------------------------------------------------------------

def play_solo(bot_path: str, settings: Settings, opponent: str = "greedy",
              target: int = DEFAULT_TARGET, output_dir: str | None = None) -> GameResult:
    ids = [player_id_from_path(bot_path)]
    if opponent != "none":
        ids = unique_ids([*ids, f"scripted-{opponent}"])
    settings.validate(len(ids))
    opponents = [OPPONENTS[opponent]() for _ in ids[1:]]
    bot_act, load_error = load_bot(bot_path)
    st = GameState(settings.game, settings.seed, len(ids))
    replay = Replay(output_dir)
    replay.write(replay_header(settings, st, ids))
    strikes: list[str] = []
    detail: str | None = None
    while not st.finished():
        turn = st.turn + 1
        timeout_ms = settings.first_turn_timeout_ms if turn == 1 else settings.turn_timeout_ms
        moves: list[object] = []
        events: list[str] = []
        for i in range(len(ids)):
            obs = st.observation(ids, i, timeout_ms=timeout_ms)
            if i > 0:
                moves.append(opponents[i - 1](obs))
                continue
            if bot_act is None:
                detail = f"turn {turn}: {load_error}"
            else:
                obs = json.loads(dumps(obs))  # a private copy, exactly as a piped bot sees it
                t0 = time.monotonic()
                try:
                    move = sdk._normalise(bot_act(obs))
                except KeyboardInterrupt:
                    raise
                except BaseException as e:
                    detail = f"turn {turn}: act() raised {_describe(e)}"
                    move = "STAY"
                if detail is None and (time.monotonic() - t0) * 1000 > timeout_ms:
                    strikes.append(f"turn {turn}: timeout")
                    events.append("timeout")
                    move = "STAY"
                    if len(strikes) >= settings.max_strikes:
                        detail = (f"turn {turn}: {len(strikes)} strikes ("
                                  + "; ".join(strikes) + ")")
            if detail is not None:
                events.append("forfeit")
                move = "STAY"
            moves.append(move)
        collected = st.step(moves)
        replay.write(replay_turn(st, ids, moves, collected, {ids[0]: events} if events else {}))
        if detail is not None:
            break

    statuses: dict[str, PlayerStanding] = {pid: {"status": "ok", "detail": "scripted"} for pid in ids[1:]}
    if detail is not None:
        statuses[ids[0]] = {"status": "forfeit", "detail": detail}
    else:
        ok = "ok" if not strikes else (f"ok, {len(strikes)} strike(s) ("
                                       + "; ".join(strikes) + ")")
        statuses[ids[0]] = {"status": "ok", "detail": ok}
    statuses = {pid: statuses[pid] for pid in ids}
    if detail is not None:
        winner = ids[1] if len(ids) > 1 else None
        reason = f"forfeit by {ids[0]}"
    elif len(ids) == 1:
        reached = st.scores[0] >= target
        winner = ids[0] if reached else None
        reason = f"target {target} {'reached' if reached else 'not reached'}"
    else:
        winner = winner_by_score(ids, st.scores)
        reason = "higher score" if winner else "draw: equal scores"
    result = make_result(ids, st.scores, winner, reason, st.turn, statuses)
    replay.write({"type": "result", **result})
    replay.close()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    # Whatever the bot prints goes to stderr; stdout carries the result only.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    ap = argparse.ArgumentParser(prog="python3 -m game.solo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--bot", required=True, help="the bot's .py file")
    ap.add_argument("--opponent", choices=["none", *OPPONENTS], default="greedy")
    ap.add_argument("--target", type=int, default=DEFAULT_TARGET,
                    help="gems to collect to win when playing alone")
    ap.add_argument("--output-dir", default=os.environ.get("GAME_OUTPUT_DIR"))
    add_settings_args(ap)
    args = ap.parse_args(argv)
    if not os.path.isfile(args.bot):
        ap.error(f"no such file: {args.bot}")
    try:
        settings = settings_from_args(args)
        result = play_solo(args.bot, settings, args.opponent, args.target, args.output_dir)
    except ValueError as e:
        print(f"solo: {e}", file=sys.stderr)
        return 2
    out.write(dumps(result) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
