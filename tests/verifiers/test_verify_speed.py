"""The offline verifier costs well under twice a bare ES256 verify (python -m verifiers.bench)."""

from __future__ import annotations

from verifiers.bench import run


def test_verify_token_keeps_at_least_half_the_raw_es256_rate() -> None:
    figures = run(seconds=0.3, rounds=3)
    assert figures["ratio"] >= 0.5, figures
    assert figures["qr_version_at_q"] <= 18
