"""The pure rules: determinism, board generation, movement, collection."""

import json
import unittest

import helpers  # noqa: F401  (puts the game on sys.path)

from game.referee import LINE_CAP, dumps
from game.rules import MOVES, GameConfig, GameState, Rng, derive_seed, resolve, winner_by_score


def play(seed: int, turns: int = 100, cfg: GameConfig | None = None) -> list[tuple[object, ...]]:
    """A game where both players follow a seeded random walk: the full history."""
    st = GameState(cfg or GameConfig(turns=turns), seed, 2)
    rng = Rng(seed ^ 0xABCDEF)
    history: list[tuple[object, ...]] = [(st.grid_rows(), list(st.positions), list(st.gems))]
    while not st.finished():
        moves = [rng.choice(MOVES) for _ in range(2)]
        collected = st.step(moves)
        history.append((moves, list(st.positions), list(st.scores), list(st.gems), collected))
    return history


class RngTest(unittest.TestCase):
    def test_reference_values(self) -> None:
        # SplitMix64's published first output for seed 0: the generator must never change,
        # or every stored seed would replay a different game.
        self.assertEqual(Rng(0).next_u64(), 0xE220A8397B1DCDAF)
        self.assertEqual(_draws(12345, 10), [4, 7, 5, 0, 3, 6, 6, 8, 3, 3])

    def test_below_range_and_spread(self) -> None:
        r = Rng(7)
        counts = [0] * 5
        for _ in range(5000):
            counts[r.below(5)] += 1
        self.assertTrue(all(800 < c < 1200 for c in counts), counts)
        with self.assertRaises(ValueError):
            r.below(0)

    def test_derived_seeds_differ(self) -> None:
        self.assertEqual(len({derive_seed(1, s) for s in range(5)}), 5)
        self.assertNotEqual(derive_seed(1, 1), derive_seed(2, 1))


def _draws(seed: int, n: int) -> list[int]:
    r = Rng(seed)
    return [r.below(10) for _ in range(n)]


class BoardTest(unittest.TestCase):
    def test_same_seed_same_game(self) -> None:
        self.assertEqual(play(42), play(42))

    def test_other_seed_other_game(self) -> None:
        self.assertNotEqual(play(42)[0], play(43)[0])

    def test_pinned_board(self) -> None:
        # A golden value: changing the generation changes every stored replay.
        st = GameState(GameConfig(), 1, 2)
        self.assertEqual(st.grid_rows(), [
            ".........", "......#..", "..##.....", ".#.......", ".........",
            ".......#.", ".....##..", "..#......", "........."])
        self.assertEqual(st.gems, [(2, 0), (1, 2), (0, 3), (3, 4), (5, 4), (8, 5), (7, 6),
                                   (6, 8)])

    def test_board_is_fair_and_connected(self) -> None:
        for seed in range(200):
            st = GameState(GameConfig(wall_percent=30), seed, 2)
            for w in st.walls:
                self.assertIn(st.mirror(w), st.walls)
            self.assertEqual(sorted(st.mirror(g) for g in st.gems), sorted(st.gems))
            self.assertTrue(st._connected(set(st.walls)))
            self.assertEqual(len(st.gems), 8)
            for p in st.positions:
                self.assertNotIn(p, st.walls)
                self.assertNotIn(p, st.gems)

    def test_config_limits(self) -> None:
        for bad in (dict(width=4), dict(height=26), dict(turns=0), dict(gems=0),
                    dict(gems=41), dict(wall_percent=41)):
            with self.assertRaises(ValueError, msg=bad):
                GameConfig(**bad).validate(2)
        with self.assertRaises(ValueError):
            GameConfig().validate(5)
        with self.assertRaises(ValueError):
            GameState(GameConfig(), -1, 2)

    def test_largest_observation_fits_a_line(self) -> None:
        cfg = GameConfig(width=25, height=25, gems=40, wall_percent=40)
        ids = [c * 63 for c in "abcd"]
        st = GameState(cfg, 2**64 - 1, 4)
        st.scores = [10**6] * 4
        obs = st.observation(ids, 0, timeout_ms=600_000)
        self.assertLess(len(dumps(obs)) + 1, LINE_CAP)


