"""A tiny geometry library with some lint debt, for ratchet's demo."""
