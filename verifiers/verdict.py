"""Verdicts and the result of verifying a QR token."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from typing import Any


class Verdict(enum.StrEnum):
    """The one answer a verification gives, in the order docs/internals.md decides them."""

    MALFORMED = "malformed"
    UNKNOWN_ISSUER = "unknown_issuer"
    BAD_SIGNATURE = "bad_signature"
    TAMPERED = "tampered"
    KEY_NOT_VALID_AT_ISSUE = "key_not_valid_at_issue"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    NOT_ANCHORED_YET = "not_anchored_yet"
    VALID = "valid"


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What a verifier shows: the verdict, why, and the licence facts it could vouch for.

    Licence fields (issuer, type, identifier, dates, disclosed fields) are filled
    only once the signature has verified under the issuer's key; before that they
    are None, so nothing unverified is ever displayed as fact. `kid` and `leaf`
    (hex) are filled whenever the token could be parsed; `leaf` is the
    keccak256 of the document digest the token claims.
    """

    verdict: Verdict
    reason: str
    issuer: str | None = None
    issuer_name: str | None = None
    issuer_region: str | None = None
    licence_type: str | None = None
    type_name: str | None = None
    identifier: str | None = None
    issued_at: int | None = None
    valid_from: int | None = None
    valid_until: int | None = None
    disclosed: dict[str, str | int] = field(default_factory=dict)
    kid: str | None = None
    leaf: str | None = None
    status_reason: int | None = None
    status_since: int | None = None

    @property
    def is_valid(self) -> bool:
        """Return whether the verdict is `valid`."""
        return self.verdict is Verdict.VALID

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object form (the shape `POST /v1/verify` answers with)."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data

    @classmethod
    def from_json(cls, data: Any) -> VerificationResult:
        """Parse the JSON object form; raise ValueError on a wrong shape."""
        if not isinstance(data, dict):
            raise ValueError("result is not a JSON object")
        try:
            verdict = Verdict(data["verdict"])
        except (KeyError, ValueError):
            raise ValueError(f"unknown verdict {data.get('verdict')!r}") from None
        reason = data.get("reason")
        if not isinstance(reason, str):
            raise ValueError("reason is not text")
        values: dict[str, Any] = {}
        for name in _TEXT_FIELDS:
            values[name] = _optional(data, name, str)
        for name in _INT_FIELDS:
            values[name] = _optional(data, name, int)
        disclosed = data.get("disclosed") or {}
        if not isinstance(disclosed, dict) or not all(
            isinstance(k, str) and (isinstance(v, str) or type(v) is int)
            for k, v in disclosed.items()
        ):
            raise ValueError("disclosed is not a map of text to text or int")
        return cls(verdict=verdict, reason=reason, disclosed=dict(disclosed), **values)


def make_result(*values: Any) -> VerificationResult:
    """Return `VerificationResult(*values)`, all sixteen fields given in order.

    The frozen dataclass __init__ makes an object.__setattr__ call per field; the
    verifier's hot path builds one result per token, so it fills an unfrozen twin
    with the same slots and then makes it a VerificationResult (`__class__`
    assignment is allowed between classes of one layout).
    """
    result = _Unfrozen(*values)
    result.__class__ = VerificationResult  # type: ignore[assignment]
    return result  # type: ignore[return-value]


#: The slots of `VerificationResult` in the same layout, assignable: only `make_result` makes these.
_Unfrozen = make_dataclass("_Unfrozen", [(f.name, f.type) for f in fields(VerificationResult)], slots=True)


_TEXT_FIELDS = ("issuer", "issuer_name", "issuer_region", "licence_type", "type_name",
                "identifier", "kid", "leaf")
_INT_FIELDS = ("issued_at", "valid_from", "valid_until", "status_reason", "status_since")


def _optional(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{name} is not {kind.__name__}")
    return value
