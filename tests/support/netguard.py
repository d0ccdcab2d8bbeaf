"""A socket guard for tests: prove that code under test reaches nothing but loopback addresses.

While installed, ``socket.socket.connect`` / ``connect_ex`` refuse any non-loopback address and
``socket.getaddrinfo`` refuses to resolve any host name but ``localhost`` (so a DNS query cannot
leak either; address literals need no DNS and are left to ``connect``). Every attempt is
recorded, so a test can also assert that the guard saw traffic at all (a guard that saw nothing
proves nothing).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _is_ip_literal(host: str) -> bool:
    """An address literal resolves without DNS; connect() then decides whether it may be reached."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


class SocketGuard:
    """Records loopback connections and refuses (and records) everything else."""

    def __init__(self) -> None:
        self.connected: list[str] = []
        self.refused: list[str] = []

    def _check(self, address: Any) -> None:
        if not isinstance(address, tuple):  # AF_UNIX path: local by definition
            return
        host = str(address[0])
        if not is_loopback(host):
            self.refused.append(host)
            raise ConnectionRefusedError(f"socket guard: {host} is not a loopback address")
        self.connected.append(host)

    @contextmanager
    def installed(self) -> Iterator[SocketGuard]:
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo
        guard = self

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check(address)
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check(address)
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else str(host)
            if host is not None and not is_loopback(name) and not _is_ip_literal(name):
                guard.refused.append(name)
                raise socket.gaierror(f"socket guard: lookup of {name} refused")
            return real_getaddrinfo(host, *args, **kwargs)

        patches: list[tuple[Any, str, Callable[..., Any]]] = [
            (socket.socket, "connect", connect),
            (socket.socket, "connect_ex", connect_ex),
            (socket, "getaddrinfo", getaddrinfo),
        ]
        originals = [(target, name, getattr(target, name)) for target, name, _ in patches]
        try:
            for target, name, replacement in patches:
                setattr(target, name, replacement)
            yield self
        finally:
            for target, name, original in originals:
                setattr(target, name, original)
