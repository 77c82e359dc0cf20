"""The failure memory's parts: embedders, the SQLite store, failure documents, distilled
lessons and their place in the prompt's budget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.model import Directives, Goal
from engine.model.journal import JournalEntry
from engine.providers.base import ProposalRequest
from engine.providers.context import build_context
from engine.recall import minilm
from engine.recall.embed import HashingEmbedder, cosine
from engine.recall.recall import EMBEDDER_ENV, default_embedder
from engine.recall.store import FailureStore
from engine.records.distil import bullets, current_lessons, distil, due
from engine.records.failures import FailureDoc, failure_doc
from engine.records.render import abridge

REQUIRE_MINILM = os.environ.get("RATCHET_REQUIRE_MINILM") == "1"


def record(n: int, goal: str = "g", outcome: str = "rejected", **over: object) -> JournalEntry:
    """A full record as the journal keeps it (rules with values, the whole change)."""
    data: dict[str, object] = {
        "cycle_id": f"20260101T0000{n:02d}Z-{goal}-{n}-0001",
        "goal": goal,
        "outcome": outcome,
        "summary": f"Change number {n} to calc/ops.py",
        "started": f"2026-01-01T00:00:{n:02d}+00:00",
        "change": {"files": ["calc/ops.py"], "lines_added": 3, "lines_removed": 1, "symbols": []},
        "rules": [
            {"id": "tests-pass", "passed": False, "applicable": True, "detail": "x", "values": {}},
            {"id": "lint-ratchet", "passed": True, "applicable": True, "detail": "", "values": {}},
        ],
        "cause": "tests failed: tests/test_ops.py::test_classify: AssertionError",
    }
    data.update(over)
    return JournalEntry.from_json(data)


def doc(n: int, text: str, goal: str = "g") -> FailureDoc:
    return FailureDoc(
        cycle_id=f"c{n}", goal=goal, started=str(n), summary=text, files=("a.py",),
        lines=(1, 0), rules=("tests-pass",), cause=text,
    )  # fmt: skip


# --------------------------------------------------------------------------- embedders


def test_the_hashing_embedder_is_deterministic_unit_length_and_lexical() -> None:
    e = HashingEmbedder()
    a, b, c, empty = e.embed(
        ["flatten nested branches in classify", "classify: flatten the nested branch",
         "tests failed: ImportError cannot import area", "the of a"]
    )  # fmt: skip
    assert a == HashingEmbedder().embed(["flatten nested branches in classify"])[0]
    assert abs(cosine(a, a) - 1.0) < 1e-9 and len(a) == e.dim
    assert cosine(a, b) > 0.5 > cosine(a, c)
    assert set(empty) == {0.0}  # only stop-words: no features
    with pytest.raises(ValueError, match="dim must be >= 8"):
        HashingEmbedder(dim=4)


def test_the_embedder_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.errors import InputError

    monkeypatch.setenv(EMBEDDER_ENV, "hashing")
    assert isinstance(default_embedder(), HashingEmbedder)
    monkeypatch.setenv(EMBEDDER_ENV, "bert")
    with pytest.raises(InputError, match="RATCHET_EMBEDDER='bert' is not an embedder"):
        default_embedder()
    monkeypatch.setenv(EMBEDDER_ENV, "auto")
    expected = minilm.MiniLMEmbedder if minilm.available() else HashingEmbedder
    assert isinstance(default_embedder(), expected)


def test_minilm_from_the_packaged_model_matches_the_published_similarity() -> None:
    if not minilm.available():
        assert not REQUIRE_MINILM, (
            "RATCHET_REQUIRE_MINILM=1 but the MiniLM embedder is not installed: "
            + minilm.INSTALL_HINT
        )
        with pytest.raises(Exception, match="not installed"):
            minilm.MiniLMEmbedder().embed(["x"])
        return
    e = minilm.MiniLMEmbedder()
    food, bread, flatten, nesting, imports = e.embed(
        ["A man is eating food.", "A man is eating a piece of bread.",
         "Flatten the nested branches in classify", "Reduce nesting in the classify function",
         "tests failed: ImportError: cannot import name area"]
    )  # fmt: skip
    assert len(food) == 384 and abs(cosine(food, food) - 1.0) < 1e-5
    # sentence-transformers' own example pair for this model scores 0.7553
    assert cosine(food, bread) == pytest.approx(0.7553, abs=2e-3)
    # semantic, not lexical: no shared word, still close; unrelated failures far
    assert cosine(flatten, nesting) > 0.5 > 0.2 > cosine(flatten, imports)


def test_minilm_loads_from_an_inflated_copy_made_once_and_made_again_when_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zipped = minilm.model_zip()
    if zipped is None or not minilm.available():
        assert not REQUIRE_MINILM, "RATCHET_REQUIRE_MINILM=1 but MiniLM is not installed"
        return
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    where = minilm.cache_dir(zipped)
    assert where.is_relative_to(tmp_path / "cache" / "ratchet" / "minilm")
    assert not where.exists()
    made = minilm._from_cache(zipped)  # inflates, then maps
    assert made is not None and (where / "model.safetensors").is_file()
    _, reference = minilm._from_zip(zipped)
    assert made[1].keys() == reference.keys()
    name = "encoder.layer.3.attention.self.query.weight"
    assert (made[1][name] == reference[name]).all()
    assert [p.name for p in where.parent.iterdir()] == [where.name]  # no partial copy left
    # a damaged copy: this load falls back (None), the copy is gone, the next makes it anew
    (where / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json")
    assert minilm._from_cache(zipped) is None
    assert not where.exists()
    again = minilm._from_cache(zipped)
    assert again is not None and (again[1][name] == reference[name]).all()


# --------------------------------------------------------------------------- the store


def test_the_store_adds_only_new_documents_and_finds_the_nearest(tmp_path: Path) -> None:
    store = FailureStore(tmp_path / "m" / "failures.sqlite", HashingEmbedder())
    assert not store.path.exists()  # the constructor does no I/O
    assert store.nearest("anything", 3) == []
    docs = [doc(1, "flatten classify branches"), doc(2, "import area from geometry"),
            doc(3, "flatten the sign function", goal="h")]  # fmt: skip
    assert store.sync(docs) == 3
    assert store.sync(docs) == 0
    found = store.nearest("flatten branches in classify", 2)
    assert [n.cycle_id for n in found] == ["c1", "c3"]
    assert found[0].score > found[1].score
    assert [n.cycle_id for n in store.nearest("flatten classify", 5, exclude={"c1"})][0] == "c3"
    assert store.nearest("flatten", 0) == []


def test_a_corrupt_store_or_another_embedder_is_emptied_and_refilled(tmp_path: Path) -> None:
    path = tmp_path / "failures.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    store = FailureStore(path, HashingEmbedder())
    assert store.sync([doc(1, "flatten classify")]) == 1
    assert store.ids() == {"c1"}
    other = FailureStore(path, HashingEmbedder(dim=64))  # another name: other vectors
    assert other.ids() == set()
    assert other.sync([doc(1, "flatten classify")]) == 1
    assert [n.cycle_id for n in other.nearest("flatten classify", 1)] == ["c1"]


def test_a_failure_reads_the_same_from_the_journal_and_from_its_snapshot() -> None:
    full = record(1)
    snapshot = JournalEntry.from_json(abridge(dict(full.data)))
    assert "values" not in str(snapshot.data.get("rules"))  # really the abridged form
    a, b = failure_doc(full), failure_doc(snapshot)
    assert a is not None and a == b
    assert a.rules == ("tests-pass",) and a.outline == "calc/ops.py (+3 -1)"
    assert a.line.endswith("failed: tests failed: tests/test_ops.py::test_classify: AssertionError")
    assert failure_doc(record(2, outcome="merged")) is None
    assert failure_doc(record(3, summary="")) is None


# --------------------------------------------------------------------------- lessons


def test_lessons_are_due_every_n_attempts_when_that_attempt_is_rejected() -> None:
    entries = [record(1), record(2, outcome="merged"), record(3), record(4)]
    assert [due(entries[:n], 2) for n in range(1, 5)] == [False, False, False, True]
    assert current_lessons(entries[:3], "g", 2) == ""  # the 2nd attempt merged: no file
    text = current_lessons([*entries, record(5, goal="other")], "g", 2)
    assert text == distil("g", entries, 2)
    assert "- 4 attempts at goal g: 1 merged, 3 rejected." in text
    assert "- rule tests-pass rejected 3 of 3 failed changes — e.g. tests failed:" in text
    assert "- calc/ops.py: in 3 of 3 rejected changes" in text
    assert "lint-ratchet" not in text  # it passed
    assert bullets(text)[0] == "4 attempts at goal g: 1 merged, 3 rejected."
    # lessons_every: 0 is "off": never due, nothing regenerated for the prompt
    assert not any(due(entries[:n], 0) for n in range(0, 5))
    assert current_lessons(entries, "g", 0) == ""


# --------------------------------------------------------------------------- the prompt


def prompt_request(root: Path, budget: int, n: int) -> ProposalRequest:
    (root / "pkg").mkdir(exist_ok=True)
    (root / "pkg" / "m.py").write_text("def f(x):\n    return x + 1\n" * 20)
    return ProposalRequest(
        goal=Goal(id="g", description="Simplify f"),
        root=root,
        files=("pkg/m.py",),
        directives=Directives(context_tokens=budget),
        lessons=("keep helpers pure",),
        goal_lessons=tuple(f"lesson {i} " + "word " * 30 for i in range(n)),
        similar=tuple(f"tried {i}: " + "failed because " * 20 for i in range(n)),
        history=tuple(f"attempt {i} rejected " + "x " * 40 for i in range(n)),
        feedback="the previous attempt failed\n" * 200,
        attempt=2,
    )


@pytest.mark.parametrize("budget", [300, 800, 3000, 12000])
def test_memory_sections_stay_within_the_budget(tmp_path: Path, budget: int) -> None:
    context = build_context(prompt_request(tmp_path, budget, 50))
    assert context.tokens <= budget * 1.05
    text = context.render()
    assert "keep helpers pure" in text  # the humans' lessons are always there
    if budget >= 3000:
        assert "## Already tried, and why it failed" in text
        assert "- tried 0: " in text  # best first: the nearest survives the cut
        assert "more omitted)" in text
        assert "## Lessons distilled from this goal's records" in text
        assert "- lesson 0 " in text


def test_the_memory_goal_options_are_validated_with_file_line_and_field(tmp_path: Path) -> None:
    from engine.config import load_goals
    from engine.errors import ConfigError

    (tmp_path / "goals.yaml").write_text(
        "version: 1\ngoals:\n  - id: g\n    description: x\n"
        "    options: {similar_failures: 50, lessons_every: -1, earlier_rejections: x}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_goals(tmp_path)
    assert str(raised.value).splitlines() == [
        "goals.yaml:5:33: goals[0].options.similar_failures: must be at most 20, got 50",
        "goals.yaml:5:52: goals[0].options.lessons_every: must be at least 0, got -1",
        "goals.yaml:5:76: goals[0].options.earlier_rejections: "
        "expected a whole number, got a string ('x')",
    ]


def test_memory_off_is_a_valid_goal_option_set_and_reads_as_zero(tmp_path: Path) -> None:
    from engine.config import load_goals
    from engine.records.switches import (
        MEMORY_OFF,
        earlier_rejections,
        lessons_every,
        similar_failures,
    )

    (tmp_path / "goals.yaml").write_text(
        "version: 1\ngoals:\n  - id: quiet\n    description: x\n"
        "    options: {similar_failures: 0, lessons_every: 0, earlier_rejections: 0}\n"
        "  - id: usual\n    description: y\n"
    )
    off, on = load_goals(tmp_path)
    assert dict(off.options) == dict(MEMORY_OFF)
    assert (similar_failures(off), lessons_every(off), earlier_rejections(off)) == (0, 0, 0)
    assert (similar_failures(on), lessons_every(on), earlier_rejections(on)) == (3, 5, 5)
