"""Headless Chromium (Debian's ``chromium``, installed by ``.ci/run``) for the report tests:
the DOM after the page rendered, a screenshot, and a tiny DOM tree to query it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

_VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "source", "wbr"}


def _chromium(*args: str, profile: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("chromium is not installed: `apt-get install chromium` (.ci/run does)")
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",  # root in CI; the page is our own static file
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def dump_dom(page: Path, profile: Path) -> str:
    """The serialised DOM of ``page`` after Chromium loaded and rendered it."""
    return _chromium("--dump-dom", page.as_uri(), profile=profile).stdout


def screenshot(page: Path, png: Path, profile: Path, *, size: str = "1400,3000") -> Path:
    _chromium(f"--window-size={size}", f"--screenshot={png}", page.as_uri(), profile=profile)
    return png


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants with ``tag`` (any: None) whose attributes include ``attrs``
        (``class_`` matches one class)."""
        want = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        out = []
        for child in self.children:
            ok = tag is None or child.tag == tag
            for k, v in want.items():
                have = child.attrs.get(k, "")
                ok = ok and (v in have.split() if k == "class" else have == v)
            if ok:
                out.append(child)
            out += child.all(tag, **attrs)
        return out

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}> found"
        return found[0]

    @property
    def content(self) -> str:
        return "".join(self.text) + "".join(c.content for c in self.children)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    return builder.root
