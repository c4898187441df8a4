"""Audit: what must never be in the image, checked on the assembled tree before it is packed."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

from .layout import EXECUTABLES, INTERPRETER, LOADER, MULTIARCH, PY, RUNNER, STDLIB, BuildError, walk

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


def elf_info(data: bytes) -> tuple[int, str | None, list[str]] | None:
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


def audit(root: Path) -> dict[str, int]:
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
        try:
            info = elf_info(p.read_bytes())
        except ValueError as e:
            problems.append(f"/{rel}: {e}")
            continue
        if info is None:  # cannot happen: the header was just read as ELF
            problems.append(f"/{rel}: changed while audited")
            continue
        _e_type, interp, needed = info
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
        raise BuildError("audit failed:\n  " + "\n  ".join(problems))
    return {"elf_files": elves}
