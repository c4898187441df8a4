"""The replay viewer without a browser: reading replays, the text form, and the page's markup.
tests/viewer/run checks the page itself in headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import tempfile
import unicodedata
import unittest
from html.parser import HTMLParser
from typing import Any

import helpers
from helpers import FAST, bot_path, example, local_match, run_module

from game.viewer import (
    Replay,
    ReplayError,
    Verdict,
    board_lines,
    clean,
    parse_replay,
    parse_verdicts,
    render_html,
    render_text,
)

# Markup and terminal control sequences, as a name or as bot text in a replay would carry them.
HOSTILE_NAMES = [
    "</script><script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "\x1b[2J\x1b[31mred\x07",
]
HOSTILE_EVENT = "invalid move '<svg onload=alert(1)>' \x1b]0;title\x07 \u202egnp.exe \r\x9b1m \ud800"
# The elements the viewer writes itself; anything else in a page came from a replay.
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "noscript",
             "main", "div", "button", "input", "span", "select", "option", "table", "thead",
             "tbody", "tr", "th", "td", "ul", "script"}


class Tags(HTMLParser):
    """Start tags, attributes and script/style bodies of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.bodies: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in self.bodies else None

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.bodies[self._open].append(data)
            self._open = None


def tags_of(page: str) -> Tags:
    t = Tags()
    t.feed(page)
    t.close()
    return t


def real_match(tc: unittest.TestCase, bots: list[str],
               *extra: str) -> tuple[bytes, dict[str, Any]]:
    result, replay, _ = local_match(tc, bots, *FAST, *extra, seed=7)
    return replay, result


