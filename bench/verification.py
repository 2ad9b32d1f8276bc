"""Offline QR verification rate on one core, and the QR size of a typical business licence.

A fresh demo node issues a few thousand distinct business licences over HTTP and
anchors them; MARKET exports a signed snapshot, which is loaded (signature checked)
the way an offline verifier app would. The tokens and the snapshot are written to
files and verified by a fresh process that loads only the ``verifiers`` package, as a
verifier app is (``bench/verify_offline.py``; in the process that just ran a node the
same loop measured up to a third slower). There ``verify_token`` runs in one thread
over the distinct tokens, round after round, for about three seconds, and the rate
is verifications per CPU-second of that thread (one core; the wall-clock rate is in
the metadata). Every token must come out ``valid`` first, so the loop times the full
path (parse, signature, key, status, dates, anchor look-up); nothing is cached per token.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import DEPARTMENT, demo_node, licence_body

VERIFY_TOKENS = 3_000
#: Separate verifier processes; the figure is their median (single runs on a shared host vary ~20%).
VERIFY_PROCESSES = 3


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
        """Run ``bench.verify_offline`` in fresh processes on the exported files; return the median rate."""
        self._prepare()
        assert self._tokens is not None
        with tempfile.TemporaryDirectory(prefix="regnode-verify-") as tmp:
            tokens, snapshot = Path(tmp) / "tokens.json", Path(tmp) / "snapshot.cbor"
            tokens.write_text(json.dumps(self._tokens), encoding="utf-8")
            snapshot.write_bytes(self._snapshot)
            runs = [_verifier_process(tokens, snapshot, self._region) for _ in range(VERIFY_PROCESSES)]
        rates = sorted(r["per_cpu_s"] for r in runs)
        median = rates[len(rates) // 2]
        self.meta["verify_offline"] = {
            "process": "a fresh `python -m bench.verify_offline` per run (imports verifiers only)",
            "runs": runs, "per_cpu_s_each": rates, "per_cpu_s_median": median,
            "snapshot_bytes": len(self._snapshot),
        }
        return median

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


def _verifier_process(tokens: Path, snapshot: Path, region: str) -> dict[str, Any]:
    """Run one fresh verifier process over the files; return what it measured."""
    out = subprocess.run([sys.executable, "-m", "bench.verify_offline", str(tokens), str(snapshot), region],
                         capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parent.parent)
    if out.returncode != 0:
        raise RuntimeError(f"bench.verify_offline failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result
