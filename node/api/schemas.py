"""Request and response bodies of the HTTP API (``LicenceCreate``, ``LicencePublic``, …)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ledger.domain.credential import MAX_FIELDS

FIELD_KEY = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
FIELD_VALUE_MAX = 500
_FIELD_KEY = re.compile(FIELD_KEY)


class LicenceCreate(BaseModel):
    """One licence to issue."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=32, description="licence type code")
    holder_name: str = Field(min_length=1, max_length=200)
    holder_id: str = Field(min_length=1, max_length=64)
    holder_id_type: str = Field(default="RESIDENT_ID", min_length=1, max_length=32)
    # every field the document can hold beside holderName, holderId and holderIdType
    fields: dict[str, str | int] = Field(default_factory=dict, max_length=MAX_FIELDS - 3)
    valid_from: date | None = None
    valid_until: date | None = None
    disclose: list[str] | None = Field(
        default=None, max_length=40,
        description="fields shown in the QR token; default: all but the type's personal ones",
    )
    salts: dict[str, str] | None = Field(
        default=None, max_length=MAX_FIELDS,
        description="salts to keep for chosen fields (22 base64url characters each), so an earlier "
                    "disclosure of the field, e.g. a buyer's owner commitment, is the licence's own",
    )

    @field_validator("fields")
    @classmethod
    def _field_shapes(cls, v: dict[str, str | int]) -> dict[str, str | int]:
        match = _FIELD_KEY.match  # compiled once: the validator runs per licence in a batch
        for key, value in v.items():
            if not match(key):
                raise ValueError(f"field name {key!r} must match {FIELD_KEY}")
            if isinstance(value, str) and len(value) > FIELD_VALUE_MAX:
                raise ValueError(f"field {key!r} is longer than {FIELD_VALUE_MAX} characters")
        return v


class LicenceBatchCreate(BaseModel):
    """Many licences to issue in one request."""

    model_config = ConfigDict(extra="forbid")

    licences: list[LicenceCreate] = Field(min_length=1, max_length=10_000)


class CheckedLicenceCreate(LicenceCreate):
    """``LicenceCreate`` with its field rules declared to pydantic-core, so a batch validates in Rust.

    It refuses everything ``LicenceCreate`` refuses (a stricter key pattern: ``$`` does not
    also match before a final newline here) and nothing else it accepts; a batch it refuses
    is validated again by ``LicenceCreate`` for the errors (``node.api.licences``).
    """

    fields: dict[Annotated[str, StringConstraints(pattern=FIELD_KEY)],
                 Annotated[str, StringConstraints(max_length=FIELD_VALUE_MAX)] | int] = Field(
        default_factory=dict, max_length=MAX_FIELDS - 3)

    @field_validator("fields")
    @classmethod
    def _field_shapes(cls, v: dict[str, str | int]) -> dict[str, str | int]:
        return v  # the annotation checks names and lengths


class CheckedLicenceBatchCreate(BaseModel):
    """``LicenceBatchCreate`` of :class:`CheckedLicenceCreate`: read from the request's JSON at once."""

    model_config = ConfigDict(extra="forbid")

    licences: list[CheckedLicenceCreate] = Field(min_length=1, max_length=10_000)


class LicenceIssued(BaseModel):
    """What the issuer gets back at once: the identifier and the QR token."""

    identifier: str
    qr: str
    leaf: str
    document_digest: str
    status: str = "accepted"


class LicenceBatchIssued(BaseModel):
    """The results of a batch, in request order."""

    count: int
    results: list[LicenceIssued]


class AnchorInfo(BaseModel):
    """Where a licence's leaf sits on chain."""

    batch_root: str
    leaf_index: int
    proof: list[str]
    block_number: int | None
    anchored_at: int | None
    transaction_hash: str | None


class LeafProof(BaseModel):
    """Where a licence leaf sits in its anchored batch: public, no personal data.

    Peers check it against the batch root anchored on chain; they never take it on trust.
    """

    leaf: str
    department: str
    licence_type: str
    batch_root: str
    batch_count: int
    leaf_index: int
    proof: list[str]
    block_number: int
    anchored_at: int
    transaction_hash: str


class BatchLeaves(BaseModel):
    """Every leaf of one anchored batch, in tree order (hashes only)."""

    root: str
    department: str
    licence_type: str
    count: int
    leaves: list[str]
    block_number: int
    anchored_at: int
    transaction_hash: str


