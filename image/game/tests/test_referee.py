"""The referee: line handling, GAME_PLAYERS, and whole matches against real bot processes."""

import json
import os
import subprocess
import tempfile
import threading
import time
import unittest
from collections.abc import Sequence
from typing import ClassVar

import helpers
from helpers import FAST, bot_path, check_replay, check_result, example, local_match, pipes

from game.local_match import ProcessPauser
from game.referee import (
    LINE_CAP,
    TOO_LONG,
    ConfigError,
    LineReader,
    Settings,
    make_result,
    parse_control,
    parse_move,
    parse_players,
    play_match,
    player_id_from_path,
    unique_ids,
)


class LineReaderTest(unittest.TestCase):
    def test_splits_lines_across_chunks(self) -> None:
        r = LineReader()
        self.assertEqual(r.feed(b"N\nS"), [b"N"])
        self.assertEqual(r.feed(b"TA"), [])
        self.assertEqual(r.feed(b"Y\n\nE\n"), [b"STAY", b"", b"E"])

    def test_cap_is_inclusive_of_the_newline(self) -> None:
        r = LineReader()
        self.assertEqual(r.feed(b"x" * (LINE_CAP - 1) + b"\n"), [b"x" * (LINE_CAP - 1)])
        self.assertEqual(r.feed(b"x" * LINE_CAP + b"\nN\n"), [TOO_LONG, b"N"])

    def test_ten_megabytes_without_newline_stay_bounded(self) -> None:
        r = LineReader()
        events = []
        chunk = b"y" * 65536
        for _ in range(160):  # 10 MiB
            events += r.feed(chunk)
            self.assertLess(len(r.buf), LINE_CAP)
        self.assertEqual(events, [TOO_LONG])
        self.assertEqual(r.feed(b"yyy\nW\n"), [b"W"])  # the long line ends; the next counts

    def test_parse_move(self) -> None:
        self.assertEqual(parse_move(b"N"), ("N", None))
        self.assertEqual(parse_move(b" STAY\r"), ("STAY", None))
        for bad in (b"n", b"", b"\xff\xfe", b'"N"', b"NORTH", b"N S", TOO_LONG):
            move, why = parse_move(bad)
            self.assertIsNone(move, bad)
            self.assertIsInstance(why, str)
        self.assertLess(len(str(parse_move(b"z" * 4000)[1])), 60)


class PlayersEnvTest(unittest.TestCase):
    def test_parse(self) -> None:
        self.assertEqual(parse_players("alice:3:4,bob-2:5:6"), [("alice", 3, 4), ("bob-2", 5, 6)])

    def test_rejects(self) -> None:
        for bad in ("", "alice:3:4", "Alice:3:4,bob:5:6", "a:3:4,a:5:6", "a:3,b:5:6",
                    "a:x:4,b:5:6", "a:-1:4,b:5:6", "a:3:4:5,b:5:6", "a:\u00b2:4,b:5:6",
                    "a:3:4,b:5:6,c:7:8,d:9:10,e:11:12", "a" * 64 + ":3:4,b:5:6"):
            with self.assertRaises(ConfigError, msg=bad):
                parse_players(bad)

    def test_ids_from_paths(self) -> None:
        self.assertEqual(player_id_from_path("/x/My Bot_v2.py"), "my-bot-v2")
        self.assertEqual(player_id_from_path("/x/__.py"), "bot")
        self.assertEqual(unique_ids(["a", "a", "b", "a"]), ["a", "a-2", "b", "a-3"])


IDS = ["random", "greedy"]


