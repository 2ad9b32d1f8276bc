"""Where the time goes: cProfile over the issue, settle and offline-verify paths.

    .venv/bin/python -m bench.run --profile [--licences N]   (N capped at 10,000)

Each phase is profiled on its own on a fresh embedded demo node; the top entries by
own time and by cumulative time are printed and written to
``bench/results/profile-<phase>.txt``. The TestClient runs the app in a worker
thread, so the issue phase profiles the issuing function (``licences.issue``, what
the endpoint calls) directly, and the HTTP overhead separately (request bodies
parsed and validated by FastAPI, responses serialised).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from pathlib import Path

from bench.common import CHUNK, DEPARTMENT, demo_node, licence_body

TOP = 25


def _report(name: str, prof: cProfile.Profile, wall: float, count: int, out: Path) -> None:
    buf = io.StringIO()
    buf.write(f"=== {name}: {count:,} items in {wall:.2f} s wall ({count / wall:,.0f}/s)\n")
    for order in ("tottime", "cumulative"):
        buf.write(f"--- top {TOP} by {order}\n")
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(order).print_stats(TOP)
    text = buf.getvalue()
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"profile-{name}.txt").write_text(text, encoding="utf-8")


def profile_all(count: int, out: Path) -> None:
    """Profile issuing ``count`` licences, anchoring them, and verifying their tokens."""
    from node.api.schemas import LicenceCreate
    from node.services import licences
    from node.services.keys import export
    from verifiers.snapshot import load_snapshot
    from verifiers.verify import verify_token

    with demo_node("embedded", batch_size=1024) as node:
        ctx = node.runtime.ctx
        # issue: the service function the batch endpoint calls, in this thread
        requests = [LicenceCreate.model_validate(licence_body(i)) for i in range(count)]
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        tokens: list[str] = []
        for k in range(0, count, CHUNK):
            tokens.extend(r.qr for r in licences.issue(ctx, DEPARTMENT, requests[k:k + CHUNK]))
        prof.disable()
        _report("issue-service", prof, time.perf_counter() - t0, count, out)

        # HTTP: the same through the endpoint, timed only (the app runs in another thread)
        t0 = time.perf_counter()
        node.issue(count, min(count, CHUNK))
        http_wall = time.perf_counter() - t0
        print(f"=== issue-http: {min(count, CHUNK):,} licences through POST /v1/licences/batch "
              f"in {http_wall:.2f} s ({min(count, CHUNK) / http_wall:,.0f}/s)\n")

        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        node.settle()
        prof.disable()
        _report("settle", prof, time.perf_counter() - t0, count + min(count, CHUNK), out)
        node.check_all_anchored(count + min(count, CHUNK))
        snapshot = export(node.runtime, DEPARTMENT)
        region = node.runtime.settings.verifier_region

    trust = load_snapshot(snapshot)
    now = int(time.time())
    sample = tokens[:3_000]
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for token in sample:
        verify_token(token, trust, now, region)
    prof.disable()
    _report("verify", prof, time.perf_counter() - t0, len(sample), out)
