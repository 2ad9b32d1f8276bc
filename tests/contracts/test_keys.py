"""Signing keys: rotation, append-only history, validity windows and compromise."""

from __future__ import annotations

from typing import Any

from .helpers import EDDSA, ES256, Registry, addr, b32

K1, K2, K3 = bytes.fromhex("0101010101010101"), bytes.fromhex("0202020202020202"), bytes.fromhex(
    "0303030303030303")
SPKI1, SPKI2, SPKI3 = b"\x30\x59" + b"\x01" * 89, b"\x30\x2a" + b"\x02" * 42, b"\x30\x59" + b"\x03" * 89


def test_rotation_keeps_history_and_windows(registry: Registry, chain: Any, t0: int) -> None:
    reg, market = registry, chain.accounts[3]
    receipt = reg.tx(market, "rotateKey", K1, ES256, SPKI1, at=t0)
    (registered,) = reg.events(receipt)
    assert registered.name == "KeyRegistered"
    assert registered.args == {"department": b32("MARKET"), "kid": K1, "alg": ES256,
                               "publicKey": SPKI1, "validFrom": t0}

    receipt = reg.tx(market, "rotateKey", K2, EDDSA, SPKI2, at=t0 + 100)
    retired, registered = reg.events(receipt)
    assert (retired.name, retired.args) == (
        "KeyRetired", {"department": b32("MARKET"), "kid": K1, "validTo": t0 + 100})
    assert registered.args["validFrom"] == t0 + 100

    assert reg.view("keyCount", b32("MARKET")) == 2
    assert [reg.view("keyIdAt", b32("MARKET"), i) for i in (0, 1)] == [K1, K2]
    assert reg.view("key", K1) == {
        "kid": K1, "department": b32("MARKET"), "alg": ES256, "publicKey": SPKI1,
        "validFrom": t0, "validTo": t0 + 100, "compromisedSince": 0,
    }
    assert reg.view("key", K2)["validTo"] == 0

    valid = {t: (reg.view("keyValidAt", K1, t), reg.view("keyValidAt", K2, t))
             for t in (t0 - 1, t0, t0 + 99, t0 + 100, t0 + 10**6)}
    assert valid == {
        t0 - 1: (False, False), t0: (True, False), t0 + 99: (True, False),
        t0 + 100: (False, True), t0 + 10**6: (False, True),
    }
    assert reg.view("keyValidAt", K3, t0) is False


def test_kids_are_unique_forever_and_keys_well_formed(registry: Registry, chain: Any) -> None:
    reg, market, police = registry, chain.accounts[3], chain.accounts[4]
    reg.tx(market, "rotateKey", K1, ES256, SPKI1)
    with reg.reverts("DepartmentDirectoryKeyExists", kid=K1):
        reg.tx(police, "rotateKey", K1, ES256, SPKI3)
    with reg.reverts("DepartmentDirectoryKeyExists", kid=K1):
        reg.tx(market, "rotateKey", K1, ES256, SPKI1)
    with reg.reverts("DepartmentDirectoryInvalidKey", kid=K3, alg=-9):
        reg.tx(market, "rotateKey", K3, -9, SPKI3)
    with reg.reverts("DepartmentDirectoryInvalidKey", kid=bytes(8)):
        reg.tx(market, "rotateKey", bytes(8), ES256, SPKI3)
    with reg.reverts("DepartmentDirectoryInvalidKey", kid=K3):
        reg.tx(market, "rotateKey", K3, ES256, b"")
    with reg.reverts("DepartmentDirectoryUnknownAccount", account=addr(chain.accounts[9])):
        reg.tx(chain.accounts[9], "rotateKey", K3, ES256, SPKI3)
    with reg.reverts("DepartmentDirectoryUnknownKey", kid=K3):
        reg.view("key", K3)
    reg.council_do("setDepartmentActive", b32("POLICE"), False)
    with reg.reverts("DepartmentDirectoryInactiveDepartment", code=b32("POLICE")):
        reg.tx(police, "rotateKey", K3, ES256, SPKI3)


def test_owner_declares_compromise_which_only_moves_earlier(registry: Registry, chain: Any,
                                                            t0: int) -> None:
    reg, market = registry, chain.accounts[3]
    reg.tx(market, "rotateKey", K1, ES256, SPKI1, at=t0)
    receipt = reg.tx(market, "declareKeyCompromised", K1, t0 + 50, at=t0 + 80)
    compromised, retired = reg.events(receipt)
    assert compromised.args == {"department": b32("MARKET"), "kid": K1, "since": t0 + 50}
    assert retired.args == {"department": b32("MARKET"), "kid": K1, "validTo": t0 + 80}
    assert [reg.view("keyValidAt", K1, t) for t in (t0, t0 + 49, t0 + 50, t0 + 79)] == [
        True, True, False, False]

    with reg.reverts("DepartmentDirectoryInvalidCompromiseTime", since=t0 + 60, current=t0 + 50):
        reg.tx(market, "declareKeyCompromised", K1, t0 + 60)
    with reg.reverts("DepartmentDirectoryInvalidCompromiseTime", since=0):
        reg.tx(market, "declareKeyCompromised", K1, 0)
    reg.tx(market, "declareKeyCompromised", K1, t0 + 10, at=t0 + 90)
    assert reg.view("key", K1)["compromisedSince"] == t0 + 10
    assert reg.view("key", K1)["validTo"] == t0 + 80
    assert [reg.view("keyValidAt", K1, t) for t in (t0 + 9, t0 + 10)] == [True, False]

    # With no open key left, the next rotation closes nothing.
    receipt = reg.tx(market, "rotateKey", K2, ES256, SPKI2, at=t0 + 100)
    assert [e.name for e in reg.events(receipt)] == ["KeyRegistered"]


def test_council_declares_compromise_others_may_not(registry: Registry, chain: Any,
                                                    t0: int) -> None:
    reg, market, police = registry, chain.accounts[3], chain.accounts[4]
    reg.tx(market, "rotateKey", K1, ES256, SPKI1, at=t0)
    reg.tx(market, "rotateKey", K2, ES256, SPKI2, at=t0 + 100)
    with reg.reverts("DepartmentDirectoryNotKeyOwner", kid=K2, account=addr(police)):
        reg.tx(police, "declareKeyCompromised", K2, t0 + 150)
    with reg.reverts("DepartmentDirectoryNotKeyOwner", kid=K2):
        reg.tx(reg.council[0], "declareKeyCompromised", K2, t0 + 150)
    with reg.reverts("DepartmentDirectoryUnknownKey", kid=K3):
        reg.tx(market, "declareKeyCompromised", K3, t0)

    receipt = reg.council_do("declareKeyCompromised", K2, t0 + 150, at=t0 + 200)
    names = [e.name for e in reg.events(receipt)]
    assert names[-4:] == ["ProposalApproved", "KeyCompromised", "KeyRetired", "ProposalExecuted"]
    key = reg.view("key", K2)
    # Closed when the approving block ran, in or after the proposal block at t0 + 200.
    assert (key["validFrom"], key["compromisedSince"]) == (t0 + 100, t0 + 150)
    assert key["validTo"] >= t0 + 200
    assert reg.view("keyValidAt", K2, t0 + 149) is True
    assert reg.view("keyValidAt", K2, t0 + 150) is False
    # The earlier, already closed key is untouched.
    assert reg.view("keyValidAt", K1, t0 + 99) is True
