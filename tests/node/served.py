"""Serve an ASGI app over real HTTP on 127.0.0.1 from a thread (uvicorn), stoppable and restartable."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from node.serving import NodeServer


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


class ServedApp:
    """An app listening on a port of its own; ``stop`` takes it off the network, ``start`` back."""

    def __init__(self, app: Any = None) -> None:
        self.app = app
        self._sock: socket.socket | None = _listen(0)  # a free port, held from now on
        self.port: int = self._sock.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, app: Any = None) -> ServedApp:
        """Serve ``app`` (or the one given before) until ``stop``; return once it accepts."""
        self.app = app if app is not None else self.app
        if self._sock is None:
            self._sock = _listen(self.port)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", ws="none",
                                http="h11", loop="asyncio", timeout_graceful_shutdown=5)
        server = NodeServer(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [self._sock]},
                                  name=f"served-{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket (connections are then refused)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
        self._server = self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
