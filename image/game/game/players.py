"""The referee's side of the players' pipes: lines read with a byte cap, moves parsed, player
ids and descriptors taken from GAME_PLAYERS, and the runner's control channel that stops and
continues a player (GAME_CONTROL). Nothing a player sends can make any of it raise."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from .rules import MAX_PLAYERS, MOVES

# Types for mypy only: importing typing would cost the referee's start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    Conn = tuple[str, int, int]  # (player id, read fd, write fd)

LINE_CAP = 4096  # bytes per line, newline included, both directions
ID_RE = re.compile(r"[a-z0-9-]{1,63}")
FD_RE = re.compile(r"[0-9]{1,9}")


class ConfigError(Exception):
    """Bad command line or environment: the runner's fault, not a player's."""


class ControlError(Exception):
    """The runner refused a stop or continue request, or closed the channel: a bug."""



# --- reading lines with a byte cap ----------------------------------------------------------

TOO_LONG = object()  # line event: a line longer than LINE_CAP (its bytes are dropped)


class LineReader:
    """Splits a byte stream into lines without ever holding more than `cap` bytes.

    A line longer than `cap` (newline included) yields TOO_LONG as soon as it is known to be
    too long; the rest of it, up to and including its newline, is dropped as it arrives.
    """

    def __init__(self, cap: int = LINE_CAP) -> None:
        self.cap = cap
        self.buf = bytearray()
        self.discarding = False

    def feed(self, data: bytes) -> list[object]:
        """Complete lines (bytes, without the newline) and TOO_LONG events."""
        out: list[object] = []
        start, end = 0, len(data)
        while start < end:
            nl = data.find(b"\n", start)
            if self.discarding:
                if nl < 0:
                    break
                self.discarding = False
                start = nl + 1
                continue
            if nl < 0:
                if len(self.buf) + (end - start) >= self.cap:
                    self.buf.clear()
                    self.discarding = True
                    out.append(TOO_LONG)
                else:
                    self.buf += data[start:]
                break
            if len(self.buf) + (nl - start) + 1 > self.cap:
                out.append(TOO_LONG)
            else:
                out.append(bytes(self.buf) + data[start:nl])
            self.buf.clear()
            start = nl + 1
        return out


def parse_move(line: object) -> tuple[str, None] | tuple[None, str]:
    """(move, None) for a legal move, else (None, reason). Never raises."""
    if line is TOO_LONG or not isinstance(line, bytes):
        return None, f"line over {LINE_CAP} bytes"
    text = line.strip(b" \t\r")
    if text.decode("ascii", "replace") in MOVES:
        return text.decode("ascii"), None
    shown = repr(text[:24])[1:]
    if len(text) > 24:
        shown += "..."
    return None, f"invalid move {shown}"


# --- players --------------------------------------------------------------------------------

@dataclass
class Player:
    id: str
    index: int
    rfd: int
    wfd: int
    reader: LineReader = field(default_factory=LineReader)
    out: bytearray = field(default_factory=bytearray)
    outstanding: int = 0  # observations sent that no line has answered yet
    answer: object = None  # this turn's line (bytes or TOO_LONG), None if none yet
    active: bool = True
    strikes: list[str] = field(default_factory=list)
    detail: str = ""
    events: list[str] = field(default_factory=list)  # this turn's events, for the replay


def player_id_from_path(path: str) -> str:
    """A valid player id from a bot file name: "My Bot.py" -> "my-bot"."""
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    pid = re.sub(r"[^a-z0-9-]+", "-", stem).strip("-")[:63]
    return pid or "bot"


def unique_ids(ids: Sequence[str]) -> list[str]:
    """Suffix repeated ids: [a, a] -> [a, a-2], keeping each within 63 characters."""
    out: list[str] = []
    for pid in ids:
        cand, k = pid, 1
        while cand in out:
            k += 1
            cand = f"{pid[:63 - len(str(k)) - 1]}-{k}"
        out.append(cand)
    return out


def parse_control(spec: str) -> RunnerControl | None:
    """GAME_CONTROL ("rfd:wfd") -> RunnerControl, or None when unset. Raises ConfigError."""
    if not spec:
        return None
    rfd, sep, wfd = spec.partition(":")
    if not (sep and FD_RE.fullmatch(rfd) and FD_RE.fullmatch(wfd)):
        raise ConfigError(f"GAME_CONTROL {spec!r} is not rfd:wfd")
    return RunnerControl(int(rfd), int(wfd))


class Pauser:
    """Stops and continues players; remembers whom it stopped so each request is sent once.
    Subclasses say how."""

    def __init__(self) -> None:
        self.stopped: set[str] = set()

    def stop(self, pid: str) -> None:
        if pid not in self.stopped:
            self.signal("stop", pid)
            self.stopped.add(pid)

    def cont(self, pid: str) -> None:
        if pid in self.stopped:
            self.signal("cont", pid)
            self.stopped.discard(pid)

    def signal(self, verb: str, pid: str) -> None:
        raise NotImplementedError


class RunnerControl(Pauser):
    """The runner's control channel: one request a line (`stop ID`, `cont ID`), one answer a
    line (`ok`, `gone`, `error WHY`). The runner answers at once, so reads block."""

    def __init__(self, rfd: int, wfd: int) -> None:
        super().__init__()
        self.rfd, self.wfd, self.pending = rfd, wfd, b""

    def signal(self, verb: str, pid: str) -> None:
        os.write(self.wfd, f"{verb} {pid}\n".encode("ascii"))
        while b"\n" not in self.pending:
            data = os.read(self.rfd, 256)
            if not data:
                raise ControlError("the runner closed the control channel")
            self.pending += data
        line, _, self.pending = self.pending.partition(b"\n")
        answer = line.decode("ascii", "replace")
        if answer not in ("ok", "gone"):
            raise ControlError(f"the runner answered {verb} {pid}: {answer}")


def parse_players(spec: str) -> list[Conn]:
    """GAME_PLAYERS ("id:rfd:wfd,...") -> [(id, rfd, wfd)]. Raises ConfigError."""
    if not spec:
        raise ConfigError("GAME_PLAYERS is empty or unset")
    players: list[Conn] = []
    seen: set[str] = set()
    for entry in spec.split(","):
        parts = entry.split(":")
        if len(parts) != 3:
            raise ConfigError(f"GAME_PLAYERS entry {entry!r} is not id:rfd:wfd")
        pid, rfd, wfd = parts
        if not ID_RE.fullmatch(pid):
            raise ConfigError(f"player id {pid!r} does not match [a-z0-9-]{{1,63}}")
        if pid in seen:
            raise ConfigError(f"player id {pid!r} appears twice")
        if not (FD_RE.fullmatch(rfd) and FD_RE.fullmatch(wfd)):
            raise ConfigError(f"GAME_PLAYERS entry {entry!r}: descriptors must be integers")
        seen.add(pid)
        players.append((pid, int(rfd), int(wfd)))
    if not 2 <= len(players) <= MAX_PLAYERS:
        raise ConfigError(f"a match needs 2..{MAX_PLAYERS} players, got {len(players)}")
    return players

