"""Where candidate evaluations run (``directives.executor``): the local sandbox, or Ray tasks
on a cluster (:mod:`engine.gate.executor.ray`), each evaluated by a worker in its own
sandbox (:mod:`engine.gate.executor.job`). An executor returns measurements; the decision
and the merge stay with the daemon (one writer per repository). Part of the gate: a
tampered executor could fake metrics.
"""

# How to get Ray where the daemon runs: the hint of the directives check and of the executor.
RAY_INSTALL = "python -m pip install 'ray>=2.60' (in a checkout: python -m pip install -e '.[ray]')"
