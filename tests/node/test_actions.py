"""Department contract actions: any call to any of the node's contracts through the outbox.

On the embedded chain: a call is preflighted from the department's own account (a revert
is a coded error and nothing is queued), queued as an outbox ``call`` entry, mined and
its event indexed under the right subject; a timeout is a coded 503 and the entry lands
later; a call refused once it is queued is the same coded error. The error mapping is
checked on every custom error of every artifact.
"""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak
from sqlalchemy import func
from sqlmodel import Session, col, select

from ledger.domain.identifiers import to_bytes32
from ledger.domain.property import unit_key
from ledger.store.models import AuditEntry, ChainEvent, OutboxEntry
from node.chain.abi import contract
from node.errors import ContractReverted, Unavailable, revert_code
from node.services import actions, chainview
from tests.node.conftest import DemoNode

WHOLE = 1_000_000


def unit_number(n: int) -> str:
    return f"110105001002GB{n:05d}F00450012"


def owners(tag: str) -> list[tuple[bytes, int]]:
    return [(keccak(text=f"{tag}-a"), 600_000), (keccak(text=f"{tag}-b"), 400_000)]


def register(demo: DemoNode, n: int, timeout: float = actions.DEFAULT_TIMEOUT) -> actions.ActionResult:
    unit = unit_key(unit_number(n))
    return actions.perform(demo.runtime, "REGISTRY", "PropertyRegistry", "registerTitle",
                           [unit, owners(str(n)), keccak(text=f"leaf-{n}")], subject=unit.hex(),
                           timeout=timeout)


def outbox_count(demo: DemoNode) -> int:
    with Session(demo.runtime.engine) as s:
        return int(s.exec(select(func.count()).select_from(OutboxEntry)).one())


def entry(demo: DemoNode, entry_id: int) -> OutboxEntry:
    with Session(demo.runtime.engine) as s:
        row = s.get(OutboxEntry, entry_id)
    assert row is not None
    return row


def title_events(demo: DemoNode, unit: bytes) -> list[ChainEvent]:
    with Session(demo.runtime.engine) as s:
        return list(s.exec(select(ChainEvent).where(ChainEvent.name == "TitleChanged",
                                                    ChainEvent.subject == unit.hex())
                           .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))))


def test_a_call_is_queued_mined_and_its_event_indexed_under_the_unit(demo: DemoNode) -> None:
    done = register(demo, 1)
    unit = unit_key(unit_number(1))
    assert done.contract == "PropertyRegistry" and done.function == "registerTitle"
    assert done.block_number > 0 and done.gas_used > 0 and done.indexed
    changed = done.event("TitleChanged")
    assert changed.args["unit"] == unit and changed.args["kind"] == 1
    row = entry(demo, done.outbox_id)
    assert row.kind == "call" and row.state == "mined" and row.transaction_hash == done.transaction_hash
    payload = json.loads(row.payload)
    property_address = demo.runtime.settings.property_registry_address.lower()
    assert payload["to"] == property_address and payload["contract"] == "PropertyRegistry"
    assert payload["function"] == "registerTitle" and payload["data"].startswith("0x")
    assert row.raw_transaction  # journaled before it was sent
    (event,) = title_events(demo, unit)
    assert event.contract == property_address[2:] and event.transaction_hash == done.transaction_hash
    assert json.loads(event.args)["head"] == changed.args["head"].hex()
    with Session(demo.runtime.engine) as s:
        audited = s.exec(select(AuditEntry).where(AuditEntry.subject == unit.hex())).one()
    assert audited.actor == "REGISTRY" and audited.action == "PropertyRegistry.registerTitle"


