"""The CLI's HTTP client of a running node, and where it finds the node and its token."""

from __future__ import annotations

import os
import time
import tomllib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

DEFAULT_DATA = "data"


def read_config_file(data: Path) -> dict[str, Any]:
    """Return ``<data>/regnode.toml`` (the CLI reads it itself: it talks to nodes over HTTP)."""
    path = data / "regnode.toml"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


class CliError(Exception):
    """Raised for a failure the CLI reports to the user with a code and exits non-zero."""

    def __init__(self, code: str, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail or {}


def data_dir(option: Path | None) -> Path:
    """Return the data folder from ``--data``, ``REGNODE_DATA`` or ``./data``."""
    return option or Path(os.environ.get("REGNODE_DATA", DEFAULT_DATA))


def node_url(option: str | None, data: Path) -> str:
    """Return the node URL from ``--node``, ``REGNODE_NODE`` or the data folder's config."""
    if option:
        return option.rstrip("/")
    if os.environ.get("REGNODE_NODE"):
        return os.environ["REGNODE_NODE"].rstrip("/")
    cfg = read_config_file(data)
    return f"http://{cfg.get('host', '127.0.0.1')}:{cfg.get('port', 8000)}"


def token_for(department: str | None, data: Path) -> tuple[str | None, str | None]:
    """Return (department, bearer token) from ``REGNODE_TOKEN`` or the demo token file."""
    import json

    env = os.environ.get("REGNODE_TOKEN")
    if env:
        return department, env
    path = data / "tokens.json"
    tokens: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if department is None:
        department = read_config_file(data).get("node_department") or (
            next(iter(tokens)) if tokens else None)
    if department is None:
        return None, None
    department = department.upper()
    if department not in tokens:
        raise CliError("no_token", f"no token for department {department}: set REGNODE_TOKEN "
                       f"or use --as with one of {sorted(tokens)}")
    return department, tokens[department]


class NodeClient:
    """Calls one node's HTTP API, turning error bodies into ``CliError``."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 120.0) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request and return the response, raising CliError on an error reply."""
        try:
            r = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError("node_unreachable", f"cannot reach the node at {self.base_url}: {exc}"
                           ) from None
        if r.status_code >= 400:
            try:
                err = r.json().get("error", {})
            except ValueError:
                err = {}
            raise CliError(err.get("code", f"http_{r.status_code}"),
                           err.get("message", r.text[:200]),
                           {k: v for k, v in err.items() if k not in ("code", "message")})
        return r

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return the decoded JSON reply."""
        return self.request(method, path, **kwargs).json()

    def post_in_order(self, path: str, bodies: Sequence[bytes], in_flight: int,
                      on_reply: Callable[[int, Any], None]) -> None:
        """POST each JSON body with up to ``in_flight`` requests open; pass replies on in order.

        A bulk import keeps the node busy while a reply travels back and the next request
        travels in. ``on_reply(index, decoded reply)`` runs in the calling thread, in body
        order. After a refused request nothing more is sent; the requests already in flight
        are awaited and their replies still passed on (the node accepted them), then the
        first refusal is raised with ``failed_requests`` (the indexes of every refused body)
        and ``not_sent_from`` (the first index never sent, or None) in its detail. Nothing
        is ever sent twice.
        """
        headers = {"content-type": "application/json"}
        window = max(1, in_flight)
        first: CliError | None = None
        failed: list[int] = []
        open_: deque[tuple[int, Future[Any]]] = deque()
        sent = 0
        with ThreadPoolExecutor(window, thread_name_prefix="regnode-post") as pool:
            while True:
                while not failed and sent < len(bodies) and len(open_) < window:
                    open_.append((sent, pool.submit(self.json, "POST", path, content=bodies[sent],
                                                    headers=headers)))
                    sent += 1
                if not open_:
                    break
                index, future = open_.popleft()
                try:
                    reply = future.result()
                except CliError as exc:
                    first = first or exc
                    failed.append(index)
                    continue
                on_reply(index, reply)
        if first is not None:
            first.detail.update(failed_requests=failed,
                                not_sent_from=sent if sent < len(bodies) else None)
            raise first

    def wait_outbox(self, entry_id: int, timeout: float = 120.0) -> dict[str, Any]:
        """Poll an outbox entry until it is mined and indexed, or failed."""
        deadline = time.monotonic() + timeout
        while True:
            entry: dict[str, Any] = self.json("GET", f"/v1/outbox/{entry_id}")
            if entry["state"] == "failed":
                raise CliError(entry.get("error_code") or "chain_failed",
                               f"the chain refused the action: {entry.get('error_code')}", entry)
            if entry["state"] == "mined" and entry.get("indexed"):
                return entry
            if time.monotonic() > deadline:
                raise CliError("timeout", f"outbox entry {entry_id} is still {entry['state']}")
            time.sleep(0.05)


def connect(data: Path | None, node: str | None, department: str | None) -> NodeClient:
    """Return a client of the node that ``--data``/``--node`` name, acting as ``--as DEPT``."""
    folder = data_dir(data)
    _, token = token_for(department, folder)
    return NodeClient(node_url(node, folder), token)
