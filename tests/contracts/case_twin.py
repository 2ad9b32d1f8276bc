"""Transfer cases driven on TransferCases step by step and predicted by the property twins,
with a model of every settlement-token balance, for the state machine."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.domain.cases import Assessment, CaseState, CaseTerms, assess, case_id, payout
from ledger.domain.errors import PropertyError
from ledger.domain.fee_rules import default_fee_rules
from ledger.domain.fees import quote
from ledger.domain.property import (
    ClearCaseContract,
    ConsentMortgageForCase,
    FileCaseContract,
    Guard,
    Owner,
    Transfer,
    guards,
)
from ledger.domain.property import check_case_step as registry_case_step
from node.chain.abi import contract
from node.chain.cases import assessment_struct, terms_struct
from node.chain.fee_schedule import publish_calls
from node.chain.gateway import Receipt

from .case_helpers import SELLER_ACCOUNT, TITLE_TYPE, VOUCHER_TYPE, WORKED, vouchers
from .helpers import ISSUER, REGISTRY, TAX, MerkleTree, Registry, addr, b32
from .property_helpers import DAY, PropertySetup
from .property_twin import Twin

LIVE = (CaseState.OPEN, CaseState.ASSESSED, CaseState.FUNDED)
BUYER_FUNDS = 10**12
ZERO_ADDRESS = bytes(20)
# The fee engine's lines for the one set of facts the machine sells under (parity is proven elsewhere).
LINES = quote(WORKED, default_fee_rules()).lines()


@dataclass
class Case:
    """The model of one case: its terms and what the contract should hold for it."""

    terms: CaseTerms
    name: str
    state: CaseState = CaseState.OPEN
    escrow: int = 0
    payoff_bank: LocalAccount | None = None
    payoff_rank: int = 0
    payoff_fen: int = 0
    assessment: Assessment | None = None

    @property
    def id(self) -> bytes:
        return case_id(self.terms.unit, self.terms.contract_hash)


@dataclass
class CaseDesk:
    """TransferCases and the token on a PropertySetup; every step predicted, run and compared."""

    setup: PropertySetup
    cases: Registry
    tax: LocalAccount
    buyer: LocalAccount
    twins: dict[bytes, Twin] = field(default_factory=dict)
    opened: list[Case] = field(default_factory=list)
    balances: dict[bytes, int] = field(default_factory=dict)
    minted: int = 0
    burned: int = 0
    gas: int | None = None
    # What a step may have moved since the last check: cases, money.
    touched: dict[bytes, Case] = field(default_factory=dict)
    fresh: bool = False
    holders: set[bytes] = field(default_factory=set)
    scanned: int = -1
    # Every outcome of every step sent, over all examples: what the machine explored.
    seen: Counter[str] = field(default_factory=Counter)

    @classmethod
    def deploy(cls, s: PropertySetup) -> CaseDesk:
        """Add TAX (the council's first account), the fee schedule and TransferCases to ``s``."""
        acc = s.chain.accounts
        tax, buyer = acc[0], acc[3]
        s.directory.add_department("TAX", tax, TAX | ISSUER)
        # REGISTRY anchors the new title certificate at settlement, as an issuer.
        s.directory.council_do("setDepartmentRoles", b32("REGISTRY"), REGISTRY | ISSUER)
        fees = s.chain.deploy("FeeSchedule", s.directory.address, sender=tax)
        for data in publish_calls(default_fee_rules()):
            s.chain.transact(tax, fees, data)
        address = s.chain.deploy("TransferCases", s.directory.address, s.register.address, fees,
                                 s.token.address, sender=acc[0])
        s.register.tx(s.registrar, "bindTransferCases", address)
        for account in (s.registrar, tax):
            s.directory.tx(account, "setAnchorDelegate", address, True)
        s.token.tx(buyer, "approve", address, 2**256 - 1)
        return cls(s, Registry(s.chain, address, [], abi=contract("TransferCases")), tax, buyer)

    def start(self, twins: list[Twin]) -> None:
        """Begin an example: the twins of its units and the buyer's deposit minted by BANKA."""
        self.twins = {t.state.unit: t for t in twins if t.state is not None}
        self.opened, self.balances, self.minted, self.burned = [], {}, 0, 0
        self.touched, self.fresh, self.holders, self.scanned = {}, False, set(), -1
        self.mint(self.setup.bank_a, BUYER_FUNDS)

    # ------------------------------------------------------------- money

    def mint(self, bank: LocalAccount, amount: int) -> None:
        self.fresh = False
        self.setup.token.tx(bank, "mint", self.buyer.address, amount, gas=self.gas)
        self._credit(addr(self.buyer), amount)
        self.minted += amount

    def burn(self, bank: LocalAccount, amount: int) -> None:
        """A bank burns ``amount`` of its own balance; refused beyond it."""
        held, self.fresh = self.balances.get(addr(bank), 0), False
        if amount > held:
            with self.setup.token.reverts("ERC20InsufficientBalance", balance=held, needed=amount):
                self.setup.token.tx(bank, "burn", amount, gas=self.gas)
            return
        self.setup.token.tx(bank, "burn", amount, gas=self.gas)
        self._credit(addr(bank), -amount)
        self.burned += amount

    def _credit(self, who: bytes, amount: int) -> None:
        self.balances[who] = self.balances.get(who, 0) + amount

    # ------------------------------------------------------------- steps

    def _run(self, case: Case | None, expected: str, sender: LocalAccount, fn: str, *args: Any,
             at: int) -> Receipt | None:
        """Send ``fn`` at ``at``; expect it to succeed ('ok') or revert with error ``expected``."""
        self.seen[f"{fn}: {expected}"] += 1
        self.fresh = False
        if case is not None:
            self.touched[case.id] = case
        if expected == "ok":
            return self.cases.tx(sender, fn, *args, at=at, gas=self.gas)
        with self.cases.reverts(expected):
            self.cases.tx(sender, fn, *args, at=at, gas=self.gas)
        return None

    def at(self) -> int:
        return self.setup.now() + 1

    def open(self, unit: bytes, buyers: tuple[Owner, ...], days: int, again: Case | None = None) -> str:
        """HOUSING opens a case (``again``: the same contract once more) on ``unit``."""
        at, twin = self.at(), self.twins[unit]
        name = f"case-{len(self.opened)}"
        terms = (replace(again.terms, deadline=at + days * DAY) if again else
                 CaseTerms(unit=unit, contract_hash=keccak(text=name), facts=WORKED, buyers=buyers,
                           seller_account=SELLER_ACCOUNT, deadline=at + days * DAY))
        after, rule = twin.predict(FileCaseContract(terms.contract_hash, terms.buyers), at)
        expected = "TransferCasesCaseExists" if again else _registry_error(rule)
        self._run(again, expected, self.setup.housing, "openCase", terms_struct(terms), at=at)
        if after is not None and again is None:
            twin.state = after
            self.opened.append(Case(terms, name))
            self.touched[self.opened[-1].id] = self.opened[-1]
        return expected

    def consent(self, case: Case, bank: LocalAccount, rank: int, payoff: int) -> str:
        """A bank consents to transfer with its mortgage ``rank``, asking ``payoff`` fen at settlement."""
        at, twin = self.at(), self.twins[case.terms.unit]
        code = b32("BANKA" if bank == self.setup.bank_a else "BANKB")
        after, rule = None, "ok"
        if case.state not in (CaseState.OPEN, CaseState.ASSESSED):
            rule = "TransferCasesWrongState"
        elif payoff and case.payoff_rank:
            rule = "TransferCasesPayoffExists"
        else:
            after, rule = twin.predict(ConsentMortgageForCase(code, rank), at)
            rule = _registry_error(rule)
        self._run(case, rule, bank, "consentMortgage", case.terms.unit, case.terms.contract_hash, rank, payoff, at=at)
        if after is not None:
            twin.state = after
            if payoff:
                case.payoff_bank, case.payoff_rank, case.payoff_fen = bank, rank, payoff
        return rule

    def assess(self, case: Case) -> str:
        """TAX assesses the case; the contract's assessment must be the fee engine's to the fen."""
        at, twin, terms = self.at(), self.twins[case.terms.unit], case.terms
        rule = self._before_deadline(case, CaseState.OPEN, at)
        if rule == "ok":
            assert twin.state is not None
            try:
                registry_case_step(twin.state, terms.buyers, at)
            except PropertyError as error:
                rule = "PropertyRegistry" + error.rule
        expected: Assessment | None = None
        if rule == "ok":
            root = MerkleTree(vouchers(case.name)).root
            try:
                expected = assess(LINES, terms.facts.price, addr(self.tax), root, case.payoff_fen)
            except ValueError:
                rule = "TransferCasesProceedsShort"
        leaves = vouchers(case.name)
        receipt = self._run(case, rule, self.tax, "assess", terms_struct(terms), MerkleTree(leaves).root,
                            len(leaves), VOUCHER_TYPE, at=at)
        if receipt is not None:
            (event,) = [e for e in self.cases.events(receipt) if e.name == "CaseAssessed"]
            assert assessment_struct(event.args["assessment"]) == assessment_struct(expected), event
            case.state, case.assessment = CaseState.ASSESSED, expected
        return rule

    def fund(self, case: Case) -> str:
        """The buyer pays what is due into the case's escrow."""
        at = self.at()
        rule = self._before_deadline(case, CaseState.ASSESSED, at)
        digest = self.cases.view("termsDigest", terms_struct(case.terms))
        assessment = case.assessment or _no_assessment()
        self._run(case, rule, self.buyer, "fund", case.terms.unit, case.terms.contract_hash, digest,
                  assessment_struct(assessment), at=at)
        if rule == "ok":
            case.state, case.escrow = CaseState.FUNDED, assessment.due_fen
            self._credit(addr(self.buyer), -assessment.due_fen)
            self._credit(self.cases.address, assessment.due_fen)
        return rule

    def settle(self, case: Case) -> str:
        """REGISTRY settles: the title moves and everyone is paid, or the first guard up refuses it."""
        at, twin, terms = self.at(), self.twins[case.terms.unit], case.terms
        rule = self._before_deadline(case, CaseState.FUNDED, at)
        assessment = case.assessment or _no_assessment()
        leaf = keccak(text=f"title-certificate|{case.name}")
        after = None
        if rule == "ok":
            split = payout(assessment, case.payoff_fen)
            if split.seller < 0:  # a payoff consented after assessment larger than the seller's proceeds
                rule = "TransferCasesProceedsShort"
            else:
                after, rule = twin.predict(Transfer(terms.contract_hash, terms.buyers, leaf, case.payoff_rank), at)
                rule = _registry_error(rule)
        before = twin.state
        tree = MerkleTree(vouchers(case.name))
        self._run(case, rule, self.setup.registrar, "settle", terms_struct(terms), assessment_struct(assessment),
                  tree.leaves[1], tree.proof(1), leaf, TITLE_TYPE, at=at)
        if after is not None:
            assert before is not None
            # No transfer completes while a guard is up (a buyer's own pre-notice does not guard).
            holders = [b.commitment for b in terms.buyers if b.commitment == before.pre_notice_holder]
            assert guards(before, (holders or [terms.buyers[0].commitment])[0], at) == Guard(0)
            twin.state = after
            case.state, case.escrow = CaseState.SETTLED, 0
            self._credit(self.cases.address, -assessment.due_fen)
            for who, fen in ((assessment.treasury, split.treasury), (addr(self.setup.registrar), split.registry),
                             (addr(case.payoff_bank) if case.payoff_bank else ZERO_ADDRESS, split.bank),
                             (SELLER_ACCOUNT, split.seller)):
                if fen:
                    self._credit(who, fen)
        return rule

    def close(self, case: Case, by: LocalAccount | None) -> str:
        """``by`` cancels the case (None: anyone expires it); the contract is cleared, the buyer refunded."""
        at, twin = self.at(), self.twins[case.terms.unit]
        after, rule = None, "ok"
        if by is None and at <= case.terms.deadline:
            rule = "TransferCasesDeadlineNotPassed"
        elif by is not None and by not in (self.setup.housing, self.setup.registrar):
            rule = "TransferCasesMissingRole"
        elif case.state not in LIVE:
            rule = "TransferCasesWrongState"
        elif twin.state is not None and twin.state.contract_hash != case.terms.contract_hash:
            after = twin.state  # HOUSING withdrew the filing already: nothing to clear, the refund stands
        else:
            after, rule = twin.predict(ClearCaseContract(case.terms.contract_hash), at)
            rule = _registry_error(rule)
        if by is None:
            self._run(case, rule, self.buyer, "expire", case.terms.unit, case.terms.contract_hash, at=at)
        else:
            self._run(case, rule, by, "cancel", case.terms.unit, case.terms.contract_hash, at=at)
        if after is not None:
            twin.state = after
            if case.escrow:
                self._credit(self.cases.address, -case.escrow)
                self._credit(addr(self.buyer), case.escrow)
            case.state = CaseState.EXPIRED if by is None else CaseState.CANCELLED
            case.escrow = 0
        return rule

    def _before_deadline(self, case: Case, state: CaseState, at: int) -> str:
        if case.state != state:
            return "TransferCasesWrongState"
        if at > case.terms.deadline:
            return "TransferCasesDeadlinePassed"
        return "ok"

    # ------------------------------------------------------------- checks

    def check(self) -> None:
        """Assert the cases touched and every token balance on chain equal the model, supply conserved.

        Skipped when no case or token transaction was tried since the last check: nothing else
        moves money or a case.
        """
        if self.fresh:
            return
        for case in self.touched.values():
            got = self.cases.view("caseOf", case.id)
            assert (got["state"], got["escrowFen"], got["payoffRank"], got["payoffFen"]) == (
                case.state, case.escrow, case.payoff_rank, case.payoff_fen), case.name
        token, gateway = self.setup.token, self.setup.chain.gateway
        supply = token.view("totalSupply")
        assert supply == self.minted - self.burned
        head = gateway.head().number
        logs = gateway.get_logs(self.scanned + 1, head, addresses=[token.address],
                                topic0=[token.abi.events["Transfer"].topic0])
        self.scanned = head
        self.holders |= {a for e in token.abi.decode_logs(logs) for a in (e.args["from"], e.args["to"])}
        held = {h: token.view("balanceOf", "0x" + h.hex()) for h in self.holders - {ZERO_ADDRESS}}
        assert sum(held.values()) == supply
        assert {h: b for h, b in held.items() if b} == {h: b for h, b in self.balances.items() if b}
        assert held.get(self.cases.address, 0) == sum(c.escrow for c in self.opened)
        self.touched, self.fresh = {}, True


def _registry_error(rule: str) -> str:
    return rule if rule == "ok" else "PropertyRegistry" + rule


def _no_assessment() -> Assessment:
    """An assessment for a step the contract must refuse before it reads one."""
    return Assessment(treasury=ZERO_ADDRESS, tax_fen=0, fee_fen=0, due_fen=0, voucher_root=bytes(32))
