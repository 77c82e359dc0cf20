"""Failure memory: every rejected attempt, embedded and kept in SQLite under ``.ratchet/``,
so a cycle can be shown the past failures most like the work it is about to do.

- ``embed``   the :class:`~engine.recall.embed.Embedder` seam and the built-in hashing
              embedder (deterministic, no model file, no network)
- ``store``   :class:`~engine.recall.store.FailureStore`: SQLite rows (text, vector),
              cosine nearest neighbours
- ``recall``  the cycle's entry point: sync the store with the records, ask it for the
              k nearest failures, as prompt lines

The store is a cache: it is rebuilt from the records kept in git (``snapshots/`` and the
notes) whenever it is missing, unreadable or was built by another embedder.
"""
