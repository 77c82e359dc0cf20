"""engine.model: one module per concept, no imports of the rest of the engine, no cycles;
the codec round-trips metrics and includes derived keys."""

from __future__ import annotations

import pytest

from engine.model import (
    ChangeFacts,
    CoverageMetrics,
    CycleReport,
    Metrics,
    TestMetrics,
    metrics_from_data,
    to_data,
)
from tests.import_graph import find_cycle, imports_of, modules_under

MODEL = modules_under("engine.model")


def test_the_model_is_split_by_concept() -> None:
    assert set(MODEL) == {
        "engine.model",
        "engine.model.change",
        "engine.model.codec",
        "engine.model.editops",
        "engine.model.config",
        "engine.model.journal",
        "engine.model.lazy",
        "engine.model.metrics",
        "engine.model.outcome",
        "engine.model.plan",
    }


@pytest.mark.parametrize("module", MODEL)
def test_model_modules_import_only_the_model(module: str) -> None:
    outside = {m for m in imports_of(module) if not m.startswith("engine.model")}
    assert outside == set()


def test_model_modules_have_no_import_cycle() -> None:
    assert find_cycle([m for m in MODEL if m != "engine.model"]) is None


def test_metrics_round_trip_through_plain_data() -> None:
    metrics = Metrics(
        commit="abc",
        tests=TestMetrics(passed=3, failures=("t::a",)),
        coverage=CoverageMetrics(percent=81.5, files={"a.py": 90.0}),
        goal=2.0,
    )
    assert metrics_from_data(to_data(metrics)) == metrics


def test_derived_keys_are_in_the_data() -> None:
    data = to_data(ChangeFacts(files=("a.py",), lines_added=3, lines_removed=2))
    assert data["lines"] == 5
    assert data["files"] == ["a.py"]


def test_report_json_starts_with_the_fixed_keys() -> None:
    report = CycleReport(cycle_id="c1", goal="g", outcome="merged", change=ChangeFacts())
    keys = list(report.to_json())
    assert keys[:7] == [
        "goal",
        "outcome",
        "branch",
        "commit",
        "target_before",
        "target_after",
        "rules",
    ]
    assert report.to_json()["change"]["lines"] == 0
