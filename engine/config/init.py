"""``ratchet init``: write the starter configuration where it is missing.

Writes ``goals.yaml``, ``directives.yaml`` and ``rules/default.yaml`` from the templates
in ``engine/defaults/`` (package data), never overwriting a file that exists, and lists
``.ratchet/`` (ratchet's state directory) in the repository's exclude file. Running it
twice changes nothing the second time.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from engine.records.layout import EXCLUDE_FORMS, EXCLUDE_LINE

# repo-relative destination -> template name in engine/defaults/
TEMPLATES: dict[str, str] = {
    "goals.yaml": "goals.yaml",
    "directives.yaml": "directives.yaml",
    "rules/default.yaml": "default-rules.yaml",
}
STATE_DIR_PATTERN = EXCLUDE_LINE  # anchored: the state dir at the repository root


def template_text(name: str) -> str:
    """The text of one template in ``engine/defaults/``."""
    return resources.files("engine").joinpath("defaults", name).read_text(encoding="utf-8")


def init_repo(
    repo: Path, exclude_file: Path | None = None, test_command_found: str | None = None
) -> list[str]:
    """Write missing config files into ``repo``; one line per file saying what happened.

    ``test_command_found`` (what ``test_command: auto`` discovered, from the caller) is
    written as a comment above ``test_command`` in the new directives.yaml.

    ``exclude_file`` is the repository's ``info/exclude`` (the caller asks git where it is:
    worktrees share the common dir's one); ``.ratchet/`` is appended to it unless already
    listed. None leaves exclusions alone.
    """
    done: list[str] = []
    for dest, template in TEMPLATES.items():
        path = repo / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # "x": create only; an existing file (even one created a moment ago) is kept.
            with path.open("x", encoding="utf-8") as out:
                text = template_text(template)
                if dest == "directives.yaml" and test_command_found:
                    text = text.replace(
                        "\ntest_command: auto",
                        f"\n# auto found: {test_command_found}\ntest_command: auto",
                    )
                out.write(text)
        except FileExistsError:
            done.append(f"kept {dest} (exists)")
        else:
            done.append(f"wrote {dest}")
    if exclude_file is not None:
        done.append(_exclude_state_dir(exclude_file, _shown(exclude_file, repo)))
    return done


def _shown(path: Path, repo: Path) -> str:
    try:
        return path.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return str(path)


def _exclude_state_dir(exclude_file: Path, shown: str) -> str:
    text = exclude_file.read_text(encoding="utf-8") if exclude_file.is_file() else ""
    listed = {line.strip() for line in text.splitlines()}
    if listed & EXCLUDE_FORMS:
        return f"kept {shown} ({STATE_DIR_PATTERN} already listed)"
    exclude_file.parent.mkdir(parents=True, exist_ok=True)
    separator = "" if not text or text.endswith("\n") else "\n"
    with exclude_file.open("a", encoding="utf-8") as out:
        out.write(f"{separator}{STATE_DIR_PATTERN}\n")
    return f"added {STATE_DIR_PATTERN} to {shown}"
