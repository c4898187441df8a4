"""A replay as one self-contained HTML page: its CSS and script inline, pinned by a
Content-Security-Policy; replay text only ever escaped markup or escaped JSON."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping

from game.replay import PLAYER_LETTERS, Replay, Verdict, verdict_text
from game.viewer_text import clean, outcome_text

_CSS = """
:root { --wall: #3b3f4a; --floor: #f3f1ea; --gem: #1f9e89; --ink: #1d1f24; }
* { box-sizing: border-box; }
body { font: 15px/1.4 system-ui, sans-serif; color: var(--ink); margin: 1.5em; background: #fff; }
h1 { font-size: 1.3em; margin: 0 0 .2em; }
h2 { font-size: 1em; margin: 1.2em 0 .2em; }
.meta { color: #555; margin: 0 0 1em; }
main { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
#board { display: inline-grid; gap: 2px; background: #c9c6bd; padding: 2px; border-radius: 4px; }
.cell { width: 34px; height: 34px; background: var(--floor); display: flex;
        align-items: center; justify-content: center; position: relative; }
.cell.wall { background: var(--wall); }
.cell.gem::before { content: ""; width: 12px; height: 12px; background: var(--gem);
                    transform: rotate(45deg); border-radius: 2px; }
.token { position: absolute; inset: 3px; border-radius: 50%; color: #fff; font-weight: 700;
         display: flex; align-items: center; justify-content: center; }
.p0 { background: #d1495b; } .p1 { background: #2e6fd8; }
.p2 { background: #e09f1f; } .p3 { background: #7a4bc2; }
.swatch { display: inline-block; width: 1.4em; height: 1.4em; border-radius: 50%; color: #fff;
          text-align: center; font-weight: 700; font-size: .85em; line-height: 1.4em; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #ddd;
         vertical-align: top; }
td.cause { max-width: 28em; overflow-wrap: anywhere; white-space: pre-wrap; }
#controls { display: flex; gap: .6em; align-items: center; margin: 1em 0; flex-wrap: wrap; }
#slider { width: 22em; }
#events { margin: .3em 0 0; padding-left: 1.2em; min-height: 1.4em;
          overflow-wrap: anywhere; white-space: pre-wrap; }
.forfeit { color: #b00020; font-weight: 600; }
"""

_JS = """
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("replay-data").textContent);
  const players = data.players;
  const last = data.turns.length;
  const board = document.getElementById("board");
  const slider = document.getElementById("slider");
  const label = document.getElementById("turn-label");
  const play = document.getElementById("play");
  const speed = document.getElementById("speed");
  const events = document.getElementById("events");
  const cells = [];
  board.style.gridTemplateColumns = "repeat(" + data.width + ", 34px)";
  for (let y = 0; y < data.height; y++) {
    for (let x = 0; x < data.width; x++) {
      const c = document.createElement("div");
      c.className = "cell" + (data.grid[y][x] === "#" ? " wall" : "");
      c.dataset.x = String(x);
      c.dataset.y = String(y);
      board.appendChild(c);
      cells.push(c);
    }
  }
  const tokens = players.map(function (p, i) {
    const t = document.createElement("span");
    t.className = "token p" + i;
    t.dataset.player = p;
    t.title = p;
    t.textContent = "ABCD"[i];
    return t;
  });
  function state(n) {
    if (n === 0) {
      const zero = {};
      players.forEach(function (p) { zero[p] = 0; });
      return {positions: data.positions, gems: data.gems, scores: zero, moves: {}, events: {}};
    }
    return data.turns[n - 1];
  }
  function show(n) {
    const s = state(n);
    cells.forEach(function (c) { c.classList.remove("gem"); });
    s.gems.forEach(function (g) { cells[g[1] * data.width + g[0]].classList.add("gem"); });
    players.forEach(function (p, i) {
      const pos = s.positions[p];
      cells[pos[1] * data.width + pos[0]].appendChild(tokens[i]);
      document.getElementById("score-" + i).textContent = String(s.scores[p]);
      document.getElementById("move-" + i).textContent = (s.moves && s.moves[p]) || "";
    });
    events.replaceChildren();
    players.forEach(function (p) {
      ((s.events && s.events[p]) || []).forEach(function (e) {
        const li = document.createElement("li");
        li.textContent = p + ": " + e;
        if (e === "forfeit") { li.className = "forfeit"; }
        events.appendChild(li);
      });
    });
    slider.value = String(n);
    label.textContent = n === 0 ? "start" : "turn " + n + " / " + last;
    board.dataset.turn = String(n);
  }
  let timer = null;
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.textContent = "Play";
  }
  function start() {
    if (Number(slider.value) >= last) { show(0); }
    play.textContent = "Pause";
    timer = setInterval(function () {
      const n = Number(slider.value) + 1;
      if (n > last) { stop(); } else { show(n); }
    }, 400 / Number(speed.value));
  }
  play.addEventListener("click", function () { if (timer === null) { start(); } else { stop(); } });
  speed.addEventListener("change", function () { if (timer !== null) { stop(); start(); } });
  slider.addEventListener("input", function () { stop(); show(Number(slider.value)); });
  document.getElementById("prev").addEventListener("click", function () {
    stop(); show(Math.max(0, Number(slider.value) - 1));
  });
  document.getElementById("next").addEventListener("click", function () {
    stop(); show(Math.min(last, Number(slider.value) + 1));
  });
  function fromHash() {
    const m = /^#turn=(\\d+)$/.exec(location.hash);
    return m ? Math.min(last, Number(m[1])) : 0;
  }
  window.addEventListener("hashchange", function () { stop(); show(fromHash()); });
  show(fromHash());
  document.body.dataset.ready = "1";
})();
"""


def _h(text: str) -> str:
    return html.escape(clean(text), quote=True)


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _data_json(replay: Replay) -> str:
    """The replay as the page's script reads it, safe inside a <script> data block: JSON
    escapes for `<`, `>` and `&` mean no `</script>` or `<!--` can appear in the text."""
    h = replay.header
    data = {
        "players": list(h.players), "width": h.width, "height": h.height,
        "grid": list(h.grid), "positions": {p: list(c) for p, c in h.positions.items()},
        "gems": [list(g) for g in h.gems],
        "turns": [{"turn": t.turn, "moves": t.moves,
                   "positions": {p: list(c) for p, c in t.positions.items()},
                   "scores": t.scores, "gems": [list(g) for g in t.gems],
                   "events": {p: list(es) for p, es in t.events.items()}}
                  for t in replay.turns],
    }
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(replay: Replay, verdicts: Mapping[str, Verdict] | None = None) -> str:
    """One self-contained page. Text from the replay goes through `_h` (escaped markup) or
    the data block (escaped JSON); the script only ever sets textContent."""
    h, r = replay.header, replay.result
    verdicts = verdicts or {}
    csp = ("default-src 'none'; img-src 'none'; base-uri 'none'; form-action 'none'; "
           f"style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}")
    sandbox_col = bool(verdicts)
    rows = []
    for i, p in enumerate(h.players):
        pr = r.players[p]
        status_class = ' class="forfeit"' if pr.status != "ok" else ""
        cells = [
            f'<td><span class="swatch p{i}">{PLAYER_LETTERS[i]}</span></td>',
            f"<td>{_h(p)}</td>",
            f'<td id="score-{i}"></td>', f'<td id="move-{i}"></td>',
            f"<td>{r.scores[p]}</td>",
            f"<td{status_class}>{_h(pr.status)}</td>",
            f'<td class="cause">{_h(pr.detail)}</td>',
        ]
        if sandbox_col:
            v = verdicts.get(p)
            cells.append(f'<td class="cause">{_h(verdict_text(v)) if v else ""}</td>')
        rows.append(f'<tr data-player="{_h(p)}">' + "".join(cells) + "</tr>")
    sandbox_head = "<th>sandbox</th>" if sandbox_col else ""
    title = f"{h.game}: {outcome_text(replay)}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_h(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{_h(title)}</h1>
<p class="meta">seed {h.seed} · {h.width}&times;{h.height} · {len(replay.turns)} of {h.turns} turns
played</p>
<noscript><p>The board and the turn slider need JavaScript; the verdicts below do not.</p>
</noscript>
<main>
<div>
<div id="board"></div>
<div id="controls">
<button id="prev" type="button" title="previous turn">◀</button>
<button id="play" type="button">Play</button>
<button id="next" type="button" title="next turn">▶</button>
<input id="slider" type="range" min="0" max="{len(replay.turns)}" value="0"
 aria-label="turn">
<span id="turn-label">start</span>
<select id="speed" aria-label="speed"><option value="1">1&times;</option>
<option value="2" selected>2&times;</option><option value="4">4&times;</option>
<option value="10">10&times;</option></select>
</div>
</div>
<div>
<table id="players">
<thead><tr><th></th><th>player</th><th>score</th><th>move</th><th>final score</th>
<th>verdict</th><th>cause</th>{sandbox_head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<h2>This turn's events</h2>
<ul id="events"></ul>
</div>
</main>
<script type="application/json" id="replay-data">{_data_json(replay)}</script>
<script>{_JS}</script>
</body>
</html>
"""

