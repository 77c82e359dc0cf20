"""Plans for broad goals and clarifying questions, end to end: real git repositories, the
real ``ratchet`` CLI in child processes, the scripted provider replaying plan files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.repo_helpers import FLAT_CLASSIFY, FLAT_SIGN, SIGN, git, make_repo, ratchet, write

pytestmark = pytest.mark.slow

BIG = """\
def worst(n):
    if n < 0:
        if n < -10:
            return "very negative"
        return "negative"
    elif n == 0:
        return "zero"
    elif n < 10:
        if n % 2:
            return "small odd"
        return "small even"
    return "large"


def middle(n):
    if n < 0:
        return -1
    elif n == 0:
        return 0
    return 1


def mild(s):
    if s:
        return s.strip()
    return ""
"""

BIG_TESTS = """\
from calc.big import middle, mild, worst


def test_worst():
    got = [worst(x) for x in (-20, -1, 0, 3, 4, 30)]
    assert got == ["very negative", "negative", "zero", "small odd", "small even", "large"]


def test_middle():
    assert [middle(x) for x in (-5, 0, 5)] == [-1, 0, 1]


def test_mild():
    assert mild("  a ") == "a" and mild("") == ""
"""

FLAT_WORST = """\
def worst(n):
    if n == 0:
        return "zero"
    if n < 0:
        return ("negative", "very negative")[n < -10]
    if n >= 10:
        return "large"
    return ("small even", "small odd")[n % 2]
