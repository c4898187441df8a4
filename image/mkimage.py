#!/usr/bin/env python3
"""Assembles, audits and packs the sandbox image. Python standard library only.

Called by image/build (which downloads and checks the pinned packages and builds the runner):

  mkimage.py build   --stage S --root R --out O --prune F --runner BIN --game DIR --ref NAME
                     [--compression gzip|zstd]
  mkimage.py check   --archive A --manifest M      contents of an archive vs the manifest
  mkimage.py compare A B                           two archives, byte for byte
  mkimage.py measure --stage S --root R --out O --runner BIN --game DIR
  mkimage.py summary SUMMARY.json

The steps live in image/builder/: assembly.py (the tree), audit.py (what must never be in it),
oci.py (the layer and the archive). This file is the command line and the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from builder.assembly import (
    add_own_files,
    compile_bytecode,
    import_check,
    merge_packages,
    normalise_modes,
    prune,
)
from builder.audit import audit
from builder.layout import BUDGET, GAME_DIR, INTERPRETER, BuildError, walk
from builder.oci import (
    COMPRESSIONS,
    MANIFEST_HEADER,
    check,
    compare,
    gzip_file,
    manifest_lines,
    pack,
    write_layer,
    zstd_file,
)

# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------

def tree_stats(root: Path) -> dict[str, int]:
    files = dirs = links = size = 0
    for rel in walk(root):
        st = (root / rel).lstat()
        if stat.S_ISDIR(st.st_mode):
            dirs += 1
        elif stat.S_ISLNK(st.st_mode):
            links += 1
        else:
            files += 1
            size += st.st_size
    return {"files": files, "dirs": dirs, "symlinks": links, "file_bytes": size}


def build(args: argparse.Namespace) -> None:
    root, out, stage = Path(args.root), Path(args.out), Path(args.stage)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    t0 = time.monotonic()
    merge_packages(stage, root)
    raw = tree_stats(root)
    removed = prune(root, Path(args.prune))
    add_own_files(root, stage, Path(args.runner), Path(args.game))
    normalise_modes(root)
    compile_bytecode(root)
    modules = import_check(root)
    checks = audit(root)
    figures = tree_stats(root)
    info = pack(root, out, args.ref, args.compression)
    if info["layer_compressed_bytes"] > BUDGET:
        raise BuildError(f"compressed layer is {info['layer_compressed_bytes']} bytes, over the "
             f"{BUDGET}-byte budget")
    with tarfile.open(out / "layer.tar") as lt:
        (out / "manifest.txt").write_text(MANIFEST_HEADER + "\n".join(manifest_lines(lt.getmembers())) + "\n")
    (out / "layer.tar").unlink()
    summary = info | {
        "files": figures["files"], "dirs": figures["dirs"], "symlinks": figures["symlinks"],
        "file_bytes": figures["file_bytes"], "modules_imported": modules,
        "packages_unpacked": raw, "package_files_removed": removed,
        "build_seconds": round(time.monotonic() - t0, 1),
    } | checks
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def chroot_times(root: Path, code: str, runs: int, env_extra: dict[str, str] | None = None) -> float | None:
    chroot = shutil.which("chroot") or shutil.which("chroot", path="/usr/sbin:/sbin")
    if os.geteuid() != 0 or not chroot:
        return None
    # PYTHONDONTWRITEBYTECODE: nothing is cached between runs, as on a read-only root.
    env = {"PATH": "/usr/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"} | (env_extra or {})
    cmd = [chroot, str(root), f"/{INTERPRETER}", "-c", code]
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # warm the page cache
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 1)


def layer_figures(root: Path, out: Path, prefix: str) -> dict[str, int]:
    write_layer(root, out / "m.tar")
    gzip_file(out / "m.tar", out / "m.tar.gz")
    r = {f"{prefix}_uncompressed_bytes": (out / "m.tar").stat().st_size,
         f"{prefix}_compressed_bytes": (out / "m.tar.gz").stat().st_size,
         f"{prefix}_files": tree_stats(root)["files"]}
    (out / "m.tar").unlink()
    (out / "m.tar.gz").unlink()
    return r


def measure(args: argparse.Namespace) -> None:
    stage, root, out = Path(args.stage), Path(args.root), Path(args.out)
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text())
    runner, game = Path(args.runner), Path(args.game)
    # 1. The same packages, unstripped: every file as Debian ships it (no .pyc: Debian makes
    #    them at install time), plus the same runner and game, packed the same way.
    full = out / "m-unstripped"
    # 2. The stripped set with Python sources and no bytecode (what pruning alone gives).
    sources = out / "m-sources"
    for d in (full, sources):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
    merge_packages(stage, full)
    add_own_files(full, stage, runner, game)
    merge_packages(stage, sources)
    prune(sources, Path(args.prune))
    add_own_files(sources, stage, runner, game)
    normalise_modes(sources)
    m: dict[str, object] = {**layer_figures(full, out, "unstripped"),
                            **layer_figures(sources, out, "stripped_sources_only")}
    # 3. The image's own layer in both compressions, whichever the build packed.
    write_layer(root, out / "m.tar")
    gzip_file(out / "m.tar", out / "m.tar.gz")
    zstd_file(out / "m.tar", out / "m.tar.zst")
    m["image_gzip_compressed_bytes"] = (out / "m.tar.gz").stat().st_size
    m["image_zstd_compressed_bytes"] = (out / "m.tar.zst").stat().st_size
    for f in ("m.tar", "m.tar.gz", "m.tar.zst"):
        (out / f).unlink()
    # Interpreter start on a read-only root (nothing cached): chroot, median of 15 runs.
    code = "import json, random, math"
    game_env = {"PYTHONPATH": f"/{GAME_DIR}"}
    m["start_ms"] = {
        "image_pass": chroot_times(root, "pass", 15),
        "image_json_random_math": chroot_times(root, code, 15),
        "stripped_sources_only_json_random_math": chroot_times(sources, code, 15),
        "unstripped_json_random_math": chroot_times(full, code, 15),
        "image_import_referee": chroot_times(root, "import game.referee", 15, game_env),
        "stripped_sources_only_import_referee": chroot_times(sources, "import game.referee", 15, game_env),
    }
    shutil.rmtree(full)
    shutil.rmtree(sources)
    summary["measure"] = m
    summary_path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def print_summary(path: Path) -> None:
    s = json.loads(path.read_text())

    def mb(n: int) -> str:
        return f"{n / 1e6:.2f} MB"

    print(f"image      {s['ref']}  {s['manifest_digest']}")
    print(f"archive    {mb(s['archive_bytes'])}  sha256:{s['archive_sha256']}")
    print(f"layer      {mb(s['layer_compressed_bytes'])} {s['layer_compression']}, "
          f"{mb(s['layer_uncompressed_bytes'])} uncompressed (budget {mb(BUDGET)})")
    print(f"contents   {s['files']} files, {s['dirs']} directories, {s['symlinks']} symlinks, "
          f"{mb(s['file_bytes'])}; {s['modules_imported']} Python modules import")
    m = s.get("measure")
    if m:
        print(f"unstripped {mb(m['unstripped_compressed_bytes'])} compressed, "
              f"{mb(m['unstripped_uncompressed_bytes'])} uncompressed, "
              f"{m['unstripped_files']} files (same packages, runner and game)")
        print(f"pruned, sources only (no bytecode) {mb(m['stripped_sources_only_compressed_bytes'])} "
              f"compressed, {mb(m['stripped_sources_only_uncompressed_bytes'])} uncompressed, "
              f"{m['stripped_sources_only_files']} files")
        print(f"image layer {mb(m['image_gzip_compressed_bytes'])} gzip, "
              f"{mb(m['image_zstd_compressed_bytes'])} zstd")
        st = m["start_ms"]
        if st["image_pass"] is not None:
            print("start (ms, median of 15, chroot, read-only semantics): "
                  + ", ".join(f"{k} {v}" for k, v in st.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    for name in ("stage", "root", "out", "prune", "runner", "game", "ref"):
        b.add_argument(f"--{name}", required=True)
    b.add_argument("--compression", choices=sorted(COMPRESSIONS), default="gzip")
    c = sub.add_parser("check")
    c.add_argument("--archive", required=True)
    c.add_argument("--manifest", required=True)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("a")
    cmp_.add_argument("b")
    m = sub.add_parser("measure")
    for name in ("stage", "root", "out", "prune", "runner", "game"):
        m.add_argument(f"--{name}", required=True)
    s = sub.add_parser("summary")
    s.add_argument("path")
    args = ap.parse_args()
    try:
        if args.cmd == "build":
            build(args)
        elif args.cmd == "check":
            sys.exit(check(Path(args.archive), Path(args.manifest)))
        elif args.cmd == "compare":
            sys.exit(compare(Path(args.a), Path(args.b)))
        elif args.cmd == "measure":
            measure(args)
        else:
            print_summary(Path(args.path))
    except BuildError as e:
        print(f"mkimage: error: {e}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
