"""Transfer cases (二手房过户) as the node mirrors them: terms, assessment, states and the rules
for who is paid what at settlement. The contract ``TransferCases`` is the authority; this module
replays its events and predicts its arithmetic, and the suites prove the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

from ledger.domain.canonical import keccak256
from ledger.domain.fees import FeeFacts
from ledger.domain.property_types import Owner


class CaseState(IntEnum):
    """A case's state; values are the contract's CASE_* codes."""

    NONE = 0
    OPEN = 1
    ASSESSED = 2
    FUNDED = 3
    SETTLED = 4
    CANCELLED = 5
    EXPIRED = 6

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class CaseTerms:
    """What HOUSING files: unit key, contract hash, fee facts, buyers, the seller's account, deadline."""

    unit: bytes
    contract_hash: bytes
    facts: FeeFacts
    buyers: tuple[Owner, ...]
    seller_account: bytes
    deadline: int


@dataclass(frozen=True, slots=True)
class Assessment:
    """What TAX assessed, in fen: all taxes, the registration fee, what the buyer funds."""

    treasury: bytes
    tax_fen: int
    fee_fen: int
    due_fen: int
    voucher_root: bytes


@dataclass(frozen=True, slots=True)
class Payout:
    """Where the escrow goes at settlement, in fen."""

    treasury: int
    registry: int
    bank: int
    seller: int


def case_id(unit: bytes, contract_hash: bytes) -> bytes:
    """Return the case id: ``keccak256(abi.encode(unit, contractHash))``."""
    return keccak256(unit + contract_hash)


def assess(lines: dict[str, int], price_fen: int, treasury: bytes, voucher_root: bytes,
           payoff_fen: int = 0) -> Assessment:
    """Return the assessment the contract records for quote ``lines`` (fen, fee-engine names).

    The buyer funds the price, the deed tax and the registration fee; the seller bears VAT,
    its surcharges and income tax, taken from the price together with any mortgage payoff.
    Raises ValueError (the contract's ``ProceedsShort``) when the price does not cover them.
    """
    seller_taxes = lines["vat"] + lines["vat_surcharges"] + lines["income_tax"]
    if seller_taxes + payoff_fen > price_fen:
        raise ValueError(f"the price {price_fen} fen does not cover {seller_taxes + payoff_fen} fen "
                         "of seller's taxes and mortgage payoff")
    return Assessment(treasury=treasury, tax_fen=seller_taxes + lines["deed_tax"],
                      fee_fen=lines["registration_fee"],
                      due_fen=price_fen + lines["deed_tax"] + lines["registration_fee"],
                      voucher_root=voucher_root)


def payout(assessment: Assessment, payoff_fen: int = 0) -> Payout:
    """Return how settlement splits the escrow ``assessment.due_fen``."""
    seller = assessment.due_fen - assessment.tax_fen - assessment.fee_fen - payoff_fen
    return Payout(treasury=assessment.tax_fen, registry=assessment.fee_fen, bank=payoff_fen, seller=seller)


@dataclass(frozen=True)
class CaseRecord:
    """A case mirrored from its events (the indexer's projection replays them in order)."""

    case_id: bytes
    unit: bytes
    contract_hash: bytes
    state: CaseState
    terms: dict[str, Any]
    opened_at: int
    updated_at: int
    assessment: dict[str, Any] | None = None
    lines: dict[str, int] | None = None
    payer: bytes | None = None
    escrow_fen: int = 0
    payoff_bank: bytes | None = None
    payoff_rank: int = 0
    payoff_fen: int = 0
    settlement: dict[str, Any] | None = None
    steps: int = 1


_NEXT = {"CaseMortgageConsented": {CaseState.OPEN, CaseState.ASSESSED},
         "CaseAssessed": {CaseState.OPEN}, "CaseFunded": {CaseState.ASSESSED},
         "CaseSettled": {CaseState.FUNDED},
         "CaseClosed": {CaseState.OPEN, CaseState.ASSESSED, CaseState.FUNDED}}


class CaseReplayError(ValueError):
    """Events that the contract could not have emitted in this order."""


def replay(record: CaseRecord | None, name: str, args: dict[str, Any], at: int) -> CaseRecord:
    """Return the case after event ``name`` (decoded ``args``) at block time ``at``."""
    if name == "CaseOpened":
        if record is not None:
            raise CaseReplayError("a case opens once")
        terms = args["terms"]
        return CaseRecord(case_id=args["caseId"], unit=terms["unit"], contract_hash=terms["contractHash"],
                          state=CaseState.OPEN, terms=terms, opened_at=at, updated_at=at)
    if record is None:
        raise CaseReplayError(f"{name} before CaseOpened")
    allowed = _NEXT.get(name)
    if allowed is None:
        raise CaseReplayError(f"not a case event: {name}")
    if record.state not in allowed:
        raise CaseReplayError(f"{name} in state {record.state.label}")
    record = replace(record, updated_at=at, steps=record.steps + 1)
    if name == "CaseMortgageConsented":
        if args["payoffFen"]:
            return replace(record, payoff_bank=args["bank"], payoff_rank=args["rank"],
                           payoff_fen=args["payoffFen"])
        return record
    if name == "CaseAssessed":
        lines = dict(args["lines"])
        return replace(record, state=CaseState.ASSESSED, assessment=args["assessment"], lines=lines)
    if name == "CaseFunded":
        return replace(record, state=CaseState.FUNDED, payer=args["payer"], escrow_fen=args["amountFen"])
    if name == "CaseSettled":
        return replace(record, state=CaseState.SETTLED, escrow_fen=0, settlement=dict(args))
    return replace(record, state=CaseState(args["state"]), escrow_fen=0)
