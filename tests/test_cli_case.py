"""A whole second-hand transfer through the installed ``regnode`` command, as the departments
would run it, against a ``regnode serve`` process: once on the embedded chain, once on a fresh
anvil (``init --demo --chain URL``).

REGISTRY registers the seller's title and records BANK's mortgage, COURT seizes the unit and
HOUSING's case is refused (``unit_seized``, exit 2); the seizure is released, the case opens,
BANK releases its mortgage, TAX assesses (the worked example of DOMAIN.md, to the fen), BANK
cannot pay from an empty balance (``insufficient_balance``) and funds with ``--mint``,
REGISTRY settles. The register then shows the buyers' commitments and shares and the transfer
in a hash chain that links; the case shows what everyone was paid; the e-tax vouchers and the
new title certificate verify ``valid``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from node.chain.anvil import AnvilProcess
from tests.test_cli_e2e import REGNODE, Server, free_port

pytestmark = pytest.mark.slow

UNIT = "110105001002GB00123F00450012"
ORDER = "(2026)京0105执保7号"
SELLER_ACCOUNT = "0x" + "5e" * 20
BUYERS = [("王五", "110101199003071234", "60"), ("赵六", "110101199105082345", "40")]
# DOMAIN.md's worked example: 2026, 89 m², P = 5,000,000, the buyers' first home, held 1 year, cost unknown.
SALE = ["--price", "5000000", "--area", "89", "--acquired", "2025-03-01", "--contract-date", "2026-03-01",
        "--buyer-homes", "1", "--seller-account", SELLER_ACCOUNT,
        *[arg for name, id_number, share in BUYERS for arg in ("--buyer", f"{name}:{id_number}:{share}")]]
LINES_FEN = {"vat": 14_563_107, "vatSurcharges": 873_786, "deedTax": 4_854_369, "incomeTax": 4_854_369,
             "registrationFee": 8_000}
PRICE_FEN = 500_000_000


@pytest.fixture(scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A demo consortium made by ``regnode init --demo`` and served by ``regnode serve``."""
    data = tmp_path_factory.mktemp(f"cli-case-{request.param}") / "data"
    port = free_port()
    with ExitStack() as stack:
        chain = "embedded"
        if request.param == "anvil":
            chain = stack.enter_context(AnvilProcess(chain_id=31337)).url
        init = regnode(data, "init", "--demo", "--data", str(data), "--port", str(port), "--chain", chain)
        assert init["chain"] == chain
        server = Server(data, port, batch_interval_ms="100")
        stack.callback(server.stop)
        yield data


