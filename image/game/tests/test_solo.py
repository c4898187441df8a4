"""The single-process form: the game imports the bot."""

import json
import os
import tempfile
import unittest
from typing import Any

import helpers
from helpers import bot_path, check_replay, check_result, example, run_module


def solo(tc: unittest.TestCase, *args: str, output_dir: str | None = None) -> tuple[dict[str, Any], bytes]:
    extra = ["--output-dir", output_dir] if output_dir else []
    rc, out, err = run_module("game.solo", *args, *extra)
    tc.assertEqual(rc, 0, err.decode(errors="replace"))
    tc.assertEqual(out.count(b"\n"), 1, out)  # the result only, whatever the bot prints
    return json.loads(out), err


class SoloTest(unittest.TestCase):
    def test_alone_reaches_target(self) -> None:
        out = tempfile.mkdtemp(prefix="game-test-")
        self.addCleanup(helpers._rmtree, out)
        r, _ = solo(self, "--bot", example("greedy"), "--seed", "1", "--opponent", "none",
                    output_dir=out)
        check_result(self, r, ["greedy"])
        self.assertEqual(r["winner"], "greedy")
        self.assertEqual(r["reason"], "target 15 reached")
        self.assertEqual(r["turns"], 100)
        with open(os.path.join(out, "replay.jsonl"), "rb") as f:
            check_replay(self, f.read(), r, ["greedy"])

    def test_alone_below_target(self) -> None:
        r, _ = solo(self, "--bot", example("greedy"), "--seed", "1", "--opponent", "none",
                    "--target", "1000")
        self.assertIsNone(r["winner"])
        self.assertEqual(r["reason"], "target 1000 not reached")

    def test_against_scripted_opponent_is_deterministic(self) -> None:
        args = ["--bot", example("random"), "--seed", "4", "--opponent", "greedy"]
        r1, _ = solo(self, *args)
        r2, _ = solo(self, *args)
        check_result(self, r1, ["random", "scripted-greedy"])
        self.assertEqual(r1, r2)
        self.assertEqual(r1["winner"], "scripted-greedy")

    def test_same_game_as_the_piped_form(self) -> None:
        # The scripted random opponent plays exactly like examples/bots/random.py, so with the
        # same ids the solo game and the refereed game are the same game, turn for turn.
        solo_dir = tempfile.mkdtemp(prefix="game-test-")
        self.addCleanup(helpers._rmtree, solo_dir)
        r, _ = solo(self, "--bot", example("greedy"), "--seed", "6", "--opponent", "random",
                    output_dir=solo_dir)
        piped, piped_replay, _ = helpers.local_match(
            self, ["--id", "greedy", "--id", "scripted-random", example("greedy"),
                   example("random")], seed=6)
        with open(os.path.join(solo_dir, "replay.jsonl"), "rb") as f:
            solo_replay = f.read()
        self.assertEqual(solo_replay.splitlines()[:-1], piped_replay.splitlines()[:-1])
        self.assertEqual((r["winner"], r["scores"]), (piped["winner"], piped["scores"]))

    def test_crasher_forfeits(self) -> None:
        r, err = solo(self, "--bot", example("crasher"), "--seed", "2")
        check_result(self, r, ["crasher", "scripted-greedy"])
        self.assertEqual((r["winner"], r["turns"]), ("scripted-greedy", 3))
        self.assertEqual(r["players"]["crasher"]["detail"],
                         "turn 3: act() raised RuntimeError: crasher: crashing on purpose")
        self.assertIn(b"still fine", err)  # the bot's print() went to stderr

    def test_bot_behind_main_guard(self) -> None:
        r, _ = solo(self, "--bot", bot_path("guarded"), "--seed", "2", "--turns", "5")
        self.assertEqual(r["players"]["guarded"], {"status": "ok", "detail": "ok"})

    def test_bot_that_exits_while_loading(self) -> None:
        r, _ = solo(self, "--bot", bot_path("exit_now"), "--seed", "2")
        self.assertEqual((r["winner"], r["turns"]), ("scripted-greedy", 1))
        self.assertEqual(r["players"]["exit-now"]["status"], "forfeit")
        self.assertIn("SystemExit", r["players"]["exit-now"]["detail"])

    def test_slow_act_gets_strikes(self) -> None:
        r, _ = solo(self, "--bot", bot_path("late"), "--seed", "2", "--turns", "4",
                    "--turn-timeout-ms", "100")
        self.assertEqual(r["players"]["late"],
                         {"status": "ok", "detail": "ok, 1 strike(s) (turn 2: timeout)"})


if __name__ == "__main__":
    unittest.main()
