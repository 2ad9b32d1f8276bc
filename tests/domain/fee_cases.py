"""Fee cases shared by the engine, CLI, HTTP and contract suites: the worked example, the
boundaries with their expected lines worked out by hand, and a Hypothesis strategy of case facts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from ledger.domain.fee_rules import PropertyType
from ledger.domain.fees import MAX_AMOUNT_FEN, MAX_COUNT, FeeFacts

LINE_KEYS = ("vat", "vat_surcharges", "deed_tax", "income_tax", "registration_fee", "total")

# DOMAIN.md: 2026, 89 m², P = 5,000,000, buyer's first home, seller held it 1 year, cost unknown.
WORKED_EXAMPLE: dict[str, Any] = {
    "price": "5000000", "area": "89", "acquired": "2025-03-01", "contract_date": "2026-03-01",
    "buyer_homes": 1,
}
WORKED_EXAMPLE_YUAN = {"vat": "145631.07", "vat_surcharges": "8737.86", "deed_tax": "48543.69",
                       "income_tax": "48543.69", "registration_fee": "80.00", "total": "251536.31"}


def _lines(vat: str, sur: str, deed: str, income: str, fee: str = "80.00") -> dict[str, str]:
    total = sum(int(v.replace(".", "")) for v in (vat, sur, deed, income, fee))
    return dict(zip(LINE_KEYS, (vat, sur, deed, income, fee, f"{total // 100}.{total % 100:02d}"), strict=True))


# P = 3,000,000 yuan. At 3 %: VAT 3,000,000 × 0.03 / 1.03 = 87,378.640 → 87,378.64, surcharges
# × 6 % = 5,242.718 → 5,242.72, base 2,912,621.36; at 5 %: VAT 142,857.142 → 142,857.14,
# surcharges 8,571.428 → 8,571.43, base 2,857,142.86. Exempt from VAT: base 3,000,000.
_BASE = {"price": "3000000", "area": "89", "buyer_homes": 1}
_AT3 = ("87378.64", "5242.72")
_AT5 = ("142857.14", "8571.43")
_NO_VAT = ("0.00", "0.00")

#: name → (inputs as the CLI and HTTP take them, expected lines in yuan)
BOUNDARIES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "area 140.00 m² is the lower band": (
        {**_BASE, "area": "140.00", "acquired": "2025-03-01", "contract_date": "2026-03-01"},
        _lines(*_AT3, "29126.21", "29126.21")),
    "area 140.01 m² is the upper band": (
        {**_BASE, "area": "140.01", "acquired": "2025-03-01", "contract_date": "2026-03-01"},
        _lines(*_AT3, "43689.32", "29126.21")),
    "second home above 140 m²": (
        {**_BASE, "area": "140.01", "buyer_homes": 2, "acquired": "2025-03-01", "contract_date": "2026-03-01"},
        _lines(*_AT3, "58252.43", "29126.21")),
    "third home at the local rate": (
        {**_BASE, "buyer_homes": 3, "acquired": "2025-03-01", "contract_date": "2026-03-01", "city": "110000"},
        _lines(*_AT3, "87378.64", "29126.21")),
    "held one day short of 2 years pays VAT": (
        {**_BASE, "acquired": "2024-03-01", "contract_date": "2026-02-28"},
        _lines(*_AT3, "29126.21", "29126.21")),
    "held exactly 2 years is VAT exempt": (
        {**_BASE, "acquired": "2024-03-01", "contract_date": "2026-03-01"},
        _lines(*_NO_VAT, "30000.00", "30000.00")),
    "only home held one day short of 5 years pays income tax": (
        {**_BASE, "acquired": "2021-03-01", "contract_date": "2026-02-28", "seller_only_home": True},
        _lines(*_NO_VAT, "30000.00", "30000.00")),
    "only home held exactly 5 years is income tax exempt": (
        {**_BASE, "acquired": "2021-03-01", "contract_date": "2026-03-01", "seller_only_home": True},
        _lines(*_NO_VAT, "30000.00", "0.00")),
    "acquired 29 Feb: the 2nd anniversary is 28 Feb": (
        {**_BASE, "acquired": "2024-02-29", "contract_date": "2026-02-28"},
        _lines(*_NO_VAT, "30000.00", "30000.00")),
    "acquired 29 Feb: 27 Feb is short of 2 years": (
        {**_BASE, "acquired": "2024-02-29", "contract_date": "2026-02-27"},
        _lines(*_AT3, "29126.21", "29126.21")),
    "contract dated 2025-12-31 uses 5 % VAT": (
        {**_BASE, "acquired": "2025-06-01", "contract_date": "2025-12-31"},
        _lines(*_AT5, "28571.43", "28571.43")),
    "contract dated 2026-01-01 uses 3 % VAT": (
        {**_BASE, "acquired": "2025-06-01", "contract_date": "2026-01-01"},
        _lines(*_AT3, "29126.21", "29126.21")),
    "proven cost: 20 % of the gain less surcharges": (
        {**_BASE, "acquired": "2025-03-01", "contract_date": "2026-03-01", "cost": "2000000"},
        # (2,912,621.36 − 2,000,000 − 5,242.72) × 20 % = 181,475.728 → 181,475.73
        _lines(*_AT3, "29126.21", "181475.73")),
    "non-residential: no housing relief, 550 + 2 × 10 registration": (
        {**_BASE, "acquired": "2020-03-01", "contract_date": "2026-03-01", "seller_only_home": True,
         "property_type": "non_residential", "certificates": 3},
        _lines(*_AT3, "87378.64", "29126.21", "570.00")),
}

CITIES = (None, "110000", "310000", "440100", "440300")
FIRST_DAY = date(2024, 12, 1)  # the earliest schedule in ledger/domain/data/fee_rules.json
EDGE_DAYS = (date(2024, 12, 1), date(2025, 12, 31), date(2026, 1, 1), date(2028, 2, 29), date(2027, 2, 28))


def _back(day: date, years: int) -> date:
    """Return the day whose ``years``-th anniversary is ``day`` (29 Feb when ``day`` is 28 Feb after a leap)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # day is 29 Feb, the year before is common
        return day.replace(year=day.year - years, day=28)