def renamed(replay: bytes, names: list[str]) -> bytes:
    """`replay` with its players renamed to `names` everywhere a player id appears."""
    lines = [json.loads(line) for line in replay.splitlines()]
    mapping = dict(zip(lines[0]["players"], names, strict=True))

    def walk(v: object) -> object:
        if isinstance(v, dict):
            return {mapping.get(k, k): walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return mapping.get(v, v) if isinstance(v, str) else v

    return b"".join(json.dumps(walk(line)).encode() + b"\n" for line in lines)


def with_event(replay: bytes, turn: int, player: str, text: str) -> bytes:
    lines = [json.loads(line) for line in replay.splitlines()]
    lines[turn].setdefault("events", {}).setdefault(player, []).append(text)
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


class RealMatchTest(unittest.TestCase):
    replay: bytes
    result: dict[str, Any]
    lines: list[dict[str, Any]]
    parsed: Replay
    _cleanups: unittest.TestCase

    @classmethod
    def setUpClass(cls) -> None:
        tc = unittest.TestCase()
        cls.replay, cls.result = real_match(tc, [example("random"), example("greedy")])
        cls._cleanups = tc  # keeps the output directory's cleanup with this class
        cls.lines = [json.loads(line) for line in cls.replay.splitlines()]
        cls.parsed = parse_replay(cls.replay)

    @classmethod
    def tearDownClass(cls) -> None:
        cls._cleanups.doCleanups()

    def test_reads_every_turn_of_a_real_replay(self) -> None:
        r = self.parsed
        self.assertEqual(r.players, ("random", "greedy"))
        self.assertEqual(len(r.turns), self.result["turns"])
        for n in range(len(r.turns) + 1):
            line = self.lines[n]  # line n+1 of the file: the header, then turn n
            want = {p: tuple(c) for p, c in line["positions"].items()}
            self.assertEqual(r.positions_at(n), want)
            self.assertEqual(sorted(r.gems_at(n)), sorted(tuple(g) for g in line["gems"]))
        self.assertEqual(r.result.winner, self.result["winner"])
        self.assertEqual(r.result.scores, self.result["scores"])

    def test_text_board_shows_the_positions_of_turn_n(self) -> None:
        for n in (0, 1, 37, len(self.parsed.turns)):
            rows = [row.split(" ") for row in board_lines(self.parsed, n)]
            line = self.lines[n]
            for letter, p in zip("AB", self.parsed.players, strict=True):
                x, y = line["positions"][p]
                self.assertEqual(rows[y][x], letter, f"turn {n}, {p}")
            for x, y in line["gems"]:
                if [x, y] not in line["positions"].values():
                    self.assertEqual(rows[y][x], "*")
            text = render_text(self.parsed, n)
            self.assertIn("\n".join("  " + " ".join(r) for r in rows), text)

    def test_text_has_a_line_per_turn_and_the_result(self) -> None:
        text = render_text(self.parsed)
        self.assertIn(f"result: {self.result['winner']} won ({self.result['reason']})", text)
        for t in self.lines[1:-1]:
            scores = "-".join(str(t["scores"][p]) for p in self.parsed.players)
            self.assertRegex(text, rf"\n +{t['turn']}  \S+ +\S+ +{scores}")
        with self.assertRaises(ReplayError):
            render_text(self.parsed, len(self.parsed.turns) + 1)

    def test_page_is_self_contained(self) -> None:
        page = render_html(self.parsed)
        tags = tags_of(page)
        for tag, attrs in tags.tags:
            self.assertIn(tag, PAGE_TAGS)
            for name in ("src", "href", "action", "srcset", "data"):
                self.assertNotIn(name, attrs, (tag, attrs))
        self.assertNotRegex(page, r"(?i)https?:|//[a-z]|@import|url\(")
        csp = next(a["content"] or "" for t, a in tags.tags if a.get("http-equiv") ==
                   "Content-Security-Policy")
        self.assertIn("default-src 'none'", csp)
        # The inline script and style run because the policy names their hashes, and
        # nothing else can: no 'unsafe-inline'.
        self.assertNotIn("unsafe", csp)
        script = tags.bodies["script"][-1]
        style = tags.bodies["style"][0]
        for body, directive in ((script, "script-src"), (style, "style-src")):
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            self.assertIn(f"{directive} 'sha256-{digest}'", csp)

    def test_page_data_is_the_replay(self) -> None:
        data = json.loads(tags_of(render_html(self.parsed)).bodies["script"][0])
        self.assertEqual(data["players"], self.lines[0]["players"])
        self.assertEqual(data["positions"], self.lines[0]["positions"])
        for t, line in zip(data["turns"], self.lines[1:-1], strict=True):
            for key in ("turn", "moves", "positions", "scores", "gems"):
                self.assertEqual(t[key], line[key])

    def test_page_shows_each_verdict_and_cause(self) -> None:
        page = render_html(self.parsed)
        for p in self.parsed.players:
            self.assertRegex(page, rf'<tr data-player="{p}">.*<td>ok</td><td class="cause">ok<')


class HostileReplayTest(unittest.TestCase):
    replay: Replay
    text_replay: Replay
    verdicts: dict[str, Verdict]
    _cleanups: unittest.TestCase

    @classmethod
    def setUpClass(cls) -> None:
        tc = unittest.TestCase()
        replay, _ = real_match(tc, [example("random"), example("greedy")], "--turns", "5")
        cls._cleanups = tc
        cls.replay = parse_replay(with_event(renamed(replay, HOSTILE_NAMES[:2]), 2,
                                             HOSTILE_NAMES[0], HOSTILE_EVENT))
        cls.verdicts = {HOSTILE_NAMES[1]: Verdict("policy_violation", "<b>socket</b>\x1b[0m")}
        cls.text_replay = parse_replay(with_event(renamed(replay, HOSTILE_NAMES[::2]), 2,
                                                  HOSTILE_NAMES[0], HOSTILE_EVENT))

    @classmethod
    def tearDownClass(cls) -> None:
        cls._cleanups.doCleanups()

    def test_page_shows_markup_as_text(self) -> None:
        page = render_html(self.replay, self.verdicts)
        tags = tags_of(page)
        self.assertEqual([t for t, _ in tags.tags if t == "script"], ["script", "script"])
        for tag, attrs in tags.tags:
            self.assertIn(tag, PAGE_TAGS)
            self.assertFalse([a for a in attrs if a.startswith("on")], (tag, attrs))
        for name in HOSTILE_NAMES[:2]:
            self.assertNotIn(name, page)
            self.assertIn(clean(name).replace("<", "&lt;").replace(">", "&gt;")
                          .replace('"', "&quot;"), page)
        self.assertNotIn("<b>socket", page)
        self.assertIn("&lt;b&gt;socket&lt;/b&gt;", page)
        # The data block: a JSON string cannot end the script element or open a comment.
        data = tags.bodies["script"][0]
        self.assertNotRegex(data, r"[<>&]")
        self.assertEqual(json.loads(data)["players"], HOSTILE_NAMES[:2])
        self.assertIn(HOSTILE_EVENT, json.loads(data)["turns"][1]["events"][HOSTILE_NAMES[0]])
        page.encode("utf-8")  # a lone surrogate from the replay does not break writing it

    def test_text_escapes_every_control_character(self) -> None:
        verdicts = {HOSTILE_NAMES[2]: self.verdicts[HOSTILE_NAMES[1]]}
        text = render_text(self.text_replay, verdicts=verdicts)
        bad = [c for c in text if c != "\n"
               and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
        self.assertEqual(bad, [])
        # Escaped, then padded: the score columns line up.
        a_line, b_line = (line for line in text.splitlines() if "  score " in line)
        self.assertTrue(b_line.startswith("  B \\x1b[2J\\x1b[31mred\\x07 "), b_line)
        self.assertEqual(a_line.index(" score "), b_line.index(" score "))
        self.assertIn("A invalid move '<svg onload=alert(1)>' \\x1b]0;title\\x07", text)
        self.assertIn("\\u202egnp.exe \\x0d\\x9b1m \\ud800", text)
        self.assertIn("[sandbox: policy_violation: <b>socket</b>\\x1b[0m]", text)
        text.encode("utf-8")

    def test_command_line_escapes_what_it_prints(self) -> None:
        d = tempfile.mkdtemp(prefix="viewer-test-")
        self.addCleanup(helpers._rmtree, d)
        path = os.path.join(d, "replay.jsonl")
        with open(path, "w") as f:
            f.write(json.dumps({"type": "\x1b[2Jtitle"}) + "\n")
        rc, out, err = run_module("game.viewer", path, "--text")
        self.assertEqual((rc, out), (2, b""))
        self.assertNotIn(b"\x1b", err)
        self.assertIn(b"line 1: the first line must be the header, not '\\x1b[2Jtitle'", err)


def header_line(**changes: object) -> dict[str, object]:
    h: dict[str, object] = {"type": "header", "version": 1, "game": "gems", "seed": 1, "players": ["a", "b"],
         "width": 5, "height": 5, "turns": 2, "gems_count": 1, "wall_percent": 0,
         "turn_timeout_ms": 1000, "first_turn_timeout_ms": 5000, "max_strikes": 3,
         "grid": ["....."] * 5, "positions": {"a": [0, 0], "b": [4, 4]}, "gems": [[2, 2]]}
    h.update(changes)
    return h


def turn_line(n: int, **changes: object) -> dict[str, object]:
    t: dict[str, object] = {"type": "turn", "turn": n, "moves": {"a": "E", "b": "W"},
         "positions": {"a": [n, 0], "b": [4 - n, 4]}, "scores": {"a": 0, "b": 0},
         "gems": [[2, 2]], "collected": {}}
    t.update(changes)
    return t


def result_line(**changes: object) -> dict[str, object]:
    r: dict[str, object] = {"type": "result", "winner": None, "scores": {"a": 0, "b": 0},
         "reason": "draw: equal scores", "turns": 2,
         "players": {"a": {"status": "ok", "detail": "ok"}, "b": {"status": "ok", "detail": "ok"}}}
    r.update(changes)
    return r


def jsonl(*lines: object) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n"
                    for line in lines)


GOOD = [header_line(), turn_line(1), turn_line(2), result_line()]


class ReadingTest(unittest.TestCase):
    def test_a_minimal_replay(self) -> None:
        r = parse_replay(jsonl(*GOOD))
        self.assertIsInstance(r, Replay)
        self.assertEqual(r.positions_at(2), {"a": (2, 0), "b": (2, 4)})
        self.assertEqual(r.scores_at(0), {"a": 0, "b": 0})

    def test_bad_replays_name_the_line_and_the_fault(self) -> None:
        cases = [
            (b"", "empty replay"),
            (jsonl(b"{not json"), "line 1: not JSON"),
            (jsonl(b"[1]"), "line 1: a replay line must be an object"),
            (jsonl(turn_line(1)), "line 1: the first line must be the header, not 'turn'"),
            (jsonl(header_line(version=2)), "line 1: unsupported replay version 2"),
            (jsonl(header_line(players=["a", "a"])), "line 1: players must be 1..4 distinct"),
            (jsonl(header_line(width=True)), "line 1: width must be an integer 1..100"),
            (jsonl(header_line(grid=["....."] * 4)), "line 1: grid must be 5 rows of 5"),
            (jsonl(header_line(positions={"a": [0, 0]})), "positions: missing player 'b'"),
            (jsonl(header_line(gems=[[5, 0]])), "line 1: a gem x must be an integer 0..4"),
            (jsonl(GOOD[0], turn_line(2)), "line 2: turn 2 where turn 1 was expected"),
            (jsonl(GOOD[0], turn_line(1, positions={"a": [0, 9], "b": [0, 0]})),
             "line 2: position of 'a' y must be an integer 0..4"),
            (jsonl(GOOD[0], turn_line(1, moves={"c": "N"})), "line 2: moves: unknown player 'c'"),
            (jsonl(GOOD[0], turn_line(1, scores={"a": -1, "b": 0})),
             "line 2: score of 'a' must be an integer >= 0"),
            (jsonl(GOOD[0], turn_line(1, events={"a": "forfeit"})),
             "line 2: events of 'a' must be a list"),
            (jsonl(GOOD[0], {"type": "chat"}), "line 2: unexpected line type 'chat'"),
            (jsonl(*GOOD[:3]), "no result line: the replay is incomplete"),
            (jsonl(*GOOD, turn_line(3)), "line 5: a line after the result"),
            (jsonl(*GOOD[:3], result_line(winner="c")), "line 4: result: winner 'c' is not"),
            (jsonl(*GOOD[:3], result_line(players={"a": {"status": "ok"}, "b": {}})),
             "line 4: result of 'a': missing field 'detail'"),
            (jsonl(GOOD[0], b"", *GOOD[1:]), "line 2: not JSON"),
            (b"[" * 100000 + b"\n", "line 1: not JSON"),
        ]
        for data, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(ReplayError) as e:
                    parse_replay(data)
                self.assertIn(message, str(e.exception))

    def test_verdicts(self) -> None:
        ps = ("a", "b")
        v = parse_verdicts(b'{"a": {"verdict": "memory_limit", "cause": "used 300MiB"}}', ps)
        self.assertEqual(v, {"a": Verdict("memory_limit", "used 300MiB")})
        for data, message in [
            (b'{"c": {"verdict": "ok", "cause": ""}}', "unknown player 'c'"),
            (b'{"a": {"verdict": "ok", "cause": "", "x": 1}}', "unknown field 'x'"),
            (b'{"a": {"verdict": "ok"}}', "missing field 'cause'"),
            (b'{"a": {"verdict": 3, "cause": ""}}', "verdict must be a string"),
            (b"[]", "verdicts must be an object"),
        ]:
            with self.subTest(message=message):
                with self.assertRaises(ReplayError) as e:
                    parse_verdicts(data, ps)
                self.assertIn(message, str(e.exception))


class CommandLineTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="viewer-test-")
        self.addCleanup(helpers._rmtree, self.dir)
        self.replay = os.path.join(self.dir, "replay.jsonl")
        with open(self.replay, "wb") as f:
            f.write(jsonl(*GOOD))

    def test_html_and_text(self) -> None:
        page = os.path.join(self.dir, "page.html")
        rc, out, err = run_module("game.viewer", self.replay, "--html", page)
        self.assertEqual((rc, out, err), (0, b"", b""))
        with open(page, encoding="utf-8") as f:
            self.assertIn("<!DOCTYPE html>", f.read())
        self.assertEqual(sorted(os.listdir(self.dir)), ["page.html", "replay.jsonl"])
        rc, out, err = run_module("game.viewer", self.replay, "--text", "--turn", "1")
        self.assertEqual((rc, err), (0, b""))
        self.assertIn(b"board after turn 1", out)
        self.assertIn(b"  . A . . .\n", out)

    def test_verdicts_file(self) -> None:
        verdicts = os.path.join(self.dir, "verdicts.json")
        with open(verdicts, "w") as f:
            json.dump({"b": {"verdict": "memory_limit", "cause": "used more than 64MiB"}}, f)
        rc, out, err = run_module("game.viewer", self.replay, "--text", "--verdicts", verdicts)
        self.assertEqual((rc, err), (0, b""))
        self.assertIn(b"[sandbox: memory_limit: used more than 64MiB]", out)
        rc, out, err = run_module("game.viewer", self.replay, "--html", "-", "--verdicts", verdicts)
        self.assertEqual((rc, err), (0, b""))
        self.assertIn(b'<td class="cause">memory_limit: used more than 64MiB</td>', out)

    def test_verdicts_on_standard_input_and_a_verdict_without_cause(self) -> None:
        p = subprocess.run([helpers.PYTHON, "-m", "game.viewer", self.replay, "--text",
                            "--verdicts", "-"], cwd=helpers.GAME_ROOT, env=helpers.env(),
                           input=b'{"a": {"verdict": "ok", "cause": ""}}', capture_output=True,
                           timeout=30, check=False)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        self.assertIn(b"  [sandbox: ok]\n", p.stdout)

    def test_bad_input_is_one_line_and_status_2(self) -> None:
        with open(self.replay, "wb") as f:
            f.write(jsonl(GOOD[0], turn_line(3)))
        for args, message in [
            ((self.replay, "--text"), b"line 2: turn 3 where turn 1 was expected"),
            ((os.path.join(self.dir, "absent"), "--text"), b"No such file"),
        ]:
            rc, out, err = run_module("game.viewer", *args)
            self.assertEqual((rc, out), (2, b""))
            self.assertIn(message, err)
            self.assertEqual(err.count(b"\n"), 1, err)
        self.assertFalse([n for n in os.listdir(self.dir) if ".tmp" in n])

    def test_bad_command_line(self) -> None:
        for args in [(), (self.replay,), (self.replay, "--html", "x", "--text"),
                     (self.replay, "--html", "x", "--turn", "1")]:
            rc, _, err = run_module("game.viewer", *args)
            self.assertEqual(rc, 2, args)
            self.assertIn(b"usage:", err)


class DeadBotTest(unittest.TestCase):
    def test_forfeit_and_its_cause_are_shown(self) -> None:
        replay, result = real_match(self, [bot_path("exit_now"), example("greedy")])
        r = parse_replay(replay)
        self.assertEqual(result["players"]["exit-now"]["status"], "forfeit")
        detail = result["players"]["exit-now"]["detail"]
        self.assertIn(f"  A exit-now  score   0  forfeit: {detail}\n", render_text(r))
        page = render_html(r)
        self.assertIn(f'<td class="forfeit">forfeit</td><td class="cause">{detail}</td>', page)
        self.assertTrue(re.search(r'"events":\{"exit-now":\["forfeit"\]\}', page))


if __name__ == "__main__":
    unittest.main()
