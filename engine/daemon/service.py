"""``ratchet install-service``: a systemd *user* unit that keeps the daemon running.

Debian 12 ships systemd 252, so the unit uses ``Type=notify`` with ``ExecReload=kill -HUP``
(``Type=notify-reload`` needs 253). ``KillMode=mixed`` sends SIGTERM to the daemon alone, which
then stops its cycle child itself; anything left after ``TimeoutStopSec`` gets SIGKILL.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.cli.exits import NO_RESTART

STOP_TIMEOUT = 120  # seconds; the daemon gives its cycle child a grace well inside this


@dataclass(frozen=True)
class ServiceUnit:
    name: str  # "ratchet-<repo>.service"
    path: Path
    text: str

    @property
    def enable_commands(self) -> tuple[str, ...]:
        return (
            "systemctl --user daemon-reload",
            f"systemctl --user enable --now {self.name}",
            "loginctl enable-linger $USER   # keep it running while you are logged out",
            f"journalctl --user -u {self.name} -f   # follow its log",
        )


def unit_name(repo: Path) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", repo.resolve().name).strip("-") or "repo"
    return f"ratchet-{slug}.service"


def unit_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/systemd/user`` (default ``~/.config/systemd/user``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def render_unit(repo: Path, command: Sequence[str], environment: Mapping[str, str]) -> str:
    """The unit text: ``command`` is the daemon's argv prefix (``ratchet`` or ``python -m
    engine.cli``); ``start --repo ... --log-json`` is appended."""
    repo = repo.resolve()
    argv = [*command, "start", "--repo", str(repo), "--log-json"]
    env_lines = "".join(
        f"Environment={_escape(shlex.quote(f'{key}={value}'))}\n"
        for key, value in sorted(environment.items())
    )
    return (
        "[Unit]\n"
        f"Description=ratchet improvement daemon for {repo}\n"
        + "".join(f"Documentation={_escape(link)}\n" for link in documentation_links())
        + "\n"
        "[Service]\n"
        "Type=notify\n"
        "NotifyAccess=main\n"
        f"WorkingDirectory={repo}\n"
        f"ExecStart={_escape(shlex.join(argv))}\n"
        "ExecReload=/bin/kill -HUP $MAINPID\n"
        "Restart=on-failure\n"
        "RestartSec=30\n"
        # The configuration cannot be used, or another daemon holds the lock.
        # Restarting would not help either: wait for a human.
        f"RestartPreventExitStatus={' '.join(map(str, NO_RESTART))}\n"
        "KillMode=mixed\n"
        f"TimeoutStopSec={STOP_TIMEOUT}\n"
        "Environment=PYTHONUNBUFFERED=1\n"
        f"{env_lines}"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def documentation_links() -> tuple[str, ...]:
    """``file://`` links to the daemon's documentation of the ratchet that runs, only those
    that exist (a source checkout or editable install ships ``docs/``; a wheel may not, and
    then the unit has no Documentation= line rather than a dead one)."""
    from engine.daemon.cycles import engine_root

    docs = engine_root() / "docs"
    return tuple(f"file://{docs / name}" for name in ("daemon.md",) if (docs / name).is_file())


def _escape(text: str) -> str:
    """systemd expands ``%`` specifiers and ``$`` variables in these lines: keep them literal."""
    return text.replace("%", "%%").replace("$", "$$")


def install_unit(
    repo: Path,
    command: Sequence[str],
    environment: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServiceUnit:
    """Write the unit file (replacing an older one of the same name) and describe it."""
    name = unit_name(repo)
    directory = unit_dir(environ)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    text = render_unit(repo, command, environment or {})
    path.write_text(text, encoding="utf-8")
    return ServiceUnit(name=name, path=path, text=text)
