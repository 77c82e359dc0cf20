import sys

from ledger.paths import data_dir


def test_data_dir() -> None:
    if sys.platform != "win32":
        assert data_dir("/home/a") == "/home/a/.local/share/ledger"
