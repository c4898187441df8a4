#!/usr/bin/env python3
"""Assembles, audits and packs the sandbox image. Python standard library only.

Called by image/build (which downloads and checks the pinned packages and builds the runner):

  mkimage.py build   --stage S --root R --out O --prune F --runner BIN --game DIR --ref NAME
  mkimage.py check   --archive A --manifest M      contents of an archive vs the manifest
  mkimage.py compare A B                           two archives, byte for byte
  mkimage.py measure --stage S --root R --out O --runner BIN --game DIR
  mkimage.py summary SUMMARY.json

The archive is an OCI image layout (oci-layout, index.json, blobs/sha256/...) that also carries
Docker's manifest.json, so `podman load`, `docker load` and `ctr images import` all read it.
Every byte is a function of the inputs: entries sorted, times 0, owners 0:0, gzip mtime 0.
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import statistics
import struct
import subprocess
import sys
import tarfile
import time
from pathlib import Path

PY = "python3.11"
MULTIARCH = "usr/lib/x86_64-linux-gnu"
STDLIB = f"usr/lib/{PY}"
LOADER = f"{MULTIARCH}/ld-linux-x86-64.so.2"
INTERPRETER = f"usr/bin/{PY}"
RUNNER = "usr/local/bin/runner"
GAME_DIR = "opt/game"
UID = GID = 65532
# Compressed layer budget (issue 5: under 8 MB).
BUDGET = 8_000_000

# The only files with an execute bit: the runner (entrypoint), the interpreter, the loader.
EXECUTABLES = {RUNNER, INTERPRETER, LOADER}
# Where ELF files may live at all (anything else ELF fails the audit).
ELF_DIRS = (f"{MULTIARCH}/", f"{STDLIB}/lib-dynload/")
# Names that must not exist anywhere in the image, whatever their mode.
FORBIDDEN = {
    # shells and multi-call binaries
    "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "busybox", "toybox",
    # privilege
    "su", "sudo", "doas", "runuser", "setpriv", "capsh",
    # network tools
    "ping", "ping4", "ping6", "telnet", "netstat", "ss", "ifconfig", "ip", "route", "arp",
    "nmap", "lsof", "nc", "ncat", "netcat", "socat", "tcpdump", "curl", "wget", "ssh", "scp",
    "sftp", "ftp", "tftp", "dig", "nslookup", "host", "openssl",
    # package managers
    "apt", "apt-get", "apt-cache", "dpkg", "dpkg-deb", "rpm", "yum", "dnf", "apk", "pip",
    "pip3", f"pip{PY[6:]}", "ensurepip", "easy_install",
    # compilers, assemblers, linkers, debuggers
    "cc", "gcc", "g++", "c++", "cpp", "clang", "tcc", "as", "ld", "ld.bfd", "ld.gold", "gdb",
    "strace", "ltrace", "make", "rustc", "cargo", "go", "javac",
    # other interpreters
    "perl", "ruby", "node", "lua", "awk", "gawk", "mawk", "sed", "env", "python", "python3-config",
}
# Mount points the runtime fills. Not /out or /match: a new podman or docker volume mounted
# where the image has no directory is handed to the container's user (65532), whereas one
# mounted over an image directory takes that directory's owner (root), and the runner could
# not write its report there. Kubernetes volumes (emptyDir 0777, configMap) do not care.
MOUNT_POINTS = ("proc", "dev", "sys")
SYMLINKS = {  # merged /usr, and the name the specs use for the interpreter
    "lib": "usr/lib",
    "lib64": "usr/lib64",
    "usr/bin/python3": PY,
}
PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n"
GROUP = "root:x:0:\nnonroot:x:65532:\n"
OS_RELEASE = """\
PRETTY_NAME="Game sandbox (distroless, from Debian 12 packages)"
NAME="Debian GNU/Linux"
ID=debian
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
"""


def log(msg: str) -> None:
    print(f"mkimage: {msg}", file=sys.stderr, flush=True)


def fail(msg: str) -> None:
    print(f"mkimage: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------

def usrmerge(rel: str) -> str:
    """Debian 12 packages still ship /lib, /lib64, /bin, /sbin; the image has merged /usr."""
    head, _, rest = rel.partition("/")
    if head in ("lib", "lib64", "bin", "sbin"):
        return f"usr/{head}/{rest}" if rest else f"usr/{head}"
    return rel


def walk(top: Path):
    """Every path under top (files, symlinks, directories), relative, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        base = Path(dirpath).relative_to(top)
        for name in dirnames + sorted(filenames):
            out.append((base / name).as_posix())
    return sorted(out)