def regnode(data: Path, *args: str, code: int = 0) -> Any:
    """Run ``regnode ARGS --json`` as a user would and return its JSON (asserting the exit status)."""
    env = {**os.environ, "REGNODE_DATA": str(data)}
    done = subprocess.run([REGNODE, *args, "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == code, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def test_a_second_hand_transfer_through_the_cli(served: Path) -> None:
    data = served
    seller = regnode(data, "property", "register", UNIT, "--owner", "110101198001011234,张三,100", "--as", "REGISTRY")
    assert seller["change"] == "registered"
    regnode(data, "property", "consent", UNIT, "--owners", "0", "--as", "REGISTRY")
    assert regnode(data, "property", "mortgage", UNIT, "--bank", "BANK", "--amount", "800000",
                   "--as", "REGISTRY")["rank"] == 1
    seizure = regnode(data, "property", "seize", UNIT, "--order", ORDER, "--days", "90", "--as", "COURT")

    refused = regnode(data, "case", "open", UNIT, "--contract", "BJ-2026-000777", *SALE, "--as", "HOUSING", code=2)
    assert refused["error"]["code"] == "unit_seized", refused
    assert refused["error"]["args"]["orderHash"] == seizure["order_hash"]
    regnode(data, "property", "release-seizure", UNIT, "--order", ORDER, "--as", "COURT")

    # What HOUSING gets back, the buyers' disclosures included, is what REGISTRY needs to issue their title.
    opened = regnode(data, "case", "open", UNIT, "--contract", "BJ-2026-000777", *SALE, "--as", "HOUSING")
    case = opened["case_id"]
    assert [(b["share_ppm"], b["disclosure"][1:]) for b in opened["buyers"]] == [
        (600_000, ["owner1Id", BUYERS[0][1]]), (400_000, ["owner2Id", BUYERS[1][1]])]
    assert regnode(data, "case", "show", case)["state"] == "open"
    assert regnode(data, "property", "release-mortgage", UNIT, "1", "--as", "BANK")["change"] == "mortgage_released"

    assessed = regnode(data, "case", "assess", case, "--as", "TAX")
    assert {k: int(assessed["lines_fen"][k]) for k in LINES_FEN} == LINES_FEN
    due = PRICE_FEN + LINES_FEN["deedTax"] + LINES_FEN["registrationFee"]
    assert int(assessed["assessment"]["dueFen"]) == due
    assert len(assessed["vouchers"]) == 3

    # The demo's bank holds no deposit token: paying from its balance is refused, coded, nothing sent.
    short = regnode(data, "case", "fund", case, "--as", "BANK", code=2)
    assert short["error"]["code"] == "insufficient_balance" and short["error"]["due_fen"] == due, short
    assert regnode(data, "case", "show", case)["state"] == "assessed"
    not_a_bank = regnode(data, "case", "fund", case, "--mint", "--as", "HOUSING", code=2)
    assert not_a_bank["error"]["code"] == "missing_role", not_a_bank
    funded = regnode(data, "case", "fund", case, "--mint", "--as", "BANK")
    assert funded["amount_fen"] == funded["minted_fen"] == due

    # The buyers present the disclosures HOUSING gave them; REGISTRY checks them against the case.
    presented = [arg for (name, _, _), b in zip(BUYERS, opened["buyers"], strict=True)
                 for arg in ("--buyer-disclosure", f"{name}:{':'.join(b['disclosure'])}")]
    settled = regnode(data, "case", "settle", case, *presented, "--as", "REGISTRY")
    seller_fen = PRICE_FEN - LINES_FEN["vat"] - LINES_FEN["vatSurcharges"] - LINES_FEN["incomeTax"]
    tax_fen = LINES_FEN["vat"] + LINES_FEN["vatSurcharges"] + LINES_FEN["incomeTax"] + LINES_FEN["deedTax"]
    payments = {k: int(settled["settlement"][k]) for k in ("taxFen", "feeFen", "payoffFen", "sellerFen")}
    assert payments == {"taxFen": tax_fen, "feeFen": 8_000, "payoffFen": 0, "sellerFen": seller_fen}
    assert sum(payments.values()) == due

    title = regnode(data, "property", "show", UNIT)
    assert [(o["commitment"], o["share_ppm"]) for o in title["owners"]] == [
        (b["commitment"], b["share_ppm"]) for b in opened["buyers"]]
    assert title["certificate_leaf"] == settled["certificate"]["leaf"]
    assert [h["kind"] for h in title["history"]] == [
        "registered", "owners_consented", "mortgage_recorded", "seizure_recorded", "seizure_released",
        "contract_filed", "mortgage_released", "transferred"]
    assert title["chain_valid"] and all(h["link_valid"] for h in title["history"])
    # The buyers own it now, unmortgaged and unfiled; a next sale waits for their own consent.
    assert not title["contract_filed"] and title["active_mortgages"] == 0
    assert title["transfer_guards"] == ["owner_consent"] and not any(o["consented"] for o in title["owners"])
    assert all(b[1] not in json.dumps(title) for b in BUYERS)

    shown = regnode(data, "case", "show", case)
    assert shown["state"] == "settled" and shown["escrow_fen"] == 0
    assert {k: int(shown["settlement"][k]) for k in payments} == payments
    assert [int(x) for x in (shown["price_fen"], shown["assessment"]["dueFen"])] == [PRICE_FEN, due]

    for token in [v["qr"] for v in assessed["vouchers"]] + [settled["certificate"]["qr"]]:
        verdict = regnode(data, "verify", token)
        assert verdict["verdict"] == "valid", verdict
