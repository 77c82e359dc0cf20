"""Edit formats, measured: which op shapes a model gets right, side by side in one run.

Each format (``replace``: whole definitions; ``search_replace``: exact snippets; ``patch``:
a unified diff; ``all``: every op) runs ``--trials`` real cycles on each bundled sample
project (``benchmarks/samples/``), every trial in a fresh copy so trials are independent,
through ``ratchet run-once --json`` (real gate, real sandbox) with the provider option
``edit_format`` set. The model is the endpoint in ``OPENAI_BASE_URL`` (``--model``), or by
default the Gemma 3 270M GGUF behind a loopback ``llama_cpp.server`` (see
``improvement.py``); ``--provider local`` runs it in-process (grammar-constrained) instead.

Per format, printed: cycles, valid plans (the answer became an edit plan that applied),
tests passed (the candidate's ``tests-pass`` rule held), merged, plan errors (the answer
could not be used: bad JSON, a patch that does not apply, a search text not in the file...)
with the most common cause, and seconds per cycle. Small models, small numbers: the
ranking, not the absolute rate, is what the default (``SMALL_MODEL_FORMAT`` in
``engine/providers/editformat.py``) is chosen on.

Run: ``python benchmarks/edit_formats.py [--trials 2] [--formats replace,patch]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from improvement import (  # noqa: E402
    SAMPLES,
    VALID,
    cycle,
    exit_on_sigterm,
    git,
    local_server,
    make_sample,
)

FORMATS = ("replace", "search_replace", "patch", "all")


def prepare(repo: Path, edit_format: str, provider: str, temperature: float) -> None:
    """Set the sample's provider to ``provider`` with ``edit_format`` (a human's commit)."""
    path = repo / "directives.yaml"
    directives = yaml.safe_load(path.read_text())
    options = directives["provider"]["options"]
    options |= {"edit_format": edit_format, "temperature": temperature}
    if provider == "local":
        keep = ("max_output_tokens", "context_tokens", "closed_schema", "temperature")
        directives["provider"] = {
            "name": "local",
            "options": {k: options[k] for k in keep} | {"edit_format": edit_format},
        }
    path.write_text(yaml.safe_dump(directives, sort_keys=False))
    git(repo, "commit", "-qam", f"bench: edit_format {edit_format}")


def tests_passed(report: dict[str, Any]) -> bool:
    return any(r["id"] == "tests-pass" and r["passed"] for r in report.get("rules", []))


def cause(report: dict[str, Any]) -> str:
    """The specific reason of an error, without the provider's name and the repair preamble
    (``... unusable edit plan after one repair round: edits[0].code: ...``)."""
    first = (report.get("message", "").splitlines() or ["(no message)"])[0]
    return first.rpartition("repair round: ")[2][:60]


def tally(reports: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes = Counter(r["outcome"] for r in reports)
    failed = ("error", "budget", "refused")  # the answer could not become a candidate
    causes = Counter(cause(r) for r in reports if r["outcome"] in failed)
    seconds = sum(r["seconds"] for r in reports)
    return {
        "cycles": len(reports),
        "valid_plans": sum(outcomes[o] for o in VALID),
        "applied": sum(1 for r in reports if r.get("candidate")),
        "tests_passed": sum(1 for r in reports if tests_passed(r)),
        "merged": outcomes["merged"],
        "nothing_to_do": outcomes["nothing-to-do"],
        "plan_errors": sum(outcomes[o] for o in failed),
        "other": sum(n for o, n in outcomes.items() if o not in (*VALID, *failed, "nothing-to-do")),
        "top_error": causes.most_common(1)[0][0] if causes else "",
        "seconds_per_cycle": round(seconds / len(reports), 1) if reports else None,
    }


def render(results: dict[str, dict[str, Any]]) -> str:
    head = "| format | cycles | valid plans | applied | tests passed | merged | plan errors "
    head += "| most common error | s/cycle |"
    out = [head, "|---" * 9 + "|"]
    for name, t in results.items():
        out.append(
            f"| {name} | {t['cycles']} | {t['valid_plans']} | {t['applied']} "
            f"| {t['tests_passed']} | {t['merged']} | {t['plan_errors']} "
            f"| {t['top_error'] or '-'} | {t['seconds_per_cycle']} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2, help="fresh cycles per sample")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--samples", default="complexity,deadcode,duplication")
    parser.add_argument("--provider", choices=("openai_compat", "local"), default="openai_compat")
    parser.add_argument("--temperature", type=float, default=0.7, help="trials differ by it")
    parser.add_argument("--model", default=os.environ.get("OPENAI_MODEL", "gemma-3-270m"))
    parser.add_argument("--json", action="store_true", help="end with the table as JSON")
    args = parser.parse_args()
    exit_on_sigterm()
    formats = [f for f in args.formats.split(",") if f]
    names = [n for n in args.samples.split(",") if n]
    bad = [f for f in formats if f not in FORMATS]
    bad += [n for n in names if not (SAMPLES / n).is_dir()]
    if bad:
        raise SystemExit(f"unknown format or sample {bad[0]!r}: formats {FORMATS}")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="ratchet-formats-") as tmp:
        work = Path(tmp)
        env_url = os.environ.get("OPENAI_BASE_URL")
        local = args.provider == "local"
        server: Any = contextlib.nullcontext(env_url or "")
        if not env_url and not local:
            server = local_server(work / "server.log")
        with server as url:
            reports: dict[str, list[dict[str, Any]]] = {f: [] for f in formats}
            for trial in range(args.trials):  # formats interleaved: load hits all alike
                for name in names:
                    for edit_format in formats:
                        repo = make_sample(
                            name, work / f"{edit_format}-{name}-{trial}", url, args.model
                        )
                        prepare(repo, edit_format, args.provider, args.temperature)
                        report = cycle(repo)
                        reports[edit_format].append(report)
                        print(f"{edit_format} {name} #{trial + 1}: {report['outcome']} "
                              f"{report['seconds']:.0f}s {report.get('message', '')[:80]}",
                              file=sys.stderr)  # fmt: skip
            results = {f: tally(reports[f]) for f in formats}
    where = "in-process local" if args.provider == "local" else env_url or "local llama_cpp.server"
    print(f"model: {args.model} via {where}; samples: {', '.join(names)}; "
          f"{args.trials} trial(s) each; temperature {args.temperature}")  # fmt: skip
    print(render(results))
    if args.json:
        print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
