"""Prompt tokens per request vs the whole-file baseline, and cache hits on a re-run.

For every package under ``engine/`` (or ``--repo PATH``'s top-level packages) one
proposal request is built whose scope is the package and whose goal names its most
complex function (as a goal in goals.yaml would). The table compares:

- ``context``: tokens of the context sections the provider sends (``context.py``);
- ``prompt``: the whole rendered prompt (system + request templates + context);
- ``baseline``: the in-scope files (and the test files tests were drawn from), whole —
  what a naive provider would paste;
- ``ratio``: prompt / baseline.

Then the same requests go through an ``LLMProvider`` twice, with a function transport
standing in for the model (no network) and a fresh state dir: the second pass must be
answered from the request cache. Tokens are estimated at 4 characters each.

Run: ``python benchmarks/context_tokens.py [--repo PATH] [--budget TOKENS]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.model import Directives, Goal  # noqa: E402
from engine.providers.base import ProposalRequest  # noqa: E402
from engine.providers.context import build_context  # noqa: E402
from engine.providers.editformat import system_prompt  # noqa: E402
from engine.providers.llm import LLMProvider, LLMSettings  # noqa: E402
from engine.providers.repomap import index_source  # noqa: E402
from engine.providers.transport import (  # noqa: E402
    CallableTransport,
    LLMReply,
    LLMRequest,
    estimate_tokens,
)

NOTHING = json.dumps({"summary": "nothing to do", "rationale": "benchmark", "edits": []})


def requests_for(repo: Path, budget: int, state_dir: Path | None) -> list[ProposalRequest]:
    """One request per package: scope = its *.py files, goal = its most complex function."""
    out = []
    packages = sorted(p for p in repo.glob("*/*/__init__.py") if "tests" not in p.parts)
    packages += sorted(p for p in repo.glob("*/__init__.py"))
    for init in packages:
        package = init.parent
        files = tuple(
            sorted(
                p.relative_to(repo).as_posix()
                for p in package.rglob("*.py")
                if "sample" not in p.parts
            )
        )
        worst = None
        for file in files:
            for symbol in index_source(file, (repo / file).read_text()).symbols:
                if symbol.kind == "function" and (
                    worst is None or symbol.complexity > worst[1].complexity
                ):
                    worst = (file, symbol)
        if worst is None or len(files) < 2:
            continue
        goal = Goal(
            id=f"simplify-{package.name}",
            description=f"Reduce the cyclomatic complexity of {worst[1].qualname} in {worst[0]}.",
        )
        out.append(
            ProposalRequest(
                goal=goal,
                root=repo,
                files=files,
                state_dir=state_dir,
                directives=Directives(context_tokens=budget),
            )
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--budget", type=int, default=Directives().context_tokens)
    args = parser.parse_args()
    repo = args.repo.resolve()
    system = system_prompt("all")
    provider = LLMProvider(
        CallableTransport(lambda r: LLMReply(text=NOTHING, tokens_in=1, tokens_out=1)),
        LLMSettings(),
    )

    rows = []
    for request in requests_for(repo, args.budget, None):
        context = build_context(request)
        prompt = estimate_tokens(system + provider.render_request(request, context))
        rows.append(
            (request.goal.id, len(request.files), context.tokens, prompt, context.baseline_tokens)
        )
    if not rows:
        print(f"no packages with two or more modules under {repo}")
        return 1
    header = f"{'goal':<28} {'files':>5} {'context':>8} {'prompt':>7} {'baseline':>9} {'ratio':>6}"
    print(f"Prompt tokens per request (budget {args.budget}, ~4 chars/token), repo {repo}")
    print(header)
    print("-" * len(header))
    for goal, files, ctx, prompt, base in rows:
        print(f"{goal:<28} {files:>5} {ctx:>8} {prompt:>7} {base:>9} {prompt / base:>6.2f}")
    total_prompt = sum(r[3] for r in rows)
    total_base = sum(r[4] for r in rows)
    print("-" * len(header))
    print(
        f"{'total':<28} {sum(r[1] for r in rows):>5} {sum(r[2] for r in rows):>8} "
        f"{total_prompt:>7} {total_base:>9} {total_prompt / total_base:>6.2f}"
    )

    calls: list[LLMRequest] = []

    def model(request: LLMRequest) -> LLMReply:
        calls.append(request)
        return LLMReply(text=NOTHING, tokens_in=estimate_tokens(request.prompt), tokens_out=20)

    print()
    print(f"{'pass':<10} {'requests':>8} {'model calls':>11} {'cache hits':>10} {'hit rate':>8}")
    with tempfile.TemporaryDirectory() as state:
        counting = LLMProvider(CallableTransport(model), LLMSettings())
        for run in ("first", "re-run"):
            before = len(calls)
            hits = 0
            requests = requests_for(repo, args.budget, Path(state))
            for request in requests:
                hits += counting.propose(request).usage.cached
            made = len(calls) - before
            print(
                f"{run:<10} {len(requests):>8} {made:>11} {hits:>10} {hits / len(requests):>8.0%}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
