"""A real webhook receiver on 127.0.0.1: checks every signature and answers as a test scripts it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from verifiers.errors import WebhookSignatureError
from verifiers.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, verify_signature_at

DROP = 0  # an answer that closes the connection without a response


@dataclass
class Received:
    """One POST as the receiver saw it."""

    path: str
    headers: dict[str, str]
    raw: bytes
    signature: str  # "ok", or why verification failed ("malformed", "stale", "mismatch")
    answered: int

    @property
    def body(self) -> dict[str, Any]:
        return dict(json.loads(self.raw))

    @property
    def event_key(self) -> str:
        return self.headers[EVENT_ID_HEADER.lower()]


class Receiver:
    """Answers POSTs with the scripted statuses in order (``DROP`` hangs up), then ``default``.

    ``secret`` is the subscription's, set once the node returned it; ``clock`` is what the
    receiver calls "now" when it checks the signature's timestamp. ``on_request`` runs
    before the answer is sent (a test may stop the node there).
    """

    def __init__(self, answers: Iterable[int] = (), default: int = 204,
                 clock: Callable[[], float] = time.time,
                 on_request: Callable[[Received], None] | None = None) -> None:
        self.secret = ""
        self.answers = list(answers)
        self.default = default
        self.clock = clock
        self.on_request = on_request
        self.received: list[Received] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._handle(self, raw, headers)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"receiver-{self.port}")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes, headers: dict[str, str]) -> None:
        try:
            verify_signature_at(self.secret, headers.get(SIGNATURE_HEADER.lower()), raw, 300, self.clock())
            verdict = "ok"
        except WebhookSignatureError as exc:
            verdict = exc.reason
        with self.arrived:
            answer = self.answers.pop(0) if self.answers else self.default
        seen = Received(handler.path, headers, raw, verdict, answer)
        if self.on_request is not None:
            self.on_request(seen)
        with self.arrived:
            self.received.append(seen)
            self.arrived.notify_all()
        handler.close_connection = True
        try:
            if answer == DROP:
                handler.connection.close()
                return
            handler.send_response(answer)
            handler.send_header("content-length", "0")
            handler.end_headers()
        except OSError:  # the sender is gone (a test may have killed it)
            pass

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        """Return the requests once at least ``count`` arrived (raise if they do not)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"{len(self.received)} of {count} webhook requests arrived")
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
