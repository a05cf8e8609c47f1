"""Loopback ports for the lab: allocated in one block, each checked free before anything starts."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable


class PortBusyError(Exception):
    """A port the lab needs is taken by another process; the message names it and what it was for."""


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def check_free(ports: Iterable[tuple[int, str]]) -> None:
    """Raise PortBusyError for the first (port, purpose) that is taken."""
    for port, purpose in ports:
        if not is_free(port):
            raise PortBusyError(
                f"port {port} on 127.0.0.1 ({purpose}) is already in use: stop what holds it"
                f" (`ss -ltnp 'sport = :{port}'` shows it) or choose another block with --base-port"
            )
