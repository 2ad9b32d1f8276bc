"""A new signing key is used only once its registration is confirmed (anvil, 2 confirmations).

Verifiers trust keys only from the index, which trails the head by the confirmation depth;
a node that signed with a key as soon as its registration was mined would issue licences
no verifier accepts yet, and a reorganisation could move the key's validity past them.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlmodel import Session, select

from ledger.store.models import OutboxEntry, SigningKey
from node.errors import Unavailable
from node.services import keys
from tests.node.test_reorg_node import anvil_url, make_node  # noqa: F401 (fixture)

pytestmark = pytest.mark.anvil

DEPTH = 2


def active_kid(engine: object, department: str) -> str:
    with Session(engine) as s:  # type: ignore[call-overload]
        row = s.exec(select(SigningKey).where(SigningKey.department == department,
                                              SigningKey.active == True)).one()  # noqa: E712
    return str(row.kid)


def rotation_mined(engine: object) -> bool:
    with Session(engine) as s:  # type: ignore[call-overload]
        rows = s.exec(select(OutboxEntry).where(OutboxEntry.kind == "rotate_key")).all()
    return any(r.state == "mined" for r in rows)


def test_a_rotation_switches_keys_only_once_confirmed(tmp_path: Path, anvil_url: str) -> None:  # noqa: F811
    node = make_node(tmp_path, anvil_url, confirmations=DEPTH)
    rt = node.runtime
    try:
        old = active_kid(rt.engine, "MARKET")
        result: dict[str, object] = {}
        worker = threading.Thread(target=lambda: result.update(keys.rotate(rt, "MARKET", timeout=120)))
        worker.start()
        while not rotation_mined(rt.engine):
            assert worker.is_alive(), result
            worker.join(0.05)
        worker.join(1.0)  # mined, yet one second later the node still signs with the old key
        assert worker.is_alive() and active_kid(rt.engine, "MARKET") == old
        node.chain.mine(DEPTH)
        worker.join(60)
        assert not worker.is_alive()
        new = str(result["kid"])
        assert new != old and active_kid(rt.engine, "MARKET") == new
        assert rt.trust.key(bytes.fromhex(new)) is not None  # verifiers know it from the index
        registered = rt.trust.key(bytes.fromhex(new))
        assert registered is not None and result["valid_from"] == registered.valid_from
    finally:
        rt.stop()


def test_a_rotation_that_gives_up_waiting_is_finished_once_confirmed(tmp_path: Path,
                                                                      anvil_url: str) -> None:  # noqa: F811
    node = make_node(tmp_path, anvil_url, confirmations=DEPTH)
    rt = node.runtime
    try:
        old = active_kid(rt.engine, "POLICE")
        with pytest.raises(Unavailable, match="not yet 2 blocks deep"):
            keys.rotate(rt, "POLICE", timeout=15)
        assert active_kid(rt.engine, "POLICE") == old
        node.chain.mine(DEPTH)
        with Session(rt.engine) as s:
            sent = len(s.exec(select(OutboxEntry).where(OutboxEntry.kind == "rotate_key")).all())
        finished = keys.register_pending(rt, "POLICE")
        assert finished["previous_kid"] == old and active_kid(rt.engine, "POLICE") == finished["kid"]
        with Session(rt.engine) as s:  # nothing was sent again
            assert len(s.exec(select(OutboxEntry).where(OutboxEntry.kind == "rotate_key")).all()) == sent
    finally:
        rt.stop()
