"""SettlementToken: 2 decimals, BANK-only mint and burn, supply conserved by transfers."""

from __future__ import annotations

from .helpers import addr, b32
from .property_helpers import PropertySetup


def test_bank_mints_and_burns_in_fen(property_setup: PropertySetup) -> None:
    s = property_setup
    token = s.token
    assert token.view("decimals") == 2
    assert token.view("directory") == s.directory.address
    receipt = token.tx(s.bank_a, "mint", s.stranger.address, 500_000_000)
    (event,) = token.events(receipt)
    assert event.name == "Transfer" and event.args["value"] == 500_000_000
    assert token.view("balanceOf", s.stranger.address) == 500_000_000
    token.tx(s.bank_b, "mint", s.bank_b.address, 1_000)
    token.tx(s.bank_b, "burn", 400)
    assert token.view("balanceOf", s.bank_b.address) == 600
    assert token.view("totalSupply") == 500_000_600


def test_only_banks_mint_or_burn(property_setup: PropertySetup) -> None:
    s = property_setup
    token = s.token
    for account in (s.registrar, s.housing, s.court_a, s.issuer, s.stranger):
        with token.reverts("SettlementTokenNotBank", account=addr(account)):
            token.tx(account, "mint", account.address, 1)
        with token.reverts("SettlementTokenNotBank", account=addr(account)):
            token.tx(account, "burn", 0)
    s.directory.council_do("setDepartmentActive", b32("BANKA"), False)
    with token.reverts("SettlementTokenNotBank", account=addr(s.bank_a)):
        token.tx(s.bank_a, "mint", s.bank_a.address, 1)
    with token.reverts("ERC20InsufficientBalance"):
        token.tx(s.bank_b, "burn", 1)
    assert token.view("totalSupply") == 0


def test_transfers_conserve_supply(property_setup: PropertySetup) -> None:
    s = property_setup
    token = s.token
    holders = [s.stranger, s.issuer, s.registrar, s.housing]
    token.tx(s.bank_a, "mint", holders[0].address, 1_000_000)
    moves = [(0, 1, 250_000), (1, 2, 100_000), (0, 3, 1), (2, 0, 99_999), (3, 1, 1)]
    for src, dst, amount in moves:
        token.tx(holders[src], "transfer", holders[dst].address, amount)
        balances = [token.view("balanceOf", h.address) for h in holders]
        assert sum(balances) == token.view("totalSupply") == 1_000_000
    assert balances == [849_998, 150_001, 1, 0]
    with token.reverts("ERC20InsufficientBalance"):
        token.tx(holders[3], "transfer", holders[0].address, 1)
