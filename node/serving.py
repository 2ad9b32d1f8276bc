"""Serving the node over HTTP: a uvicorn server that ends event streams when it shuts down.

uvicorn waits for every open response to finish before it runs the app's shutdown, and
an event stream never finishes on its own; so the server tells the app it is closing
(``app.state.closing``) before it starts waiting.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn


class NodeServer(uvicorn.Server):
    """A ``uvicorn.Server`` that sets the app's ``state.closing`` event as it begins to shut down."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        closing = getattr(getattr(self.config.app, "state", None), "closing", None)
        if isinstance(closing, threading.Event):
            closing.set()
        await super().shutdown(sockets)


def serve(app: Any, host: str, port: int, **options: Any) -> None:
    """Serve ``app`` on ``host:port`` until interrupted."""
    NodeServer(uvicorn.Config(app, host=host, port=port, **options)).run()
