"""builder.assembly: merging the packages, prune.list, the image's own files and modes."""

from __future__ import annotations

import importlib.util
import marshal
import os
import shutil
import stat
import subprocess
import types
import unittest
from pathlib import Path

from builder.assembly import (
    BYTECODE,
    add_own_files,
    compile_rules,
    merge_packages,
    normalise_modes,
    prune,
    usrmerge,
)
from builder.layout import GAME_DIR, INTERPRETER, RUNNER, BuildError, walk

from .helpers import TreeCase


class UsrMerge(unittest.TestCase):
    def test_top_level_directories_fold_into_usr(self) -> None:
        self.assertEqual(usrmerge("lib/x86_64-linux-gnu/libc.so.6"), "usr/lib/x86_64-linux-gnu/libc.so.6")
        self.assertEqual(usrmerge("lib64"), "usr/lib64")
        self.assertEqual(usrmerge("sbin/ldconfig"), "usr/sbin/ldconfig")
        self.assertEqual(usrmerge("bin/true"), "usr/bin/true")

    def test_other_paths_stay(self) -> None:
        self.assertEqual(usrmerge("usr/lib/python3.11/os.py"), "usr/lib/python3.11/os.py")
        self.assertEqual(usrmerge("library/x"), "library/x")
        self.assertEqual(usrmerge("etc/passwd"), "etc/passwd")


class Packages(TreeCase):
    def stage(self, packages: dict[str, dict[str, bytes]]) -> Path:
        stage = self.tmp / "stage"
        for pkg, files in packages.items():
            (stage / "pkgs" / pkg).mkdir(parents=True)
            for rel, data in files.items():
                self.put(stage / "pkgs" / pkg, rel, data)
        (stage / "packages").write_text("\n".join(packages) + "\n")
        return stage

    def test_merges_into_usr_and_records_the_origin(self) -> None:
        stage = self.stage({"a": {"lib/libc.so.6": b"libc"}, "b": {"usr/bin/python3.11": b"py"}})
        root = self.tmp / "root"
        origin = merge_packages(stage, root)
        self.assertEqual(origin, {"usr/lib/libc.so.6": "a", "usr/bin/python3.11": "b"})
        self.assertEqual((root / "usr/lib/libc.so.6").read_bytes(), b"libc")
        self.assertFalse((root / "lib").exists())

    def test_the_same_file_from_two_packages_is_accepted(self) -> None:
        stage = self.stage({"a": {"usr/share/x": b"same"}, "b": {"usr/share/x": b"same"}})
        merge_packages(stage, self.tmp / "root")
        self.assertEqual((self.tmp / "root/usr/share/x").read_bytes(), b"same")

    def test_two_packages_disagreeing_on_a_file_fail(self) -> None:
        stage = self.stage({"a": {"lib/x": b"one"}, "b": {"usr/lib/x": b"two"}})
        with self.assertRaisesRegex(BuildError, r"/usr/lib/x comes from both a and b"):
            merge_packages(stage, self.tmp / "root")

    def test_a_setuid_file_fails(self) -> None:
        stage = self.stage({"a": {"usr/bin/su": b"su"}})
        os.chmod(stage / "pkgs/a/usr/bin/su", 0o4755)
        with self.assertRaisesRegex(BuildError, r"a ships a setuid/setgid file: /usr/bin/su"):
            merge_packages(stage, self.tmp / "root")

    def test_a_fifo_fails(self) -> None:
        stage = self.stage({"a": {"usr/x": b""}})
        os.mkfifo(stage / "pkgs/a/usr/fifo")
        with self.assertRaisesRegex(BuildError, r"a ships a special file /usr/fifo"):
            merge_packages(stage, self.tmp / "root")


