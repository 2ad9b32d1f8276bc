"""Transfer cases: one endpoint per step, each taken by the department whose token calls it.

``POST /v1/cases`` (HOUSING) opens a case; ``POST /v1/cases/{id}/mortgage-consent`` (BANK),
``/assess`` (TAX), ``/fund`` (the buyer's BANK, paying from its token balance, or minting
the buyer's deposit first with ``{"mint": true}``), ``/settle`` (REGISTRY), ``/cancel``
(HOUSING, REGISTRY) and ``/expire`` (anyone with a token, after the deadline) take the next steps;
``GET /v1/cases/{id}`` shows the case as mirrored from its chain events.
Contract refusals are coded errors (``unit_seized``, ``missing_role``, ``wrong_state`` …).
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ledger.domain.disclosure import Disclosure
from ledger.domain.fees import facts_from_inputs, parse_yuan
from node.api.deps import DepartmentDep, RuntimeDep
from node.api.schemas import FeeQuoteRequest
from node.errors import BadRequest
from node.services import cases, settlement
from node.services.property import commitment

router = APIRouter(prefix="/v1/cases", tags=["cases"])


class Buyer(BaseModel):
    """A buyer: name, ID number and share of the title in percent."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    id_number: str = Field(min_length=1, max_length=64)
    share_percent: Decimal = Field(gt=0, le=100, description="share in percent, at most 4 decimal places")


class CaseOpen(FeeQuoteRequest):
    """What HOUSING files: the unit, the sale contract, the fee facts, buyers and the seller's account."""

    unit_number: str = Field(min_length=28, max_length=28)
    contract_number: str = Field(min_length=1, max_length=64)
    contract_hash: str | None = Field(default=None, description="SHA-256/keccak of the contract, 64 hex digits")
    buyers: list[Buyer] = Field(min_length=1, max_length=32)
    seller_account: str = Field(description="the seller's settlement-token account, 0x + 40 hex digits")
    deadline_days: int = Field(default=30, ge=1, le=365)


class MortgageConsent(BaseModel):
    """The mortgagee bank's consent to transfer with its mortgage, and what it is owed."""

    model_config = ConfigDict(extra="forbid")

    rank: int = Field(ge=1, le=255)
    payoff: Decimal = Field(ge=0, description="yuan paid to the bank at settlement (0: the mortgage stays)")


class SettleBuyer(BaseModel):
    """A buyer at settlement: name and ID type for the certificate, and the disclosure HOUSING gave them."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    id_type: str = Field(default="RESIDENT_ID", min_length=1, max_length=32, pattern=r"^[A-Z_]+$")
    disclosure: list[str] = Field(min_length=3, max_length=3,
                                  description='[salt, "owner<n>Id", ID number] as `case open` returned it')


class Settle(BaseModel):
    """What the applicants present to REGISTRY: every buyer's disclosure, and the deed-tax voucher's QR."""

    model_config = ConfigDict(extra="forbid")

    buyers: list[SettleBuyer] = Field(max_length=32)
    deed_voucher: str | None = Field(default=None, min_length=1, max_length=4096,
                                     description="the deed-tax e-voucher's QR text; needed when TAX's node "
                                                 "is not this one")


class Fund(BaseModel):
    """How the buyer's bank funds the escrow."""

    model_config = ConfigDict(extra="forbid")

    mint: bool = Field(default=False, description="first mint what is due: the bank credits the deposit it "
                       "received from the buyer (off: pay from the bank's token balance)")


def _address(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 20:
        raise BadRequest("seller_account is an address: 0x and 40 hex digits", field="seller_account")
    return raw


@router.post("", status_code=201)
def open_case(body: CaseOpen, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, object]:
    """Open a transfer case (HOUSING): files the sale contract on the unit."""
    facts = facts_from_inputs(**body.model_dump(include=set(FeeQuoteRequest.model_fields)))
    buyers = []
    for b in body.buyers:
        ppm = b.share_percent * 10_000
        if ppm != ppm.to_integral_value():
            raise BadRequest("a share has more than 4 decimal places", field="buyers")
        buyers.append(cases.Party(b.name, b.id_number, int(ppm)))
    if sum(b.share for b in buyers) != 1_000_000:
        raise BadRequest("the buyers' shares must sum to 100%", field="buyers")
    chash = commitment(body.contract_hash, "contract_hash") if body.contract_hash else None
    return cases.open_case(rt, dept, body.unit_number, body.contract_number, chash, facts, buyers,
                           _address(body.seller_account), body.deadline_days)


@router.get("/{case_id}")
def show(case_id: str, rt: RuntimeDep) -> dict[str, object]:
    """Return the case as mirrored from its chain events (public: commitments, no ID numbers)."""
    return cases.to_json(cases.load(rt, case_id))


@router.post("/{case_id}/mortgage-consent")
def consent(case_id: str, body: MortgageConsent, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, object]:
    """The mortgagee BANK consents to transfer with its mortgage (带押过户)."""
    return cases.consent_mortgage(rt, dept, case_id, body.rank, parse_yuan(body.payoff, "payoff"))


@router.post("/{case_id}/assess")
def assess(case_id: str, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, object]:
    """TAX assesses the case from the on-chain schedule and issues its e-tax vouchers."""
    return cases.assess(rt, dept, case_id)


@router.post("/{case_id}/fund")
def fund(case_id: str, rt: RuntimeDep, dept: DepartmentDep, body: Fund | None = None) -> dict[str, object]:
    """The calling BANK department pays what the buyer owes into escrow (``mint``: credit the deposit first)."""
    return cases.fund(rt, dept, case_id, mint=(body or Fund()).mint)


@router.post("/{case_id}/settle")
def settle(case_id: str, body: Settle, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, object]:
    """REGISTRY approves: one transaction pays everyone, moves the title and anchors the certificate."""
    buyers = [settlement.PresentedBuyer(b.name, b.id_type, Disclosure.from_json(b.disclosure))
              for b in body.buyers]
    return settlement.settle(rt, dept, case_id, buyers, body.deed_voucher)


@router.post("/{case_id}/cancel")
def cancel(case_id: str, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, object]:
    """Cancel the case (HOUSING or REGISTRY); the escrow goes back to the payer."""
    return cases.close(rt, dept, case_id, "cancel")


@router.post("/{case_id}/expire")
def expire(case_id: str, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, object]:
    """Close a case whose deadline passed; the escrow goes back to the payer."""
    return cases.close(rt, dept, case_id, "expire")
