"""One offline verifier process: verify the bench's tokens against its snapshot, timed.

    python -m bench.verify_offline TOKENS.json SNAPSHOT REGION [--seconds S]

Run by ``bench/verification.py`` in a fresh process that imports only ``verifiers``,
as an offline verifier app does. Every token must verify ``valid`` first; then
``verify_token`` runs over all of them, round after round, for about ``S`` seconds,
and the rate is per CPU-second of this thread. The bare signature checks of the same
tokens are timed after, as the ceiling. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from verifiers.snapshot import TrustSnapshot, load_snapshot
from verifiers.verdict import Verdict
from verifiers.verify import verify_token

SECONDS = 3.0


def measure(tokens: list[str], trust: TrustSnapshot, region: str, seconds: float) -> dict[str, Any]:
    """Return the full verification rate over ``tokens`` and its bare-signature ceiling."""
    now = int(time.time())
    bad = [r for t in tokens if (r := verify_token(t, trust, now, region)).verdict is not Verdict.VALID]
    if bad:
        raise RuntimeError(f"{len(bad)} tokens did not verify: {bad[0]}")
    done = 0
    # CPU time of this (the only verifying) thread: one core's rate even when other
    # processes share the machine; the wall-clock rate is kept beside it.
    cpu0, t0 = time.thread_time(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for token in tokens:
            verify_token(token, trust, now, region)
        done += len(tokens)
    wall, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    return {"distinct_tokens": len(tokens), "verifications": done, "wall_s": wall, "cpu_s": cpu,
            "per_wall_s": done / wall, "per_cpu_s": done / cpu,
            # The ceiling beside the figure: the signature checks alone, same tokens, same time.
            "bare_signature_verify_per_cpu_s": bare_signature_rate(tokens, trust, seconds)}


def bare_signature_rate(tokens: list[str], trust: Any, seconds: float = SECONDS) -> float:
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.verify_offline", description=__doc__.splitlines()[0])
    parser.add_argument("tokens", type=Path)
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("region")
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args()
    t0 = time.perf_counter()
    trust = load_snapshot(args.snapshot.read_bytes())
    load_s = time.perf_counter() - t0
    tokens = json.loads(args.tokens.read_text(encoding="utf-8"))
    print(json.dumps({**measure(tokens, trust, args.region, args.seconds), "snapshot_load_s": load_s}))


if __name__ == "__main__":
    main()
