"""Shared bench plumbing: a fresh demo node in a temp folder, typical licences, anvil.

Two ways to run the node. :func:`served_node` runs it as a department does: ``regnode
serve`` in its own process (minting workers, background anchorer, sender and indexer),
driven over real HTTP the way ``regnode licence issue-batch`` drives it, several requests
in flight. :func:`demo_node` opens it in this process the way the node tests do
(``tests/node/conftest.py``): the runtime runs without its background thread (the bench
drives it with ``Runtime.settle``), and requests go through the FastAPI app via
``fastapi.testclient.TestClient``; the gas and case figures use it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import exists, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cli.client import NodeClient
from cli.licences import CHUNK, IN_FLIGHT  # what `regnode licence issue-batch` sends
from cli.licences import batch_bodies as licence_batch_bodies
from ledger.domain.identifiers import uscc_check_char
from ledger.store.db import make_engine
from ledger.store.models import AnchorBatch, Licence, OutboxEntry, PendingLeaf

BUSINESS = "11100000000013338W011"  # 营业执照 in node/data/licence_types.json
DEPARTMENT = "MARKET"
SETTLE_TIMEOUT = 3_600.0

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
_DISTRICTS = ["朝阳区建国路", "海淀区中关村大街", "东城区王府井大街", "西城区金融大街",
              "丰台区南三环西路", "通州区新华大街", "昌平区回龙观东大街", "大兴区兴华大街"]
_SCOPES = ["软件开发；技术服务", "餐饮服务；食品销售", "货物进出口；技术进出口",
           "建筑工程施工；装饰装修", "零售日用百货；服装鞋帽", "企业管理咨询；会议服务"]
_SUFFIX = ["科技有限公司", "商贸有限公司", "餐饮管理有限公司", "建设工程有限公司", "文化传媒有限公司"]


def company_uscc(i: int) -> str:
    """Return a well-formed (check character included) company USCC, distinct per ``i``."""
    first17 = "91110105" + f"{i:09d}"[-9:]
    return first17 + uscc_check_char(first17)


def licence_body(i: int) -> dict[str, Any]:
    """Return a typical business licence request (~6 subject fields), distinct per ``i``."""
    rep = _SURNAMES[i % 20] + _GIVEN[(i // 20) % 20]
    return {
        "type": BUSINESS,
        "holder_name": f"北京{_SURNAMES[(i // 7) % 20]}{_GIVEN[(i // 3) % 20]}"
                       f"{_SUFFIX[i % 5]}{i}",
        "holder_id": company_uscc(i),
        "holder_id_type": "USCC",
        "fields": {
            "legalRepresentative": rep,
            "registeredCapital": f"{(i % 990) + 10}万元人民币",
            "address": f"北京市{_DISTRICTS[i % 8]}{(i % 300) + 1}号",
            "businessScope": _SCOPES[i % 6],
            "establishedDate": f"20{10 + i % 15:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        },
    }


@dataclass
class Node:
    """A running demo node in a temp folder: runtime, HTTP client, department tokens."""

    data: Path
    runtime: Any
    client: Any
    tokens: dict[str, str]
    chain: str
    init_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, dept: str = DEPARTMENT) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[dept]}"}

    def issue(self, start: int, count: int, chunk: int = CHUNK) -> list[dict[str, Any]]:
        """POST ``count`` licences in chunks to the batch endpoint; return the results."""
        results: list[dict[str, Any]] = []
        for k in range(start, start + count, chunk):
            bodies = [licence_body(i) for i in range(k, min(k + chunk, start + count))]
            r = self.client.post("/v1/licences/batch", json={"licences": bodies},
                                 headers=self.headers())
            if r.status_code != 201:
                raise RuntimeError(f"batch issue failed: {r.status_code} {r.text[:500]}")
            results.extend(r.json()["results"])
        return results

    def settle(self) -> None:
        self.runtime.settle(timeout=SETTLE_TIMEOUT)

    def check_all_anchored(self, expected: int) -> None:
        """Raise unless ``expected`` licences exist, all in batches anchored and indexed."""
        check_all_anchored(self.runtime.engine, expected)

    def anchor_gas(self) -> list[tuple[int, int]]:
        """Return (batch size, gas used) of every mined anchorBatch transaction."""
        return anchor_gas(self.runtime.engine)


def check_all_anchored(engine: Engine, expected: int) -> None:
    """Raise unless ``expected`` licences exist, all in batches anchored and indexed."""
    with Session(engine) as s:
        total = s.exec(select(func.count()).select_from(Licence)).one()
        unbatched = s.exec(select(func.count()).select_from(Licence)
                           .where(col(Licence.batch_id).is_(None))).one()
        pending = s.exec(select(func.count()).select_from(PendingLeaf)).one()
        unanchored = s.exec(select(func.count()).select_from(AnchorBatch)
                            .where(col(AnchorBatch.anchored_block).is_(None))).one()
        failed = s.exec(select(func.count()).select_from(OutboxEntry)
                        .where(OutboxEntry.state != "mined")).one()
    problems = {"licences": total, "unbatched": unbatched, "pending": pending,
                "unanchored_batches": unanchored, "outbox_not_mined": failed}
    if total != expected or unbatched or pending or unanchored or failed:
        raise RuntimeError(f"node did not anchor everything: {problems}")


def anchor_gas(engine: Engine) -> list[tuple[int, int]]:
    """Return (batch size, gas used) of every mined anchorBatch transaction."""
    with Session(engine) as s:
        rows = s.exec(select(AnchorBatch.count, OutboxEntry.gas_used).join(
            OutboxEntry, col(OutboxEntry.id) == col(AnchorBatch.outbox_id)).where(
            OutboxEntry.kind == "anchor", OutboxEntry.state == "mined")).all()
    return [(int(c), int(g)) for c, g in rows if g is not None]


def batch_bodies(start: int, count: int, chunk: int = CHUNK) -> list[bytes]:
    """Return the JSON bodies of ``POST /v1/licences/batch`` for licences start..start+count."""
    return licence_batch_bodies([licence_body(i) for i in range(start, start + count)], chunk)


@dataclass
class ServedNode:
    """A demo node served by ``regnode serve`` in its own process, and the database it writes."""

    data: Path
    url: str
    process: subprocess.Popen[bytes]
    engine: Engine
    client: NodeClient  # the CLI's client, acting as the importing department
    chain: str
    init_s: float

    def issue(self, bodies: list[bytes], in_flight: int = IN_FLIGHT) -> int:
        """POST prepared batch bodies as ``regnode licence issue-batch`` does; return the count issued."""
        issued = 0

        def count(_: int, reply: dict[str, Any]) -> None:
            nonlocal issued
            issued += len(reply["results"])

        self.client.post_in_order("/v1/licences/batch", bodies, in_flight, count)
        return issued

    def wait_anchored(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Return once every accepted licence looks anchored and indexed (:func:`check_all_anchored` checks)."""
        deadline = time.monotonic() + timeout
        while not self._quiet():
            if self.process.poll() is not None:
                raise RuntimeError(f"the node exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError("the node did not anchor everything in time")
            time.sleep(0.01)

    def _quiet(self) -> bool:
        """Return True when no leaf waits for a batch, no batch for its event, no entry for the chain."""
        with Session(self.engine) as s:
            busy = s.exec(select(
                exists().where(col(PendingLeaf.seq).is_not(None))
                | exists().where(col(AnchorBatch.anchored_block).is_(None))
                | exists().where(col(OutboxEntry.state).in_(("queued", "signed", "sent"))))).one()
        return not busy

    def cpu_seconds(self) -> tuple[float, float]:
        """Return the CPU seconds of the node process and of its minting workers."""
        return cpu_seconds(self.process.pid), children_cpu_seconds(self.process.pid)


@contextmanager
def served_node(chain: str = "embedded", batch_size: int = 1024,
                chain_id: int = 1337) -> Iterator[ServedNode]:
    """Create a fresh demo node in a temp folder, serve it with ``regnode serve``; stop and remove it after."""
    from node.chain.anvil import free_port
    from node.config import load_settings
    from node.services.bootstrap import init_demo, read_tokens

    tmp = Path(tempfile.mkdtemp(prefix="regnode-bench-"))
    data, port, log = tmp / "data", free_port(), tmp / "serve.log"
    proc: subprocess.Popen[bytes] | None = None
    engine: Engine | None = None
    client: NodeClient | None = None
    try:
        t0 = time.perf_counter()
        init_demo(data, chain=chain, chain_id=chain_id, port=port)
        init_s = time.perf_counter() - t0
        env = {**os.environ, "REGNODE_BATCH_SIZE": str(batch_size)}
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen([str(Path(sys.executable).with_name("regnode")), "serve", "--data",
                                     str(data), "--port", str(port)], env=env, stdout=out, stderr=out)
        url = f"http://127.0.0.1:{port}"
        _wait_serving(proc, url, log)
        engine = make_engine(load_settings(data).db_url)
        client = NodeClient(url, read_tokens(data)[DEPARTMENT], timeout=SETTLE_TIMEOUT)
        yield ServedNode(data, url, proc, engine, client, chain, init_s)
    finally:
        if client is not None:
            client.http.close()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if engine is not None:
            engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_serving(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"regnode serve exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError("regnode serve did not come up")


def quiet() -> None:
    """Silence the deprecation noise the test client prints on import."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*httpx.*")
    logging.getLogger("httpx").setLevel(logging.WARNING)


@contextmanager
def demo_node(chain: str = "embedded", batch_size: int = 1024,
              chain_id: int = 1337, background: bool = False) -> Iterator[Node]:
    """Create a fresh demo node in a temp folder and yield it; remove everything after.

    With ``background`` the node's own loop sends, anchors and indexes (as ``regnode serve``
    does) and requests only wait for it; without, each request drives that work itself.
    """
    quiet()
    from fastapi.testclient import TestClient

    from node.app import create_app
    from node.config import load_settings
    from node.runtime import Runtime
    from node.services.bootstrap import init_demo, read_tokens

    tmp = Path(tempfile.mkdtemp(prefix="regnode-bench-"))
    data = tmp / "data"
    runtime = None
    try:
        t0 = time.perf_counter()
        init_demo(data, chain=chain, chain_id=chain_id, port=18000)
        init_s = time.perf_counter() - t0
        settings = load_settings(data, background=background, batch_size=batch_size)
        runtime = Runtime(settings)
        if background:
            runtime.start()
        client = TestClient(create_app(settings, runtime), raise_server_exceptions=True)
        yield Node(data, runtime, client, read_tokens(data), chain, init_s)
    finally:
        if runtime is not None:
            runtime.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def anvil_process() -> Iterator[Any]:
    """Start a fresh anvil; yield its running ``AnvilProcess`` (``url``, ``pid``)."""
    from node.chain.anvil import AnvilProcess

    with AnvilProcess(chain_id=31337) as proc:
        yield proc


def anvil_version() -> str:
    """Return what ``anvil --version`` prints first."""
    from node.chain.anvil import find_anvil

    out = subprocess.run([str(find_anvil()), "--version"], capture_output=True, text=True,
                         timeout=30)
    return (out.stdout or out.stderr).strip().splitlines()[0] if out else "unknown"


@contextmanager
def anvil_chain() -> Iterator[tuple[str, str]]:
    """Start a fresh anvil; yield (JSON-RPC URL, anvil version)."""
    version = anvil_version()
    with anvil_process() as proc:
        yield proc.url, version


def cpu_seconds(pid: int | None = None) -> float:
    """Return the CPU seconds (user + system) used by this process, or by process ``pid``.

    On a shared machine wall time swings with the neighbours' load; CPU time much less.
    """
    if pid is None:
        return time.process_time()
    # /proc/<pid>/stat: fields after the ")" of the command name start at field 3 (state);
    # utime and stime are fields 14 and 15, in clock ticks.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(parent: int | None = None) -> float:
    """Return the CPU seconds (user + system) of the live children of ``parent`` (default: this process)."""
    total, tick, parent = 0.0, os.sysconf("SC_CLK_TCK"), parent or os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == parent:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total
