"""Python fee quotes per second on one core.

A fixed pseudo-random set of distinct cases (every property type and city, contract
dates across both schedules, held from weeks to decades, cost proven or not) is
quoted round after round for about two seconds in one thread. Each quote builds
and validates the case facts from typed values (``FeeFacts``) and runs the engine,
which is what the HTTP endpoint does after parsing. The worked example of DOMAIN.md
must come out exact first. The meta also records the engine alone (facts built
beforehand) and the full edge path from text (``facts_from_inputs``).
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta
from typing import Any

FEE_CASES = 2_000
FEE_SECONDS = 2.0
_CITIES = (None, "110000", "310000", "440100", "440300")


def sample_cases(count: int) -> list[dict[str, Any]]:
    """Return ``count`` distinct, reproducible case facts as ``FeeFacts`` keyword arguments."""
    from ledger.domain.fee_rules import PropertyType

    rng = random.Random(20260101)
    cases = []
    for _ in range(count):
        contract = date(2024, 12, 1) + timedelta(days=rng.randrange(3 * 365))
        price = rng.randrange(50_000_000, 3_000_000_000)  # 0.5 to 30 million yuan, in fen
        cases.append({
            "price": price, "area": rng.randrange(3_000, 30_000),
            "acquired": contract - timedelta(days=rng.randrange(20 * 365)),
            "contract_date": contract, "buyer_homes": rng.choice((1, 1, 2, 3)),
            "seller_only_home": rng.random() < 0.5,
            "cost": rng.randrange(price // 3, price) if rng.random() < 0.3 else None,
            "property_type": rng.choice((PropertyType.RESIDENTIAL,) * 8 + tuple(PropertyType)),
            "certificates": rng.choice((1, 1, 1, 2)), "city": rng.choice(_CITIES),
        })
    return cases


def _rate(run: Any, per_round: int, seconds: float) -> tuple[float, int, float]:
    done, cpu0, t0 = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        run()
        done += per_round
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return done / wall, done, cpu


def fee_quotes_per_s(meta: dict[str, Any]) -> float:
    """Return fee quotes per second (facts validated + quoted) in one thread."""
    from ledger.domain.fee_rules import default_fee_rules
    from ledger.domain.fees import FeeFacts, facts_from_inputs, format_yuan, quote

    rules = default_fee_rules()
    example = quote(facts_from_inputs(price="5000000", area="89", acquired="2025-03-01",
                                      contract_date="2026-03-01", buyer_homes=1), rules)
    if example.as_yuan()["total"] != "251536.31":
        raise RuntimeError(f"the worked example is off: {example.as_yuan()}")
    cases = sample_cases(FEE_CASES)
    built = [FeeFacts(**c) for c in cases]
    texts = [{**c, "price": format_yuan(c["price"]), "area": format_yuan(c["area"]),
              "acquired": c["acquired"].isoformat(), "contract_date": c["contract_date"].isoformat(),
              "cost": None if c["cost"] is None else format_yuan(c["cost"]),
              "property_type": c["property_type"].label, "buyer_homes": c["buyer_homes"]} for c in cases]

    def facts_and_quote() -> None:
        for c in cases:
            quote(FeeFacts(**c), rules)

    def engine_only() -> None:
        for f in built:
            quote(f, rules)

    def from_text() -> None:
        for t in texts:
            quote(facts_from_inputs(**t), rules)

    rate, done, cpu = _rate(facts_and_quote, len(cases), FEE_SECONDS)
    engine_rate = _rate(engine_only, len(built), FEE_SECONDS / 2)[0]
    text_rate = _rate(from_text, len(texts), FEE_SECONDS / 2)[0]
    meta["fee_quotes"] = {"distinct_cases": len(cases), "quotes": done, "cpu_s": cpu,
                          "per_cpu_s": done / cpu if cpu else 0.0, "engine_only_per_s": engine_rate,
                          "from_text_per_s": text_rate, "worked_example": example.as_yuan()}
    return rate
