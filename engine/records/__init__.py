"""Records of every attempt, in one package:

- ``render``   the snapshot JSON, memory-bank entry and trailers (pure)
- ``commit``   writes them into the candidate's own commit (the git record writer)
- ``journal``  ``.ratchet/journal.jsonl``, read as typed ``JournalEntry`` values
- ``pending``  the queue of merges waiting for a clean checked-out target
- ``history``  ``ratchet log``: the journal merged with the snapshots found in git
- ``lessons``  ``memory-bank/lessons.md`` for the provider's context
- ``distil``   lessons distilled per goal into ``memory-bank/lessons/<goal>.md``
- ``switches`` the goal options that turn each learned-memory section of the prompt off
- ``repeats``  repeated failures: attempts failing the way an earlier one of the goal did
- ``layout``   the one definition of every path under ``.ratchet/`` (protected: part of the
  gate, see ``engine/gate/boundary.py``)

This ``__init__`` imports nothing, so importing ``layout`` pulls in nothing else.
"""