class PruneRules(TreeCase):
    def rules(self, text: str) -> Path:
        p = self.tmp / "prune.list"
        p.write_text(text)
        return p

    def test_one_star_stays_in_a_segment_two_cross_them(self) -> None:
        rules = compile_rules(self.rules("- usr/*.py\n- opt/**\n"))
        one, two = rules[0][2], rules[1][2]
        self.assertTrue(one.match("usr/a.py"))
        self.assertFalse(one.match("usr/lib/a.py"))
        self.assertTrue(two.match("opt/a/b/c"))
        self.assertFalse(two.match("optx/a"))

    def test_question_mark_and_literal_dots(self) -> None:
        (plus, pattern, rx), = compile_rules(self.rules("+ lib?.so.1\n"))
        self.assertTrue(plus)
        self.assertEqual(pattern, "lib?.so.1")
        self.assertTrue(rx.match("libz.so.1"))
        self.assertFalse(rx.match("libz-so.1"))
        self.assertFalse(rx.match("lib/.so.1"))
        self.assertFalse(rx.match("libz.so.12"))

    def test_bad_lines_say_where(self) -> None:
        for line in ("* usr/x", "- /usr/x", "-", "usr/x"):
            with self.subTest(line=line), self.assertRaisesRegex(BuildError, r"prune.list:3: expected"):
                compile_rules(self.rules(f"# comment\n\n{line}\n"))

    def test_last_matching_rule_wins_and_empty_directories_go(self) -> None:
        root = self.tmp / "root"
        for rel in ("usr/lib/keep.so", "usr/lib/drop.so", "usr/share/doc/a/copyright",
                    "usr/share/doc/a/changelog", "usr/share/man/x.1", "etc/x"):
            self.put(root, rel)
        removed = prune(root, self.rules(
            "- usr/lib/**\n+ usr/lib/keep.so\n- usr/share/**\n+ usr/share/doc/*/copyright\n"))
        self.assertEqual(removed, 3)
        self.assertEqual(walk(root), ["etc", "etc/x", "usr", "usr/lib", "usr/lib/keep.so", "usr/share",
                                      "usr/share/doc", "usr/share/doc/a", "usr/share/doc/a/copyright"])

    def test_a_directory_is_never_matched_itself(self) -> None:
        root = self.tmp / "root"
        self.put(root, "a/b/file")
        self.assertEqual(prune(root, self.rules("- a/b\n")), 0)
        self.assertTrue((root / "a/b/file").exists())


class OwnFilesAndModes(TreeCase):
    def test_runner_game_etc_symlinks_and_mount_points(self) -> None:
        if shutil.which("strip") is None:
            self.fail("`strip` (binutils) is needed by the build and by this test")
        stage = self.tmp / "stage"
        (stage / "control").mkdir(parents=True)
        (stage / "control/libc6").write_text("Package: libc6\n")
        (stage / "packages").write_text("libc6\n")
        game = self.tmp / "game"
        self.put(game, "__init__.py")
        self.put(game, "referee.py")
        self.put(game, "py.typed", b"")
        self.put(game, "notes.txt")
        self.put(game, "__pycache__/referee.cpython-311.pyc")
        self.put(game, ".hidden/x.py")
        root = self.tmp / "root"
        root.mkdir()
        add_own_files(root, stage, Path("/usr/bin/true"), game)
        self.assertEqual(sorted(p.name for p in (root / GAME_DIR / "game").iterdir()),
                         ["__init__.py", "py.typed", "referee.py"])
        self.assertEqual(os.readlink(root / "usr/bin/python3"), "python3.11")
        self.assertEqual(os.readlink(root / "lib"), "usr/lib")
        self.assertIn("nonroot:x:65532:65532:", (root / "etc/passwd").read_text())
        self.assertEqual((root / "var/lib/dpkg/status.d/libc6").read_text(), "Package: libc6\n")
        for mp in ("proc", "dev", "sys"):
            self.assertTrue((root / mp).is_dir())
        self.assertFalse((root / "out").exists(), "/out must not exist (volume ownership)")
        self.assertTrue((root / RUNNER).stat().st_size > 0)

    def test_an_existing_path_cannot_become_a_symlink(self) -> None:
        stage = self.tmp / "stage"
        (stage / "control").mkdir(parents=True)
        (stage / "packages").write_text("")
        root = self.tmp / "root"
        self.put(root, "lib/x")
        with self.assertRaisesRegex(BuildError, r"/lib exists already"):
            add_own_files(root, stage, Path("/usr/bin/true"), self.tmp / "nogame")

    def test_modes_are_normalised(self) -> None:
        root = self.tmp / "root"
        self.put(root, INTERPRETER, mode=0o700)
        self.put(root, "usr/lib/tool", mode=0o775)
        os.symlink("tool", root / "usr/lib/link")
        os.chmod(root / "usr/lib", 0o700)
        normalise_modes(root)
        self.assertEqual(stat.S_IMODE((root / INTERPRETER).stat().st_mode), 0o755)
        self.assertEqual(stat.S_IMODE((root / "usr/lib/tool").stat().st_mode), 0o644)
        self.assertEqual(stat.S_IMODE((root / "usr/lib").stat().st_mode), 0o755)


