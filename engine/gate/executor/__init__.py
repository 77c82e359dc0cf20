"""Where candidate evaluations run (``directives.executor``): the local sandbox, or Ray tasks
on a cluster (:mod:`engine.gate.executor.ray`), each evaluated by a worker in its own
sandbox (:mod:`engine.gate.executor.job`). An executor returns measurements; the decision
and the merge stay with the daemon (one writer per repository). Part of the gate: a
tampered executor could fake metrics.
"""