@st.composite
def fee_facts(draw: st.DrawFn, first_day: date = FIRST_DAY, cities: tuple[str | None, ...] = CITIES) -> FeeFacts:
    """Draw valid case facts dated from ``first_day``, crowding the boundaries of the rules."""
    contract = draw(st.one_of(st.sampled_from([d for d in EDGE_DAYS if d >= first_day]),
                              st.dates(first_day, date(2029, 12, 31))))
    how = draw(st.sampled_from(["anniversary", "anniversary", "leap", "any"]))
    if how == "anniversary":
        anniversary = _back(contract, draw(st.sampled_from([1, 2, 2, 5, 5, 10])))
        acquired = anniversary + timedelta(days=draw(st.sampled_from([-1, 0, 0, 1])))
    elif how == "leap":
        acquired = draw(st.sampled_from([date(2016, 2, 29), date(2020, 2, 29), date(2024, 2, 29)]))
    else:
        acquired = draw(st.dates(date(1970, 1, 1), contract))
    acquired = min(acquired, contract)
    price = draw(st.one_of(st.integers(1, 10**6), st.integers(10**7, 10**10), st.integers(1, MAX_AMOUNT_FEN)))
    area = draw(st.one_of(st.integers(13_990, 14_010), st.integers(1, 10**6), st.integers(1, 10**9)))
    cost = draw(st.one_of(st.none(), st.integers(0, min(2 * price, MAX_AMOUNT_FEN))))
    return FeeFacts(
        price=price,
        area=area,
        acquired=acquired,
        contract_date=contract,
        buyer_homes=draw(st.one_of(st.integers(1, 4), st.integers(1, MAX_COUNT))),
        seller_only_home=draw(st.booleans()),
        cost=cost,
        property_type=draw(st.sampled_from(list(PropertyType))),
        certificates=draw(st.one_of(st.just(1), st.integers(1, MAX_COUNT))),
        city=draw(st.sampled_from(cities)),
    )