def merge_packages(stage: Path, root: Path) -> dict[str, str]:
    """Unpacked packages -> one tree with merged /usr. Returns {path: package}."""
    origin: dict[str, str] = {}
    for pkg in (stage / "packages").read_text().split():
        src = stage / "pkgs" / pkg
        for rel in walk(src):
            s = src / rel
            dst_rel = usrmerge(rel)
            d = root / dst_rel
            st = s.lstat()
            if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                fail(f"{pkg} ships a setuid/setgid file: /{rel} (drop it in prune.list and say why)")
            if stat.S_ISDIR(st.st_mode):
                if d.is_symlink():
                    fail(f"/{dst_rel} is a symlink in one package and a directory in {pkg}")
                d.mkdir(parents=True, exist_ok=True)
                continue
            if d.exists() or d.is_symlink():
                same = (s.is_symlink() and d.is_symlink() and os.readlink(s) == os.readlink(d)) or (
                    not s.is_symlink() and not d.is_symlink() and s.read_bytes() == d.read_bytes())
                if not same:
                    fail(f"/{dst_rel} comes from both {origin.get(dst_rel)} and {pkg}")
                continue
            d.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(s), d)
            elif stat.S_ISREG(st.st_mode):
                shutil.copyfile(s, d)
                os.chmod(d, stat.S_IMODE(st.st_mode))
            else:
                fail(f"{pkg} ships a special file /{rel}")
            origin[dst_rel] = pkg
    return origin


def compile_rules(path: Path) -> list[tuple[bool, str, re.Pattern]]:
    rules = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        sign, _, pattern = line.partition(" ")
        pattern = pattern.strip()
        if sign not in "+-" or not pattern or pattern.startswith("/"):
            fail(f"{path}:{n}: expected '- PATTERN' or '+ PATTERN' (relative), got {line!r}")
        rx = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**", i):
                rx += ".*"
                i += 2
            elif pattern[i] == "*":
                rx += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                rx += "[^/]"
                i += 1
            else:
                rx += re.escape(pattern[i])
                i += 1
        rules.append((sign == "+", pattern, re.compile(rx + r"\Z")))
    return rules


def prune(root: Path, rules_file: Path) -> int:
    rules = compile_rules(rules_file)
    used = set()
    removed = 0
    for rel in walk(root):
        p = root / rel
        if p.is_dir() and not p.is_symlink():
            continue
        keep = True
        for i, (plus, _, rx) in enumerate(rules):
            if rx.match(rel):
                keep = plus
                used.add(i)
        if not keep:
            p.unlink()
            removed += 1
    for i, (_, pattern, _) in enumerate(rules):
        if i not in used:
            log(f"warning: prune rule {pattern!r} matched nothing (stale?)")
    # Directories left empty go, deepest first.
    for rel in sorted(walk(root), key=lambda r: -r.count("/")):
        p = root / rel
        if p.is_dir() and not p.is_symlink() and not any(p.iterdir()):
            p.rmdir()
    return removed


def strip_binary(src: Path, dst: Path) -> None:
    strip = shutil.which("strip")
    if not strip:
        fail("`strip` (binutils) is needed to strip the runner's symbols")
    subprocess.run([strip, "--strip-all", "-o", str(dst), str(src)], check=True)


