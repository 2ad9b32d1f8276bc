"""``make bench``: measure throughput, gas and sizes; print a table, write results/latest.json.

    .venv/bin/python -m bench.run [--licences N] [--only KEY,...] [--profile]

Every metric runs on a fresh demo node in a temp folder (see ``bench/common.py``).
``--profile`` instead runs cProfile over the issue, settle and verify paths and
prints where the time goes (``bench/profiling.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cases import CASES, IN_FLIGHT, ROUNDS
from bench.common import CHUNK, quiet
from bench.fees import FEE_CASES, FEE_SECONDS, fee_quotes_per_s
from bench.issuance import GAS_BATCHES, ONE_TX_SAMPLE, IssuanceBench
from bench.verification import VERIFY_PROCESSES, VERIFY_TOKENS, VerificationBench
from bench.verify_offline import SECONDS as VERIFY_SECONDS

RESULTS = Path(__file__).resolve().parent / "results"

# key → (label, unit, target as (comparison, bound) or None)
METRICS: dict[str, tuple[str, str, tuple[str, float] | None]] = {
    "licence_issue_anchor_per_s": ("issue + anchor, embedded chain", "licences/s", (">=", 10_000)),
    "licence_issue_anchor_per_s_anvil": ("issue + anchor, anvil", "licences/s", (">=", 10_000)),
    "gas_per_licence_b1": ("gas per licence, batch 1", "gas", None),
    "gas_per_licence_b64": ("gas per licence, batch 64", "gas", None),
    "gas_per_licence_b1024": ("gas per licence, batch 1024", "gas", ("<=", 50)),
    "one_tx_per_doc_per_s": ("one tx per licence (batch 1), embedded", "licences/s", None),
    "verify_offline_per_s_core": ("offline verifications, one core", "tokens/s", (">=", 12_000)),
    "qr_version_typical": ("QR version (EC Q), typical business licence", "version", ("<=", 18)),
    "qr_bytes_typical": ("QR token length, typical business licence", "characters", None),
    "fee_quotes_per_s": ("Python fee quotes, one core", "quotes/s", (">=", 20_000)),
    "transfer_case_s_anvil": ("full transfer case, anvil automine (median)", "s", ("<=", 2)),
    "transfer_case_s_embedded": ("full transfer case, embedded chain (median)", "s", None),
    "transfer_case_gas": ("gas of one whole case, consent + open → settle (median)", "gas", ("<=", 600_000)),
    "transfer_case_gas_first": ("gas of the first case on a fresh chain", "gas", None),
    "transfer_case_gas_with_mortgage": ("gas of a case, 2 co-owners, mortgage consented", "gas", None),
    "transfer_case_gas_with_release": ("gas of a case, 2 co-owners, mortgage released", "gas", None),
    "transfer_cases_per_min_anvil": (f"transfer cases per minute, anvil, {IN_FLIGHT} in flight",
                                     "cases/min", None),
}


def _runners(issuance: IssuanceBench, verification: VerificationBench,
             meta: dict[str, Any]) -> dict[str, Callable[[], float]]:
    return {
        "licence_issue_anchor_per_s": issuance.embedded,
        "licence_issue_anchor_per_s_anvil": issuance.anvil,
        "gas_per_licence_b1": lambda: issuance.gas(1),
        "gas_per_licence_b64": lambda: issuance.gas(64),
        "gas_per_licence_b1024": lambda: issuance.gas(1024),
        "one_tx_per_doc_per_s": issuance.one_tx_per_doc,
        "verify_offline_per_s_core": verification.verify_offline_per_s,
        "qr_version_typical": verification.qr_version,
        "qr_bytes_typical": verification.qr_bytes,
        "fee_quotes_per_s": lambda: fee_quotes_per_s(meta),
        "transfer_case_s_anvil": lambda: _case_figures(meta, "anvil")["median_s"],
        "transfer_case_s_embedded": lambda: _case_figures(meta, "embedded")["median_s"],
        "transfer_case_gas": lambda: _case_figures(meta, "anvil")["gas"],
        "transfer_case_gas_first": lambda: _case_figures(meta, "anvil")["gas_first"],
        "transfer_case_gas_with_mortgage": lambda: _case_figures(meta, "anvil")["gas_with_mortgage"],
        "transfer_case_gas_with_release": lambda: _case_figures(meta, "anvil")["gas_with_release"],
        "transfer_cases_per_min_anvil": lambda: _case_figures(meta, "anvil_in_flight")["per_min"],
    }


_CASE_FIGURES: dict[str, dict[str, Any]] = {}


def _case_figures(meta: dict[str, Any], run: str) -> dict[str, Any]:
    """Run one case bench (``anvil``, ``embedded``, ``anvil_in_flight``) once; share its figures."""
    if run not in _CASE_FIGURES:
        from bench import cases

        _CASE_FIGURES[run] = getattr(cases, run)(meta)
    return _CASE_FIGURES[run]


def _meets(value: float, target: tuple[str, float] | None) -> bool | None:
    if target is None:
        return None
    op, bound = target
    return value >= bound if op == ">=" else value <= bound


def _machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "cpu": cpu}


def _fmt(value: float) -> str:
    if value != value:  # NaN: the metric failed
        return "failed"
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}"


def print_table(results: dict[str, float], meta: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"regnode bench — {meta['parameters']['licences']:,} licences, "
                        f"{meta['machine']['nproc']} CPU, Python {meta['machine']['python']}")
    table.add_column("metric")
    table.add_column("key", style="dim")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("target", justify="right")
    table.add_column("", justify="center")
    for key, value in results.items():
        label, unit, target = METRICS[key]
        ok = _meets(value, target) if value == value else False
        mark = "" if ok is None else ("[green]met[/]" if ok else "[red]MISSED[/]")
        table.add_row(label, key, _fmt(value), unit,
                      f"{target[0]} {_fmt(target[1])}" if target else "", mark)
    Console(width=130).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--licences", type=int, default=100_000,
                        help="licences in the issue + anchor runs (default 100000)")
    parser.add_argument("--only", default="", help="comma-separated metric keys to run")
    parser.add_argument("--profile", action="store_true",
                        help="profile issue, settle and verify with cProfile instead")
    args = parser.parse_args(argv)
    quiet()
    if args.profile:
        from bench.profiling import profile_all

        profile_all(min(args.licences, 10_000), RESULTS)
        return 0
    keys = [k.strip() for k in args.only.split(",") if k.strip()] or list(METRICS)
    unknown = [k for k in keys if k not in METRICS]
    if unknown:
        parser.error(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
    if args.licences < 1:
        parser.error("--licences must be positive")

    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "parameters": {"licences": args.licences, "only": keys, "http_chunk": CHUNK,
                       "batch_size": 1024, "one_tx_sample": min(ONE_TX_SAMPLE, args.licences),
                       "gas_batches_per_size": GAS_BATCHES,
                       "verify_tokens": min(VERIFY_TOKENS, args.licences),
                       "verify_seconds": VERIFY_SECONDS, "verify_processes": VERIFY_PROCESSES,
                       "fee_cases": FEE_CASES, "fee_seconds": FEE_SECONDS,
                       "transfer_cases": CASES, "transfer_cases_in_flight": IN_FLIGHT,
                       "transfer_case_rounds_in_flight": ROUNDS,
                       "http": "fastapi TestClient, in process", "db": "SQLite in the data folder"},
    }
    issuance = IssuanceBench(args.licences, meta)
    verification = VerificationBench(args.licences, meta)
    runners = _runners(issuance, verification, meta)
    results: dict[str, float] = {}
    errors: dict[str, str] = {}
    started = time.perf_counter()
    for key in keys:
        print(f"… {key}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            results[key] = float(runners[key]())
        except Exception as exc:  # report the failure and carry on with the others
            traceback.print_exc()
            errors[key] = f"{type(exc).__name__}: {exc}"
            results[key] = float("nan")
        print(f"  {key} = {_fmt(results[key])}  ({time.perf_counter() - t0:.1f} s)",
              file=sys.stderr, flush=True)
    meta["bench_wall_s"] = time.perf_counter() - started
    if errors:
        meta["errors"] = errors
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {k: (None if v != v else v) for k, v in results.items()}
    out["_meta"] = meta  # type: ignore[assignment]
    (RESULTS / "latest.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    print_table(results, meta)
    print(f"wrote {RESULTS / 'latest.json'}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
