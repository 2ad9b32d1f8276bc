"""Drivers for the property suite: the deployed PropertyRegistry and SettlementToken with their departments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.domain.property import Owner, UnitState, active_seizure, chain_link, unit_key
from node.chain.abi import DecodedEvent, contract
from node.chain.gateway import Receipt

from .helpers import BANK, COURT, REGISTRY, Registry, b32

UNIT_NUMBER = "320684413219GB00029F00010002"
UNIT = unit_key(UNIT_NUMBER)
OTHER_UNIT = unit_key("110105001002GB00123F00450012")
WHOLE = 1_000_000
DAY = 86_400


def commitment(name: str) -> bytes:
    """Return a stand-in salted commitment for a person called ``name`` in the tests."""
    return keccak(text=f"salt|{name}")


ALICE, BOB, CAROL = commitment("alice"), commitment("bob"), commitment("carol")
LEAF = keccak(text="certificate-1")


@dataclass
class PropertySetup:
    """The two contracts and the department accounts that act on them."""

    chain: Any
    directory: Registry
    register: Registry
    token: Registry
    registrar: LocalAccount
    housing: LocalAccount
    bank_a: LocalAccount
    bank_b: LocalAccount
    court_a: LocalAccount
    court_b: LocalAccount
    court_c: LocalAccount
    issuer: LocalAccount
    stranger: LocalAccount

    @classmethod
    def deploy(cls, chain: Any, directory: Registry) -> PropertySetup:
        acc = chain.accounts
        for code, account, roles in (("REGISTRY", acc[6], REGISTRY), ("BANKA", acc[7], BANK),
                                     ("BANKB", acc[8], BANK), ("COURTA", acc[9], COURT),
                                     ("COURTB", acc[1], COURT), ("COURTC", acc[2], COURT)):
            directory.add_department(code, account, roles)
        register = chain.deploy("PropertyRegistry", directory.address, sender=acc[0])
        token = chain.deploy("SettlementToken", directory.address, sender=acc[0])
        return cls(chain, directory,
                   Registry(chain, register, directory.council, abi=contract("PropertyRegistry")),
                   Registry(chain, token, directory.council, abi=contract("SettlementToken")),
                   registrar=acc[6], housing=acc[5], bank_a=acc[7], bank_b=acc[8], court_a=acc[9],
                   court_b=acc[1], court_c=acc[2], issuer=acc[3], stranger=acc[0])

    def now(self) -> int:
        return int(self.chain.gateway.head().timestamp)

    def register_title(self, unit: bytes = UNIT, owners: tuple[Owner, ...] | None = None,
                       at: int | None = None) -> Receipt:
        owners = owners or (Owner(ALICE, 600_000), Owner(BOB, 400_000))
        return self.register.tx(self.registrar, "registerTitle", unit,
                                [(o.commitment, o.share) for o in owners], LEAF, at=at)

    def changes(self, receipt: Receipt) -> list[DecodedEvent]:
        return [e for e in self.register.events(receipt) if e.name == "TitleChanged"]

    def title_changes(self, unit: bytes = UNIT, since: int = 0, until: int | None = None) -> list[DecodedEvent]:
        """Return the TitleChanged events of ``unit`` in blocks ``since``..``until`` (the head), oldest first."""
        abi = self.register.abi
        logs = self.chain.gateway.get_logs(
            since, self.chain.gateway.head().number if until is None else until, addresses=[self.register.address],
            topic0=[abi.events["TitleChanged"].topic0])
        return [e for e in abi.decode_logs(logs) if e.args["unit"] == unit]


def recompute_head(unit: bytes, events: list[DecodedEvent]) -> bytes:
    """Recompute a unit's chain head from its TitleChanged events, checking every link."""
    head = unit
    for event in events:
        head = chain_link(head, event.args["kind"], event.args["data"], event.args["at"])
        assert head == event.args["head"], event
    return head


def state_matches(setup: PropertySetup, state: UnitState) -> None:
    """Assert the contract's view of ``state.unit`` equals the Python model."""
    reg, unit, now = setup.register, state.unit, setup.now()
    title = reg.view("title", unit)
    assert title["head"] == state.head
    assert title["changes"] == state.changes
    assert title["cancelled"] == state.cancelled
    assert title["certificateLeaf"] == state.certificate_leaf
    assert title["contractHash"] == state.contract_hash
    assert title["ownerConsentMask"] == state.owner_consent_mask
    assert title["mortgageCount"] == len(state.mortgages)
    assert [Owner(o["commitment"], o["share"]) for o in reg.view("owners", unit)] == list(state.owners)
    assert title["activeMortgages"] == state.active_mortgages
    holder, expires, consented, _ = reg.view("preNotice", unit)
    assert (holder, expires, consented) == (state.pre_notice_holder, state.pre_notice_expires_at,
                                            state.pre_notice_consented)
    applicant, expires, suit, _ = reg.view("objection", unit)
    assert (applicant, expires, suit) == (state.objection_applicant, state.objection_expires_at,
                                          state.objection_suit_filed)
    for rank, m in enumerate(state.mortgages, 1):
        got = reg.view("mortgage", unit, rank)
        assert (got["mortgagee"], got["amount"], got["consented"], got["released"]) == (
            m.mortgagee, m.amount, m.consented, m.released)
    assert reg.view("seizureCount", unit) == len(state.seizures)
    seized, court, order, start, _to, _waiting = reg.view("activeSeizure", unit)
    active = active_seizure(state, now)
    assert seized == (active is not None)
    if active is not None:
        assert (court, order, start) == (active.court, active.order_hash, active.start)


def code(name: str) -> bytes:
    return b32(name)
