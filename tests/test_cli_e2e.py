"""The CLI driven as a user would: `init --demo`, `serve`, issue, verify (text, photo, offline), revoke.

Also the durability promise: `regnode serve` killed with -9 while licences are accepted
but not anchored; after a restart every one is anchored exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REGNODE = str(Path(sys.executable).with_name("regnode"))
BUSINESS = "11100000000013338W011"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rn(data: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGNODE_DATA": str(data)}
    proc = subprocess.run([REGNODE, *args], capture_output=True, text=True, env=env, timeout=300)
    if ok:
        assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc


def rn_json(data: Path, *args: str, ok: bool = True) -> dict[str, object]:
    out = rn(data, *args, "--json", ok=ok).stdout
    return json.loads(out)


class Server:
    """A `regnode serve` process."""

    def __init__(self, data: Path, port: int, startup_timeout: float = 60, **env: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        environ = {**os.environ, **{f"REGNODE_{k.upper()}": v for k, v in env.items()}}
        self.proc = subprocess.Popen([REGNODE, "serve", "--data", str(data), "--port", str(port)],
                                     env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("serve did not come up")

    def health(self) -> dict[str, object]:
        return httpx.get(self.url + "/health", timeout=5).json()

    def wait_settled(self, timeout: float = 120) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            h = self.health()
            if h["licences_pending_anchor"] == 0 and h["outbox_pending"] == 0 and h["indexer_lag"] == 0:
                return h
            time.sleep(0.1)
        raise TimeoutError(f"node did not settle: {self.health()}")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Server]]:
    data = tmp_path_factory.mktemp("cli") / "data"
    port = free_port()
    init = rn_json(data, "init", "--demo", "--data", str(data), "--port", str(port))
    assert init["departments"] and str(init["registry_address"]).startswith("0x")
    server = Server(data, port, batch_interval_ms="100")
    yield data, server
    server.stop()


def verify_until(data: Path, token: str, verdict: str, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        result = rn_json(data, "verify", token, ok=False)
        if result["verdict"] == verdict or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_user_journey_from_init_to_revoked(demo: tuple[Path, Server], tmp_path: Path) -> None:
    data, server = demo
    issued = rn_json(data, "licence", "issue", "--as", "MARKET", "--type", BUSINESS,
                     "--holder-name", "北京示范科技有限公司", "--holder-id", "91110105MA01ABCD2X",
                     "--holder-id-type", "USCC", "--field", "legalRepresentative=张三",
                     "--field", "address=北京市朝阳区建国路88号", "--valid-until", "2031-12-31")
    ident, token = str(issued["identifier"]), str(issued["qr"])
    assert token.startswith("RN1:")
    assert verify_until(data, token, "valid")["verdict"] == "valid"

    png = tmp_path / "code.png"
    rn(data, "licence", "qr", ident, "--as", "MARKET", "--out", str(png))
    from_photo = rn_json(data, "verify", "--image", str(png))
    assert from_photo["verdict"] == "valid" and from_photo["identifier"] == ident

    snap = tmp_path / "before.snapshot"
    rn(data, "snapshot", "export", "--as", "MARKET", "--out", str(snap))
    offline = rn_json(data, "verify", token, "--offline", str(snap))
    assert offline["verdict"] == "valid"

    revoked = rn_json(data, "licence", "revoke", ident, "--as", "MARKET", "--reason", "5")
    assert revoked["status"] == "revoked"
    online = rn_json(data, "verify", token, ok=False)
    assert online["verdict"] == "revoked"
    assert rn(data, "verify", token, ok=False).returncode == 1
    # the old snapshot still says valid; a fresh one says revoked
    assert rn_json(data, "verify", token, "--offline", str(snap))["verdict"] == "valid"
    snap2 = tmp_path / "after.snapshot"
    rn(data, "snapshot", "export", "--as", "MARKET", "--out", str(snap2))
    assert rn_json(data, "verify", token, "--offline", str(snap2), ok=False)["verdict"] == "revoked"
    shown = rn_json(data, "licence", "show", ident, "--as", "MARKET")
    assert shown["status"] == "revoked" and shown["status_reason"] == 5


def test_cli_errors_are_coded(demo: tuple[Path, Server], tmp_path: Path) -> None:
    data, _ = demo
    bad = rn_json(data, "licence", "issue", "--as", "MARKET", "--type", "NOPE", "--holder-name", "x",
                  "--holder-id", "y", ok=False)
    assert bad["error"]["code"] == "bad_request"  # type: ignore[index]
    missing = tmp_path / "missing.jsonl"
    assert rn_json(data, "licence", "issue-batch", str(missing), "--as", "MARKET",
                   ok=False)["error"]["code"] == "unreadable_file"  # type: ignore[index]
    assert rn_json(data, "verify", "RN1:!!!", ok=False)["verdict"] == "malformed"


def test_kill_9_before_anchoring_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    rn(data, "init", "--demo", "--data", str(data), "--port", str(port))
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps({"type": BUSINESS, "holder_name": f"企业{i}", "holder_id": f"ID{i:06d}",
                                         "fields": {"address": "北京"}}, ensure_ascii=False) + "\n"
                             for i in range(1500)), encoding="utf-8")
    # Nothing anchors on its own: batches close only at 100,000 leaves or after 10 minutes.
    server = Server(data, port, batch_interval_ms="600000", batch_size="65536")
    try:
        rn(data, "licence", "issue-batch", str(batch), "--as", "MARKET", "--chunk", "500")
        assert server.health()["licences_pending_anchor"] == 1500
    finally:
        server.kill9()
    server = Server(data, port, batch_interval_ms="50", batch_size="512")
    try:
        server.wait_settled()
    finally:
        server.stop()
    db = sqlite3.connect(data / "ledger.sqlite3")
    assert db.execute("select count(*) from licence").fetchone()[0] == 1500
    assert db.execute("select count(*) from licence where batch_id is null").fetchone()[0] == 0
    roots = [r for (r,) in db.execute("select subject from chain_event where name = 'BatchAnchored'")]
    batches = [r for (r,) in db.execute("select root from anchor_batch where department = 'MARKET'")]
    assert sorted(roots) == sorted(batches) and len(set(roots)) == len(roots)  # each batch anchored once
    counted = db.execute("select sum(count) from anchor_batch").fetchone()[0]
    assert counted == 1500  # every leaf in exactly one batch