class EndpointChange(BaseModel):
    """The URL where other nodes reach this department's node."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(min_length=1, max_length=512, pattern=r"^https?://[^\s]+$")


class EndpointChanged(BaseModel):
    """The endpoint the directory now lists for the department."""

    department: str
    endpoint: str
    transaction_hash: str


class LicencePublic(BaseModel):
    """A licence as its issuing department sees it."""

    identifier: str
    department: str
    licence_type: str
    leaf: str
    document_digest: str
    status: str
    status_reason: int | None
    issued_at: int
    valid_from: int
    valid_until: int | None
    kid: str
    qr: str
    document: dict[str, Any]
    disclosures: list[list[Any]]
    anchor: AnchorInfo | None


class StatusChange(BaseModel):
    """A suspend, reinstate or revoke request."""

    model_config = ConfigDict(extra="forbid")

    reason: int | None = Field(default=None, ge=1, le=65_535)


class StatusChangeAccepted(BaseModel):
    """The change is recorded and will be sent to the chain by the outbox."""

    identifier: str
    action: str
    outbox_id: int
    state: str


class StatusAt(BaseModel):
    """A licence's status at one moment."""

    identifier: str
    at: int
    status: str
    reason: int | None
    since: int | None


class VerifyRequest(BaseModel):
    """A QR token to check."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=8_192)
    at: int | None = Field(default=None, description="verify as of this unix time")


class KeyRotated(BaseModel):
    """The department's new signing key, registered on chain."""

    department: str
    kid: str
    previous_kid: str | None
    valid_from: int
    transaction_hash: str


class Health(BaseModel):
    """The node's liveness and how far behind the chain its index is."""

    status: str
    chain_id: int
    chain_head: int
    chain_head_time: int
    indexed_block: int
    indexer_lag: int
    outbox_pending: int
    licences_pending_anchor: int
    registry_address: str
    departments: list[str]


class FeeQuoteRequest(BaseModel):
    """The facts of a resale case, as ``regnode fee quote`` takes them."""

    model_config = ConfigDict(extra="forbid")

    price: Decimal = Field(description="taxable price in yuan (at most two decimal places)")
    area: Decimal = Field(description="floor area in m² (at most two decimal places)")
    acquired: date = Field(description="the date the seller acquired the property")
    contract_date: date = Field(description="the date of the sale contract; picks the rules in force")
    buyer_homes: int = Field(description="which home of the buyer's family this will be: 1, 2, 3 …")
    seller_only_home: bool = Field(default=False, description="the seller's family's only home")
    cost: Decimal | None = Field(default=None, description="the seller's proven original cost in yuan")
    property_type: Literal["residential", "parking", "non_residential"] = "residential"
    certificates: int = Field(default=1, description="title certificates issued (+fee beyond the first)")
    city: str | None = Field(default=None, max_length=6,
                             description="6-digit city code whose local rates apply; none: national")


class FeeQuotePublic(BaseModel):
    """The taxes and fees of a case in yuan, one decimal string per line."""

    vat: str
    vat_surcharges: str
    deed_tax: str
    income_tax: str
    registration_fee: str
    total: str


class WebhookCreate(BaseModel):
    """A receiver to notify of every event of a case."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, description="http(s) URL the node POSTs to")
    replay: bool = Field(default=True, description="first send the events already indexed")


class WebhookPublic(BaseModel):
    """A webhook subscription (its secret is shown only when it is created)."""

    id: int
    subject: str
    url: str
    department: str
    created_at_ms: int
    active: bool


class WebhookCreated(WebhookPublic):
    """A new subscription and the secret its receiver checks signatures with (shown once)."""

    secret: str = Field(description="HMAC-SHA256 key (its ASCII text) of Regnode-Signature")


class WebhookDeliveryPublic(BaseModel):
    """One notification owed to a subscription, and how sending it went."""

    id: int
    event_id: int
    kind: Literal["event", "retracted"]
    state: Literal["pending", "delivered", "failed", "cancelled"]
    attempts: int
    next_attempt_at_ms: int
    last_status: int | None
    last_error: str | None
    created_at_ms: int
    delivered_at_ms: int | None


class SubjectEvents(BaseModel):
    """The indexed chain events of one subject, in chain order."""

    subject: str
    events: list[dict[str, Any]]
