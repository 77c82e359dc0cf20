"""Reading a configuration file so that no file a user (or an attacker) can save hurts us.

:func:`read_config_text` returns the text of ``repo/name`` or one :class:`ConfigIssue`
saying why it refused, and guarantees:

- it never follows a symlink out of the repository or into ``.git`` (the target is not
  opened, so its content can never be echoed);
- it never opens anything but a regular file: a FIFO, socket, device or directory is
  refused from ``lstat``/``stat`` before ``open`` (and ``open`` is non-blocking, with an
  ``fstat`` re-check, so a file swapped for a FIFO in between cannot block us either);
- it reads at most :data:`MAX_FILE_BYTES` (+1, to see that the file is larger);
- it refuses bytes that are not UTF-8 and control characters (NUL, ESC, ...) with their
  ``line:col``;
- it never raises: every ``OSError`` becomes an issue.

``name`` is repo-relative (``rules/x.yaml``) and is what messages show.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from engine.errors import ConfigIssue

MAX_FILE_BYTES = 1024 * 1024  # 1 MiB per configuration file
MAX_RULE_FILES = 100  # rules/*.yaml files read at most

# C0 controls except tab, newline and carriage return; DEL; C1 controls. YAML forbids them
# and they have no business in a config file (a NUL often means a binary was saved there).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_NAMES = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL", 0x08: "BS", 0x0C: "FF", 0x0B: "VT"}


def read_config_bytes(repo: Path, name: str) -> bytes | ConfigIssue:
    """The bytes of ``repo/name`` (see module doc), or the issue that refused them."""
    path = repo / name
    try:
        os.lstat(path)
    except FileNotFoundError:
        return _issue(name, "not found", "run `ratchet init` to create it")
    except OSError as exc:
        return _issue(name, f"cannot read it: {exc.strerror}")
    refused = _outside(repo, path, name)
    if isinstance(refused, ConfigIssue):
        return refused
    real = refused
    try:
        mode = os.stat(real).st_mode
        kind = _not_regular(mode)
        if kind:
            return _issue(name, f"is {kind}, not a regular file; refused", _REGULAR_FIX)
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        return _issue(name, f"cannot read it: {exc.strerror}")
    try:
        info = os.fstat(fd)
        kind = _not_regular(info.st_mode)
        if kind:
            return _issue(name, f"is {kind}, not a regular file; refused", _REGULAR_FIX)
        if info.st_size > MAX_FILE_BYTES:
            return _too_big(name, info.st_size)
        data = _read_at_most(fd, MAX_FILE_BYTES + 1)
    except OSError as exc:
        return _issue(name, f"cannot read it: {exc.strerror}")
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        return _too_big(name, len(data))
    return data


def read_config_text(repo: Path, name: str) -> str | ConfigIssue:
    """The UTF-8 text of ``repo/name``, free of control characters, or the refusal."""
    data = read_config_bytes(repo, name)
    if isinstance(data, ConfigIssue):
        return data
    return decode_config(data, name)


def decode_config(data: bytes, name: str) -> str | ConfigIssue:
    """``data`` as text; non-UTF-8 bytes and control characters refused at their line:col."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raw = data[: exc.start]
        line = raw.count(b"\n") + 1
        col = len(raw[raw.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        return ConfigIssue(
            name,
            line,
            col,
            "(file)",
            f"not UTF-8 text ({exc.reason}, byte 0x{data[exc.start]:02x})",
            "save it as UTF-8",
        )
    bad = _CONTROL.search(text)
    if bad:
        head = text[: bad.start()]
        line = head.count("\n") + 1
        col = bad.start() - (head.rfind("\n") + 1) + 1
        code = ord(bad.group())
        label = f"U+{code:04X}" + (f", {_NAMES[code]}" if code in _NAMES else "")
        return ConfigIssue(
            name,
            line,
            col,
            "(file)",
            f"a control character ({label}) in the text",
            "remove it: configuration files are plain text",
        )
    return text


def check_rules_dir(repo: Path, name: str) -> ConfigIssue | None:
    """Why ``repo/name`` (the rules directory) cannot be listed, or None when it can."""
    path = repo / name
    try:
        os.lstat(path)
    except OSError:
        return _issue(f"{name}/", "not found", "run `ratchet init` to create it")
    refused = _outside(repo, path, f"{name}/")
    if isinstance(refused, ConfigIssue):
        return refused
    if not refused.is_dir():
        return _issue(f"{name}/", "is not a directory", f"make {name}/ a directory of *.yaml files")
    return None


# --------------------------------------------------------------------------- helpers

_REGULAR_FIX = "make it a plain file"


def _outside(repo: Path, path: Path, name: str) -> Path | ConfigIssue:
    """The resolved path when it stays inside ``repo`` and outside ``.git``; else a refusal."""
    try:
        root = repo.resolve(strict=True)
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return _issue(
            name, "is a broken or looping symlink", "point it at a file in the repository"
        )
    if not real.is_relative_to(root):
        # The target is named by nothing but "outside": not even its path is echoed.
        return _issue(
            name,
            "is a symlink to a file outside the repository; refused without reading it",
            "replace the link with the file itself",
        )
    if ".git" in real.relative_to(root).parts:
        return _issue(name, "is a symlink into .git; refused without reading it", "")
    return real


def _not_regular(mode: int) -> str:
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _too_big(name: str, size: int) -> ConfigIssue:
    return _issue(
        name,
        f"is larger than the limit of {MAX_FILE_BYTES / 2**20:g} MiB ({size} bytes or more)",
        "configuration files are small: split or shorten it",
    )


def _issue(name: str, problem: str, fix: str = "") -> ConfigIssue:
    return ConfigIssue(name, 1, 1, "(file)", problem, fix)
