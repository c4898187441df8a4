"""Gem grid: the pure game rules.

Two (up to four) players walk on a small grid with walls and collect gems. Everyone moves at
the same time; see PROTOCOL.md for the rules in prose. Nothing here does I/O, reads the clock
or uses the `random` module: the whole game is a function of (config, seed, moves), so the
same seed and the same moves give the same game on any machine and any Python 3 version.
"""

from __future__ import annotations

# Types for mypy only: importing typing would cost every bot's start (see GameConfig).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TypeVar

    T = TypeVar("T")
    Cell = tuple[int, int]  # (x, y)

MOVES = ("N", "E", "S", "W", "STAY")
DELTAS = {"N": (0, -1), "E": (1, 0), "S": (0, 1), "W": (-1, 0), "STAY": (0, 0)}

MIN_SIZE, MAX_SIZE = 5, 25
MAX_TURNS = 10_000
MAX_GEMS = 40
MIN_PLAYERS, MAX_PLAYERS = 1, 4
MAX_SEED = (1 << 64) - 1

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def mix64(z: int) -> int:
    """SplitMix64 finalizer: a bijective scramble of a 64-bit integer."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def derive_seed(seed: int, stream: int) -> int:
    """An independent 64-bit seed for stream number `stream` of a game seed."""
    return mix64((seed & _MASK64) + _GOLDEN * (stream + 1))


class Rng:
    """SplitMix64: small, fast, and identical everywhere (unlike `random`, which a bot file
    named random.py would also shadow). Bots may use it too: `Rng(observation["rng_seed"])`."""

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _MASK64

    def next_u64(self) -> int:
        self._state = (self._state + _GOLDEN) & _MASK64
        return mix64(self._state)

    def below(self, n: int) -> int:
        """Uniform integer in [0, n), without modulo bias."""
        if n <= 0:
            raise ValueError("below() needs n >= 1")
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            r = self.next_u64()
            if r < limit:
                return r % n

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self.below(len(seq))]


class GameConfig:
    """The game's parameters (a plain class: `dataclasses` would cost every bot ~10 ms of
    imports)."""

    __slots__ = ("gems", "height", "turns", "wall_percent", "width")

    def __init__(self, width: int = 9, height: int = 9, turns: int = 100, gems: int = 8,
                 wall_percent: int = 15) -> None:
        self.width, self.height, self.turns = width, height, turns
        self.gems, self.wall_percent = gems, wall_percent

    def _key(self) -> tuple[int, int, int, int, int]:
        return (self.width, self.height, self.turns, self.gems, self.wall_percent)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GameConfig) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        w, h, t, g, p = self._key()
        return f"GameConfig(width={w:d}, height={h:d}, turns={t:d}, gems={g:d}, wall_percent={p:d})"

    def validate(self, players: int) -> None:
        """Raise ValueError if this config cannot be played by `players` players."""
        if not MIN_PLAYERS <= players <= MAX_PLAYERS:
            raise ValueError(f"players must be {MIN_PLAYERS}..{MAX_PLAYERS}, got {players}")
        for name in ("width", "height"):
            v = getattr(self, name)
            if not MIN_SIZE <= v <= MAX_SIZE:
                raise ValueError(f"{name} must be {MIN_SIZE}..{MAX_SIZE}, got {v}")
        if not 1 <= self.turns <= MAX_TURNS:
            raise ValueError(f"turns must be 1..{MAX_TURNS}, got {self.turns}")
        cap = min(MAX_GEMS, self.width * self.height // 4)
        if not 1 <= self.gems <= cap:
            raise ValueError(f"gems must be 1..{cap} on this grid, got {self.gems}")
        if not 0 <= self.wall_percent <= 40:
            raise ValueError(f"wall_percent must be 0..40, got {self.wall_percent}")


def start_positions(width: int, height: int, players: int) -> list[Cell]:
    corners = [(0, 0), (width - 1, height - 1), (width - 1, 0), (0, height - 1)]
    return corners[:players]


class GameState:
    """The whole game. Players are numbered 0..n-1 (the order of GAME_PLAYERS)."""

    def __init__(self, config: GameConfig, seed: int, players: int) -> None:
        config.validate(players)
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be 0..{MAX_SEED}")
        self.config = config
        self.seed = seed
        self.n = players
        self.width, self.height = config.width, config.height
        self.rng = Rng(derive_seed(seed, 0))
        self.walls = self._make_walls()
        self.positions = start_positions(self.width, self.height, players)
        self.scores = [0] * players
        self.gems: list[Cell] = []
        self._place_initial_gems()
        self.turn = 0  # turns played so far

    # --- board -----------------------------------------------------------------------------

    def mirror(self, c: Cell) -> Cell:
        return (self.width - 1 - c[0], self.height - 1 - c[1])

    def cells(self) -> list[Cell]:
        """All cells in row-major order (the order every random draw uses)."""
        return [(x, y) for y in range(self.height) for x in range(self.width)]

    def inside(self, c: Cell) -> bool:
        return 0 <= c[0] < self.width and 0 <= c[1] < self.height

    def walkable(self, c: Cell) -> bool:
        return self.inside(c) and c not in self.walls

    def _make_walls(self) -> frozenset[Cell]:
        protected: set[Cell] = set()
        for corner in start_positions(self.width, self.height, 4):
            protected.add(corner)
            for dx, dy in ((0, -1), (1, 0), (0, 1), (-1, 0)):
                protected.add((corner[0] + dx, corner[1] + dy))
        for _attempt in range(50):
            walls: set[Cell] = set()
            for c in self.cells():
                m = self.mirror(c)
                if (c[1], c[0]) > (m[1], m[0]) or c in protected:
                    continue  # decided with its mirror image
                if self.rng.below(100) < self.config.wall_percent:
                    walls.add(c)
                    walls.add(m)
            if self._connected(walls):
                return frozenset(walls)
        return frozenset()

    def _connected(self, walls: set[Cell]) -> bool:
        free = [c for c in self.cells() if c not in walls]
        seen = {free[0]}
        todo = [free[0]]
        while todo:
            x, y = todo.pop()
            for dx, dy in ((0, -1), (1, 0), (0, 1), (-1, 0)):
                n = (x + dx, y + dy)
                if self.inside(n) and n not in walls and n not in seen:
                    seen.add(n)
                    todo.append(n)
        return len(seen) == len(free)

    def _place_initial_gems(self) -> None:
        # Gems come in mirror pairs so that player 0 and player 1 start with the same chances.
        starts = set(start_positions(self.width, self.height, 4))
        candidates = [c for c in self.cells() if c not in self.walls and c not in starts]
        gems: set[Cell] = set()
        while self.config.gems - len(gems) >= 2:
            pairs = [c for c in candidates
                     if c != self.mirror(c) and c not in gems and self.mirror(c) not in gems]
            if not pairs:
                break
            c = self.rng.choice(pairs)
            gems.add(c)
            gems.add(self.mirror(c))
        while len(gems) < self.config.gems:
            rest = [c for c in candidates if c not in gems]
            if not rest:
                break
            centre = (self.width // 2, self.height // 2)
            gems.add(centre if centre in rest else self.rng.choice(rest))
        self.gems = sorted(gems, key=lambda c: (c[1], c[0]))

    def grid_rows(self) -> list[str]:
        """The board as strings, one per row (y), one character per cell: '#' wall, '.' floor."""
        return ["".join("#" if (x, y) in self.walls else "." for x in range(self.width))
                for y in range(self.height)]

    # --- play ------------------------------------------------------------------------------

    def finished(self) -> bool:
        return self.turn >= self.config.turns

    def target(self, i: int, move: str) -> Cell:
        x, y = self.positions[i]
        dx, dy = DELTAS[move]
        t = (x + dx, y + dy)
        return t if self.walkable(t) else (x, y)

    def step(self, moves: Sequence[object]) -> list[Cell | None]:
        """Play one turn. `moves[i]` is player i's move (anything not in MOVES counts as STAY).

        Returns, per player, the gem cell it collected this turn or None.
        """
        if len(moves) != self.n:
            raise ValueError("one move per player")
        valid = [m if isinstance(m, str) and m in MOVES else "STAY" for m in moves]
        self.positions = resolve(self.positions, [self.target(i, m) for i, m in enumerate(valid)])
        collected: list[Cell | None] = [None] * self.n
        gems = set(self.gems)
        for i, p in enumerate(self.positions):
            if p in gems:
                gems.discard(p)
                self.scores[i] += 1
                collected[i] = p
        occupied = set(self.positions)
        for _ in range(sum(c is not None for c in collected)):
            free = [c for c in self.cells()
                    if c not in self.walls and c not in gems and c not in occupied]
            if free:
                gems.add(self.rng.choice(free))
        self.gems = sorted(gems, key=lambda c: (c[1], c[0]))
        self.turn += 1
        return collected

    def observation(self, ids: Sequence[str], i: int, *, timeout_ms: int) -> dict[str, object]:
        """What player i sees at the start of the next turn (see PROTOCOL.md)."""
        return {
            "type": "turn",
            "turn": self.turn + 1,
            "turns": self.config.turns,
            "you": ids[i],
            "players": list(ids),
            "width": self.width,
            "height": self.height,
            "grid": self.grid_rows(),
            "positions": {ids[k]: list(p) for k, p in enumerate(self.positions)},
            "scores": {ids[k]: s for k, s in enumerate(self.scores)},
            "gems": [list(g) for g in self.gems],
            "timeout_ms": timeout_ms,
            "rng_seed": derive_seed(self.seed, 1 + i),
        }


def resolve(positions: Sequence[Cell], targets: Sequence[Cell]) -> list[Cell]:
    """Simultaneous movement. A player whose target cell is also another player's target, or
    is held by a player who does not leave it, stays where it was; two players that would
    swap cells both stay. Repeated until nothing changes (a bounce can block someone else)."""
    final = list(targets)
    n = len(final)
    while True:
        revert = [i for i in range(n) if final[i] != positions[i] and (
            any(j != i and final[j] == final[i] for j in range(n))
            or any(j != i and final[i] == positions[j] and final[j] == positions[i]
                   for j in range(n)))]
        if not revert:
            return final
        for i in revert:  # all at once, so the order of the players never matters
            final[i] = positions[i]


def winner_by_score(ids: Sequence[str], scores: Sequence[int]) -> str | None:
    """The id with the strictly highest score, or None on a tie."""
    best = max(scores)
    top = [ids[i] for i, s in enumerate(scores) if s == best]
    return top[0] if len(top) == 1 else None
