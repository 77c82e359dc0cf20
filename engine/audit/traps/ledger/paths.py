"""Where the ledger keeps its files, per platform."""

import os
import sys


def data_dir(home: str) -> str:
    """The data directory under ``home``; Windows keeps it under AppData."""
    if sys.platform == "win32":
        return windows_data_dir(home)
    return os.path.join(home, ".local", "share", "ledger")


def windows_data_dir(home: str) -> str:
    """Only meaningful on Windows: the Roaming AppData folder."""
    appdata = os.environ.get("APPDATA") or os.path.join(home, "AppData", "Roaming")
    if not appdata.endswith("Roaming"):
        appdata = os.path.join(appdata, "Roaming")
    return os.path.join(appdata, "Ledger")