class Bytecode(TreeCase):
    """The compile script, run by the build machine's Debian python3.11 (the image's own version)."""

    SOURCE = b'"""Module doc."""\ndef f(x):\n    """Function doc."""\n    return x + 1\n'

    def compile(self, root: Path, top: str, mode: str, *flags: str) -> None:
        subprocess.run(["/usr/bin/python3.11", "-S", "-B", *flags, "-c", BYTECODE, str(root), str(root / top),
                        mode], check=True)

    def load(self, pyc: Path) -> types.CodeType:
        data = pyc.read_bytes()
        self.assertEqual(data[:4], importlib.util.MAGIC_NUMBER)
        self.assertEqual(int.from_bytes(data[4:8], "little"), 1, "hash-based, unchecked")
        code = marshal.loads(data[16:])
        assert isinstance(code, types.CodeType)
        return code

    def test_game_mode_keeps_the_source_and_matches_py_compile(self) -> None:
        root = self.tmp / "root"
        src = self.put(root, "opt/game/game/rules.py", self.SOURCE)
        self.compile(root, "opt/game", "game")
        pyc = root / "opt/game/game/__pycache__/rules.cpython-311.pyc"
        self.assertTrue(src.exists())
        expected = self.tmp / "expected.pyc"
        # What compileall --invalidation-mode unchecked-hash -p / wrote before (same interpreter).
        subprocess.run(["/usr/bin/python3.11", "-c",
                        "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], "
                        "dfile='/opt/game/game/rules.py', doraise=True, "
                        "invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)",
                        str(src), str(expected)], check=True)
        self.assertEqual(pyc.read_bytes(), expected.read_bytes())
        code = self.load(pyc)
        self.assertEqual(code.co_filename, "/opt/game/game/rules.py")

    def test_stdlib_mode_replaces_the_source_without_docstrings_or_columns(self) -> None:
        root = self.tmp / "root"
        self.put(root, "usr/lib/python3.11/mod.py", self.SOURCE)
        os.symlink("mod.py", root / "usr/lib/python3.11/alias.py")
        self.compile(root, "usr/lib/python3.11", "stdlib", "-X", "no_debug_ranges")
        top = root / "usr/lib/python3.11"
        self.assertEqual(sorted(p.name for p in top.iterdir()), ["alias.pyc", "mod.pyc"])
        self.assertEqual(os.readlink(top / "alias.pyc"), "mod.pyc")
        code = self.load(top / "mod.pyc")
        namespace: dict[str, object] = {}
        exec(code, namespace)
        f = namespace["f"]
        assert isinstance(f, types.FunctionType)
        self.assertIsNone(namespace.get("__doc__"))
        self.assertIsNone(f.__doc__)
        positions = list(f.__code__.co_positions())
        self.assertTrue(all(p[2] is None and p[3] is None for p in positions), "no column table")
        self.assertIn(4, [p[0] for p in positions], "line numbers stay")


if __name__ == "__main__":
    unittest.main()
