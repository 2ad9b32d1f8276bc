"""Webhook signatures: how a node signs a notification and how its receiver checks it.

A node POSTs a JSON body with the header ``Regnode-Signature: t=<unix seconds>,v1=<hex>``
where ``<hex>`` is HMAC-SHA256, keyed with the subscription's secret, over the bytes
``<t>.<body>``. A receiver recomputes it over the raw body it read (before parsing it),
compares in constant time and refuses timestamps further than ``tolerance`` seconds from
its own clock, so a captured request cannot be replayed later. Several ``v1`` entries
may appear; one match is enough.

Only the standard library is used, so a receiver needs nothing else of regnode.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from verifiers.errors import WebhookSignatureError

SIGNATURE_HEADER = "Regnode-Signature"
EVENT_ID_HEADER = "Regnode-Event-Id"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300

__all__ = ["EVENT_ID_HEADER", "SIGNATURE_HEADER", "WebhookSignatureError", "sign", "signature",
           "verify_signature", "verify_signature_at"]


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def signature(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    return hmac.new(_key(secret), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """Return the ``Regnode-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookSignatureError("malformed", f"{part.strip()!r} is not key=value")
        if key == "t":
            if not value.isdigit() or len(value) > 12:
                raise WebhookSignatureError("malformed", "t is not a unix time in seconds")
            timestamp = int(value)
        elif key == SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookSignatureError("malformed", f"the header needs t= and {SCHEME}=")
    return timestamp, candidates


def verify_signature_at(secret: str | bytes, header: str | None, body: bytes, tolerance: int,
                        current_time: float) -> int:
    """Check ``header`` against ``body`` as of ``current_time``; return the signed timestamp."""
    if not header:
        raise WebhookSignatureError("malformed", f"no {SIGNATURE_HEADER} header")
    unverified_timestamp, candidates = _parse(header)
    expected = signature(secret, unverified_timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookSignatureError("mismatch", "no signature matches this body and secret")
    if abs(current_time - unverified_timestamp) > tolerance:
        raise WebhookSignatureError("stale", f"signed at {unverified_timestamp}, more than "
                                             f"{tolerance} s from {int(current_time)}")
    return unverified_timestamp


def verify_signature(secret: str | bytes, header: str | None, body: bytes,
                     tolerance: int = DEFAULT_TOLERANCE) -> int:
    """Check ``header`` against ``body`` now; return the signed timestamp or raise."""
    return verify_signature_at(secret, header, body, tolerance, time.time())