class ResultSchemaTest(unittest.TestCase):
    """schemas/v1/game-result.json is generated from the runner's reader of the result; every
    real result in this suite goes through it (helpers.check_result). It must also refuse."""

    GOOD: ClassVar[dict[str, object]] = {
        "winner": "alice", "scores": {"alice": 3, "bob": 1}, "reason": "higher score",
        "turns": 100, "players": {"alice": {"status": "ok", "detail": "ok"},
                                      "bob": {"status": "forfeit", "detail": "turn 9: x"}}}

    def test_make_result_matches_the_schema(self) -> None:
        r = make_result(["alice", "bob"], [3, 1], "alice", "higher score", 100,
                        {"alice": {"status": "ok", "detail": "ok"},
                         "bob": {"status": "ok", "detail": "ok"}})
        self.assertEqual(helpers.result_schema_errors(r), [])
        self.assertEqual(helpers.result_schema_errors(self.GOOD), [])
        draw = dict(self.GOOD, winner=None, reason="draw: equal scores")
        self.assertEqual(helpers.result_schema_errors(draw), [])

    def test_the_schema_refuses_what_the_runner_refuses(self) -> None:
        def broken(**changes: object) -> dict[str, object]:
            r: dict[str, object] = json.loads(json.dumps(self.GOOD))
            r.update(changes)
            return r
        no_winner = broken()
        del no_winner["winner"]
        for bad in (no_winner, broken(bonus=1), broken(turns=-1), broken(scores={"alice": "3"}),
                    broken(winner="Alice"), broken(winner="referee"),
                    broken(players={"alice": {"status": "won", "detail": ""}}),
                    broken(players={"alice": {"status": "ok", "detail": "", "x": 1}})):
            self.assertNotEqual(helpers.result_schema_errors(bad), [], bad)


