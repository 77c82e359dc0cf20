"""ratchet: a git-native improvement daemon (import package ``engine``)."""

__version__ = "0.1.0"