def add_own_files(root: Path, stage: Path, runner: Path, game: Path) -> None:
    (root / "usr/local/bin").mkdir(parents=True, exist_ok=True)
    strip_binary(runner, root / RUNNER)
    dst = root / GAME_DIR / "game"
    dst.mkdir(parents=True)
    for src in sorted(game.rglob("*")):
        rel = src.relative_to(game)
        if "__pycache__" in rel.parts or any(part.startswith(".") for part in rel.parts):
            continue
        if src.is_dir():
            (dst / rel).mkdir(exist_ok=True)
        elif src.suffix == ".py" or src.name == "py.typed":
            shutil.copyfile(src, dst / rel)
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(PASSWD)
    (etc / "group").write_text(GROUP)
    (etc / "os-release").write_text(OS_RELEASE)
    # Package records, as distroless images keep them, so scanners see the versions.
    status = root / "var/lib/dpkg/status.d"
    status.mkdir(parents=True)
    for pkg in (stage / "packages").read_text().split():
        status.joinpath(pkg).write_bytes((stage / "control" / pkg).read_bytes())
    for rel, target in SYMLINKS.items():
        p = root / rel
        if p.exists() or p.is_symlink():
            fail(f"/{rel} exists already: cannot make it a symlink")
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, p)
    for mp in MOUNT_POINTS:
        (root / mp).mkdir(exist_ok=True)


def normalise_modes(root: Path) -> None:
    """Directories 0755, files 0644, the three executables 0755. Nothing else executable."""
    for rel in walk(root):
        p = root / rel
        if p.is_symlink():
            continue
        if p.is_dir():
            os.chmod(p, 0o755)
        else:
            os.chmod(p, 0o755 if rel in EXECUTABLES else 0o644)


# ---------------------------------------------------------------------------------------------
# Bytecode and the import check (run by the image's own interpreter, through its own loader)
# ---------------------------------------------------------------------------------------------

def image_python(root: Path) -> list[str]:
    return [str(root / LOADER), "--library-path", str(root / MULTIARCH), str(root / INTERPRETER)]


def image_python_env(root: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONHOME": str(root / "usr"),
        "PYTHONHASHSEED": "0",  # frozenset constants are marshalled in hash order
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "LC_ALL": "C.UTF-8",
        "HOME": "/nonexistent",
    }


# Run by the image's interpreter: the standard library becomes bytecode only, without docstrings.
STDLIB_BYTECODE = r"""
import ast, importlib.util, marshal, os, sys
root, top = sys.argv[1], sys.argv[2]
HEADER = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")  # hash-based, unchecked

def is_docstring(stmt):
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))

def strip_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.body and is_docstring(node.body[0]):
                doc = node.body.pop(0)
                if not node.body:
                    node.body.append(ast.copy_location(ast.Pass(), doc))

links = []
for dirpath, dirnames, filenames in os.walk(top):
    dirnames.sort()
    for name in sorted(filenames):
        if not name.endswith(".py"):
            continue
        path = os.path.join(dirpath, name)
        if os.path.islink(path):
            links.append(path)
            continue
        with open(path, "rb") as f:
            source = f.read()
        image_path = "/" + os.path.relpath(path, root)
        tree = ast.parse(source, image_path)
        strip_docstrings(tree)
        code = compile(tree, image_path, "exec", dont_inherit=True, optimize=0)
        with open(path + "c", "wb") as f:
            f.write(HEADER + importlib.util.source_hash(source) + marshal.dumps(code))
        os.unlink(path)
for path in links:  # a .py symlink becomes a .pyc symlink to the target's bytecode
    target = os.readlink(path)
    os.unlink(path)
    os.symlink(target + "c", path + "c")
"""


