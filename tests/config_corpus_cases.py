"""The malformed-config corpus (``tests/config_corpus/*.yaml``) as cases, and how each one
is planted into a repository.

Each corpus file starts with a header of comment lines, then the bytes that become the
configuration file (the header stays in it, so positions count it):

- ``# corpus: <what it is>``
- ``# target: goals.yaml | directives.yaml | rules/<name>.yaml`` — where it goes;
- ``# make: <how>`` (optional) — for what a file cannot hold: ``fifo``, ``directory``,
  ``huge`` (2 MiB), ``wide`` (60,000 values under the size cap), ``symlink-out`` (the
  body, plus a canary line, outside the repository), ``symlink-passwd``, ``symlink-broken``,
  ``symlink-git``, ``symlink-in``, ``rules-dir-out`` (``rules/`` itself links out);
- ``# exit: 2 | 0`` — 0 for a warning;
- ``# expect: <fragment>`` (one or more) — each must appear in one output line, which
  starts with the file's ``FILE:LINE:COL:``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.git_testing import IDENTITY_ENV
from tests.repo_helpers import git

CORPUS = Path(__file__).parent / "config_corpus"
CANARY = "CANARY-7f3c-never-echo-this"
PASSWD_MARK = "root:x:0:0"


@dataclass(frozen=True)
class Case:
    name: str
    target: str
    make: str
    exit: int
    expect: tuple[str, ...]
    body: bytes  # the whole file, header included

    def __str__(self) -> str:
        return self.name


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*.yaml")):
        data = path.read_bytes()
        head: dict[str, list[str]] = {}
        for line in data.split(b"\n"):
            if not line.startswith(b"# ") or b":" not in line:
                break
            key, _, value = line[2:].decode("ascii").partition(":")
            head.setdefault(key.strip(), []).append(value.strip())
        cases.append(
            Case(
                name=path.stem,
                target=head["target"][0],
                make=head.get("make", [""])[0],
                exit=int(head["exit"][0]),
                expect=tuple(head.get("expect", ())),
                body=data,
            )
        )
    return cases


def template_repo(root: Path) -> Path:
    """A committed repository with ``ratchet init``'s files and one source file."""
    from engine.config.init import init_repo

    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def f():\n    return 1\n")
    init_repo(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init", env=IDENTITY_ENV)
    return root


def plant(case: Case, template: Path, where: Path, *, git: bool = True) -> Path:
    """A copy of ``template`` under ``where`` with ``case`` in place; returns the repo.

    Without ``git`` the copy's ``.git`` holds only a ``config`` file (enough for the
    loaders, which never run git; much faster to copy)."""
    repo = where / "repo"
    shutil.copytree(
        template, repo, symlinks=True, ignore=None if git else shutil.ignore_patterns(".git")
    )
    if not git:
        (repo / ".git").mkdir()
        (repo / ".git" / "config").write_text(f"[core]\n# {CANARY}\n")
    outside = where / "outside"
    outside.mkdir()
    target = repo / case.target
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    make = case.make
    if make == "fifo":
        os.mkfifo(target)
    elif make == "directory":
        target.mkdir()
    elif make == "huge":
        target.write_bytes(case.body + b"# " + b"x" * 78 + b"\n" + b"#" * (2 << 20) + b"\n")
    elif make == "wide":
        target.write_bytes(case.body + b"version: 1\nx: [" + b",".join([b"1"] * 60_000) + b"]\n")
    elif make == "symlink-out":
        real = outside / target.name
        real.write_bytes(case.body + f"# {CANARY}\nsecret: {CANARY}\n".encode())
        target.symlink_to(real)
    elif make == "symlink-passwd":
        target.symlink_to("/etc/passwd")
    elif make == "symlink-broken":
        target.symlink_to("missing-target.yaml")
    elif make == "symlink-git":
        target.symlink_to(repo / ".git" / "config")
    elif make == "symlink-in":
        real = repo / "shared" / target.name
        real.parent.mkdir()
        real.write_bytes(case.body)
        target.symlink_to(os.path.relpath(real, target.parent))
    elif make == "rules-dir-out":
        shutil.move(repo / "rules", outside / "rules")
        (outside / "rules" / "leak.yaml").write_text(f"# {CANARY}\n")
        (repo / "rules").symlink_to(outside / "rules")
    else:
        assert not make, f"{case.name}: unknown make {make!r}"
        target.write_bytes(case.body)
    return repo


def tracked_files(repo: Path) -> list[str]:
    return git(repo, "ls-files").splitlines()
