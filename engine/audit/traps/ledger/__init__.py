"""A tiny ledger: the sample that `ratchet audit` sets its traps in."""
