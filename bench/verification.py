"""Offline QR verification rate on one core, and the QR size of a typical business licence.

A fresh demo node issues a few thousand distinct business licences over HTTP and
anchors them; MARKET exports a signed snapshot, which is loaded (signature checked)
the way an offline verifier app would. ``verify_token`` then runs in one thread
over the distinct tokens, round after round, for about three seconds, and the rate
is verifications per CPU-second of that thread (one core; the wall-clock rate is in
the metadata). Every token must come out ``valid`` first, so the loop times the full
path (parse, signature, key, status, dates, anchor look-up); nothing is cached per token.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import DEPARTMENT, demo_node, licence_body

VERIFY_TOKENS = 3_000
VERIFY_SECONDS = 3.0


class VerificationBench:
    """Keeps one small anchored node's tokens and snapshot for the verify and QR metrics."""

    def __init__(self, licences: int, meta: dict[str, Any]) -> None:
        self.count = max(1, min(VERIFY_TOKENS, licences))
        self.meta = meta
        self._tokens: list[str] | None = None
        self._snapshot: bytes = b""
        self._region = "110000"

    def _prepare(self) -> None:
        if self._tokens is not None:
            return
        from node.services.keys import export

        with demo_node("embedded", batch_size=1024) as node:
            self._tokens = [r["qr"] for r in node.issue(0, self.count)]
            node.settle()
            node.check_all_anchored(self.count)
            self._snapshot = export(node.runtime, DEPARTMENT)
            self._region = node.runtime.settings.verifier_region
        self.meta["typical_licence_request"] = licence_body(0)

    def verify_offline_per_s(self) -> float:
        from verifiers.snapshot import load_snapshot
        from verifiers.verdict import Verdict
        from verifiers.verify import verify_token

        self._prepare()
        assert self._tokens is not None
        t0 = time.perf_counter()
        trust = load_snapshot(self._snapshot)
        load_s = time.perf_counter() - t0
        now = int(time.time())
        bad = [r for t in self._tokens
               if (r := verify_token(t, trust, now, self._region)).verdict is not Verdict.VALID]
        if bad:
            raise RuntimeError(f"{len(bad)} tokens did not verify: {bad[0]}")
        done = 0
        # CPU time of this (the only verifying) thread: one core's rate even when other
        # processes share the machine; the wall-clock rate is kept beside it.
        cpu0, t0 = time.thread_time(), time.perf_counter()
        while time.perf_counter() - t0 < VERIFY_SECONDS:
            for token in self._tokens:
                verify_token(token, trust, now, self._region)
            done += len(self._tokens)
        wall, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
        self.meta["verify_offline"] = {
            "distinct_tokens": len(self._tokens), "verifications": done, "wall_s": wall,
            "cpu_s": cpu, "per_wall_s": done / wall, "per_cpu_s": done / cpu,
            "snapshot_bytes": len(self._snapshot), "snapshot_load_s": load_s,
            # The ceiling beside the figure: the signature checks alone, same tokens, same time.
            "bare_signature_verify_per_cpu_s": bare_signature_rate(self._tokens, trust),
        }
        return done / cpu

    def typical_token(self) -> str:
        """Return the median-length token of the issued business licences."""
        self._prepare()
        assert self._tokens is not None
        return sorted(self._tokens, key=len)[len(self._tokens) // 2]

    def qr_version(self) -> float:
        from verifiers.qr import ERROR_CORRECTION, qr_version

        token = self.typical_token()
        tokens = sorted(self._tokens or [], key=len)
        self.meta["qr"] = {
            "error_correction": ERROR_CORRECTION, "typical_token": token,
            "shortest_chars": len(tokens[0]), "shortest_version": qr_version(tokens[0]),
            "longest_chars": len(tokens[-1]), "longest_version": qr_version(tokens[-1]),
            "breakdown": token_breakdown(token),
        }
        return qr_version(token)

    def qr_bytes(self) -> float:
        return len(self.typical_token())


def token_breakdown(token: str) -> dict[str, Any]:
    """Return where a token's bytes go: claims by CBOR size, COSE, zlib and Base45 layers."""
    import zlib

    import cbor2

    from verifiers.token import PREFIX, decode_cose, parse_token

    cose = decode_cose(token)
    sign1 = parse_token(token)
    payload = cbor2.loads(sign1.unverified_claims.to_cbor())
    claims = {str(k): len(cbor2.dumps(v)) for k, v in payload.items()}
    disclosed = {k: len(cbor2.dumps(v)) for k, v in payload.get(11, {}).items()}
    return {"base45_chars": len(token) - len(PREFIX), "zlib_bytes": len(zlib.compress(cose, 9)),
            "cose_bytes": len(cose), "payload_bytes": len(sign1.unverified_claims.to_cbor()),
            "signature_bytes": len(sign1.signature), "claim_cbor_bytes": claims,
            "disclosed_field_cbor_bytes": disclosed}


def bare_signature_rate(tokens: list[str], trust: Any, seconds: float = VERIFY_SECONDS) -> float:
    """Return bare signature checks per CPU-second over the tokens' own Sig_structures.

    The ceiling for `verify_offline_per_s_core`: `cryptography`'s verify of exactly the
    bytes, signatures and issuer keys the full verification checks, as DER, for as long
    as the timed loop runs (a short sample of another message would not compare fairly).
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from verifiers.cose import load_public_key, raw_to_der
    from verifiers.token import parse_token

    algorithm = ec.ECDSA(hashes.SHA256())
    checks = []
    for token in tokens:
        parsed = parse_token(token)
        checks.append((load_public_key(trust.key(parsed.kid).public_key).verify,
                       raw_to_der(parsed.signature), parsed.sig_structure))
    done, t0, cpu0 = 0, time.perf_counter(), time.thread_time()
    while time.perf_counter() - t0 < seconds:
        for verify, signature, data in checks:
            verify(signature, data, algorithm)
        done += len(checks)
    return done / (time.thread_time() - cpu0)
