"""Assembly: the unpacked Debian packages become the image's tree.

Merged /usr, pruned by prune.list, plus the stripped runner, the game, the few files a
distroless image carries, normalised modes, and bytecode compiled (then every module
import-checked) by the image's own interpreter through its own loader, so nothing of the
build machine's Python leaks in.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from .layout import (
    EXECUTABLES,
    GAME_DIR,
    INTERPRETER,
    LOADER,
    MULTIARCH,
    PY,
    RUNNER,
    STDLIB,
    BuildError,
    log,
    walk,
)

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


def usrmerge(rel: str) -> str:
    """Debian 12 packages still ship /lib, /lib64, /bin, /sbin; the image has merged /usr."""
    head, _, rest = rel.partition("/")
    if head in ("lib", "lib64", "bin", "sbin"):
        return f"usr/{head}/{rest}" if rest else f"usr/{head}"
    return rel


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
                raise BuildError(f"{pkg} ships a setuid/setgid file: /{rel} "
                                 "(drop it in prune.list and say why)")
            if stat.S_ISDIR(st.st_mode):
                if d.is_symlink():
                    raise BuildError(f"/{dst_rel} is a symlink in one package and a directory in {pkg}")
                d.mkdir(parents=True, exist_ok=True)
                continue
            if d.exists() or d.is_symlink():
                same = (s.is_symlink() and d.is_symlink() and os.readlink(s) == os.readlink(d)) or (
                    not s.is_symlink() and not d.is_symlink() and s.read_bytes() == d.read_bytes())
                if not same:
                    raise BuildError(f"/{dst_rel} comes from both {origin.get(dst_rel)} and {pkg}")
                continue
            d.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(s), d)
            elif stat.S_ISREG(st.st_mode):
                shutil.copyfile(s, d)
                os.chmod(d, stat.S_IMODE(st.st_mode))
            else:
                raise BuildError(f"{pkg} ships a special file /{rel}")
            origin[dst_rel] = pkg
    return origin


def compile_rules(path: Path) -> list[tuple[bool, str, re.Pattern[str]]]:
    rules = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        sign, _, pattern = line.partition(" ")
        pattern = pattern.strip()
        if sign not in "+-" or not pattern or pattern.startswith("/"):
            raise BuildError(f"{path}:{n}: expected '- PATTERN' or '+ PATTERN' (relative), got {line!r}")
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
        raise BuildError("`strip` (binutils) is needed to strip the runner's symbols")
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
    for link, target in SYMLINKS.items():
        p = root / link
        if p.exists() or p.is_symlink():
            raise BuildError(f"/{link} exists already: cannot make it a symlink")
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


# Bytecode and the import check: run by the image's own interpreter, through its own loader.

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


# Run by the image's interpreter (compileall and py_compile are not in the image). "stdlib":
# bytecode only, in place of the source, without docstrings. "game": the source stays and the
# bytecode goes to __pycache__/NAME.cpython-311.pyc, byte for byte what
# `compileall --invalidation-mode unchecked-hash -s ROOT -p /` writes.
BYTECODE = r"""
import ast, importlib.util, marshal, os, sys
root, top, mode = sys.argv[1], sys.argv[2], sys.argv[3]
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
    dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
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
        if mode == "game":
            code = compile(source, image_path, "exec", dont_inherit=True, optimize=-1)
            out = importlib.util.cache_from_source(path)
            os.makedirs(os.path.dirname(out), exist_ok=True)
        else:
            tree = ast.parse(source, image_path)
            strip_docstrings(tree)
            code = compile(tree, image_path, "exec", dont_inherit=True, optimize=0)
            out = path + "c"
        with open(out, "wb") as f:
            f.write(HEADER + importlib.util.source_hash(source) + marshal.dumps(code))
        if mode != "game":
            os.unlink(path)
if links and mode == "game":
    sys.exit("the game has symlinks: " + ", ".join(links))
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
    # -X no_debug_ranges: no column table (PEP 657). With no source shipped, a traceback through
    # the standard library has no line text to put carets under, so the columns would never be
    # shown; line numbers stay.
    cmd = [*image_python(root), "-S", "-B", "-X", "no_debug_ranges", "-c", BYTECODE,
           str(root), str(root / STDLIB), "stdlib"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise BuildError(f"compiling the standard library failed:\n{r.stdout}{r.stderr}")
    # The game keeps its source (its tracebacks are read, carets included) and gets ordinary
    # __pycache__ files.
    cmd = [*image_python(root), "-S", "-B", "-c", BYTECODE, str(root), str(root / GAME_DIR), "game"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise BuildError(f"compiling the game failed:\n{r.stdout}{r.stderr}")


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
    cmd = [*image_python(root), "-S", "-B", "-c", IMPORT_CHECK, str(root), str(root / STDLIB),
           str(root / GAME_DIR)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    lines = r.stdout.splitlines()
    if r.returncode != 0 or not lines:
        raise BuildError(f"the import check did not run:\n{r.stdout}{r.stderr}")
    if lines[1:]:
        raise BuildError("modules in the image that do not import (prune their users too, or keep what "
             "they need):\n  " + "\n  ".join(lines[1:]))
    return int(lines[0])
