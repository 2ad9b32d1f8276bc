"""Exceptions raised by the verifiers package.

Every exception derives from `VerifierError`::

    VerifierError
    ├── TokenError                 a QR token could not be read or checked
    │   ├── MalformedToken         prefix, Base45, zlib, COSE or claim shapes are wrong
    │   └── BadSignature           the signature does not verify under the given key
    ├── ImageError                 a photo could not be turned into a token
    │   ├── ImageUnreadable        the bytes are not an image PIL can open
    │   └── NoCodeFound            the image holds no readable QR code
    ├── SnapshotError              an offline snapshot could not be trusted
    │   ├── MalformedSnapshot      the file is not an RNS1 snapshot of the known shape
    │   ├── SnapshotSignatureInvalid  its signature, exporter key or pinned kid do not check out
    │   └── SnapshotTooOld         it was exported longer ago than the caller accepts
    ├── OnlineVerificationError    the node could not be asked or answered nonsense
    └── WebhookSignatureError      a webhook request's signature is missing, malformed, stale or wrong

`verify_token` never raises these for bad tokens: it turns them into verdicts.
"""

from __future__ import annotations


class VerifierError(Exception):
    """Root of every error raised by the verifiers package."""


class TokenError(VerifierError):
    """Raised when a QR token cannot be read or checked."""


class MalformedToken(TokenError):
    """Raised when a token's prefix, Base45, zlib, COSE or claim shapes are wrong."""

    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(f"{stage}: {detail}")
        self.stage = stage
        self.detail = detail


class BadSignature(TokenError):
    """Raised when a token's signature does not verify under the given key."""

    def __init__(self, kid: bytes, detail: str = "signature does not verify") -> None:
        super().__init__(f"kid {kid.hex()}: {detail}")
        self.kid = kid
        self.detail = detail


class ImageError(VerifierError):
    """Raised when a photo cannot be turned into a token."""


class ImageUnreadable(ImageError):
    """Raised when the bytes or file are not an image PIL can open."""


class NoCodeFound(ImageError):
    """Raised when an image holds no readable QR code."""


class SnapshotError(VerifierError):
    """Raised when an offline snapshot cannot be trusted."""


class MalformedSnapshot(SnapshotError):
    """Raised when a file is not an RNS1 snapshot of the known shape."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SnapshotSignatureInvalid(SnapshotError):
    """Raised when a snapshot's signature, exporter key or pinned kid do not check out."""

    def __init__(self, kid: bytes | None, detail: str) -> None:
        super().__init__(f"kid {kid.hex() if kid else '-'}: {detail}")
        self.kid = kid
        self.detail = detail


class SnapshotTooOld(SnapshotError):
    """Raised when a snapshot was exported longer ago than the caller accepts."""

    def __init__(self, exported_at: int, now: int, max_age: int) -> None:
        super().__init__(f"exported at {exported_at}, now {now}, max age {max_age}s")
        self.exported_at = exported_at
        self.now = now
        self.max_age = max_age


class OnlineVerificationError(VerifierError):
    """Raised when the node cannot be asked or answers something that is not a result."""

    def __init__(self, url: str, detail: str, status_code: int | None = None) -> None:
        super().__init__(f"{url}: {detail}")
        self.url = url
        self.detail = detail
        self.status_code = status_code


class WebhookSignatureError(VerifierError):
    """Raised when a webhook request's signature header is missing, malformed, stale or wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason  # "malformed", "stale" or "mismatch"
        self.detail = detail
