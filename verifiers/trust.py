"""The facts a verifier needs, and the Protocol that supplies them.

The offline snapshot (`verifiers.snapshot.TrustSnapshot`) and the node's database
both implement `TrustSource`; `verify_token` asks nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

#: COSE algorithm identifiers and their names.
ALG_ES256 = -7
ALG_EDDSA = -8
ALG_ES384 = -35
ALG_NAMES: dict[int, str] = {ALG_ES256: "ES256", ALG_EDDSA: "EdDSA", ALG_ES384: "ES384"}
ALG_IDS: dict[str, int] = {name: alg for alg, name in ALG_NAMES.items()}


class LicenceStatus(enum.IntEnum):
    """Status codes of a licence leaf, as the LicenceRegistry contract numbers them."""

    ACTIVE = 0
    SUSPENDED = 1
    REVOKED = 2


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One signing key of a department with its validity interval.

    `alg` is the COSE algorithm identifier (-7 ES256, -8 EdDSA, -35 ES384) and
    `public_key` the SubjectPublicKeyInfo DER. The key signs tokens issued in
    `[valid_from, valid_to)` and before `compromised_since`.
    """

    kid: bytes
    department: str
    alg: int
    public_key: bytes
    valid_from: int
    valid_to: int | None = None
    compromised_since: int | None = None

    def valid_at(self, t: int) -> bool:
        """Return whether a token signed at `t` falls inside this key's validity."""
        if t < self.valid_from:
            return False
        if self.valid_to is not None and t >= self.valid_to:
            return False
        return self.compromised_since is None or t < self.compromised_since


@dataclass(frozen=True, slots=True)
class DepartmentRecord:
    """A department of the directory: code, display name, region and role bits."""

    code: str
    name: str
    region: str
    roles: int


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """The status of a leaf at some time, with the reason code and since when."""

    status: LicenceStatus
    reason_code: int = 0
    since: int | None = None


ACTIVE = StatusRecord(LicenceStatus.ACTIVE)


@dataclass(frozen=True, slots=True, order=True)
class StatusEvent:
    """One status change of a leaf: from `at` on, the leaf is `status`."""

    at: int
    status: LicenceStatus = field(compare=False)
    reason_code: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class TrustRelation:
    """Verifiers of `verifier_region` accept `licence_type` licences from `issuer_region`."""

    verifier_region: str
    issuer_region: str
    licence_type: str


def status_at(history: list[StatusEvent] | tuple[StatusEvent, ...], at: int) -> StatusRecord:
    """Return the status a time-ordered event history gives at time `at`."""
    current = ACTIVE
    for event in history:
        if event.at > at:
            break
        current = StatusRecord(event.status, event.reason_code, event.at)
    if current.status is LicenceStatus.ACTIVE:
        # A reinstatement is reported as plain active, with the time it became so.
        return ACTIVE if current.since is None else StatusRecord(LicenceStatus.ACTIVE, 0, current.since)
    return current


@runtime_checkable
class TrustSource(Protocol):
    """Facts about keys, departments, trust relations, statuses and anchors."""

    def key(self, kid: bytes) -> KeyRecord | None:
        """Return the key named `kid` from the key history, or None."""
        ...

    def department(self, code: str) -> DepartmentRecord | None:
        """Return the department with `code`, or None."""
        ...

    def is_trusted(self, verifier_region: str, issuer_region: str, licence_type: str) -> bool:
        """Return whether `verifier_region` accepts `licence_type` from `issuer_region`."""
        ...

    def status(self, leaf: bytes, at: int) -> StatusRecord:
        """Return the status of `leaf` at time `at` (active when never changed)."""
        ...

    def anchor_issuer(self, leaf: bytes) -> str | None:
        """Return the department code whose batch anchored `leaf`, or None."""
        ...
