"""builder.oci: the layer and archive are reproducible and read back; the manifest check."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import unittest
from pathlib import Path

from builder.layout import RUNNER, BuildError
from builder.oci import (
    MANIFEST_HEADER,
    check,
    comparable,
    compare,
    manifest_lines,
    pack,
    read_archive,
    tarinfo,
)

from .helpers import TreeCase


class Entries(unittest.TestCase):
    def test_tar_entries_carry_no_time_owner_or_name(self) -> None:
        ti = tarinfo("usr/bin/x", kind=tarfile.REGTYPE, mode=0o644, size=3)
        self.assertEqual((ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname), (0, 0, 0, "", ""))

    def test_manifest_lines(self) -> None:
        members = [tarinfo("usr/", kind=tarfile.DIRTYPE, mode=0o755),
                   tarinfo("usr/bin/python3", kind=tarfile.SYMTYPE, mode=0o777, link="python3.11"),
                   tarinfo("usr/bin/python3.11", kind=tarfile.REGTYPE, mode=0o755, size=12)]
        self.assertEqual(manifest_lines(members), [
            "drwxr-xr-x 0:0         - /usr",
            "lrwxrwxrwx 0:0         - /usr/bin/python3 -> python3.11",
            "-rwxr-xr-x 0:0        12 /usr/bin/python3.11",
        ])

    def test_sizes_of_the_runner_and_the_game_are_not_compared(self) -> None:
        self.assertEqual(comparable(f"-rwxr-xr-x 0:0   1000 /{RUNNER}"), f"-rwxr-xr-x 0:0 ~ /{RUNNER}")
        self.assertEqual(comparable("-rw-r--r-- 0:0 5 /opt/game/game/x.py"),
                         "-rw-r--r-- 0:0 ~ /opt/game/game/x.py")
        self.assertEqual(comparable("-rw-r--r-- 0:0   5 /usr/lib/x"), "-rw-r--r-- 0:0 5 /usr/lib/x")


class Archive(TreeCase):
    def setUp(self) -> None:
        super().setUp()
        self.root = self.minimal_image(self.tmp / "root")
        self.put(self.root, "etc/passwd", b"root:x:0:0::/:/nologin\n")
        os.symlink("python3.11", self.root / "usr/bin/python3")

    def packed(self, name: str, compression: str = "gzip") -> tuple[Path, dict[str, object]]:
        out = self.tmp / name
        out.mkdir()
        info = pack(self.root, out, "localhost/t:1", compression)
        return out / "sandbox.oci.tar.tmp", info

    def layer_media_type(self, archive: Path) -> str:
        with tarfile.open(archive) as t:
            index = json.loads(t.extractfile("index.json").read())  # type: ignore[union-attr]
            digest = index["manifests"][0]["digest"].split(":")[1]
            manifest = json.loads(t.extractfile(f"blobs/sha256/{digest}").read())  # type: ignore[union-attr]
        return str(manifest["layers"][0]["mediaType"])

    def test_a_zstd_layer_has_the_same_contents_and_is_reproducible(self) -> None:
        gz, gz_info = self.packed("gz")
        zst, zst_info = self.packed("zst", "zstd")
        zst2, _ = self.packed("zst2", "zstd")
        self.assertEqual(zst.read_bytes(), zst2.read_bytes())
        self.assertEqual(self.layer_media_type(gz), "application/vnd.oci.image.layer.v1.tar+gzip")
        self.assertEqual(self.layer_media_type(zst), "application/vnd.oci.image.layer.v1.tar+zstd")
        self.assertEqual(gz_info["diff_id"], zst_info["diff_id"])  # same uncompressed layer
        self.assertNotEqual(gz_info["layer_digest"], zst_info["layer_digest"])
        self.assertEqual(manifest_lines(read_archive(gz)[1]), manifest_lines(read_archive(zst)[1]))

    def test_an_unknown_compression_is_refused(self) -> None:
        with self.assertRaisesRegex(BuildError, "unknown layer compression 'xz'"):
            self.packed("xz", "xz")

    def test_two_packs_of_one_tree_are_identical_and_digests_check_out(self) -> None:
        a, info = self.packed("a")
        b, _ = self.packed("b")
        self.assertEqual(a.read_bytes(), b.read_bytes())
        self.assertEqual(compare(a, b), 0)
        self.assertEqual(info["archive_sha256"], hashlib.sha256(a.read_bytes()).hexdigest())
        summary, members = read_archive(a)
        self.assertEqual(summary["manifest_digest"], info["manifest_digest"])
        config = summary["config"]
        assert isinstance(config, dict)
        self.assertEqual(config["config"]["User"], "65532:65532")
        self.assertEqual(config["config"]["Entrypoint"], [f"/{RUNNER}"])
        self.assertEqual(config["rootfs"]["diff_ids"], [info["diff_id"]])
        self.assertIn("usr/bin/python3", [m.name for m in members])
        self.assertTrue(all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members))

    def test_the_archive_names_the_image_for_oci_and_docker(self) -> None:
        a, info = self.packed("a")
        with tarfile.open(a) as t:
            names = t.getnames()
            index = json.loads(t.extractfile("index.json").read())  # type: ignore[union-attr]
            docker = json.loads(t.extractfile("manifest.json").read())  # type: ignore[union-attr]
        self.assertEqual(names, sorted(names))
        self.assertEqual(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
                         "localhost/t:1")
        self.assertEqual(docker[0]["RepoTags"], ["localhost/t:1"])
        self.assertEqual(index["manifests"][0]["digest"], info["manifest_digest"])

    def test_a_changed_tree_changes_the_digest(self) -> None:
        a, first = self.packed("a")
        self.put(self.root, "etc/group", b"root:x:0:\n")
        _, second = self.packed("b")
        self.assertNotEqual(first["manifest_digest"], second["manifest_digest"])
        self.assertEqual(compare(a, self.tmp / "b/sandbox.oci.tar.tmp"), 1)

    def test_a_corrupt_blob_is_refused(self) -> None:
        a, info = self.packed("a")
        layer = f"blobs/sha256/{str(info['layer_digest']).split(':')[1]}"
        bad = self.tmp / "bad.tar"
        with tarfile.open(a) as src, tarfile.open(bad, "w") as dst:
            for m in src.getmembers():
                data = src.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
                if m.name == layer and data is not None:
                    data = data[:-1] + bytes([data[-1] ^ 1])
                dst.addfile(m, io.BytesIO(data) if data is not None else None)
        with self.assertRaisesRegex(BuildError, "is corrupt"):
            read_archive(bad)

    def test_check_against_the_manifest(self) -> None:
        a, _ = self.packed("a")
        _, members = read_archive(a)
        lines = manifest_lines(members)
        manifest = self.tmp / "manifest.txt"
        manifest.write_text(MANIFEST_HEADER + "\n".join(lines) + "\n")
        self.assertEqual(check(a, manifest), 0)
        manifest.write_text(MANIFEST_HEADER + "\n".join(lines[:-1]) + "\n")
        self.assertEqual(check(a, manifest), 1)
        self.assertEqual(check(a, self.tmp / "missing.txt"), 1)


if __name__ == "__main__":
    unittest.main()
