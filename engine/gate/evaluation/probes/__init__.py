"""Probes: each measures one aspect of a checkout and returns a frozen report.

Dynamic (runs candidate code, always through the sandbox): :mod:`.tests` (pytest + coverage).
Static (parses files on the host, never executes them): :mod:`.syntax`, :mod:`.complexity`
(radon, in-process), :mod:`.lint` (ruff) and :mod:`.security` (bandit).
"""
