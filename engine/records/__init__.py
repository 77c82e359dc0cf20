"""Records of every attempt: the snapshot and memory-bank entry committed with the
candidate (``commit``, ``render``), the local journal and pending queue (``journal``),
and ``ratchet log``'s history merged from the journal and git (``history``)."""
