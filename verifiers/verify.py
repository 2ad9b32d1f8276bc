"""Decide the verdict for a QR token against a `TrustSource`, offline.

The order is docs/internals.md, "Verdicts": the first rule that applies wins.
"""

from __future__ import annotations

from verifiers.cose import verify_signature
from verifiers.errors import MalformedToken
from verifiers.token import ClaimFields, leaf_of, read_token
from verifiers.trust import DepartmentRecord, KeyRecord, LicenceStatus, TrustSource
from verifiers.verdict import Verdict, VerificationResult, make_result


def verify_token(
    text: str | bytes, trust: TrustSource, now: int, verifier_region: str
) -> VerificationResult:
    """Return the verdict for QR text at time `now` for a verifier in `verifier_region`.

    Bad tokens of any kind give a verdict; only programming errors raise.
    """
    try:
        # parse_token's fields, without making an UnverifiedToken and LicenceClaims of them.
        _, alg, kid, unverified, signature, sig_structure, _ = read_token(text)
    except MalformedToken as exc:
        return VerificationResult(Verdict.MALFORMED, f"{exc.stage}: {exc.detail}")
    leaf = leaf_of(unverified.document_digest)
    kid_hex, leaf_hex = kid.hex(), leaf.hex()

    key = trust.key(kid)
    department = None if key is None else trust.department(unverified.issuer)
    refusal = _issuer_problem(kid, unverified, key, department, trust, verifier_region)
    if refusal is not None:
        return VerificationResult(Verdict.UNKNOWN_ISSUER, refusal, kid=kid_hex, leaf=leaf_hex)
    assert key is not None and department is not None

    problem = _signature_problem(alg, unverified.issuer, key, sig_structure, signature)
    if problem is not None:
        if trust.anchor_issuer(leaf) == unverified.issuer:
            return VerificationResult(
                Verdict.TAMPERED, f"{problem}; the licence is genuine but the token was altered",
                kid=kid_hex, leaf=leaf_hex,
            )
        return VerificationResult(Verdict.BAD_SIGNATURE, problem, kid=kid_hex, leaf=leaf_hex)
    claims = unverified  # the signature verified under the issuer's own key

    if not key.valid_at(claims.issued_at):
        return VerificationResult(Verdict.KEY_NOT_VALID_AT_ISSUE, _key_problem(key, claims.issued_at),
                                  kid=kid_hex, leaf=leaf_hex)

    status = trust.status(leaf, now)
    status_reason = status_since = None
    if status.status is _REVOKED:
        verdict, reason = Verdict.REVOKED, f"revoked since {status.since} (reason {status.reason_code})"
        status_reason, status_since = status.reason_code, status.since
    elif status.status is _SUSPENDED:
        verdict, reason = Verdict.SUSPENDED, f"suspended since {status.since} (reason {status.reason_code})"
        status_reason, status_since = status.reason_code, status.since
    elif now < claims.valid_from:
        verdict, reason = Verdict.NOT_YET_VALID, f"valid from {claims.valid_from}"
    elif claims.valid_until is not None and now >= claims.valid_until:
        verdict, reason = Verdict.EXPIRED, f"expired at {claims.valid_until}"
    elif trust.anchor_issuer(leaf) != claims.issuer:
        verdict, reason = Verdict.NOT_ANCHORED_YET, f"leaf is in no batch anchored by {claims.issuer} yet"
    else:
        verdict, reason = _VALID, "signature, key, status, dates and anchor check out"
    return _result(verdict, reason, claims, department, kid_hex, leaf_hex, status_reason, status_since)


# Looked up once: an enum member costs a metaclass look-up (~0.1 µs) each time it is named.
_REVOKED, _SUSPENDED, _VALID = LicenceStatus.REVOKED, LicenceStatus.SUSPENDED, Verdict.VALID


def _issuer_problem(
    kid: bytes,
    unverified: ClaimFields,
    key: KeyRecord | None,
    department: DepartmentRecord | None,
    trust: TrustSource,
    verifier_region: str,
) -> str | None:
    if key is None:
        return f"signing key {kid.hex()} is not in the key history"
    if department is None:
        return f"issuer department {unverified.issuer!r} is unknown"
    if department.region != unverified.issuer_region:
        return (f"token names region {unverified.issuer_region!r} but {department.code} "
                f"is registered in {department.region!r}")
    if department.region != verifier_region and not trust.is_trusted(
        verifier_region, department.region, unverified.licence_type
    ):
        return (f"region {verifier_region} does not recognise {unverified.licence_type} "
                f"licences from region {department.region}")
    return None


def _signature_problem(
    alg: int, issuer: str, key: KeyRecord, sig_structure: bytes, signature: bytes
) -> str | None:
    if key.department != issuer:
        return f"key {key.kid.hex()} belongs to {key.department}, not {issuer}"
    if key.alg != alg:
        return f"key {key.kid.hex()} signs with algorithm {key.alg}, the token claims {alg}"
    if not verify_signature(alg, key.public_key, sig_structure, signature):
        return f"signature does not verify under key {key.kid.hex()}"
    return None


def _key_problem(key: KeyRecord, issued_at: int) -> str:
    if issued_at < key.valid_from:
        return f"issued at {issued_at}, before key {key.kid.hex()} became valid at {key.valid_from}"
    if key.valid_to is not None and issued_at >= key.valid_to:
        return f"issued at {issued_at}, after key {key.kid.hex()} expired at {key.valid_to}"
    return f"issued at {issued_at}, after key {key.kid.hex()} was compromised at {key.compromised_since}"


def _result(
    verdict: Verdict,
    reason: str,
    claims: ClaimFields,
    department: DepartmentRecord,
    kid_hex: str,
    leaf_hex: str,
    status_reason: int | None,
    status_since: int | None,
) -> VerificationResult:
    return make_result(
        verdict, reason, claims.issuer, department.name, claims.issuer_region,
        claims.licence_type, claims.type_name, claims.identifier, claims.issued_at,
        # The disclosed map was decoded for this call alone: the result may keep it.
        claims.valid_from, claims.valid_until, claims.disclosed, kid_hex, leaf_hex,
        status_reason, status_since,
    )
