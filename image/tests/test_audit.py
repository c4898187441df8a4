"""builder.audit: every rule of the contents audit refuses a tree that breaks it."""

from __future__ import annotations

import os
import shutil
import struct
import unittest
from pathlib import Path

from builder.audit import audit, elf_info, resolve_in
from builder.layout import INTERPRETER, MULTIARCH, RUNNER, BuildError

from .helpers import TreeCase

# A dynamically linked ELF of the build machine (Debian's interpreter): needs a loader and libc.
HOST_ELF = Path("/usr/bin/python3.11")


class Elf(unittest.TestCase):
    def test_reads_the_loader_and_the_needed_libraries(self) -> None:
        info = elf_info(HOST_ELF.read_bytes())
        assert info is not None
        e_type, interp, needed = info
        self.assertIn(e_type, (2, 3))  # EXEC or DYN (PIE)
        self.assertEqual(interp, "/lib64/ld-linux-x86-64.so.2")
        self.assertIn("libc.so.6", needed)
        self.assertIn("libm.so.6", needed)

    def test_not_elf_is_none(self) -> None:
        self.assertIsNone(elf_info(b"#!/bin/sh\n"))
        self.assertIsNone(elf_info(b""))

    def test_a_32_bit_elf_is_refused(self) -> None:
        with self.assertRaisesRegex(ValueError, "not a 64-bit little-endian ELF"):
            elf_info(b"\x7fELF\x01\x01" + bytes(58))

    def test_a_static_elf_has_no_loader_and_no_needs(self) -> None:
        # ELF header only: 64-bit, little-endian, ET_EXEC, no program headers.
        header = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0,
                                                                  64, 56, 0, 64, 0, 0)
        self.assertEqual(elf_info(header), (2, None, []))


class Resolve(TreeCase):
    def test_follows_relative_and_absolute_links_inside_the_root(self) -> None:
        root = self.tmp
        self.put(root, "usr/lib/libz.so.1.2")
        os.symlink("libz.so.1.2", root / "usr/lib/libz.so.1")
        os.symlink("usr/lib", root / "lib")
        os.symlink("/usr/lib/libz.so.1", root / "usr/abs")
        self.assertEqual(resolve_in(root, "/lib/libz.so.1"), root / "usr/lib/libz.so.1.2")
        self.assertEqual(resolve_in(root, "/usr/abs"), root / "usr/lib/libz.so.1.2")

    def test_an_absolute_link_does_not_escape_the_root(self) -> None:
        os.symlink("/etc/passwd", self.tmp / "passwd")
        self.assertIsNone(resolve_in(self.tmp, "/passwd"))

    def test_dangling_and_looping_links_are_none(self) -> None:
        os.symlink("nowhere", self.tmp / "a")
        os.symlink("c", self.tmp / "b")
        os.symlink("b", self.tmp / "c")
        self.assertIsNone(resolve_in(self.tmp, "/a"))
        self.assertIsNone(resolve_in(self.tmp, "/b"))


class Audit(TreeCase):
    def assert_refused(self, root: Path, *problems: str) -> None:
        with self.assertRaises(BuildError) as caught:
            audit(root)
        for problem in problems:
            self.assertIn(problem, str(caught.exception))

    def test_a_minimal_tree_passes(self) -> None:
        self.assertEqual(audit(self.minimal_image(self.tmp)), {"elf_files": 0})

    def test_forbidden_names_anywhere(self) -> None:
        root = self.minimal_image(self.tmp)
        self.put(root, "usr/lib/python3.11/sh")
        self.put(root, "opt/busybox")
        self.assert_refused(root, "/usr/lib/python3.11/sh: forbidden name", "/opt/busybox: forbidden name")

    def test_special_bits_world_writable_and_executables(self) -> None:
        root = self.minimal_image(self.tmp)
        self.put(root, "usr/lib/suid", mode=0o4644)
        self.put(root, "usr/lib/ww", mode=0o666)
        self.put(root, "usr/lib/tool", mode=0o755)
        self.put(root, "usr/lib/script", b"#!/usr/bin/python3\n", 0o744)
        os.mkfifo(root / "usr/lib/fifo")
        self.assert_refused(root, "/usr/lib/suid: setuid, setgid or sticky (4644)",
                            "/usr/lib/ww: world-writable",
                            "/usr/lib/tool: executable but not in the allowlist",
                            "/usr/lib/script: executable script",
                            "/usr/lib/fifo: not a regular file, directory or symlink")

    def test_a_32_bit_elf_is_a_problem_not_a_crash(self) -> None:
        root = self.minimal_image(self.tmp)
        self.put(root, f"{MULTIARCH}/libold.so", b"\x7fELF\x01\x01" + bytes(58))
        self.assert_refused(root, f"/{MULTIARCH}/libold.so: not a 64-bit little-endian ELF")

    def test_dangling_symlink(self) -> None:
        root = self.minimal_image(self.tmp)
        os.symlink("python3.12", root / "usr/bin/python3")
        self.assert_refused(root, "/usr/bin/python3 -> python3.12: dangling symlink")

    def test_the_named_programs_must_be_regular_files(self) -> None:
        root = self.minimal_image(self.tmp)
        (root / INTERPRETER).unlink()
        os.symlink("/usr/local/bin/runner", root / INTERPRETER)
        self.assert_refused(root, f"/{INTERPRETER} must be a regular file")

    def test_a_dynamic_runner_is_refused(self) -> None:
        root = self.minimal_image(self.tmp)
        shutil.copyfile(HOST_ELF, root / RUNNER)
        self.assert_refused(root, f"/{RUNNER}: the runner must be static")

    def test_elf_placement_and_missing_libraries(self) -> None:
        root = self.minimal_image(self.tmp)
        shutil.copyfile(HOST_ELF, root / INTERPRETER)  # its loader and libc are not in the tree
        self.put(root, "opt/stray.so", HOST_ELF.read_bytes())
        self.put(root, f"{MULTIARCH}/helper", HOST_ELF.read_bytes())
        self.assert_refused(root, f"/{INTERPRETER}: its loader /lib64/ld-linux-x86-64.so.2 is missing",
                            f"/{INTERPRETER}: needs libc.so.6, which is not in the image",
                            "/opt/stray.so: ELF file outside",
                            f"/{MULTIARCH}/helper: ELF file in a library directory but not named .so")


if __name__ == "__main__":
    unittest.main()