class MatchTest(unittest.TestCase):
    def test_full_match_is_deterministic(self) -> None:
        bots = [example("random"), example("greedy")]
        r1, replay1, _ = local_match(self, bots, seed=11)
        r2, replay2, _ = local_match(self, bots, seed=11)
        check_result(self, r1, IDS)
        self.assertEqual(r1, r2)
        self.assertEqual(replay1, replay2)
        lines = check_replay(self, replay1, r1, IDS)
        self.assertEqual(r1["turns"], 100)
        self.assertEqual(r1["players"], {i: {"status": "ok", "detail": "ok"} for i in IDS})
        self.assertEqual(r1["winner"], "greedy")  # greedy beats random on this seed, by far
        self.assertGreater(r1["scores"]["greedy"], r1["scores"]["random"] + 10)
        self.assertEqual(sum(r1["scores"].values()),
                         sum(len(t["collected"]) for t in lines[1:-1]))
        _r3, replay3, _ = local_match(self, bots, seed=12)
        self.assertNotEqual(replay1, replay3)

    def test_crasher_forfeits(self) -> None:
        r, replay, out = local_match(self, [example("crasher"), example("greedy")])
        check_result(self, r, ["crasher", "greedy"])
        check_replay(self, replay, r, ["crasher", "greedy"])
        self.assertEqual(r["winner"], "greedy")
        self.assertEqual(r["turns"], 3)  # it raises on turn 3
        self.assertEqual(r["players"]["crasher"]["status"], "forfeit")
        self.assertIn("closed its pipe", r["players"]["crasher"]["detail"])
        with open(os.path.join(out, "crasher.stderr.log")) as f:
            log = f.read()
        self.assertIn("crashing on purpose", log)
        self.assertIn("still fine", log)  # its print() went to its log, not the protocol

    def test_both_crash_is_a_draw(self) -> None:
        r, _replay, _ = local_match(self, [example("crasher"), example("crasher")])
        check_result(self, r, ["crasher", "crasher-2"])
        self.assertIsNone(r["winner"])
        self.assertEqual(r["reason"], "all players forfeited")
        self.assertEqual(r["turns"], 3)

    def test_hanging_bot_forfeits_after_timeouts(self) -> None:
        t0 = time.monotonic()
        r, replay, _ = local_match(self, [bot_path("hang"), example("random")], *FAST)
        self.assertLess(time.monotonic() - t0, 8)
        check_result(self, r, ["hang", "random"])
        check_replay(self, replay, r, ["hang", "random"])
        self.assertEqual(r["winner"], "random")
        self.assertEqual(r["turns"], 3)
        detail = r["players"]["hang"]["detail"]
        self.assertEqual(detail.count("timeout"), 3, detail)
        self.assertTrue(detail.startswith("turn 3: 3 strikes"), detail)

    def test_garbage_forfeits(self) -> None:
        r, replay, _ = local_match(self, [example("greedy"), bot_path("garbage")], *FAST)
        check_result(self, r, ["greedy", "garbage"])
        check_replay(self, replay, r, ["greedy", "garbage"])
        self.assertEqual((r["winner"], r["turns"]), ("greedy", 3))
        detail = r["players"]["garbage"]["detail"]
        self.assertEqual(detail.count("invalid move"), 3, detail)
        self.assertIn("hello", detail)
        lines = [json.loads(x) for x in replay.splitlines()]
        self.assertEqual([t["moves"]["garbage"] for t in lines[1:-1]], ["STAY"] * 3)

    def test_ten_megabyte_line_forfeits(self) -> None:
        t0 = time.monotonic()
        r, replay, _ = local_match(self, [bot_path("flood"), example("greedy")], *FAST)
        self.assertLess(time.monotonic() - t0, 8)
        check_result(self, r, ["flood", "greedy"])
        check_replay(self, replay, r, ["flood", "greedy"])
        self.assertEqual((r["winner"], r["turns"]), ("greedy", 3))
        detail = r["players"]["flood"]["detail"]
        self.assertIn(f"turn 1: line over {LINE_CAP} bytes", detail)
        self.assertIn("turn 2: timeout", detail)
        self.assertLess(len(replay), 64 * 1024)

    def test_bot_that_exits_at_once(self) -> None:
        r, replay, _ = local_match(self, [example("random"), bot_path("exit_now")])
        check_result(self, r, ["random", "exit-now"])
        check_replay(self, replay, r, ["random", "exit-now"])
        self.assertEqual((r["winner"], r["turns"]), ("random", 1))
        self.assertEqual(r["players"]["exit-now"],
                         {"status": "forfeit", "detail": "turn 1: closed its pipe (exited or crashed)"})

    def test_late_answer_is_dropped_and_bot_stays_in_step(self) -> None:
        # Turn 2 waits 400 ms; the answer comes at 600 ms, inside turn 3's window.
        r, replay, _ = local_match(self, [bot_path("late"), example("greedy")], "--turns", "8",
                                   "--turn-timeout-ms", "400")
        check_result(self, r, ["late", "greedy"])
        self.assertEqual(r["turns"], 8)
        self.assertEqual(r["players"]["late"],
                         {"status": "ok", "detail": "ok, 1 strike(s) (turn 2: timeout)"})
        lines = [json.loads(x) for x in replay.splitlines()]
        dropped = [t["turn"] for t in lines[1:-1]
                   if "late line dropped" in t.get("events", {}).get("late", [])]
        self.assertEqual(dropped, [3])

    def test_print_in_bot_is_harmless(self) -> None:
        r, _, out = local_match(self, [bot_path("chatty"), example("random")], "--turns", "10")
        self.assertEqual(r["players"]["chatty"], {"status": "ok", "detail": "ok"})
        with open(os.path.join(out, "chatty.stderr.log")) as f:
            log = f.read()
        self.assertIn("thinking about turn 10", log)
        self.assertIn("raw noise on fd 1", log)

    def test_unrequested_lines_are_strikes(self) -> None:
        r, _, _ = local_match(self, [bot_path("double"), example("random")], *FAST)
        self.assertEqual((r["winner"], r["turns"]), ("random", 3))
        self.assertEqual(r["players"]["double"]["detail"].count("unrequested line"), 3)

    def test_three_players(self) -> None:
        r, replay, _ = local_match(self, [example("greedy"), example("random"),
                                          example("greedy")], "--turns", "20")
        ids = ["greedy", "random", "greedy-2"]
        check_result(self, r, ids)
        check_replay(self, replay, r, ids)


class RecordingPauser(ProcessPauser):
    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(pids)
        self.log: list[tuple[str, str]] = []

    def signal(self, verb: str, pid: str) -> None:
        self.log.append((verb, pid))
        super().signal(verb, pid)


