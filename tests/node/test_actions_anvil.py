"""Department contract actions on anvil: a revert at mining, a reorg, a restart.

Each test runs a demo node (ticked by hand, no background thread) on the module's anvil.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_utils import keccak
from sqlmodel import Session, select

from ledger.domain.property import unit_key
from ledger.store.models import ChainEvent, OutboxEntry
from node.chain.rpc import RpcChain
from node.errors import ContractReverted
from node.runtime import Runtime
from node.services import actions
from tests.node.reorg import Fork, replaced
from tests.node.test_reorg_node import anvil_url, make_node, open_node  # noqa: F401 (fixture)

pytestmark = pytest.mark.anvil

UNIT_NUMBER = "320684413219GB00029F00010002"
UNIT = unit_key(UNIT_NUMBER)
OWNERS = [(keccak(text="alice"), 600_000), (keccak(text="bob"), 400_000)]


def chain_of(rt: Runtime) -> RpcChain:
    assert isinstance(rt.gateway, RpcChain)
    return rt.gateway


def register(rt: Runtime) -> actions.PreparedCall:
    return actions.preflight(rt.ctx, "REGISTRY", "PropertyRegistry", "registerTitle",
                             [UNIT, OWNERS, keccak(text="leaf")])


def title_events(rt: Runtime) -> list[ChainEvent]:
    with Session(rt.engine) as s:
        return list(s.exec(select(ChainEvent).where(ChainEvent.subject == UNIT.hex())))


def state(rt: Runtime, entry_id: int) -> str:
    with Session(rt.engine) as s:
        row = s.get(OutboxEntry, entry_id)
    assert row is not None
    return row.state


def test_a_call_that_reverts_in_its_block_is_the_coded_error(tmp_path: Path, anvil_url: str) -> None:  # noqa: F811
    node = make_node(tmp_path, anvil_url, confirmations=0)
    rt = node.runtime
    try:
        actions.wait(rt, actions.submit(rt, "REGISTRY", register(rt)))
        chain = chain_of(rt)
        chain.request("evm_setAutomine", False)
        try:
            # both pass their preflight on the current state, and both are signed and sent
            cancel = actions.preflight(rt.ctx, "REGISTRY", "PropertyRegistry", "cancelTitle",
                                       [UNIT, keccak(text="reason")])
            seize = actions.preflight(rt.ctx, "COURT", "PropertyRegistry", "seize",
                                      [UNIT, keccak(text="order"), 86_400])
            cancel_id = actions.submit(rt, "REGISTRY", cancel)
            seize_id = actions.submit(rt, "COURT", seize)
            rt.tick()
            assert (state(rt, cancel_id), state(rt, seize_id)) == ("sent", "sent")
            chain.mine(1)  # one block: the cancellation first, then the seizure reverts
        finally:
            chain.request("evm_setAutomine", True)
        assert actions.wait(rt, cancel_id).event("TitleChanged").args["kind"] == 17
        with pytest.raises(ContractReverted) as info:
            actions.wait(rt, seize_id)
        assert (info.value.code, info.value.status) == ("title_cancelled", 409)
        assert info.value.fields["args"] == {"unit": UNIT.hex()}
        assert info.value.fields["transaction_hash"]  # it was sent and mined, reverted
        receipt = chain.receipt(bytes.fromhex(info.value.fields["transaction_hash"]))
        assert receipt is not None and receipt.status == 0
    finally:
        rt.stop()


def test_a_call_reorged_away_is_sent_again_and_indexed_on_the_new_branch(
        tmp_path: Path, anvil_url: str) -> None:  # noqa: F811
    node = make_node(tmp_path, anvil_url, confirmations=0)
    rt = node.runtime
    try:
        fork = Fork.here(chain_of(rt))
        done = actions.wait(rt, actions.submit(rt, "REGISTRY", register(rt)))
        assert [e.block_number for e in title_events(rt)] == [done.block_number]
        orphaned = fork.switch(mine=2)
        assert replaced(chain_of(rt), orphaned)
        rt.tick()  # the index drops the event and the outbox owes the transaction again
        assert title_events(rt) == [] and state(rt, done.outbox_id) == "sent"
        rt.settle()
        again = actions.wait(rt, done.outbox_id)
        assert again.transaction_hash == done.transaction_hash  # the same journaled transaction
        assert again.block_number == fork.base.number + 3
        assert [e.block_number for e in title_events(rt)] == [again.block_number]
    finally:
        rt.stop()


def test_a_queued_call_survives_a_restart(tmp_path: Path, anvil_url: str) -> None:  # noqa: F811
    node = make_node(tmp_path, anvil_url, confirmations=0)
    rt = node.runtime
    entry_id = actions.submit(rt, "REGISTRY", register(rt))
    rt.stop()
    node = open_node(node.data, confirmations=0)
    rt = node.runtime
    try:
        assert state(rt, entry_id) == "queued"
        done = actions.wait(rt, entry_id)
        assert done.event("TitleChanged").args["unit"] == UNIT
        assert len(title_events(rt)) == 1
    finally:
        rt.stop()