def compile_bytecode(root: Path) -> None:
    env = image_python_env(root)
    # The standard library: bytecode only, next to where the source was (sourceless import),
    # docstrings removed (asserts kept), hash-based "unchecked" headers: no timestamps, and
    # the root filesystem is read-only so nothing can drift. The recorded file names are the
    # in-image paths (/usr/lib/python3.11/...). Saves 1.3 MB of source and 0.5 MB of docstrings
    # (compressed); tracebacks through the standard library show file and line, not the text.
    r = subprocess.run(image_python(root) + ["-S", "-B", "-c", STDLIB_BYTECODE, str(root),
                                             str(root / STDLIB)],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"compiling the standard library failed:\n{r.stdout}{r.stderr}")
    # The game keeps its source (its tracebacks are read) and gets ordinary __pycache__ files.
    cmd = image_python(root) + [
        "-S", "-B", "-m", "compileall", "-q", "-f", "--invalidation-mode", "unchecked-hash",
        "-s", str(root), "-p", "/", str(root / GAME_DIR)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"compileall failed:\n{r.stdout}{r.stderr}")


IMPORT_CHECK = r"""
import importlib, os, sys, warnings
warnings.simplefilter("ignore")
root, stdlib, game = sys.argv[1], sys.argv[2], sys.argv[3]
names = []
for top in (stdlib, game):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        rel = os.path.relpath(dirpath, top)
        if rel == "lib-dynload":
            rel = "."
        pkg = [] if rel == "." else rel.split(os.sep)
        for f in sorted(filenames):
            if f.endswith(".py") or (f.endswith(".pyc") and top == stdlib):
                mod = f.rsplit(".", 1)[0]
            elif f.endswith(".cpython-311-x86_64-linux-gnu.so"):
                mod = f.split(".")[0]
            else:
                continue
            parts = pkg + ([] if mod == "__init__" else [mod])
            if parts and parts[-1] != "__main__":
                names.append(".".join(parts))
bad = []
for name in sorted(set(names)):
    try:
        importlib.import_module(name)
    except BaseException as e:
        bad.append(f"{name}: {type(e).__name__}: {e}")
print(len(set(names)))
for b in bad:
    print(b)
"""


