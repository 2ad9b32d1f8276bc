"""Large issuing requests are minted on worker processes: same results, same refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.store.models import Licence, PendingLeaf
from node.services.bootstrap import read_tokens
from tests.node.conftest import DemoNode, _open
from tests.node.test_licences import business, verify


@pytest.fixture(scope="module")
def pooled(demo_data: Path) -> Iterator[DemoNode]:
    rt, client = _open(demo_data, batch_size=256, mint_workers=2)
    yield DemoNode(demo_data, rt, client, read_tokens(demo_data))
    rt.stop()


def counts(node: DemoNode) -> tuple[int, int]:
    with Session(node.runtime.engine) as s:
        return (int(s.exec(select(func.count()).select_from(Licence)).one()),
                int(s.exec(select(func.count()).select_from(PendingLeaf)).one()))


def test_a_large_batch_is_minted_on_workers_and_verifies(pooled: DemoNode) -> None:
    pool = pooled.runtime.ctx.minting
    assert pool.workers == 2 and pool.threshold <= 600
    before, _ = counts(pooled)
    r = pooled.client.post("/v1/licences/batch", json={"licences": [business(i) for i in range(600)]},
                           headers=pooled.headers("MARKET"))
    assert r.status_code == 201, r.text
    assert pool._executor is not None, "the request went to the worker processes"
    # the workers give way to the node's own process (setting mint_nice, default 19); a worker
    # lowers its priority as it starts, which on a loaded machine may still be under way
    assert pool.nice == 19
    wanted, deadline = min(os.getpriority(os.PRIO_PROCESS, 0) + 19, 19), time.monotonic() + 60
    pids = list(pool._executor._processes)  # type: ignore[attr-defined]
    while {os.getpriority(os.PRIO_PROCESS, pid) for pid in pids} != {wanted} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(pids) == 2 and {os.getpriority(os.PRIO_PROCESS, pid) for pid in pids} == {wanted}
    results = r.json()["results"]
    assert len(results) == 600 and len({x["identifier"] for x in results}) == 600
    assert counts(pooled)[0] == before + 600
    # in request order: the n-th result is the n-th licence asked for
    shown = pooled.client.get(f"/v1/licences/{results[417]['identifier']}",
                              headers=pooled.headers("MARKET")).json()
    assert shown["qr"] == results[417]["qr"] and shown["leaf"] == results[417]["leaf"]
    assert any(d[1] == "holderName" and d[2] == "北京示范科技有限公司417" for d in shown["disclosures"])
    pooled.settle()
    for i in (0, 299, 599):
        assert verify(pooled, results[i]["qr"])["verdict"] == "valid"


def test_a_refusal_inside_a_worker_is_the_domain_error_and_nothing_is_written(pooled: DemoNode) -> None:
    before = counts(pooled)
    bodies = [business(i) for i in range(400)]
    bodies[333]["fields"] = {"note": "\ud800"}  # a lone surrogate: no valid UTF-8, refused by the domain
    # sent as the JSON escape \\ud800, which parses to the lone surrogate
    r = pooled.client.post("/v1/licences/batch", content=json.dumps({"licences": bodies}).encode("ascii"),
                           headers={**pooled.headers("MARKET"), "content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_licence"
    assert "Unicode" in r.json()["error"]["message"]
    assert counts(pooled) == before


def test_closing_the_pool_stops_its_processes(demo_data: Path) -> None:
    rt, client = _open(demo_data, mint_workers=1)
    try:
        tokens = read_tokens(demo_data)
        r = client.post("/v1/licences/batch", json={"licences": [business(i) for i in range(300)]},
                        headers={"authorization": f"Bearer {tokens['MARKET']}"})
        assert r.status_code == 201
        executor = rt.ctx.minting._executor
        assert executor is not None
        processes = list(executor._processes.values())  # type: ignore[attr-defined]
        assert processes and all(p.is_alive() for p in processes)
    finally:
        rt.stop()
    assert rt.ctx.minting._executor is None
    assert not any(p.is_alive() for p in processes)


def test_workers_exit_when_the_node_is_killed(tmp_path: Path) -> None:
    # A parent that starts a pool, mints, prints its workers' pids and is then killed with -9.
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        "from node.services.minting import MintingPool\n"
        "if __name__ == '__main__':\n"
        "    pool = MintingPool(2)\n"
        "    print(' '.join(str(p) for p in pool._pool()._processes), flush=True)\n"
        "    time.sleep(600)\n", encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        assert parent.stdout is not None
        pids = {int(p) for p in parent.stdout.readline().split()}
        assert len(pids) == 2 and parent.pid not in pids
        assert all(_alive(p) for p in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "orphaned minting workers outlived the node"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_mint_nice_is_a_priority_step(tmp_path: Path) -> None:
    from node.config import ConfigError, Settings

    assert Settings(data_dir=tmp_path).mint_nice == 19
    with pytest.raises(ConfigError, match="mint_nice"):
        Settings(data_dir=tmp_path, mint_nice=20)