class PauseTest(unittest.TestCase):
    """A player runs only while the referee waits for its answer."""

    def spawn(self, bots: Sequence[str]) -> list[subprocess.Popen[bytes]]:
        procs = [subprocess.Popen([helpers.PYTHON, b], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  env=helpers.env()) for b in bots]
        for p in procs:
            self.addCleanup(RefereeCliTest._reap, p)
        return procs

    def test_each_player_is_stopped_after_each_turn_and_continued_for_the_next(self) -> None:
        procs = self.spawn([example("random"), example("greedy")])
        pauser = RecordingPauser({i: p.pid for i, p in zip(IDS, procs, strict=False)})
        conns = [(i, pipes(p)[0].fileno(), pipes(p)[1].fileno()) for i, p in zip(IDS, procs, strict=False)]
        result = play_match(conns, Settings(seed=11), None, pauser)
        for pid in IDS:
            verbs = [v for v, who in pauser.log if who == pid]
            # stop after turn 1, cont before turn 2, ..., stop after turn 100, cont for the end
            self.assertEqual(verbs, ["stop", "cont"] * result["turns"], pid)
        self.assertEqual(pauser.stopped, set())
        local, _, _ = local_match(self, [example("random"), example("greedy")], seed=11)
        self.assertEqual(result, local, "pausing changes nothing in the game")
        for p in procs:
            pipes(p)[1].close()
            self.assertEqual(p.wait(timeout=5), 0, "the bots read the end and left")

    def test_a_bot_that_never_answers_is_stopped_between_turns_too(self) -> None:
        procs = self.spawn([bot_path("hang"), example("random")])
        pauser = RecordingPauser({i: p.pid for i, p in zip(["hang", "random"], procs, strict=False)})
        conns = [(i, pipes(p)[0].fileno(), pipes(p)[1].fileno())
                 for i, p in zip(["hang", "random"], procs, strict=False)]
        settings = Settings(seed=1, turn_timeout_ms=150, first_turn_timeout_ms=1500)
        result = play_match(conns, settings, None, pauser)
        self.assertEqual(result["winner"], "random")
        verbs = [v for v, who in pauser.log if who == "hang"]
        self.assertEqual(verbs, ["stop", "cont", "stop", "cont", "stop", "cont"])

    def test_game_control_must_be_two_descriptors(self) -> None:
        self.assertIsNone(parse_control(""))
        for bad in ("7", "7:", ":8", "a:b", "7:8:9", "-1:8"):
            with self.assertRaises(ConfigError, msg=bad):
                parse_control(bad)


