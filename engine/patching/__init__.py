"""Apply edit plans to Python sources with LibCST, enforce path policy, describe diffs.

Modules (import them directly; this package imports nothing so that the pure path
policy does not pay for importing LibCST):

- :mod:`~engine.gate.paths`     path safety, protected paths, scope globs
- :mod:`~engine.patching.transform` one edit -> ``EditApplied`` | ``EditFailed`` (pure)
- :mod:`~engine.patching.plan`      a whole plan -> ``PlanApplied`` | ``PlanRefused``
- :mod:`~engine.patching.diff`      unified diff, line counts, touched symbols
- :mod:`~engine.patching.planfile`  edit plans from/to YAML, JSON and dicts
- :mod:`~engine.patching.symbols`, :mod:`~engine.patching.layout`,
  :mod:`~engine.patching.imports`   LibCST helpers behind ``transform``
"""
