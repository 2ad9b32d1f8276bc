"""Drivers for the transfer-case suites: every contract of a transfer deployed on one directory,
departments with their own accounts, and the steps of a case."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.domain.cases import Assessment, CaseTerms, assess, case_id
from ledger.domain.fee_rules import default_fee_rules
from ledger.domain.fees import FeeFacts, quote
from ledger.domain.property import Owner, unit_key
from node.chain.abi import DecodedEvent, contract
from node.chain.cases import assessment_struct, terms_struct
from node.chain.fee_schedule import publish_calls
from node.chain.gateway import Receipt

from .helpers import BANK, COURT, HOUSING, ISSUER, REGISTRY, TAX, MerkleTree, Registry, addr, b32

UNIT_NUMBER = "320684413219GB00029F00010002"
UNIT = unit_key(UNIT_NUMBER)
WHOLE = 1_000_000
DAY = 86_400
YUAN = 100
SELLER_ACCOUNT = bytes.fromhex("5e11e4" + "00" * 17)
TITLE_TYPE = b32("11100000000013127D101")
VOUCHER_TYPE = b32("11100000000013127D201")


def commitment(name: str) -> bytes:
    """Return a stand-in salted commitment of a person called ``name``."""
    return keccak(text=f"salt|{name}")


ALICE, BOB, CAROL, DAVE = (commitment(n) for n in ("alice", "bob", "carol", "dave"))
# DOMAIN.md's worked example: 5,000,000 yuan, 89 m², first home, held a year (contract 2026-03-01).
WORKED = FeeFacts(price=5_000_000 * YUAN, area=8_900, acquired=date(2025, 3, 1),
                  contract_date=date(2026, 3, 1), buyer_homes=1)


def vouchers(name: str, n: int = 3) -> list[bytes]:
    """Return the leaves of ``n`` e-tax vouchers (VAT, deed tax, income tax) of a case."""
    return [keccak(keccak(text=f"voucher|{name}|{i}")) for i in range(n)]


@dataclass
class CaseSetup:
    """Directory, fee schedule, register, token and cases, with the departments that act on them."""

    chain: Any
    directory: Registry
    fees: Registry
    register: Registry
    token: Registry
    cases: Registry
    accounts: dict[str, LocalAccount]
    buyer: LocalAccount
    opened: dict[bytes, CaseTerms] = field(default_factory=dict)

    @classmethod
    def deploy(cls, chain: Any) -> CaseSetup:
        acc = chain.accounts
        council = acc[0:1]
        directory_address = chain.deploy("LicenceRegistry", [a.address for a in council], 1, sender=acc[0])
        directory = Registry(chain, directory_address, list(council))
        accounts = {"REGISTRY": acc[6], "HOUSING": acc[5], "TAX": acc[4], "BANKA": acc[7],
                    "BANKB": acc[8], "COURT": acc[9], "MARKET": acc[1]}
        roles = {"REGISTRY": REGISTRY | ISSUER, "HOUSING": HOUSING, "TAX": TAX | ISSUER, "BANKA": BANK,
                 "BANKB": BANK, "COURT": COURT, "MARKET": ISSUER}
        for code, account in accounts.items():
            directory.add_department(code, account, roles[code])
        fee_address = chain.deploy("FeeSchedule", directory_address, sender=acc[4])
        for data in publish_calls(default_fee_rules()):
            chain.transact(accounts["TAX"], fee_address, data)
        register = chain.deploy("PropertyRegistry", directory_address, sender=acc[0])
        token = chain.deploy("SettlementToken", directory_address, sender=acc[0])
        cases = chain.deploy("TransferCases", directory_address, register, fee_address, token, sender=acc[0])
        s = cls(chain, directory, Registry(chain, fee_address, [], abi=contract("FeeSchedule")),
                Registry(chain, register, [], abi=contract("PropertyRegistry")),
                Registry(chain, token, [], abi=contract("SettlementToken")),
                Registry(chain, cases, [], abi=contract("TransferCases")), accounts, buyer=acc[3])
        s.register.tx(accounts["REGISTRY"], "bindTransferCases", cases)
        for code in ("REGISTRY", "TAX"):
            directory.tx(accounts[code], "setAnchorDelegate", cases, True)
        s.token.tx(accounts["BANKA"], "mint", s.buyer.address, 10**12)
        s.token.tx(s.buyer, "approve", cases, 2**256 - 1)
        return s

    def __getitem__(self, code: str) -> LocalAccount:
        return self.accounts[code]

    def now(self) -> int:
        return int(self.chain.gateway.head().timestamp)

    def register_title(self, owners: tuple[Owner, ...] = (Owner(ALICE, WHOLE),), consent: bool = True) -> None:
        self.register.tx(self["REGISTRY"], "registerTitle", UNIT, [(o.commitment, o.share) for o in owners],
                         keccak(text="certificate-0"))
        if consent:
            self.register.tx(self["REGISTRY"], "recordOwnerConsent", UNIT, (1 << len(owners)) - 1)

    def terms(self, contract: str = "contract-1", buyers: tuple[Owner, ...] = (Owner(BOB, WHOLE),),
              facts: FeeFacts = WORKED, deadline_days: int = 30) -> CaseTerms:
        return CaseTerms(unit=UNIT, contract_hash=keccak(text=contract), facts=facts, buyers=buyers,
                         seller_account=SELLER_ACCOUNT, deadline=self.now() + deadline_days * DAY)

    # ------------------------------------------------------------------ steps
    def open(self, terms: CaseTerms, by: str = "HOUSING") -> Receipt:
        receipt = self.cases.tx(self[by], "openCase", terms_struct(terms))
        self.opened[case_id(terms.unit, terms.contract_hash)] = terms
        return receipt

    def expected_assessment(self, terms: CaseTerms, payoff_fen: int = 0, name: str = "case") -> Assessment:
        lines = quote(terms.facts, default_fee_rules()).lines()
        return assess(lines, terms.facts.price, addr(self["TAX"]), MerkleTree(vouchers(name)).root, payoff_fen)

    def assess(self, terms: CaseTerms, by: str = "TAX", name: str = "case") -> Receipt:
        leaves = vouchers(name)
        return self.cases.tx(self[by], "assess", terms_struct(terms), MerkleTree(leaves).root, len(leaves),
                             VOUCHER_TYPE)

    def assessment_of(self, receipt: Receipt) -> dict[str, Any]:
        (event,) = [e for e in self.cases.events(receipt) if e.name == "CaseAssessed"]
        return event.args["assessment"]

    def fund(self, terms: CaseTerms, assessment: dict[str, Any], by: LocalAccount | None = None) -> Receipt:
        digest = self.cases.view("termsDigest", terms_struct(terms))
        return self.cases.tx(by or self.buyer, "fund", terms.unit, terms.contract_hash, digest,
                             assessment_struct(assessment))

    def settle(self, terms: CaseTerms, assessment: dict[str, Any], by: str = "REGISTRY", name: str = "case",
               voucher: int = 1, certificate: bytes | None = None) -> Receipt:
        tree = MerkleTree(vouchers(name))
        leaf = certificate or keccak(text=f"title-certificate|{terms.contract_hash.hex()}")
        return self.cases.tx(self[by], "settle", terms_struct(terms), assessment_struct(assessment),
                             tree.leaves[voucher], tree.proof(voucher), leaf, TITLE_TYPE)

    def run_case(self, terms: CaseTerms, name: str = "case") -> tuple[dict[str, Any], list[Receipt]]:
        """Open, assess, fund and settle ``terms``; return the assessment and every receipt."""
        receipts = [self.open(terms), self.assess(terms, name=name)]
        assessment = self.assessment_of(receipts[-1])
        receipts.append(self.fund(terms, assessment))
        receipts.append(self.settle(terms, assessment, name=name))
        return assessment, receipts

    def balance(self, who: LocalAccount | bytes) -> int:
        address = who if isinstance(who, bytes) else addr(who)
        return int(self.token.view("balanceOf", "0x" + address.hex()))

    def case(self, terms: CaseTerms) -> dict[str, Any]:
        return self.cases.view("caseOf", case_id(terms.unit, terms.contract_hash))

    def case_events(self, receipt: Receipt) -> list[DecodedEvent]:
        return self.cases.events(receipt)