class RefereeCliTest(unittest.TestCase):
    """The runner's contract: fds in GAME_PLAYERS, replay in GAME_OUTPUT_DIR, result on stdout."""

    def spawn_bot(self, path: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen([helpers.PYTHON, path], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=helpers.env())
        self.addCleanup(self._reap, p)
        return p

    @staticmethod
    def _reap(p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            p.kill()
        assert p.stdin is not None and p.stdout is not None
        p.stdin.close()
        p.stdout.close()
        p.wait()

    @staticmethod
    def referee(bots: Sequence[subprocess.Popen[bytes]], output_dir: str | None = None,
                control: tuple[int, int] | None = None) -> subprocess.CompletedProcess[bytes]:
        """`python3 -m game.referee --seed 11` on these bots (ids IDS), as the runner starts
        it: GAME_PLAYERS, and GAME_OUTPUT_DIR and GAME_CONTROL (rfd, wfd) when given."""
        fds = [(pipes(b)[0].fileno(), pipes(b)[1].fileno()) for b in bots]
        env = helpers.env()
        env["GAME_PLAYERS"] = ",".join(f"{i}:{r}:{w}" for i, (r, w) in zip(IDS, fds, strict=False))
        passed = [fd for pair in fds for fd in pair]
        if output_dir:
            env["GAME_OUTPUT_DIR"] = output_dir
        if control:
            env["GAME_CONTROL"] = f"{control[0]}:{control[1]}"
            passed += control
        return subprocess.run([helpers.PYTHON, "-m", "game.referee", "--seed", "11"],
                              cwd=helpers.GAME_ROOT, env=env, capture_output=True, timeout=60,
                              pass_fds=passed)

    def test_same_match_as_local_match(self) -> None:
        bots = [self.spawn_bot(example("random")), self.spawn_bot(example("greedy"))]
        out = tempfile.mkdtemp(prefix="game-test-")
        self.addCleanup(helpers._rmtree, out)
        p = self.referee(bots, output_dir=out)
        self.assertEqual(p.returncode, 0, p.stderr)
        result = json.loads(p.stdout)
        check_result(self, result, IDS)
        self.assertEqual(os.listdir(out), ["replay.jsonl"])  # the temp file was renamed
        with open(os.path.join(out, "replay.jsonl"), "rb") as f:
            replay = f.read()
        check_replay(self, replay, result, IDS)
        r2, replay2, _ = local_match(self, [example("random"), example("greedy")], seed=11)
        self.assertEqual((result, replay), (r2, replay2))
        # Both bots got the end message and returned from run(): they exit by themselves.
        for b in bots:
            pipes(b)[1].close()
            self.assertEqual(b.wait(timeout=5), 0)

    def test_control_channel(self) -> None:
        """Through GAME_CONTROL, as the runner gives it: this test plays the runner's part,
        answering each request and doing what it asks."""
        bots = [self.spawn_bot(example("random")), self.spawn_bot(example("greedy"))]
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        pauser = RecordingPauser({i: b.pid for i, b in zip(IDS, bots, strict=False)})
        stopped = pauser.stopped

        def runner_side() -> None:
            with os.fdopen(req_r, "rb") as requests, os.fdopen(ans_w, "wb", 0) as answers:
                for line in requests:
                    verb, _, pid = line.decode().strip().partition(" ")
                    (pauser.stop if verb == "stop" else pauser.cont)(pid)
                    answers.write(b"ok\n")

        t = threading.Thread(target=runner_side, daemon=True)
        t.start()
        p = self.referee(bots, control=(ans_r, req_w))
        os.close(ans_r)
        os.close(req_w)
        t.join(timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        result = json.loads(p.stdout)
        r2, _, _ = local_match(self, [example("random"), example("greedy")], seed=11)
        self.assertEqual(result, r2)
        self.assertEqual(len(pauser.log), 4 * result["turns"], pauser.log[:6])
        self.assertEqual(stopped, set())

    def test_a_refused_request_is_a_referee_error(self) -> None:
        bots = [self.spawn_bot(example("random")), self.spawn_bot(example("greedy"))]
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        os.write(ans_w, b"error no player \"random\"\n")
        p = self.referee(bots, control=(ans_r, req_w))
        for fd in (req_r, req_w, ans_r, ans_w):
            os.close(fd)
        self.assertEqual((p.returncode, p.stdout), (3, b""), p.stderr)
        self.assertIn(b"ControlError", p.stderr)

    def test_bad_environment_gives_no_result(self) -> None:
        env = helpers.env()
        for players in ("", "alice:3:4", "alice:3:4,bob:97:98", "Bob:3:4,x:5:6"):
            env["GAME_PLAYERS"] = players
            p = subprocess.run([helpers.PYTHON, "-m", "game.referee", "--seed", "1"],
                               cwd=helpers.GAME_ROOT, env=env, capture_output=True, timeout=30)
            self.assertEqual((p.returncode, p.stdout), (2, b""), (players, p.stderr))
        env["GAME_PLAYERS"] = "a:3:4,b:5:6"
        for args in ([], ["--seed", "x"], ["--seed", "1", "--width", "99"], ["--seed", "-1"]):
            p = subprocess.run([helpers.PYTHON, "-m", "game.referee", *args],
                               cwd=helpers.GAME_ROOT, env=env, capture_output=True, timeout=30)
            self.assertEqual((p.returncode, p.stdout), (2, b""), (args, p.stderr))


if __name__ == "__main__":
    unittest.main()