def test_the_indexer_watches_both_registries_by_address(demo: DemoNode) -> None:
    settings = demo.runtime.settings
    watched = chainview.watched_addresses(settings)
    assert sorted(watched.values()) == ["LicenceRegistry", "PropertyRegistry"]
    assert set(demo.runtime.indexer.addresses) == set(watched)
    # licence events still arrive: the demo's key registrations and department additions
    with Session(demo.runtime.engine) as s:
        names = set(s.exec(select(ChainEvent.name)).all())
    assert {"DepartmentAdded", "KeyRegistered"} <= names


def test_decode_dispatches_on_the_address_and_skips_strangers(demo: DemoNode) -> None:
    done = register(demo, 2)
    gateway = demo.runtime.gateway
    logs = gateway.get_logs(0, done.block_number)
    watched = chainview.watched_addresses(demo.runtime.settings)
    rows = chainview.decode(logs, watched)
    assert [r.raw.log_index for r in rows if r.raw.block_number == done.block_number] == [
        g.log_index for g in logs if g.block_number == done.block_number]
    titles = [r for r in rows if r.name == "TitleChanged"]
    assert unit_key(unit_number(2)).hex() in {r.subject for r in titles}
    # a contract nobody registered is not decoded, even when its events share a name
    licence_only = {a: n for a, n in watched.items() if n == "LicenceRegistry"}
    assert not [r for r in chainview.decode(logs, licence_only) if r.name == "TitleChanged"]


def test_a_preflight_revert_is_the_coded_error_and_nothing_is_queued(demo: DemoNode) -> None:
    before = outbox_count(demo)
    with pytest.raises(ContractReverted) as info:
        actions.perform(demo.runtime, "MARKET", "PropertyRegistry", "registerTitle",
                        [unit_key(unit_number(3)), owners("3"), keccak(text="leaf")])
    err = info.value
    assert (err.code, err.status) == ("missing_role", 403)
    assert err.error_name == "PropertyRegistryMissingRole"
    market = demo.runtime.ctx.account("MARKET").address.lower()
    assert err.fields["args"] == {"account": market[2:], "role": 2}
    assert outbox_count(demo) == before


def test_preflight_sees_the_contracts_own_checks(demo: DemoNode) -> None:
    register(demo, 4)
    with pytest.raises(ContractReverted) as info:
        register(demo, 4)
    assert (info.value.code, info.value.status) == ("title_exists", 409)
    with pytest.raises(ContractReverted) as info:
        actions.perform(demo.runtime, "REGISTRY", "PropertyRegistry", "registerTitle",
                        [unit_key(unit_number(5)), [(keccak(text="x"), 1)], keccak(text="leaf")])
    assert (info.value.code, info.value.status) == ("invalid_shares", 400)
    assert info.value.fields["args"] == {"total": 1}
    with pytest.raises(ContractReverted) as info:
        actions.perform(demo.runtime, "BANK", "PropertyRegistry", "releaseMortgage",
                        [unit_key(unit_number(6)), 1])
    assert (info.value.code, info.value.status) == ("unknown_title", 404)


def test_a_timeout_is_unavailable_and_the_entry_lands_later(demo: DemoNode) -> None:
    with pytest.raises(Unavailable) as info:
        register(demo, 7, timeout=0)
    entry_id = int(info.value.fields["outbox_id"])
    assert info.value.status == 503 and entry(demo, entry_id).state == "queued"
    demo.settle()
    assert entry(demo, entry_id).state == "mined"
    (event,) = title_events(demo, unit_key(unit_number(7)))
    assert event.transaction_hash == entry(demo, entry_id).transaction_hash
    waited = actions.wait(demo.runtime, entry_id)  # and a later wait reports it
    assert waited.transaction_hash == event.transaction_hash and waited.indexed


