"""The sandbox hardening the guards rely on: no capabilities, a process limit that binds
root, sized tmpfs mounts, host tools that never import from the checkout, and scratch
copies whose changes are reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.gate.evaluation.cgroup import create_pids_group
from engine.gate.evaluation.probes.security import measure_security
from engine.gate.evaluation.sandbox import SandboxRunner
from engine.gate.evaluation.scratch import run_changes, scratch_copy, tree_state
from engine.model import Limits


def sh(script: str, cwd: Path, limits: Limits | None = None) -> tuple[int, str]:
    result = SandboxRunner(limits=limits or Limits()).run(["sh", "-c", script], cwd=cwd, timeout=30)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.sandbox
def test_no_capability_survives(tmp_path: Path) -> None:
    code, output = sh("grep -E '^Cap(Prm|Eff|Bnd|Amb)' /proc/self/status", tmp_path)
    assert code == 0 and output.count("0000000000000000") == 4, output


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("script", "forbidden"),
    [
        ("umount -l /root && echo UNMOUNTED", "UNMOUNTED"),
        ("umount -l /tmp && echo UNMOUNTED", "UNMOUNTED"),
        ("mount -t tmpfs none /mnt && echo MOUNTED", "MOUNTED"),
        ("echo x > /dev/evil && echo WROTE", "WROTE"),
        ("head -c 3000000 /dev/zero > /root/x; echo rc=$?", "rc=0"),
    ],
    ids=["umount-root", "umount-tmp", "mount", "dev-read-only", "hidden-dirs-are-tiny"],
)
def test_the_hiding_mounts_hold(tmp_path: Path, script: str, forbidden: str) -> None:
    code, output = sh(script, tmp_path)
    assert forbidden not in output, output


@pytest.mark.sandbox
def test_tmp_is_a_tmpfs_of_the_memory_limit(tmp_path: Path) -> None:
    code, output = sh(
        "head -c 100000000 /dev/zero > /tmp/big; echo rc=$?", tmp_path, Limits(memory_mb=64)
    )
    assert "rc=1" in output and "No space left" in output


def _pids_cgroup_available() -> bool:
    group = create_pids_group(8)
    if group is not None:
        group.remove()
    return group is not None


@pytest.mark.sandbox
def test_the_process_limit_binds(tmp_path: Path) -> None:
    """A pids cgroup (or, for other users, RLIMIT_NPROC) stops the forks; as root without
    a writable cgroup nothing does (SECURITY.md), and this test says so."""
    script = (
        "import os, time\n"
        "n = 0\n"
        "for _ in range(50):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(3)\n"
        "        os._exit(0)\n"
        "    n += 1\n"
        "print('forked', n)\n"
    )
    result = SandboxRunner(limits=Limits(processes=10)).run(
        ["python3", "-c", script], cwd=tmp_path, timeout=30
    )
    forked = int(result.stdout.split()[-1])
    if _pids_cgroup_available() or os.geteuid() != 0:
        assert forked < 10, result.stdout  # bwrap, its init and python count too
    else:
        assert forked == 50, result.stdout
    assert not [p for p in Path("/sys/fs/cgroup/pids").glob(f"ratchet-{os.getpid()}-*")]


def test_host_tools_never_import_from_the_checkout(tmp_path: Path) -> None:
    marker = tmp_path / "ran-on-the-host"
    (tmp_path / "bandit.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    (tmp_path / "mod.py").write_text("X = 1\n")
    report = measure_security(tmp_path, ["mod.py"])
    assert not marker.exists()
    assert report.problems == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda w: (w / "a.py").write_text("changed\n"), ("modified: a.py",)),
        (lambda w: (w / "a.py").unlink(), ("deleted: a.py",)),
        (
            lambda w: (w / "sub" / "conftest.py").write_text("x = 1\n"),
            ("created: sub/conftest.py",),
        ),
        (lambda w: (w / "out.log").write_text("data\n"), ()),
        (lambda w: (w / "output.toml").write_text("a = 1\n"), ()),  # tomlkit's doctests
        (lambda w: (w / "sub" / "pyproject.toml").write_text(""), ("created: sub/pyproject.toml",)),
        (lambda w: (w / "ruff.toml").write_text(""), ("created: ruff.toml",)),
        (lambda w: os.symlink("/", w / "root-link"), ("symlink: root-link -> /",)),
        (lambda w: os.mkfifo(w / "pipe"), ()),
        (lambda w: (w / ".git").write_text("gitdir: /elsewhere\n"), ()),
    ],
    ids=[
        "modified",
        "deleted",
        "created-code",
        "created-data",
        "created-toml-data",
        "created-config",
        "created-tool-config",
        "symlink",
        "fifo",
        "dot-git",
    ],  # fmt: skip
)
def test_scratch_copy_reports_what_a_run_changed(
    tmp_path: Path, change: object, expected: tuple[str, ...]
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "sub").mkdir(parents=True)
    (checkout / "a.py").write_text("original\n")
    (checkout / ".git").write_text("gitdir: /repo/.git/worktrees/x\n")
    work = scratch_copy(checkout, tmp_path / "work")
    before = tree_state(work)
    change(work)  # type: ignore[operator]
    assert run_changes(before, tree_state(work)) == expected
    assert (checkout / "a.py").read_text() == "original\n"  # the checkout never changes
