"""The gate: everything on the path from measurement to the merge decision and the ref
update. A self-improvement candidate can never edit it (see :mod:`engine.gate.boundary`).

- ``paths``: protected paths, test-file classification, goal scope, path safety;
- ``measure``: what is measured, the sandbox policy, the baseline cache key;
- ``evaluation/``: the sandbox and the probes (tests, coverage, radon, ruff, bandit);
- ``guards/``: built-in checks in code; ``policy/``: the rule engine and ROI;
- ``decision``: guards + rules + merge mode + protected paths -> one Decision.
"""
