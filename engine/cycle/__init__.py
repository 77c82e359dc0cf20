"""The improvement cycle: goal -> proposal -> candidate -> evaluation -> decision ->
merge/reset -> record.

- :mod:`~engine.cycle.orchestrator`  ``Cycle``, ``CycleRequest``: which goal, how many attempts
- :mod:`~engine.cycle.protocols`     every seam the cycle uses (``Measurer``, ``RecordWriter``...)
- :mod:`~engine.cycle.state`         the frozen ``Attempt`` the steps grow, and its ``Ending``
- :mod:`~engine.cycle.attempt`       begin -> propose -> patch -> commit and measure
- :mod:`~engine.cycle.merge`         judge, compare-and-swap, rebase on a moved target, pending
- :mod:`~engine.cycle.finish`        records, archive or keep the branch, the worktree
- :mod:`~engine.cycle.pending`       retry of merges that waited for a clean target
- :mod:`~engine.cycle.selection`     which goal next, what was rejected before
- :mod:`~engine.cycle.naming`        branch, ref, worktree and cycle-id names
- :mod:`~engine.cycle.fakes`         in-package fakes for tests (fixed measurer, memory stores)

This ``__init__`` imports nothing: :mod:`engine.cycle.merge` is a decision root of the gate,
and importing it must not pull in the producers (providers, patcher, records) that the
orchestrator wires. Import ``Cycle`` from :mod:`engine.cycle.orchestrator`.
"""
