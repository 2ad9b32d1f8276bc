"""The off-chain record: SQLModel tables shared by the node's services and the indexer.

Schema changes go through Alembic migrations in ``ledger/store/migrations``;
``tests/store/test_migrations.py`` fails when these tables and the migrations drift.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _big(default: Any = ..., **kwargs: Any) -> Any:
    """Return a 64-bit integer column (times in ms and far-future dates overflow 32 bits)."""
    return Field(default=default, sa_type=BigInteger, **kwargs)


class Licence(SQLModel, table=True):
    """An issued e-licence as its issuing department keeps it."""

    __tablename__ = "licence"
    __table_args__ = (Index("ix_licence_dept_type", "department", "licence_type"),)

    identifier: str = Field(primary_key=True, max_length=128)
    department: str = Field(max_length=32)
    licence_type: str = Field(max_length=32)
    leaf: str = Field(max_length=64, unique=True)
    document_digest: str = Field(max_length=64)
    document: str = Field(sa_column=Column(Text, nullable=False))
    disclosures: str = Field(sa_column=Column(Text, nullable=False))
    token: str = Field(sa_column=Column(Text, nullable=False))
    kid: str = Field(max_length=16)
    issued_at: int = _big()
    valid_from: int = _big()
    valid_until: int | None = _big(None)
    batch_id: int | None = Field(default=None, index=True)
    leaf_index: int | None = None
    status: str = Field(default="active", max_length=16)
    status_reason: int | None = None


class PendingLeaf(SQLModel, table=True):
    """A licence accepted but not yet put in an anchor batch (the anchoring outbox)."""

    __tablename__ = "pending_leaf"
    __table_args__ = (Index("ix_pending_group", "department", "licence_type", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(max_length=128)
    department: str = Field(max_length=32)
    licence_type: str = Field(max_length=32)
    leaf: str = Field(max_length=64)
    accepted_at_ms: int = _big()


class AnchorBatch(SQLModel, table=True):
    """A Merkle batch of licence leaves and its anchoring state."""

    __tablename__ = "anchor_batch"

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=32, index=True)
    licence_type: str = Field(max_length=32)
    root: str = Field(max_length=64, unique=True)
    count: int
    leaves: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    outbox_id: int | None = Field(default=None, index=True)
    created_at_ms: int = _big()
    anchored_block: int | None = _big(None)
    anchored_at: int | None = _big(None)
    transaction_hash: str | None = Field(default=None, max_length=64)


class PeerProof(SQLModel, table=True):
    """A Merkle proof of another node's licence leaf, checked against its anchored root.

    Only proofs that fold the leaf into a root whose ``BatchAnchored`` event is indexed
    are stored; who anchored the root is read from that event, never from the peer.
    """

    __tablename__ = "peer_proof"

    leaf: str = Field(primary_key=True, max_length=64)
    department: str = Field(max_length=32)
    root: str = Field(max_length=64, index=True)
    leaf_index: int
    proof: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=512)
    fetched_at: int = _big()


class OutboxEntry(SQLModel, table=True):
    """A chain transaction the node has promised to send, exactly once, in order."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="queued", max_length=16)
    nonce: int | None = _big(None)
    raw_transaction: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    transaction_hash: str | None = Field(default=None, max_length=64, index=True)
    block_number: int | None = _big(None)
    gas_used: int | None = _big(None)
    error_code: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    created_at_ms: int = _big()
    updated_at_ms: int = _big()


class SerialCounter(SQLModel, table=True):
    """The next serial number per department, licence type and year."""

    __tablename__ = "serial_counter"

    department: str = Field(primary_key=True, max_length=32)
    licence_type: str = Field(primary_key=True, max_length=32)
    year: int = Field(primary_key=True)
    next_value: int = 1


class ApiToken(SQLModel, table=True):
    """A bearer token bound to one department; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=32, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=128)
    created_at: int = _big()
    revoked: bool = False


class SigningKey(SQLModel, table=True):
    """A credential-signing key this node holds for one of its departments."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=16)
    department: str = Field(max_length=32, index=True)
    alg: int
    public_key: str = Field(sa_column=Column(Text, nullable=False))
    key_file: str = Field(max_length=512)
    created_at: int = _big()
    active: bool = False
    registered_at: int | None = _big(None)


class IndexedBlock(SQLModel, table=True):
    """A block the indexer has processed, kept to detect reorganisations."""

    __tablename__ = "indexed_block"

    number: int = _big(primary_key=True)
    hash: str = Field(max_length=64)
    parent_hash: str = Field(max_length=64)
    timestamp: int = _big()


class ChainEvent(SQLModel, table=True):
    """A decoded contract event on the canonical chain."""

    __tablename__ = "chain_event"
    __table_args__ = (
        UniqueConstraint("block_number", "log_index", name="uq_chain_event_position"),
        Index("ix_chain_event_subject", "subject", "block_number"),
        # Ids order events for event streams and webhooks (resume after an id, receivers
        # dedupe on it), so SQLite must not hand a reorg's dropped ids out again.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    block_number: int = _big(index=True)
    block_hash: str = Field(max_length=64)
    log_index: int
    transaction_hash: str = Field(max_length=64)
    contract: str = Field(max_length=40)
    name: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=66)
    block_timestamp: int = _big()
    args: str = Field(sa_column=Column(Text, nullable=False))


class WebhookSubscription(SQLModel, table=True):
    """A receiver a department registered to be told of every chain event of one subject.

    The HMAC secret is kept sealed under the node's ``webhook_secret``, never in clear.
    """

    __tablename__ = "webhook_subscription"
    __table_args__ = (Index("ix_webhook_subscription_subject", "subject", "active"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=66)
    url: str = Field(sa_column=Column(Text, nullable=False))
    secret_sealed: str = Field(sa_column=Column(Text, nullable=False))
    department: str = Field(max_length=32, index=True)
    created_at_ms: int = _big()
    active: bool = True
    cancelled_at_ms: int | None = _big(None)


class WebhookDelivery(SQLModel, table=True):
    """One notification owed to one subscription, and how sending it went.

    ``chain_event_id`` is not a foreign key: a reorganisation deletes the event while
    the delivery (and its ``payload``, the exact body sent) stays for inspection.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_queue", "state", "subscription_id", "id"),
        Index("ix_webhook_delivery_subscription", "subscription_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id")
    chain_event_id: int = Field(index=True)
    kind: str = Field(default="event", max_length=16)  # "event" or "retracted"
    payload: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at_ms: int = _big()
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at_ms: int = _big()
    delivered_at_ms: int | None = _big(None)


class AuditEntry(SQLModel, table=True):
    """One access or change, hash-chained to the entry before it."""

    __tablename__ = "audit_log"

    seq: int | None = Field(default=None, primary_key=True)
    at_ms: int = _big()
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=128, index=True)
    detail: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class NodeState(SQLModel, table=True):
    """Small named values the node keeps (indexer cursor, leader lease)."""

    __tablename__ = "node_state"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))
