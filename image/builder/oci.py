"""OCI packing: one reproducible layer and the archive around it; reading an archive back.

The archive is an OCI image layout (oci-layout, index.json, blobs/sha256/...) that also carries
Docker's manifest.json, so `podman load`, `docker load` and `ctr images import` all read it.
Every byte is a function of the inputs: entries sorted, times 0, owners 0:0, gzip mtime 0.
The layer is gzip (level 9; every runtime reads it) or, as an option, zstd (level 19, one
thread, by Debian's `zstd`: containerd 1.5+, podman and Docker 23+ read it; the same zstd
version gives the same bytes, so the build stays reproducible for a given build machine).
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .layout import GAME_DIR, GID, RUNNER, UID, BuildError, walk


def tarinfo(name: str, *, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.size = size
    ti.linkname = link
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def write_layer(root: Path, dest_tar: Path) -> None:
    with open(dest_tar, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as t:
        for rel in walk(root):
            p = root / rel
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                t.addfile(tarinfo(rel, kind=tarfile.SYMTYPE, mode=0o777, link=os.readlink(p)))
            elif stat.S_ISDIR(st.st_mode):
                t.addfile(tarinfo(rel + "/", kind=tarfile.DIRTYPE, mode=stat.S_IMODE(st.st_mode)))
            else:
                with open(p, "rb") as data:
                    t.addfile(tarinfo(rel, kind=tarfile.REGTYPE, mode=stat.S_IMODE(st.st_mode),
                                      size=st.st_size), data)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gzip_file(src: Path, dst: Path) -> None:
    with (open(src, "rb") as i, open(dst, "wb") as raw,
          gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as z):
        shutil.copyfileobj(i, z, 1 << 20)


# Layer compressions: the media type, the file suffix. gzip stays the default: Docker before 23
# and some registries and scanners read only gzip layers.
COMPRESSIONS = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
ZSTD_ARGS = ["-19", "-T1", "-q", "--no-progress", "-f"]


def zstd_file(src: Path, dst: Path) -> None:
    zstd = shutil.which("zstd")
    if zstd is None:
        raise BuildError("a zstd layer needs the `zstd` program (Debian: apt-get install zstd)")
    r = subprocess.run([zstd, *ZSTD_ARGS, "-o", str(dst), str(src)], capture_output=True, text=True)
    if r.returncode != 0:
        raise BuildError(f"zstd failed: {r.stderr.strip()}")


def decompress(data: bytes, media_type: str) -> bytes:
    if media_type == COMPRESSIONS["gzip"]:
        return gzip.decompress(data)
    if media_type == COMPRESSIONS["zstd"]:
        zstd = shutil.which("zstd")
        if zstd is None:
            raise BuildError("reading a zstd layer needs the `zstd` program")
        r = subprocess.run([zstd, "-d", "-q", "-c"], input=data, capture_output=True)
        if r.returncode != 0:
            raise BuildError(f"zstd -d failed: {r.stderr.decode(errors='replace').strip()}")
        return r.stdout
    raise BuildError(f"unknown layer media type {media_type}")


def canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def pack(root: Path, out: Path, ref: str, compression: str = "gzip") -> dict[str, Any]:
    if compression not in COMPRESSIONS:
        raise BuildError(f"unknown layer compression {compression!r} (gzip or zstd)")
    layer_tar = out / "layer.tar"
    layer_blob = out / f"layer.tar.{compression}"
    write_layer(root, layer_tar)
    diff_id = sha256_file(layer_tar)
    if compression == "gzip":
        gzip_file(layer_tar, layer_blob)
    else:
        zstd_file(layer_tar, layer_blob)
    layer_digest = sha256_file(layer_blob)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "User": f"{UID}:{GID}",
            "Entrypoint": [f"/{RUNNER}"],
            "Cmd": ["policy"],
            "Env": ["PATH=/usr/local/bin:/usr/bin"],
            "WorkingDir": "/",
            "Labels": {
                "org.opencontainers.image.title": "game sandbox",
                "org.opencontainers.image.description":
                    "static runner (entrypoint) + curated Python 3.11 + the game; no shell",
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "image/build"}],
    }
    config_bytes = canonical(config)
    config_digest = hashlib.sha256(config_bytes).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{config_digest}", "size": len(config_bytes)},
        "layers": [{"mediaType": COMPRESSIONS[compression],
                    "digest": f"sha256:{layer_digest}", "size": layer_blob.stat().st_size}],
    }
    manifest_bytes = canonical(manifest)
    manifest_digest = hashlib.sha256(manifest_bytes).hexdigest()
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": f"sha256:{manifest_digest}", "size": len(manifest_bytes),
            "annotations": {"org.opencontainers.image.ref.name": ref,
                            "io.containerd.image.name": ref},
        }],
    }
    docker_manifest = [{"Config": f"blobs/sha256/{config_digest}", "RepoTags": [ref],
                        "Layers": [f"blobs/sha256/{layer_digest}"]}]
    entries = {
        "blobs/": None,
        "blobs/sha256/": None,
        f"blobs/sha256/{config_digest}": config_bytes,
        f"blobs/sha256/{manifest_digest}": manifest_bytes,
        f"blobs/sha256/{layer_digest}": layer_blob,
        "index.json": canonical(index),
        "manifest.json": canonical(docker_manifest),
        "oci-layout": canonical({"imageLayoutVersion": "1.0.0"}),
    }
    archive = out / "sandbox.oci.tar.tmp"
    with open(archive, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(entries):
            content = entries[name]
            if content is None:
                t.addfile(tarinfo(name, kind=tarfile.DIRTYPE, mode=0o755))
            elif isinstance(content, Path):
                with open(content, "rb") as data:
                    t.addfile(tarinfo(name, kind=tarfile.REGTYPE, mode=0o644,
                                      size=content.stat().st_size), data)
            else:
                t.addfile(tarinfo(name, kind=tarfile.REGTYPE, mode=0o644, size=len(content)),
                          io.BytesIO(content))
    return {
        "ref": ref,
        "manifest_digest": f"sha256:{manifest_digest}",
        "config_digest": f"sha256:{config_digest}",
        "layer_digest": f"sha256:{layer_digest}",
        "diff_id": f"sha256:{diff_id}",
        "layer_compression": compression,
        "layer_compressed_bytes": layer_blob.stat().st_size,
        "layer_uncompressed_bytes": layer_tar.stat().st_size,
        "archive_bytes": archive.stat().st_size,
        "archive_sha256": sha256_file(archive),
    }


# The manifest: one line per entry of the layer, from the layer itself.

MANIFEST_HEADER = """\
# The sandbox image's files: generated by image/build --update-manifest, checked by every
# image/build (and image/build --check). A change here is a change in what user code runs next
# to: review it like code. Columns: mode, owner uid:gid, size in bytes, path [-> symlink].
# Sizes of the runner and of the game (built from this repository, reviewed as source) are
# shown but not compared; every other column of every line is.
"""
SIZE_NOT_COMPARED = (f"/{RUNNER}", f"/{GAME_DIR}/")


def manifest_lines(members: Iterable[tarfile.TarInfo]) -> list[str]:
    lines = []
    for m in members:
        path = "/" + m.name.rstrip("/")
        mode = stat.filemode(m.mode | {tarfile.DIRTYPE: stat.S_IFDIR, tarfile.SYMTYPE: stat.S_IFLNK}
                             .get(m.type, stat.S_IFREG))
        size = "-" if m.type in (tarfile.DIRTYPE, tarfile.SYMTYPE) else str(m.size)
        link = f" -> {m.linkname}" if m.type == tarfile.SYMTYPE else ""
        lines.append(f"{mode} {m.uid}:{m.gid} {size:>9} {path}{link}")
    return lines


def comparable(line: str) -> str:
    parts = line.split(None, 3)
    if len(parts) == 4 and parts[3].startswith(SIZE_NOT_COMPARED):
        parts[2] = "~"
        return " ".join(parts)
    return " ".join(parts)


def read_archive(archive: Path) -> tuple[dict[str, Any], list[tarfile.TarInfo]]:
    """(summary-ish dict, layer members) of an archive, checking every blob's digest."""
    with tarfile.open(archive) as t:
        files = {m.name: m for m in t.getmembers() if m.isfile()}

        def member(name: str) -> bytes:
            m = files.get(name)
            f = t.extractfile(m) if m is not None else None
            if f is None:
                raise BuildError(f"{archive}: no file {name} in the archive")
            return f.read()

        def blob(digest: str) -> bytes:
            data = member(f"blobs/sha256/{digest.split(':', 1)[-1]}")
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                raise BuildError(f"{archive}: blob {digest} is corrupt")
            return data

        index = json.loads(member("index.json"))
        mdesc = index["manifests"][0]
        manifest = json.loads(blob(mdesc["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        layer = blob(manifest["layers"][0]["digest"])
    raw = decompress(layer, manifest["layers"][0]["mediaType"])
    if "sha256:" + hashlib.sha256(raw).hexdigest() != config["rootfs"]["diff_ids"][0]:
        raise BuildError(f"{archive}: the layer does not match the config's diff_id")
    with tarfile.open(fileobj=io.BytesIO(raw)) as lt:
        members = lt.getmembers()
    return {"manifest_digest": mdesc["digest"], "config": config}, members


def check(archive: Path, manifest: Path) -> int:
    info, members = read_archive(archive)
    got = manifest_lines(members)
    if not manifest.exists():
        print(f"{manifest} does not exist: run image/build --update-manifest", file=sys.stderr)
        return 1
    want = [line for line in manifest.read_text().splitlines() if line and not line.startswith("#")]
    a = [comparable(line) for line in want]
    b = [comparable(line) for line in got]
    if a == b:
        print(f"image contents match {manifest.name}: {len(got)} entries, "
              f"{info['manifest_digest']}", file=sys.stderr)
        return 0
    diff = difflib.unified_diff(a, b, fromfile=f"{manifest} (committed)",
                                tofile=f"{archive} (built)", lineterm="", n=0)
    print("\n".join(diff), file=sys.stderr)
    return 1


def compare(a: Path, b: Path) -> int:
    ha, hb = sha256_file(a), sha256_file(b)
    ia, ma = read_archive(a)
    ib, mb = read_archive(b)
    print(f"build 1: archive sha256:{ha} image {ia['manifest_digest']}", file=sys.stderr)
    print(f"build 2: archive sha256:{hb} image {ib['manifest_digest']}", file=sys.stderr)
    if ha == hb:
        print("reproducible: the two archives are identical", file=sys.stderr)
        return 0
    la, lb = manifest_lines(ma), manifest_lines(mb)
    for line in difflib.unified_diff(la, lb, lineterm="", n=0):
        print(line, file=sys.stderr)
    return 1
