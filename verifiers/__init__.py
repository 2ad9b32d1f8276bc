"""Check regnode QR tokens offline (with a signed snapshot) or online (against a node).

    from verifiers import load_snapshot, verify_token
    trust = load_snapshot(open("snapshot.rns", "rb").read(), pinned_kid=PINNED)
    result = verify_token(text, trust, now=int(time.time()), verifier_region="440300")
    result.verdict  # Verdict.VALID, Verdict.REVOKED, ...

This package imports nothing of regnode's node or CLI and needs no network
(except `verifiers.online`).
"""

from verifiers.cose import Signer, kid_of
from verifiers.errors import (
    BadSignature,
    ImageError,
    ImageUnreadable,
    MalformedSnapshot,
    MalformedToken,
    NoCodeFound,
    OnlineVerificationError,
    SnapshotError,
    SnapshotSignatureInvalid,
    SnapshotTooOld,
    TokenError,
    VerifierError,
)
from verifiers.qr import qr_png, qr_svg, qr_version
from verifiers.snapshot import ChainPosition, TrustSnapshot, export_snapshot, load_snapshot
from verifiers.token import LicenceClaims, UnverifiedToken, build_token, parse_token
from verifiers.trust import (
    DepartmentRecord,
    KeyRecord,
    LicenceStatus,
    StatusEvent,
    StatusRecord,
    TrustRelation,
    TrustSource,
)
from verifiers.verdict import Verdict, VerificationResult
from verifiers.verify import verify_token

__all__ = [
    "BadSignature", "ChainPosition", "DepartmentRecord", "ImageError", "ImageUnreadable",
    "KeyRecord", "LicenceClaims", "LicenceStatus", "MalformedSnapshot", "MalformedToken",
    "NoCodeFound", "OnlineVerificationError", "Signer", "SnapshotError",
    "SnapshotSignatureInvalid", "SnapshotTooOld", "StatusEvent", "StatusRecord", "TokenError",
    "TrustRelation", "TrustSnapshot", "TrustSource", "UnverifiedToken", "VerificationResult",
    "Verdict", "VerifierError", "build_token", "export_snapshot", "kid_of", "load_snapshot",
    "parse_token", "qr_png", "qr_svg", "qr_version", "verify_token",
]
