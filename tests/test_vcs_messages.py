"""Commit messages, trailers and porcelain parsers: pure functions, plus one check that git
itself reads our trailers the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.vcs import FileChange, Git, format_message, parse_trailers
from engine.vcs.results import parse_name_status, parse_status_paths, parse_worktree_list


@pytest.mark.parametrize(
    ("subject", "body", "trailers", "expected"),
    [
        ("Fix it", "", {}, "Fix it\n"),
        ("Fix it", "Because.", {}, "Fix it\n\nBecause.\n"),
        ("  Fix\n  it ", "", {"Ratchet-Goal": "g1"}, "Fix it\n\nRatchet-Goal: g1\n"),
        (
            "Fix it",
            "Line one.\n\nLine two.\n",
            {"Ratchet-Goal": "g1", "Ratchet-Cost": "0.01"},
            "Fix it\n\nLine one.\n\nLine two.\n\nRatchet-Goal: g1\nRatchet-Cost: 0.01\n",
        ),
    ],
)
def test_format_message(subject: str, body: str, trailers: dict[str, str], expected: str) -> None:
    assert format_message(subject, body, trailers) == expected


@pytest.mark.parametrize(
    ("subject", "trailers", "complaint"),
    [
        ("", {}, "subject is empty"),
        ("ok", {"Bad Key": "v"}, "trailer key"),
        ("ok", {"Ratchet-Goal": "g1\nRatchet-Decision: merge"}, "one line"),
        ("ok", {"Ratchet-Goal": "g1\r"}, "one line"),
    ],
)
def test_format_message_refuses(subject: str, trailers: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        format_message(subject, "", trailers)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Subject only\n", {}),
        ("Ratchet-Goal: g1\n", {}),  # a subject is never a trailer block
        ("Subj\n\nBody text.\n", {}),
        ("Subj\n\nBody\n\nA: 1\nB-C: two words\n", {"A": "1", "B-C": "two words"}),
        ("Subj\n\nA: 1\nnot a trailer\n", {}),
    ],
)
def test_parse_trailers(message: str, expected: dict[str, str]) -> None:
    assert parse_trailers(message) == expected


def test_git_reads_our_trailers(tmp_path: Path) -> None:
    trailers = {"Ratchet-Goal": "speed-up", "Ratchet-Decision": "merge", "Ratchet-Delta": "-3"}
    message = format_message("Speed up parse", "Body: with a colon.\n", trailers)
    parsed = Git().run("interpret-trailers", "--parse", cwd=tmp_path, input=message)
    assert parsed.splitlines() == [f"{k}: {v}" for k, v in trailers.items()]
    assert parse_trailers(message) == trailers


def test_parse_name_status() -> None:
    out = "M\0a.txt\0R087\0old name.py\0new name.py\0A\0c.txt\0D\0b.txt\0"
    assert parse_name_status(out) == [
        FileChange("M", "a.txt"),
        FileChange("R", "new name.py", "old name.py"),
        FileChange("A", "c.txt"),
        FileChange("D", "b.txt"),
    ]


def test_parse_status_paths() -> None:
    assert parse_status_paths(" M a.txt\0A  dir/b c.txt\0") == ["a.txt", "dir/b c.txt"]


def test_parse_worktree_list() -> None:
    out = (
        "worktree /r\0HEAD abc\0branch refs/heads/main\0\0"
        "worktree /r/.ratchet/worktrees/x y\0HEAD def\0detached\0locked\0\0"
        "worktree /gone\0HEAD abc\0branch refs/heads/ratchet/g/1\0prunable gitdir file\0\0"
    )
    main, detached, gone = parse_worktree_list(out)
    assert (main.path, main.head, main.branch, main.detached) == (Path("/r"), "abc", "main", False)
    assert (detached.path.name, detached.branch, detached.detached) == ("x y", None, True)
    assert detached.locked and not detached.prunable
    assert (gone.branch, gone.prunable) == ("ratchet/g/1", True)
