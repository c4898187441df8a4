"""Shared paths and checks for the game tests."""

import importlib
import json
import os
import subprocess
import sys
import tempfile
import unittest
from collections.abc import Sequence
from typing import IO, Any

HERE = os.path.dirname(os.path.abspath(__file__))
GAME_ROOT = os.path.dirname(HERE)  # image/game: holds the `game` package
REPO = os.path.dirname(os.path.dirname(GAME_ROOT))
EXAMPLES = os.path.join(REPO, "examples", "bots")
TEST_BOTS = os.path.join(HERE, "bots")
PYTHON = sys.executable
if GAME_ROOT not in sys.path:
    sys.path.insert(0, GAME_ROOT)

# Short deadlines keep the suite fast; turn 1 also covers the bots' start-up.
FAST = ["--turn-timeout-ms", "150", "--first-turn-timeout-ms", "1500"]


def example(name: str) -> str:
    return os.path.join(EXAMPLES, name + ".py")


def bot_path(name: str) -> str:
    return os.path.join(TEST_BOTS, name + ".py")


def pipes(p: "subprocess.Popen[bytes]") -> tuple[IO[bytes], IO[bytes]]:
    """(stdout, stdin) of a bot started with both piped."""
    if p.stdout is None or p.stdin is None:
        raise AssertionError("the bot was started without pipes")
    return p.stdout, p.stdin


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = GAME_ROOT
    e.pop("GAME_OUTPUT_DIR", None)
    e.pop("GAME_PLAYERS", None)
    return e


def run_module(module: str, *args: str, timeout: float = 30) -> tuple[int, bytes, bytes]:
    """Run `python3 -m module args`; return (returncode, stdout, stderr)."""
    p = subprocess.run([PYTHON, "-m", module, *args], cwd=GAME_ROOT, env=env(),
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def local_match(tc: unittest.TestCase, bots: Sequence[str], *extra: str,
                seed: int = 1) -> tuple[dict[str, Any], bytes, str]:
    """Play a local match; return (result, replay bytes, output dir)."""
    out = tempfile.mkdtemp(prefix="game-test-")
    tc.addCleanup(_rmtree, out)
    rc, stdout, stderr = run_module("game.local_match", "--seed", str(seed), "--output-dir",
                                    out, *extra, *bots)
    tc.assertEqual(rc, 0, stderr.decode(errors="replace"))
    tc.assertEqual(stdout.count(b"\n"), 1, "exactly one line on stdout")
    result: dict[str, Any] = json.loads(stdout)
    with open(os.path.join(out, "replay.jsonl"), "rb") as f:
        replay = f.read()
    return result, replay, out


def _rmtree(path: str) -> None:
    for root, dirs, files in os.walk(path, topdown=False):
        for f in files:
            os.unlink(os.path.join(root, f))
        for d in dirs:
            os.rmdir(os.path.join(root, d))
    os.rmdir(path)


RESULT_SCHEMA_PATH = os.path.join(REPO, "schemas", "v1", "game-result.json")


def result_schema_errors(r: object) -> list[str]:
    """What keeps `r` from matching schemas/v1/game-result.json, the schema generated from the
    runner's `GameResult` (the type that reads the referee's result)."""
    # The reference validator; a missing module fails the test, never skips it. Imported by
    # name: it ships no type information.
    jsonschema = importlib.import_module("jsonschema")
    with open(RESULT_SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    return [str(e.message) for e in validator.iter_errors(r)]


def check_result(tc: unittest.TestCase, r: dict[str, Any], ids: Sequence[str]) -> None:
    """The result schema of PROTOCOL.md, strictly, and the runner's schema of it."""
    tc.assertEqual(result_schema_errors(r), [], r)
    tc.assertIsInstance(r, dict)
    tc.assertEqual(set(r), {"winner", "scores", "reason", "turns", "players"})
    tc.assertTrue(r["winner"] is None or r["winner"] in ids, r["winner"])
    tc.assertEqual(list(r["scores"]), list(ids))
    for v in r["scores"].values():
        tc.assertIs(type(v), int)
        tc.assertGreaterEqual(v, 0)
    tc.assertIsInstance(r["reason"], str)
    tc.assertTrue(r["reason"])
    tc.assertIs(type(r["turns"]), int)
    tc.assertGreaterEqual(r["turns"], 1)
    tc.assertEqual(list(r["players"]), list(ids))
    for p in r["players"].values():
        tc.assertEqual(set(p), {"status", "detail"})
        tc.assertIn(p["status"], ("ok", "forfeit"))
        tc.assertIsInstance(p["detail"], str)
    tc.assertLess(len(json.dumps(r, separators=(",", ":")).encode()), 64 * 1024)
    # A forfeit never wins; a lone survivor of a forfeit always does.
    if r["winner"] is not None:
        tc.assertEqual(r["players"][r["winner"]]["status"], "ok")
    ok = [i for i in ids if r["players"][i]["status"] == "ok"]
    if len(ok) == 1 and len(ids) > 1:
        tc.assertEqual(r["winner"], ok[0])


def check_replay(tc: unittest.TestCase, replay: bytes, result: dict[str, Any],
                 ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every line is JSON: header, turns 1..n, result (equal to the printed one)."""
    tc.assertTrue(replay.endswith(b"\n"))
    lines = [json.loads(line) for line in replay.decode("ascii").splitlines()]
    tc.assertEqual(lines[0]["type"], "header")
    tc.assertEqual(lines[0]["players"], list(ids))
    tc.assertEqual(lines[-1], {"type": "result", **result})
    turns = lines[1:-1]
    tc.assertEqual([t["type"] for t in turns], ["turn"] * len(turns))
    tc.assertEqual([t["turn"] for t in turns], list(range(1, result["turns"] + 1)))
    tc.assertEqual(turns[-1]["scores"], result["scores"])
    return lines
