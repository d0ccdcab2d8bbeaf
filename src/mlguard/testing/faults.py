"""Misbehaving servers for the fault suite: a TCP server that accepts and never answers."""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class FrozenServer:
    """Listens on 127.0.0.1, accepts every connection, reads what is sent and never answers: what a
    hung API, a stuck proxy or a black-holed load balancer looks like to a client."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name="frozen-server", daemon=True)
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)  # kept open, never read from or written to

    def __enter__(self) -> FrozenServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._sock.close()


def main() -> None:
    """``python -m mlguard.testing.faults``: print the URL of a frozen server, then hold it open."""
    with FrozenServer() as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