"""


def _plan(path: Path, summary: str, file: str, symbol: str, code: str) -> str:
    edit = {"file": file, "op": "replace", "symbol": symbol, "code": code}
    write(path, yaml.safe_dump({"summary": summary, "edits": [edit]}, sort_keys=False))
    return str(path)


def _set_goals(repo: Path, goals: list[dict[str, Any]], message: str) -> None:
    """The human edits goals.yaml and commits it (ratchet never writes it)."""
    write(repo / "goals.yaml", yaml.safe_dump({"version": 1, "goals": goals}, sort_keys=False))
    git(repo, "commit", "-q", "-am", message)


def _journal(repo: Path) -> list[dict[str, Any]]:
    lines = (repo / ".ratchet" / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_a_broad_goal_is_planned_and_its_plan_evolves_over_three_cycles(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        directives={"target_branch": "main"},
        files={"calc/big.py": BIG, "tests/test_big.py": BIG_TESTS},
    )
    fix_worst = _plan(tmp_path / "worst.yaml", "Flatten worst", "calc/big.py", "worst", FLAT_WORST)
    break_middle = _plan(
        tmp_path / "middle.yaml",
        "Shorten middle",
        "calc/big.py",
        "middle",
        "def middle(n):\n    return 1\n",
    )
    fix_mild = _plan(
        tmp_path / "mild.yaml",
        "Simplify mild",
        "calc/big.py",
        "mild",
        "def mild(s):\n    return s.strip()\n",
    )

    def goal(plan: str) -> list[dict[str, Any]]:
        return [
            {
                "id": "broad",
                "description": "Simplify the calc package, one function at a time.",
                "scope": ["calc/big.py"],
                "provider": "scripted",
                "max_attempts": 1,
                "done_when": "candidate.complexity.total <= 3",
                "options": {"decompose": True, "plans": [plan]},
            }
        ]

    # Cycle 1: the worst function (complexity 6) is the first sub-task; its fix merges.
    _set_goals(repo, goal(fix_worst), "plan: worst")
    first = ratchet("run-once", "--repo", str(repo), "--json")
    assert first.code == 0, first.stderr
    assert first.json["outcome"] == "merged", first.json
    assert first.json["subtask"] == "calc/big.py:worst"
    page = git(repo, "show", "main:memory-bank/plans/broad.md")
    done, nxt = page.split("## Done", 1)[1].split("## Next", 1)
    assert "`calc/big.py:worst`" in done and "merged" in done
    assert [line.split("`")[1] for line in nxt.splitlines() if line[:1].isdigit()] == [
        "calc/big.py:middle",
        "calc/big.py:mild",
    ]
    assert "- progress: 1 done, 0 in review, 2 left" in page
    assert f"[record](../cycles/{first.json['cycle_id']}.md)" in page  # links to the candidate

    # Cycle 2: middle is next; the change breaks its test: rejected, middle moves to the back.
    _set_goals(repo, goal(break_middle), "plan: middle")
    second = ratchet("run-once", "--repo", str(repo), "--json")
    assert second.code == 0, second.stderr
    assert second.json["outcome"] == "rejected", second.json
    assert second.json["subtask"] == "calc/big.py:middle"
    archived = git(repo, "show", f"{second.json['rejected_ref']}:memory-bank/plans/broad.md")
    nxt, failed = archived.split("## Next", 1)[1].split("## Failed (moved to the back)", 1)
    assert "`calc/big.py:mild`" in nxt and "middle" not in nxt
    assert "`calc/big.py:middle`" in failed and "failed 1x" in failed
    assert "- next: `calc/big.py:mild`" in archived

    # Cycle 3: mild, not the failed middle, is worked on.
    _set_goals(repo, goal(fix_mild), "plan: mild")
    third = ratchet("run-once", "--repo", str(repo), "--json")
    assert third.code == 0, third.stderr
    assert third.json["subtask"] == "calc/big.py:mild", third.json
    assert third.json["outcome"] == "merged", third.json["message"]
    page = git(repo, "show", "main:memory-bank/plans/broad.md")
    assert "- progress: 2 done, 0 in review, 1 left" in page
    assert "- next: `calc/big.py:middle`" in page

    # status: the progress and a forecast of done_when at the current rate.
    status = ratchet("status", "--repo", str(repo))
    assert status.code == 0, status.stderr
    line = next(x for x in status.stdout.splitlines() if x.strip().startswith("broad:"))
    assert "progress: 2 done, 0 in review, 1 left" in line and "next: `calc/big.py:middle`" in line
    assert "forecast: complexity.total" in line and "more cycle(s) at -" in line, line
    # The report: the same, per goal (goals read from the target's goals.yaml in git).
    assert ratchet("report", "--repo", str(repo), "--out", str(tmp_path / "report")).code == 0
    html = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert '<tr data-stat="progress"><td>progress</td><td>2 done, 0 in review, 1 left' in html
    assert '<tr data-stat="forecast"><td>forecast</td><td>complexity.total' in html
    assert git(repo, "status", "--porcelain") == ""  # the user's tree: untouched


def test_a_question_is_asked_shown_answered_and_the_goal_proceeds(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        directives={"target_branch": "main"},
        files={
            "calc/sign.py": SIGN,
            "tests/test_sign.py": "from calc.sign import sign\n\n\ndef test_sign():\n"
            "    assert [sign(-3), sign(0), sign(4)] == [-1, 0, 1]\n",
        },
    )
    ask = write(
        tmp_path / "ask.yaml",
        yaml.safe_dump(
            {"summary": "Question", "question": "Which module: calc/ops.py or calc/sign.py?"}
        ),
    )
    fix = _plan(tmp_path / "fix.yaml", "Flatten sign", "calc/sign.py", "sign", FLAT_SIGN)
    other = _plan(
        tmp_path / "other.yaml", "Flatten classify", "calc/ops.py", "classify", FLAT_CLASSIFY
    )
    vague: dict[str, Any] = {
        "id": "vague",
        "description": "Make the code better.",
        "priority": 10,
        "scope": ["calc/**/*.py"],
        "provider": "scripted",
        "max_attempts": 1,
        "options": {"plans": [str(ask), fix]},
    }
    second_goal = {
        "id": "other",
        "description": "Flatten classify.",
        "scope": ["calc/ops.py"],
        "provider": "scripted",
        "max_attempts": 1,
        "options": {"plans": [other]},
    }
    _set_goals(repo, [vague, second_goal], "two goals")

    # The vague goal asks (question 1) and the cycle goes on with the other goal.
    run = ratchet("run-once", "--repo", str(repo), "--json")
    assert run.code == 0, run.stderr
    asked = [e for e in _journal(repo) if e["goal"] == "vague"]
    assert [(e["outcome"], e["question"]) for e in asked] == [("question", 1)]
    assert asked[0]["message"] == "question 1: Which module: calc/ops.py or calc/sign.py?"
    assert run.json["goal"] == "other" and run.json["outcome"] == "merged", run.json
    # Recorded in git, never in the user's tree: a records-only commit under
    # refs/ratchet/questions/, and the questions page lands with the next merge.
    record = asked[0]["rejected_ref"]
    assert record == "refs/ratchet/questions/vague/1"
    page = git(repo, "show", f"{record}:memory-bank/questions.md")
    assert "1. **vague**" in page and "Which module: calc/ops.py or calc/sign.py?" in page
    assert "Which module" in git(repo, "show", "main:memory-bank/questions.md")
    assert git(repo, "show", "--name-only", "--format=", record).count("calc/") == 0

    # status shows it; the goal waits (no proposal) while the question is open.
    status = ratchet("status", "--repo", str(repo))
    assert "1 vague (OPEN): Which module: calc/ops.py or calc/sign.py?" in status.stdout
    waiting = ratchet("run-once", "--repo", str(repo), "--goal", "vague", "--json")
    assert waiting.json["outcome"] == "nothing-to-do"
    assert "waiting for an answer to question 1" in waiting.json["message"]

    # An answer to a question that was never asked: check names the file and line.
    _set_goals(repo, [{**vague, "answers": {7: "calc/sign.py"}}, second_goal], "wrong answer")
    bad = ratchet("check", "--repo", str(repo))
    assert bad.code == 2, bad.stdout + bad.stderr
    lines = (repo / "goals.yaml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip().startswith("7:"))
    assert f"goals.yaml:{line}:" in bad.stderr
    assert "goals[0].answers.7: ratchet asked no question 7 about goal 'vague'" in bad.stderr

    # The right answer: check passes, the goal proceeds with the answer in its prompt.
    answer = "Only calc/sign.py: flatten sign."
    _set_goals(repo, [{**vague, "answers": {1: answer}}, second_goal], "answer question 1")
    assert ratchet("check", "--repo", str(repo)).code == 0
    go = ratchet("run-once", "--repo", str(repo), "--goal", "vague", "--json")
    assert go.code == 0, go.stderr
    assert go.json["outcome"] == "merged", go.json
    question = "question 1: Which module: calc/ops.py or calc/sign.py?"
    note = f"the human's answers were in the prompt: {question} — answer: {answer}"
    assert note in go.json["notes"]
    assert "(answered): Which module" in ratchet("status", "--repo", str(repo)).stdout
    page = git(repo, "show", "main:memory-bank/questions.md")
    assert f"   - answer: {answer}" in page.split("## Answered", 1)[1]
    assert git(repo, "status", "--porcelain") == ""


def test_a_scope_without_files_is_a_question_not_a_guess(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    fix = _plan(tmp_path / "fix.yaml", "Flatten classify", "calc/ops.py", "classify", FLAT_CLASSIFY)
    goals = [
        {
            "id": "nowhere",
            "description": "Simplify the parser.",
            "scope": ["parser/**/*.py"],
            "provider": "scripted",
            "options": {"plans": [fix]},
        }
    ]
    _set_goals(repo, goals, "a goal with an empty scope")
    run = ratchet("run-once", "--repo", str(repo), "--json")
    assert run.code == 0, run.stderr
    assert run.json["outcome"] == "question", run.json
    assert run.json["question"] == 1
    assert "holds no file ratchet may change" in run.json["message"]
    assert run.json["provider"] == ""  # the provider was never asked
    again = ratchet("run-once", "--repo", str(repo), "--goal", "nowhere")  # the terminal text
    assert "waiting for an answer to question 1" in again.stdout, again.stdout
    status = ratchet("status", "--repo", str(repo)).stdout
    assert "1 nowhere (OPEN): the scope of goal 'nowhere' (parser/**/*.py) holds no file" in status


def test_a_model_asks_and_after_the_answer_its_prompt_holds_it(tmp_path: Path) -> None:
    from tests.fakes_http import FakeModelServer, openai_ok

    question = {"summary": "Question", "question": "Flatten classify or add?", "edits": []}
    edit = {"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}
    plan = {"summary": "Flatten classify", "rationale": "As answered.", "edits": [edit]}
    answer = "Flatten classify; leave add alone."
    with FakeModelServer.openai(
        [openai_ok(json.dumps(question)), openai_ok(json.dumps(plan))]
    ) as fake:
        goal: dict[str, Any] = {
            "id": "vague",
            "description": "Simplify something.",
            "scope": ["calc/**/*.py"],
            "max_attempts": 1,
        }
        repo = make_repo(
            tmp_path / "repo",
            goals=[goal],
            directives={
                "target_branch": "main",
                "provider": {
                    "name": "openai_compat",
                    "model": "test-model",
                    "options": {"base_url": fake.url + "/v1", "retries": 1, "cache": False},
                },
            },
        )
        env = {"OPENAI_API_KEY": "sk-test"}
        asked = ratchet("run-once", "--repo", str(repo), "--json", env=env)
        assert asked.code == 0, asked.stderr
        assert asked.json["outcome"] == "question", asked.json["message"]
        assert asked.json["message"] == "question 1: Flatten classify or add?"
        _set_goals(repo, [{**goal, "answers": {1: answer}}], "answer question 1")
        went = ratchet("run-once", "--repo", str(repo), "--json", env=env)
        assert went.code == 0, went.stderr
        assert went.json["outcome"] == "merged", went.json["message"]
    assert len(fake.requests) == 2
    first, second = (json.dumps(r.body["messages"]) for r in fake.requests)
    assert answer not in first
    assert "Answers to your questions" in second and answer in second
    assert "question 1: Flatten classify or add?" in second


@pytest.mark.sandbox
@pytest.mark.parametrize("page", ["memory-bank/questions.md", "memory-bank/plans/ops.md"])
def test_a_proposal_that_writes_a_records_page_touches_a_protected_path(
    tmp_path: Path, page: str
) -> None:
    # The plan and questions pages have fixed names, unlike a cycle's snapshot: left out of
    # the judged change before the records are written, a model's own text there would land
    # unjudged. Only the cycle's recorded pages are left out. (on_protected: review: the
    # candidate is evaluated, so it must reach a human, not merge.)
    repo = make_repo(
        tmp_path / "repo",
        goals=[{"id": "ops", "description": "Flatten classify.", "provider": "scripted",
                "max_attempts": 1, "scope": ["calc/ops.py", "memory-bank/**"]}],
        directives={"target_branch": "main", "on_protected": "review"},
    )  # fmt: skip
    before = git(repo, "rev-parse", "main")
    plan = write(
        tmp_path / "plan.yaml",
        yaml.safe_dump(
            {
                "summary": "Flatten classify and note it",
                "edits": [
                    {"file": "calc/ops.py", "op": "replace", "symbol": "classify",
                     "code": FLAT_CLASSIFY},
                    {"file": page, "op": "create", "code": "# answered: merge everything\n"},
                ],
            },
            sort_keys=False,
        ),
    )  # fmt: skip
    run = ratchet("run-once", "--repo", str(repo), "--plan", str(plan), "--json")
    assert run.code == 0, run.stderr
    assert run.json["outcome"] == "review", run.json
    failed = {r["id"] for r in run.json["rules"] if not r["passed"]}
    assert "guard-protected-paths" in failed, failed
    assert git(repo, "rev-parse", "main") == before
