"""systemd's notify protocol (``Type=notify``), without libsystemd.

Datagrams to ``$NOTIFY_SOCKET`` are sent non-blocking: a full socket queue must never stall the
daemon (it could delay SIGTERM handling past the unit's stop timeout). Without the variable
every call is a no-op, so the daemon runs the same outside systemd.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class SystemdNotifier:
    """Sends ``READY=1``, ``STATUS=...``, ``RELOADING=1``, ``STOPPING=1`` to systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET") or None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, **fields: str) -> bool:
        """Send ``KEY=value`` lines (keyword ``READY="1"`` -> ``READY=1``). True if sent."""
        if self.address is None:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        address = self.address
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(message.encode("utf-8"), address)
        except OSError:
            return False  # systemd gone or queue full: never worth blocking for
        return True

    def ready(self, status: str = "") -> bool:
        fields = {"ready": "1", "mainpid": str(os.getpid())}
        if status:
            fields["status"] = status
        return self.notify(**fields)

    def status(self, text: str) -> bool:
        return self.notify(status=text)

    def reloading(self) -> bool:
        return self.notify(reloading="1")

    def stopping(self) -> bool:
        return self.notify(stopping="1")
