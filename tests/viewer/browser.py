#!/usr/bin/env python3
"""Checks the viewer's page in headless Chromium, driven over the DevTools protocol.

    browser.py --chromium PATH --html PAGE --replay REPLAY [--screenshot PNG] [--hostile TEXT ...]

Loads PAGE from a file: URL and fails (exit 1, what went wrong on stderr) unless:
- nothing is logged to the console, no exception is thrown, no dialog opens, and the page
  makes no request but for itself (no network, no external asset);
- for every turn N, moving the slider to N shows, in the page's board, exactly the positions,
  gems and scores of the replay's turn N record (line N + 1: the header is line 1), and turn 0
  shows the header's; opening PAGE#turn=N shows turn N too;
- Play advances the turns and Pause stops them;
- every --hostile TEXT (markup a bot or a name put into the replay) appears as text in the
  page and no element the page did not create exists (no <img>, <svg>, <iframe>, extra
  <script>), and no script of the replay's ran (`window.__pwned` unset).
With --screenshot it saves a PNG of the page at the middle turn.

Only the standard library: the protocol goes over --remote-debugging-pipe (fds 3 and 4,
NUL-separated JSON), so there is no port to race for and nothing left listening.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TIMEOUT = 30.0  # seconds for any one answer: a loaded 2-core machine is slow, never this slow


class Failure(Exception):
    pass


class Browser:
    """One headless Chromium with one page, spoken to over the DevTools pipe."""

    def __init__(self, chromium: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="viewer-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and answers on fd 4. Its ends are first moved to
        # fds 10 and up, so putting them on 3 and 4 never closes one of them by accident.
        for_chrome = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
                      for fd in (to_chrome_r, from_chrome_w)]
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        r, w = for_chrome

        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", f'exec "$@" 3<&{r} 4>&{w} {r}<&- {w}>&-', "bash", chromium,
             "--headless", "--remote-debugging-pipe",
             # Chromium's own sandbox cannot start as root; the page under test is ours.
             "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            pass_fds=(r, w))
        os.close(r)
        os.close(w)
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""
        try:
            targets = self.call("Target.getTargets")["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            self.session = self.call("Target.attachToTarget", targetId=page["targetId"],
                                     flatten=True)["sessionId"]
        except BaseException:
            self.close()  # a browser that never came up leaves no process or profile behind
            raise

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Failure:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.to_chrome, self.from_chrome):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def stderr_tail(self) -> str:
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            return "(no exit)"
        return err.decode(errors="replace")[-2000:]

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise Failure(f"Chromium closed its pipe: {self.stderr_tail()}")
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        msg: dict[str, Any] = json.loads(raw)
        return msg

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self.to_chrome, data):]
        except BrokenPipeError:
            raise Failure(f"Chromium is gone: {self.stderr_tail()}") from None
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise Failure(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        for i, e in enumerate(self.events):
            if e["method"] == method:
                return self.events.pop(i)
        while True:
            msg = self._read_message(deadline)
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self.events.append(msg)

    def js(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise Failure(f"the check's own script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, url: str) -> None:
        # Through about:blank: a change of fragment alone would not load the page again.
        for u in ("about:blank", url):
            self.events = [e for e in self.events if e["method"] != "Page.loadEventFired"]
            self.call("Page.navigate", url=u)
            self.wait_event("Page.loadEventFired")
        deadline = time.monotonic() + TIMEOUT
        while self.js("document.body && document.body.dataset.ready") != "1":
            if time.monotonic() > deadline:
                raise Failure("the page's script never finished setting up")
            time.sleep(0.05)


# What the page shows: positions, gems, scores and the turn, read from its DOM.
READ_PAGE = """(() => {
  const at = (el) => [Number(el.parentElement.dataset.x), Number(el.parentElement.dataset.y)];
  const positions = {};
  document.querySelectorAll("#board .token").forEach((t) => { positions[t.dataset.player] = at(t); });
  const gems = [...document.querySelectorAll("#board .cell.gem")]
    .map((c) => [Number(c.dataset.x), Number(c.dataset.y)]);
  const scores = {};
  document.querySelectorAll("#players tbody tr").forEach((row, i) => {
    scores[row.dataset.player] = Number(document.getElementById("score-" + i).textContent);
  });
  return {turn: Number(document.getElementById("board").dataset.turn),
          slider: Number(document.getElementById("slider").value), positions, gems, scores};
})()"""


def expected_states(replay_path: Path) -> list[dict[str, Any]]:
    """What each turn must show, read from the replay directly (not through the viewer)."""
    lines = [json.loads(line) for line in replay_path.read_text().splitlines()]
    if not lines or lines[0].get("type") != "header":
        raise Failure(f"{replay_path}: line 1 is not a replay header")
    header = lines[0]
    states = [{"positions": header["positions"], "gems": header["gems"],
               "scores": {p: 0 for p in header["players"]}}]
    for n, line in enumerate(lines[1:], 1):
        if line["type"] != "turn":
            break
        if line["turn"] != n:
            raise Failure(f"replay line {n + 1} is turn {line['turn']}, not turn {n}")
        states.append({k: line[k] for k in ("positions", "gems", "scores")})
    return states


def same(shown: dict[str, Any], want: dict[str, Any]) -> bool:
    return (shown["positions"] == want["positions"] and shown["scores"] == want["scores"]
            and sorted(shown["gems"]) == sorted(want["gems"]))


def check(chromium: str, page: Path, replay: Path, screenshot: Path | None,
          hostile: list[str]) -> list[str]:
    """Every problem found (empty: the page is right)."""
    problems: list[str] = []
    states = expected_states(replay)
    url = page.resolve().as_uri()
    b = Browser(chromium)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.call(f"{domain}.enable")
        b.call("Emulation.setDeviceMetricsOverride", width=1280, height=720,
               deviceScaleFactor=1, mobile=False)
        b.open(url)
        last = len(states) - 1
        shown = b.js(READ_PAGE)
        if shown["turn"] != 0 or not same(shown, states[0]):
            problems.append(f"on load the page does not show the start: {shown}")
        for n in range(last + 1):
            shown = b.js(f"""(() => {{ const s = document.getElementById("slider");
                s.value = "{n}"; s.dispatchEvent(new Event("input")); return {READ_PAGE}; }})()""")
            if shown["turn"] != n or not same(shown, states[n]):
                problems.append(f"slider at turn {n}: page shows {shown}, replay has {states[n]}")
        for n in sorted({1, last // 2, last}):
            b.open(f"{url}#turn={n}")
            shown = b.js(READ_PAGE)
            if shown["turn"] != n or shown["slider"] != n or not same(shown, states[n]):
                problems.append(f"#turn={n}: page shows {shown}, replay has {states[n]}")
        b.js('document.getElementById("slider").value = "0"; '
             'document.getElementById("slider").dispatchEvent(new Event("input"))')
        problems += check_play(b, last)
        if hostile:
            problems += check_hostile(b, hostile)
        if screenshot is not None:
            b.open(f"{url}#turn={last // 2}")
            png = base64.b64decode(b.call("Page.captureScreenshot", format="png")["data"])
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(png)
        b.call("Runtime.evaluate", expression="0")  # flush pending events
        problems += page_errors(b.events, url)
    finally:
        b.close()
    return problems


def check_play(b: Browser, last: int) -> list[str]:
    """Play moves on from the start by itself; Pause stops it where it is."""
    if last < 2:
        return []
    b.js('document.getElementById("play").click()')
    deadline = time.monotonic() + TIMEOUT
    while b.js(READ_PAGE)["turn"] < 1:
        if time.monotonic() > deadline:
            return ["Play did not move to turn 1"]
        time.sleep(0.02)
    label = b.js('document.getElementById("play").textContent')
    b.js('document.getElementById("play").click()')
    paused_at = b.js(READ_PAGE)["turn"]
    time.sleep(1.0)
    still = b.js(READ_PAGE)["turn"]
    after = b.js('document.getElementById("play").textContent')
    if label != "Pause" or after != "Play" or still != paused_at or paused_at >= last:
        return [(f"play/pause: button {label!r} while playing, {after!r} after; paused at "
                 f"turn {paused_at}, {still} a second later (of {last})")]
    return []


def check_hostile(b: Browser, hostile: list[str]) -> list[str]:
    problems = []
    text = b.js("document.documentElement.innerText + document.title")
    for t in hostile:
        if t not in text:
            problems.append(f"hostile text {t!r} is not shown as text")
    # Only the elements the viewer itself makes, and no event-handler attributes anywhere.
    foreign = b.js("""(() => {
      const allowed = new Set(["HTML", "HEAD", "META", "TITLE", "STYLE", "BODY", "H1", "H2", "P",
        "NOSCRIPT", "MAIN", "DIV", "BUTTON", "INPUT", "SPAN", "SELECT", "OPTION", "TABLE",
        "THEAD", "TBODY", "TR", "TH", "TD", "UL", "LI", "SCRIPT"]);
      const all = [...document.querySelectorAll("*")];
      return all.filter((e) => !allowed.has(e.tagName)
          || [...e.attributes].some((a) => a.name.startsWith("on")))
        .map((e) => e.outerHTML.slice(0, 200))
        .concat(document.scripts.length === 2 ? [] : ["scripts: " + document.scripts.length])
        .concat(document.styleSheets.length === 1 ? [] : ["styles: " + document.styleSheets.length]);
    })()""")
    if foreign:
        problems.append(f"elements the viewer did not make: {foreign}")
    if b.js("typeof window.__pwned") != "undefined":
        problems.append("a script from the replay ran (window.__pwned is set)")
    return problems


def page_errors(events: list[dict[str, Any]], url: str) -> list[str]:
    problems = []
    page_file = url.split("#")[0]
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.exceptionThrown":
            problems.append(f"exception: {p['exceptionDetails']}")
        elif m == "Runtime.consoleAPICalled":
            problems.append(f"console.{p['type']}: {p.get('args')}")
        elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            problems.append(f"console {p['entry']['level']}: {p['entry'].get('text')}")
        elif m == "Page.javascriptDialogOpening":
            problems.append(f"a dialog opened: {p.get('message')}")
        elif m == "Network.requestWillBeSent":
            req = p["request"]["url"].split("#")[0]
            if req not in (page_file, "about:blank"):
                problems.append(f"the page requested {req}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--html", required=True, type=Path)
    ap.add_argument("--replay", required=True, type=Path)
    ap.add_argument("--screenshot", type=Path)
    ap.add_argument("--hostile", action="append", default=[], metavar="TEXT")
    args = ap.parse_args()
    try:
        problems = check(args.chromium, args.html, args.replay, args.screenshot, args.hostile)
    except Failure as e:
        problems = [str(e)]
    for p in problems:
        print(f"FAIL {args.html}: {p}", file=sys.stderr)
    if not problems:
        turns = len(expected_states(args.replay)) - 1
        print(f"ok   {args.html}: turns 0..{turns} match the replay, no console error, "
              f"no request{', hostile text inert' if args.hostile else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
