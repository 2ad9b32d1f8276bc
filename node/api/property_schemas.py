"""Request and response bodies of the property register endpoints (``TitleCreate``, ``UnitPublic``, …)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HEX32 = r"^(0x)?[0-9a-fA-F]{64}$"
UNIT_NUMBER = Field(min_length=28, max_length=28, description="28-character unit number (不动产单元号)")


def _places(value: Decimal, places: int, name: str) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive number")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{name} has at most {places} decimal places")
    return value


class OwnerCreate(BaseModel):
    """A co-owner: ID number (kept by the node, never on chain), name for the certificate, share."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    id_type: str = Field(default="RESIDENT_ID", min_length=1, max_length=32, pattern=r"^[A-Z_]+$")
    name: str = Field(min_length=1, max_length=100)
    share: Decimal = Field(description="share in percent, at most 4 decimal places (60, 33.3333)")

    @field_validator("share")
    @classmethod
    def _share(cls, v: Decimal) -> Decimal:
        v = _places(v, 4, "share")
        if v > 100:
            raise ValueError("share is at most 100 (percent)")
        return v

    @property
    def share_ppm(self) -> int:
        """Return the share in parts per million (exact: 4 decimal places of a percent)."""
        return int(self.share * 10_000)


class TitleCreate(BaseModel):
    """REGISTRY registers a title and issues its e-certificate to the owners."""

    model_config = ConfigDict(extra="forbid")

    unit_number: str = UNIT_NUMBER
    owners: list[OwnerCreate] = Field(min_length=1, max_length=32)


class MortgageCreate(BaseModel):
    """REGISTRY records a mortgage on a bank's request."""

    model_config = ConfigDict(extra="forbid")

    mortgagee: str = Field(min_length=1, max_length=32, description="the bank's department code")
    amount: Decimal = Field(description="secured amount in yuan, at most 2 decimal places")

    @field_validator("amount")
    @classmethod
    def _amount(cls, v: Decimal) -> Decimal:
        v = _places(v, 2, "amount")
        if v * 100 >= 2**128:
            raise ValueError("amount is too large")
        return v


class PreNoticeCreate(BaseModel):
    """REGISTRY records a pre-notice (预告登记) for a holder commitment until an expiry."""

    model_config = ConfigDict(extra="forbid")

    holder: str = Field(pattern=HEX32, description="the holder's commitment (32 bytes hex)")
    expires_on: date | None = Field(default=None, description="in force through this day (UTC)")
    expires_at: int | None = Field(default=None, gt=0, lt=2**64, description="or: a unix time")

    @model_validator(mode="after")
    def _one_expiry(self) -> PreNoticeCreate:
        if (self.expires_on is None) == (self.expires_at is None):
            raise ValueError("give exactly one of expires_on and expires_at")
        return self


class ObjectionCreate(BaseModel):
    """REGISTRY records an objection (异议登记) by an applicant commitment."""

    model_config = ConfigDict(extra="forbid")

    applicant: str = Field(pattern=HEX32, description="the applicant's commitment (32 bytes hex)")


class HashedText(BaseModel):
    """Text whose keccak-256 goes on chain, or the hash itself."""

    model_config = ConfigDict(extra="forbid")


class SuitFiled(HashedText):
    """The objector filed suit: the case number, or its hash."""

    suit: str | None = Field(default=None, min_length=1, max_length=200)
    suit_hash: str | None = Field(default=None, pattern=HEX32)


class CancelTitle(HashedText):
    """REGISTRY cancels the title (注销): the reason as text, or its hash."""

    reason: str | None = Field(default=None, min_length=1, max_length=500)
    reason_hash: str | None = Field(default=None, pattern=HEX32)


class OwnerConsent(BaseModel):
    """REGISTRY records which co-owners consented (0-based indexes as the status lists them)."""

    model_config = ConfigDict(extra="forbid")

    owners: list[int] = Field(min_length=1, max_length=32)


class SeizureCreate(BaseModel):
    """COURT seizes the unit by order (number or hash) for at most three years."""

    model_config = ConfigDict(extra="forbid")

    order: str | None = Field(default=None, min_length=1, max_length=200, description="order number")
    order_hash: str | None = Field(default=None, pattern=HEX32)
    days: int = Field(ge=1, le=3 * 365, description="duration in days, at most three years")


class SeizureRelease(BaseModel):
    """COURT releases its seizure (order number or hash)."""

    model_config = ConfigDict(extra="forbid")

    order: str | None = Field(default=None, min_length=1, max_length=200)
    order_hash: str | None = Field(default=None, pattern=HEX32)


class StepDone(BaseModel):
    """A register step as the chain recorded it; step-specific fields (``rank`` …) follow."""

    model_config = ConfigDict(extra="allow")

    unit_number: str
    unit: str = Field(description="the unit key: keccak-256 of the unit number")
    step: str = Field(description="the PropertyRegistry function called")
    change: str = Field(description="the kind of change appended to the unit's hash chain")
    head: str
    transaction_hash: str
    block_number: int
    gas_used: int
    outbox_id: int


class Certificate(BaseModel):
    """The title e-certificate issued with the registration."""

    identifier: str
    leaf: str
    qr: str


class OwnerPublic(BaseModel):
    """A co-owner as the chain holds them: salted commitment and share, never the ID number."""

    index: int
    commitment: str
    share_ppm: int


class TitleRegistered(StepDone):
    """The registered title: its certificate and its owners' commitments."""

    certificate: Certificate
    owners: list[OwnerPublic]


class UnitOwner(OwnerPublic):
    """A co-owner in a unit's public status."""

    share: str
    consented: bool


class UnitHistoryEntry(BaseModel):
    """One change of the unit, as indexed, with its recomputed hash-chain link."""

    seq: int
    kind: str
    kind_code: int
    at: int
    block_number: int
    transaction_hash: str
    log_index: int
    data: str
    previous: str
    head: str
    link_valid: bool


class UnitPublic(BaseModel):
    """A unit's public status, mirrored from the chain's events; no personal data."""

    unit_number: str
    unit: str
    as_of: int
    indexed_block: int
    registered_at: int
    updated_at: int
    changes: int
    head: str
    certificate_leaf: str
    cancelled: bool
    owner_count: int
    owners: list[UnitOwner]
    contract_filed: bool
    contract_hash: str | None
    pre_notice: dict[str, Any] | None
    mortgages: list[dict[str, Any]]
    active_mortgages: int
    seizure: dict[str, Any] | None
    waiting_seizures: list[dict[str, Any]]
    objection: dict[str, Any] | None
    transfer_guards: list[str] = Field(description="guards refusing a transfer to a third party now")
    chain_valid: bool = Field(description="every link of the history recomputes from the events")
    mirror_problem: str | None
    history: list[UnitHistoryEntry]