class MovementTest(unittest.TestCase):
    def test_walls_and_border_block(self) -> None:
        st = GameState(GameConfig(wall_percent=0), 3, 2)
        st.step(["N", "S"])  # both against the border
        self.assertEqual(st.positions, [(0, 0), (8, 8)])
        st.walls = frozenset({(1, 0)})
        st.step(["E", "STAY"])
        self.assertEqual(st.positions[0], (0, 0))

    def test_same_target_both_stay(self) -> None:
        self.assertEqual(resolve([(0, 0), (2, 0)], [(1, 0), (1, 0)]), [(0, 0), (2, 0)])

    def test_swap_both_stay(self) -> None:
        self.assertEqual(resolve([(0, 0), (1, 0)], [(1, 0), (0, 0)]), [(0, 0), (1, 0)])

    def test_cannot_enter_a_held_cell(self) -> None:
        self.assertEqual(resolve([(0, 0), (1, 0)], [(1, 0), (1, 0)]), [(0, 0), (1, 0)])

    def test_follow_into_vacated_cell(self) -> None:
        self.assertEqual(resolve([(0, 0), (1, 0)], [(1, 0), (2, 0)]), [(1, 0), (2, 0)])

    def test_bounce_blocks_the_follower(self) -> None:
        # 1 and 2 fight for (3,0) and both stay, so 0 cannot enter 1's cell either.
        self.assertEqual(resolve([(0, 0), (1, 0), (4, 0)], [(1, 0), (3, 0), (3, 0)]),
                         [(0, 0), (1, 0), (4, 0)])

    def test_order_of_players_does_not_matter(self) -> None:
        a = resolve([(0, 0), (2, 0)], [(1, 0), (1, 0)])
        b = resolve([(2, 0), (0, 0)], [(1, 0), (1, 0)])
        self.assertEqual(a, b[::-1])

    def test_unknown_move_is_stay(self) -> None:
        st = GameState(GameConfig(), 3, 2)
        st.step(["jump", None])
        self.assertEqual(st.positions, [(0, 0), (8, 8)])
        self.assertEqual(st.turn, 1)


class CollectTest(unittest.TestCase):
    def test_collect_scores_and_respawns(self) -> None:
        st = GameState(GameConfig(wall_percent=0), 5, 2)
        st.gems = sorted([(1, 0), (7, 8), *st.gems[2:]], key=lambda c: (c[1], c[0]))
        before = len(st.gems)
        collected = st.step(["E", "W"])
        self.assertEqual(collected, [(1, 0), (7, 8)])
        self.assertEqual(st.scores, [1, 1])
        self.assertEqual(len(st.gems), before)
        for g in st.gems:
            self.assertNotIn(g, st.positions)
            self.assertNotIn(g, st.walls)

    def test_winner_by_score(self) -> None:
        self.assertEqual(winner_by_score(["a", "b"], [3, 2]), "a")
        self.assertIsNone(winner_by_score(["a", "b"], [2, 2]))

    def test_observation_shape(self) -> None:
        st = GameState(GameConfig(), 9, 2)
        obs = json.loads(dumps(st.observation(["a", "b"], 1, timeout_ms=100)))
        self.assertEqual(set(obs), {"type", "turn", "turns", "you", "players", "width", "height",
                                    "grid", "positions", "scores", "gems", "timeout_ms",
                                    "rng_seed"})
        self.assertEqual((obs["type"], obs["turn"], obs["you"]), ("turn", 1, "b"))
        self.assertEqual(obs["positions"], {"a": [0, 0], "b": [8, 8]})
        self.assertEqual(len(obs["grid"]), 9)
        self.assertNotEqual(obs["rng_seed"],
                            st.observation(["a", "b"], 0, timeout_ms=100)["rng_seed"])


if __name__ == "__main__":
    unittest.main()