def import_check(root: Path) -> int:
    """Every module shipped must import: a pruned dependency shows up here, not in a match."""
    env = image_python_env(root) | {"PYTHONPATH": str(root / GAME_DIR)}
    cmd = image_python(root) + ["-S", "-B", "-c", IMPORT_CHECK, str(root), str(root / STDLIB),
                                str(root / GAME_DIR)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    lines = r.stdout.splitlines()
    if r.returncode != 0 or not lines:
        fail(f"the import check did not run:\n{r.stdout}{r.stderr}")
    if lines[1:]:
        fail("modules in the image that do not import (prune their users too, or keep what "
             "they need):\n  " + "\n  ".join(lines[1:]))
    return int(lines[0])


# ---------------------------------------------------------------------------------------------
# Audit
# ---------------------------------------------------------------------------------------------

def elf_info(data: bytes):
    """(e_type, interp, needed) of a 64-bit little-endian ELF, or None if not ELF."""
    if data[:4] != b"\x7fELF":
        return None
    if data[4] != 2 or data[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF")
    e_type = struct.unpack_from("<H", data, 16)[0]
    e_phoff = struct.unpack_from("<Q", data, 32)[0]
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    interp, dynamic, loads = None, None, []
    for i in range(e_phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = struct.unpack_from(
            "<IIQQQQQQ", data, e_phoff + i * e_phentsize)
        if p_type == 3:
            interp = data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
        elif p_type == 2:
            dynamic = (p_offset, p_filesz)
        elif p_type == 1:
            loads.append((p_vaddr, p_offset, p_filesz))
    needed = []
    if dynamic:
        entries, strtab = [], None
        for off in range(dynamic[0], dynamic[0] + dynamic[1], 16):
            tag, val = struct.unpack_from("<qQ", data, off)
            if tag == 0:
                break
            if tag == 5:
                strtab = val
            entries.append((tag, val))
        if strtab is not None:
            base = next((o + strtab - v for v, o, s in loads if v <= strtab < v + s), None)
            for tag, val in entries:
                if tag == 1 and base is not None:
                    end = data.index(b"\0", base + val)
                    needed.append(data[base + val:end].decode())
    return e_type, interp, needed


def resolve_in(root: Path, abspath: str, depth: int = 0) -> Path | None:
    """Resolves an absolute path inside root, following symlinks as the kernel would."""
    if depth > 20:
        return None
    cur = root
    parts = [p for p in abspath.split("/") if p]
    for i, part in enumerate(parts):
        nxt = cur / part
        if nxt.is_symlink():
            target = os.readlink(nxt)
            rest = "/".join(parts[i + 1:])
            if target.startswith("/"):
                new = target
            else:
                new = os.path.normpath("/" + os.path.relpath(cur, root) + "/" + target)
            return resolve_in(root, new + ("/" + rest if rest else ""), depth + 1)
        if not nxt.exists():
            return None
        cur = nxt
    return cur


def audit(root: Path) -> dict:
    problems = []
    elves = 0
    for rel in walk(root):
        p = root / rel
        st = p.lstat()
        name = rel.rsplit("/", 1)[-1]
        if name in FORBIDDEN and not stat.S_ISDIR(st.st_mode):
            problems.append(f"/{rel}: forbidden name")
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(p)
            dest = resolve_in(root, "/" + rel)
            if dest is None:
                problems.append(f"/{rel} -> {target}: dangling symlink")
            continue
        mode = stat.S_IMODE(st.st_mode)
        if mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX):
            problems.append(f"/{rel}: setuid, setgid or sticky ({mode:o})")
        if mode & stat.S_IWOTH:
            problems.append(f"/{rel}: world-writable")
        if stat.S_ISDIR(st.st_mode):
            continue
        if not stat.S_ISREG(st.st_mode):
            problems.append(f"/{rel}: not a regular file, directory or symlink")
            continue
        if mode & 0o111 and rel not in EXECUTABLES:
            problems.append(f"/{rel}: executable but not in the allowlist")
        with open(p, "rb") as f:
            head = f.read(4)
        if head != b"\x7fELF":
            if head[:2] == b"#!" and mode & 0o111:
                problems.append(f"/{rel}: executable script")
            continue
        elves += 1
        e_type, interp, needed = elf_info(p.read_bytes())
        if rel == RUNNER:
            if interp or needed:
                problems.append(f"/{rel}: the runner must be static (interp {interp}, needs {needed})")
            continue
        if rel != INTERPRETER and not rel.startswith(ELF_DIRS):
            problems.append(f"/{rel}: ELF file outside {ELF_DIRS}")
        if rel.startswith(ELF_DIRS) and ".so" not in name:
            problems.append(f"/{rel}: ELF file in a library directory but not named .so")
        if interp and resolve_in(root, interp) is None:
            problems.append(f"/{rel}: its loader {interp} is missing")
        for lib in needed:
            if resolve_in(root, f"/{MULTIARCH}/{lib}") is None:
                problems.append(f"/{rel}: needs {lib}, which is not in the image")
    for rel in (INTERPRETER, LOADER, RUNNER):
        if not (root / rel).is_file() or (root / rel).is_symlink():
            problems.append(f"/{rel} must be a regular file (the sandbox profile names it)")
    if problems:
        fail("audit failed:\n  " + "\n  ".join(problems))
    return {"elf_files": elves}


# ---------------------------------------------------------------------------------------------
# Packing: one layer, the OCI layout, Docker's manifest.json
# ---------------------------------------------------------------------------------------------

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
    with open(src, "rb") as i, open(dst, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as z:
            shutil.copyfileobj(i, z, 1 << 20)


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def pack(root: Path, out: Path, ref: str) -> dict:
    layer_tar = out / "layer.tar"
    layer_gz = out / "layer.tar.gz"
    write_layer(root, layer_tar)
    diff_id = sha256_file(layer_tar)
    gzip_file(layer_tar, layer_gz)
    layer_digest = sha256_file(layer_gz)
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
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{layer_digest}", "size": layer_gz.stat().st_size}],
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
        f"blobs/sha256/{layer_digest}": layer_gz,
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
        "layer_compressed_bytes": layer_gz.stat().st_size,
        "layer_uncompressed_bytes": layer_tar.stat().st_size,
        "archive_bytes": archive.stat().st_size,
        "archive_sha256": sha256_file(archive),
    }


# ---------------------------------------------------------------------------------------------
# The manifest: one line per entry of the layer, from the layer itself
# ---------------------------------------------------------------------------------------------

MANIFEST_HEADER = """\
# The sandbox image's files: generated by image/build --update-manifest, checked by every
# image/build (and image/build --check). A change here is a change in what user code runs next
# to: review it like code. Columns: mode, owner uid:gid, size in bytes, path [-> symlink].
# Sizes of the runner and of the game (built from this repository, reviewed as source) are
# shown but not compared; every other column of every line is.
"""
SIZE_NOT_COMPARED = (f"/{RUNNER}", f"/{GAME_DIR}/")


def manifest_lines(members) -> list[str]:
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


def read_archive(archive: Path):
    """(summary-ish dict, layer members) of an archive, checking every blob's digest."""
    with tarfile.open(archive) as t:
        files = {m.name: m for m in t.getmembers() if m.isfile()}

        def blob(digest: str) -> bytes:
            data = t.extractfile(files[f"blobs/sha256/{digest.split(':', 1)[1]}"]).read()
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                fail(f"{archive}: blob {digest} is corrupt")
            return data

        index = json.loads(t.extractfile(files["index.json"]).read())
        mdesc = index["manifests"][0]
        manifest = json.loads(blob(mdesc["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        layer = blob(manifest["layers"][0]["digest"])
    raw = gzip.decompress(layer)
    if "sha256:" + hashlib.sha256(raw).hexdigest() != config["rootfs"]["diff_ids"][0]:
        fail(f"{archive}: the layer does not match the config's diff_id")
    with tarfile.open(fileobj=io.BytesIO(raw)) as lt:
        members = lt.getmembers()
    return {"manifest_digest": mdesc["digest"], "config": config}, members


def check(archive: Path, manifest: Path) -> int:
    info, members = read_archive(archive)
    got = manifest_lines(members)
    if not manifest.exists():
        print(f"{manifest} does not exist: run image/build --update-manifest", file=sys.stderr)
        return 1
    want = [l for l in manifest.read_text().splitlines() if l and not l.startswith("#")]
    a = [comparable(l) for l in want]
    b = [comparable(l) for l in got]
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


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------

def tree_stats(root: Path) -> dict:
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


def build(args) -> None:
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
    info = pack(root, out, args.ref)
    if info["layer_compressed_bytes"] > BUDGET:
        fail(f"compressed layer is {info['layer_compressed_bytes']} bytes, over the "
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


def chroot_times(root: Path, code: str, runs: int, env_extra=None) -> float | None:
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


def layer_figures(root: Path, out: Path, prefix: str) -> dict:
    write_layer(root, out / "m.tar")
    gzip_file(out / "m.tar", out / "m.tar.gz")
    r = {f"{prefix}_uncompressed_bytes": (out / "m.tar").stat().st_size,
         f"{prefix}_compressed_bytes": (out / "m.tar.gz").stat().st_size,
         f"{prefix}_files": tree_stats(root)["files"]}
    (out / "m.tar").unlink()
    (out / "m.tar.gz").unlink()
    return r


def measure(args) -> None:
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
    m = layer_figures(full, out, "unstripped") | layer_figures(sources, out, "stripped_sources_only")
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
    mb = lambda n: f"{n / 1e6:.2f} MB"
    print(f"image      {s['ref']}  {s['manifest_digest']}")
    print(f"archive    {mb(s['archive_bytes'])}  sha256:{s['archive_sha256']}")
    print(f"layer      {mb(s['layer_compressed_bytes'])} compressed, "
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


if __name__ == "__main__":
    main()
