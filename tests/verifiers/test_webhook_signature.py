"""Webhook signatures as a receiver checks them: valid, tampered, wrong secret, stale, malformed."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from verifiers.errors import VerifierError, WebhookSignatureError
from verifiers.webhooks import sign, verify_signature, verify_signature_at

SECRET = "5f" * 32
BODY = b'{"id":7,"name":"CaseOpened","type":"event"}'
T = 1_800_000_000


def reason(header: str | None, body: bytes = BODY, secret: str = SECRET, now: float = T,
           tolerance: int = 300) -> str:
    try:
        verify_signature_at(secret, header, body, tolerance, now)
    except WebhookSignatureError as exc:
        assert isinstance(exc, VerifierError)
        return exc.reason
    return "ok"


def test_the_header_is_hmac_sha256_over_timestamp_dot_body() -> None:
    header = sign(SECRET, BODY, T)
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"
    assert verify_signature_at(SECRET, header, BODY, 300, T + 300) == T
    assert verify_signature_at(SECRET.encode(), header, BODY, 300, T - 300) == T


@pytest.mark.parametrize(("header", "body", "secret", "now", "verdict"), [
    (sign(SECRET, BODY, T), BODY, SECRET, T, "ok"),
    (sign(SECRET, BODY, T), BODY + b" ", SECRET, T, "mismatch"),  # tampered body
    (sign(SECRET, BODY, T), BODY, "00" * 32, T, "mismatch"),  # another subscription's secret
    (sign(SECRET, BODY, T).replace(f"t={T}", f"t={T + 1}"), BODY, SECRET, T, "mismatch"),  # moved in time
    (sign(SECRET, BODY, T), BODY, SECRET, T + 301, "stale"),  # replayed later
    (sign(SECRET, BODY, T), BODY, SECRET, T - 301, "stale"),
    (f"t={T},v1=00,{sign(SECRET, BODY, T).split(',')[1]}", BODY, SECRET, T, "ok"),  # one of several matches
    (None, BODY, SECRET, T, "malformed"),
    ("", BODY, SECRET, T, "malformed"),
    (f"t={T}", BODY, SECRET, T, "malformed"),
    (sign(SECRET, BODY, T).split(",")[1], BODY, SECRET, T, "malformed"),
    (f"t=-1,v1={'0' * 64}", BODY, SECRET, T, "malformed"),
    (f"t={T};v1={'0' * 64}", BODY, SECRET, T, "malformed"),
])
def test_verdicts(header: str | None, body: bytes, secret: str, now: float, verdict: str) -> None:
    assert reason(header, body, secret, now) == verdict


def test_verify_signature_checks_against_the_clock() -> None:
    import time

    now = int(time.time())
    assert verify_signature(SECRET, sign(SECRET, BODY, now), BODY) == now
    with pytest.raises(WebhookSignatureError):
        verify_signature(SECRET, sign(SECRET, BODY, now - 3600), BODY)