def test_a_call_refused_once_queued_is_the_same_coded_error(demo: DemoNode) -> None:
    register(demo, 8)
    unit = unit_key(unit_number(8))
    rt = demo.runtime
    first = actions.preflight(rt.ctx, "REGISTRY", "PropertyRegistry", "recordObjection",
                              [unit, keccak(text="applicant-1")])
    second = actions.preflight(rt.ctx, "REGISTRY", "PropertyRegistry", "recordObjection",
                               [unit, keccak(text="applicant-2")])
    # both passed their preflight; the second waits in the outbox behind the first
    first_id = actions.submit(rt, "REGISTRY", first, subject=unit.hex())
    second_id = actions.submit(rt, "REGISTRY", second, subject=unit.hex())
    assert actions.wait(rt, first_id).event("TitleChanged").args["kind"] == 13
    with pytest.raises(ContractReverted) as info:
        actions.wait(rt, second_id)
    assert (info.value.code, info.value.status) == ("objection_exists", 409)
    assert info.value.fields["args"] == {"unit": unit.hex(), "applicant": keccak(text="applicant-1").hex()}
    row = entry(demo, second_id)
    assert row.state == "failed" and row.error_code == "PropertyRegistryObjectionExists"


def test_any_contract_of_the_node_takes_the_same_path(demo: DemoNode) -> None:
    # the LicenceRegistry: a department changes its own endpoint through a generic call
    done = actions.perform(demo.runtime, "HOUSING", "LicenceRegistry", "setEndpoint",
                           ["https://housing.example.gov.cn"])
    updated = done.event("DepartmentUpdated")
    assert updated.args["code"] == to_bytes32("HOUSING")
    assert demo.runtime.trust.endpoint("HOUSING") == "https://housing.example.gov.cn"
    # the SettlementToken (address from settlement_token_address): only a bank mints
    with pytest.raises(ContractReverted) as info:
        actions.perform(demo.runtime, "TAX", "SettlementToken", "mint",
                        [bytes(20), 100])
    assert (info.value.code, info.value.status) == ("not_bank", 403)


@pytest.mark.parametrize("name", ["FeeSchedule", "LicenceRegistry", "PropertyRegistry", "SettlementToken"])
def test_every_custom_error_maps_to_a_snake_case_code(name: str) -> None:
    for error in contract(name).errors:
        code, status = revert_code(name, error)
        assert code and code == code.lower() and " " not in code and not code.startswith("_")
        assert status in (400, 403, 404, 409)
        assert not code.startswith(name.lower())


@pytest.mark.parametrize(("name", "expected"), [
    ("PropertyRegistryUnitSeized", ("unit_seized", 409)),
    ("PropertyRegistryMissingRole", ("missing_role", 403)),
    ("PropertyRegistryNotMortgagee", ("not_mortgagee", 403)),
    ("PropertyRegistryNotSeizingCourt", ("not_seizing_court", 403)),
    ("PropertyRegistryUnknownTitle", ("unknown_title", 404)),
    ("PropertyRegistryUnknownMortgage", ("unknown_mortgage", 404)),
    ("PropertyRegistryInvalidShares", ("invalid_shares", 400)),
    ("PropertyRegistryZeroValue", ("zero_value", 400)),
    ("PropertyRegistryNoPreNotice", ("no_pre_notice", 409)),
    ("PropertyRegistryMortgageNotReleased", ("mortgage_not_released", 409)),
    ("PropertyRegistryPreNoticeHeld", ("pre_notice_held", 409)),
    ("", ("reverted", 409)),
    ("Panic", ("panic", 409)),
])
def test_property_error_codes(name: str, expected: tuple[str, int]) -> None:
    assert revert_code("PropertyRegistry", name) == expected


def test_inherited_and_other_contracts_errors_strip_their_prefix() -> None:
    assert revert_code("LicenceRegistry", "DepartmentDirectoryOnlyCouncil") == ("only_council", 403)
    assert revert_code("LicenceRegistry", "LicenceRegistryNotSuspended") == ("not_suspended", 409)
    assert revert_code("TransferCases", "TransferCasesUnknownCase") == ("unknown_case", 404)
    assert revert_code("TransferCases", "TransferCasesNotSeller") == ("not_seller", 403)
