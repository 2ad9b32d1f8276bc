"""The fee engine: taxes and fees of an individual's resale of a property, line by line, in fen.

The rules are DOMAIN.md's "Fees and taxes" table; the rates come from the
effective-dated tables of :mod:`ledger.domain.fee_rules`, chosen by the contract
date and the city. Each line is rounded half-up to the fen on its own, and later
lines build on the rounded earlier ones (surcharges on the rounded VAT, the deed
and income tax bases are the price less the rounded VAT):

- VAT (seller): exempt when the property is housing held ≥ ``vat_exempt_years``;
  otherwise ``P × r ÷ (1 + r)``, which is DOMAIN.md's ``P ÷ (1 + r) × r``.
- VAT surcharges (seller): ``VAT × surcharge rate × levied share`` (12 % × 50 %).
- Deed tax (buyer): ``(P − VAT) ×`` the first-home or second-home rate for housing
  (the lower band up to and including the area threshold), else the local rate
  (third and later homes, parking, non-residential).
- Income tax (seller): exempt when housing is the seller's only home and held ≥
  ``income_exempt_years`` (满五唯一); else the gain rate × (P − VAT − cost − VAT
  surcharges), never below 0, when the cost is proven; else the deemed rate × (P − VAT).
- Registration fee (buyer): by property type, plus a fee per certificate beyond the first.
- Stamp duty and land appreciation tax: exempt for individuals selling housing
  (DOMAIN.md *(check)*); the engine does not compute them for any property type.

*Held* is measured in calendar years from the acquisition date to the contract
date: the property is held ``n`` years on the ``n``-th anniversary of its
acquisition and after it (both limits are inclusive). An acquisition on 29
February has its anniversary on 28 February in common years, the last day of the
month as Civil Code §201 counts periods. Dates are calendar dates with no time
zone; the contract receives them as unix day numbers.

Money is integer fen throughout: rates are parts per million, so every line is
one exact integer product divided with explicit half-up rounding, which is what a
Decimal computation quantized ``ROUND_HALF_UP`` to 0.01 yields
(``tests/domain/test_fees.py`` proves it against a plain Decimal reference), and
what the ``FeeSchedule`` contract computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from ledger.domain.errors import ContractBeforeAcquisition, InvalidFeeFacts
from ledger.domain.fee_rules import (
    EPOCH_ORDINAL,
    RATE_SCALE,
    FeeRules,
    FeeSchedule,
    PropertyType,
    default_fee_rules,
)

__all__ = [
    "LINES",
    "MAX_AMOUNT_FEN",
    "FeeFacts",
    "FeeQuote",
    "anniversary",
    "facts_from_inputs",
    "format_yuan",
    "held_at_least",
    "held_years",
    "parse_area",
    "parse_date",
    "parse_yuan",
    "quote",
]

MAX_AMOUNT_FEN = 10**14  # one trillion yuan: far above any property, far below the contract's uint64
MAX_AREA = 10**9  # m² × 100
MAX_COUNT = 999  # homes of a family, certificates of a case
_RATE2 = 2 * RATE_SCALE
_SHARE2 = 2 * RATE_SCALE * RATE_SCALE

#: The quote's lines in order, with who pays them.
LINES: tuple[tuple[str, str], ...] = (
    ("vat", "seller"),
    ("vat_surcharges", "seller"),
    ("deed_tax", "buyer"),
    ("income_tax", "seller"),
    ("registration_fee", "buyer"),
)


def _is_int(value: object) -> bool:
    return type(value) is int


@dataclass(frozen=True, slots=True)
class FeeFacts:
    """The facts of one resale case that the taxes and fees depend on.

    ``price`` and ``cost`` are fen, ``area`` is m² × 100, ``buyer_homes`` says
    which home of the buyer's family this will be (1 = the first), ``cost`` is the
    seller's proven original cost or ``None``, ``city`` a 6-digit city code or ``None``
    for the national rates.
    """

    price: int
    area: int
    acquired: date
    contract_date: date
    buyer_homes: int
    seller_only_home: bool = False
    cost: int | None = None
    property_type: PropertyType = PropertyType.RESIDENTIAL
    certificates: int = 1
    city: str | None = None

    def __post_init__(self) -> None:
        if not _is_int(self.price) or not 0 < self.price <= MAX_AMOUNT_FEN:
            raise InvalidFeeFacts("price", f"must be more than 0 and at most {format_yuan(MAX_AMOUNT_FEN)} yuan")
        if not _is_int(self.area) or not 0 < self.area <= MAX_AREA:
            raise InvalidFeeFacts("area", "must be more than 0 and at most 10,000,000 m²")
        if self.cost is not None and (not _is_int(self.cost) or not 0 <= self.cost <= MAX_AMOUNT_FEN):
            raise InvalidFeeFacts("cost", f"must be within 0..{format_yuan(MAX_AMOUNT_FEN)} yuan")
        if not _is_int(self.buyer_homes) or not 1 <= self.buyer_homes <= MAX_COUNT:
            raise InvalidFeeFacts("buyer_homes", f"must be within 1..{MAX_COUNT} (1 = the family's first home)")
        if not _is_int(self.certificates) or not 1 <= self.certificates <= MAX_COUNT:
            raise InvalidFeeFacts("certificates", f"must be within 1..{MAX_COUNT}")
        if type(self.property_type) is not PropertyType:
            raise InvalidFeeFacts("property_type", "must be residential, parking or non_residential")
        if type(self.seller_only_home) is not bool:
            raise InvalidFeeFacts("seller_only_home", "must be true or false")
        if not isinstance(self.acquired, date) or not isinstance(self.contract_date, date):
            raise InvalidFeeFacts("acquired" if not isinstance(self.acquired, date) else "contract_date",
                                  "must be a date")
        if self.acquired.toordinal() < EPOCH_ORDINAL:
            raise InvalidFeeFacts("acquired", "dates before 1970-01-01 are not supported")
        if self.contract_date < self.acquired:
            raise ContractBeforeAcquisition(self.acquired.isoformat(), self.contract_date.isoformat())
        city = self.city
        if city is not None and not (type(city) is str and len(city) == 6 and city.isascii() and city.isdigit()
                                     and city != "000000"):
            raise InvalidFeeFacts("city", f"{city!r} is not a 6-digit city code")

    @property
    def contract_day(self) -> int:
        """Return the contract date as a unix day number."""
        return self.contract_date.toordinal() - EPOCH_ORDINAL

    @property
    def acquired_day(self) -> int:
        """Return the acquisition date as a unix day number."""
        return self.acquired.toordinal() - EPOCH_ORDINAL


@dataclass(frozen=True, slots=True)
class FeeQuote:
    """Each line of a quote in fen, and the (city-resolved) schedule it came from."""

    vat: int
    vat_surcharges: int
    deed_tax: int
    income_tax: int
    registration_fee: int
    schedule: FeeSchedule

    @property
    def total(self) -> int:
        """Return the sum of the lines in fen."""
        return self.vat + self.vat_surcharges + self.deed_tax + self.income_tax + self.registration_fee

    def lines(self) -> dict[str, int]:
        """Return ``{line: fen}`` for every line and ``total``."""
        return {"vat": self.vat, "vat_surcharges": self.vat_surcharges, "deed_tax": self.deed_tax,
                "income_tax": self.income_tax, "registration_fee": self.registration_fee,
                "total": self.total}

    def as_yuan(self) -> dict[str, str]:
        """Return ``{line: "yuan.fen"}`` for every line and ``total``: the CLI's and API's shape."""
        return {k: format_yuan(v) for k, v in self.lines().items()}


def anniversary(start: date, years: int) -> tuple[int, int, int]:
    """Return ``(year, month, day)`` of the ``years``-th anniversary of ``start`` (29 Feb → 28 Feb)."""
    year, month, day = start.year + years, start.month, start.day
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        day = 28
    return year, month, day


def held_at_least(acquired: date, on: date, years: int) -> bool:
    """Return True when a property acquired on ``acquired`` is held ``years`` or more on ``on``."""
    return (on.year, on.month, on.day) >= anniversary(acquired, years)


def held_years(acquired: date, on: date) -> int:
    """Return the whole calendar years a property acquired on ``acquired`` is held on ``on``."""
    years = max(on.year - acquired.year, 0)
    while years > 0 and not held_at_least(acquired, on, years):
        years -= 1
    return years


def quote(facts: FeeFacts, rules: FeeRules | None = None) -> FeeQuote:
    """Return the taxes and fees of ``facts`` under the rules in force on its contract date.

    Raises :class:`~ledger.domain.errors.UnknownCity` or
    :class:`~ledger.domain.errors.NoFeeRuleInForce`.
    """
    s = (rules or default_fee_rules()).in_force(facts.contract_date.toordinal() - EPOCH_ORDINAL, facts.city)
    price = facts.price
    housing = s.housing_relief_types >> facts.property_type & 1
    if housing and held_at_least(facts.acquired, facts.contract_date, s.vat_exempt_years):
        vat = 0
    else:
        # P × r ÷ (1 + r) with r = vat_rate / 10⁶, rounded half up: ⌊(2n + d) / 2d⌋.
        d = RATE_SCALE + s.vat_rate
        vat = (2 * price * s.vat_rate + d) // (2 * d)
    surcharges = (2 * vat * s.surcharge_rate * s.surcharge_levied_share + RATE_SCALE * RATE_SCALE) // _SHARE2
    base = price - vat
    homes = facts.buyer_homes
    if housing and homes <= 2:
        small = facts.area <= s.deed_area_threshold
        if homes == 1:
            rate = s.deed_first_small if small else s.deed_first_large
        else:
            rate = s.deed_second_small if small else s.deed_second_large
    else:
        rate = s.deed_local
    deed = (2 * base * rate + RATE_SCALE) // _RATE2
    if housing and facts.seller_only_home and held_at_least(facts.acquired, facts.contract_date,
                                                            s.income_exempt_years):
        income = 0
    elif facts.cost is not None:
        gain = base - facts.cost - surcharges
        income = (2 * gain * s.income_gain_rate + RATE_SCALE) // _RATE2 if gain > 0 else 0
    else:
        income = (2 * base * s.income_deemed_rate + RATE_SCALE) // _RATE2
    pt = facts.property_type
    fee = (s.fee_residential if pt == PropertyType.RESIDENTIAL
           else s.fee_parking if pt == PropertyType.PARKING else s.fee_non_residential)
    fee += s.fee_extra_certificate * (facts.certificates - 1)
    return FeeQuote(vat, surcharges, deed, income, fee, s)


# --------------------------------------------------------------------------- edges

def format_yuan(fen: int) -> str:
    """Return ``fen`` as a yuan decimal string with two places (``14563107`` → ``"145631.07"``)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _hundredths(value: str | int | Decimal, field: str, unit: str, limit: int) -> int:
    """Return ``value`` × 100 as an exact integer; refuse more than two decimal places or ``|v × 100| > limit``."""
    if isinstance(value, bool):
        raise InvalidFeeFacts(field, f"must be a number of {unit}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidFeeFacts(field, f"{value!r} is not a number of {unit}") from None
    if not number.is_finite():
        raise InvalidFeeFacts(field, f"{value!r} is not a number of {unit}")
    # Integer arithmetic on the digits: Decimal arithmetic would round, overflow or underflow
    # at extreme exponents (1e-9999999 must not become 0).
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)) or "0")
    if mantissa and exponent < -2:
        scale = 10 ** (-2 - exponent) if -2 - exponent <= 40 else 0
        if not scale or mantissa % scale:
            raise InvalidFeeFacts(field, f"{value} has more than two decimal places")
        hundredths = mantissa // scale
    elif mantissa and exponent + 2 > 40:
        raise InvalidFeeFacts(field, f"{value} is too large")
    else:
        hundredths = mantissa * 10 ** max(exponent + 2, 0) if mantissa else 0
    if hundredths > limit:
        raise InvalidFeeFacts(field, f"{value} is too large (at most {format_yuan(limit)} {unit})")
    return -hundredths if sign else hundredths


def parse_yuan(value: str | int | Decimal, field: str = "price") -> int:
    """Return the yuan amount ``value`` (at most two decimal places) in fen."""
    return _hundredths(value, field, "yuan", MAX_AMOUNT_FEN)


def parse_area(value: str | int | Decimal, field: str = "area") -> int:
    """Return the area ``value`` in m² (at most two decimal places) in m² × 100."""
    return _hundredths(value, field, "m²", MAX_AREA)


def parse_date(value: str | date, field: str) -> date:
    """Return the ISO date ``value`` (``YYYY-MM-DD``)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise InvalidFeeFacts(field, f"{value!r} is not a date (YYYY-MM-DD)") from None


def facts_from_inputs(*, price: str | int | Decimal, area: str | int | Decimal, acquired: str | date,
                      contract_date: str | date, buyer_homes: int, seller_only_home: bool = False,
                      cost: str | int | Decimal | None = None, property_type: str = "residential",
                      certificates: int = 1, city: str | None = None) -> FeeFacts:
    """Return the facts given as the CLI and the HTTP API take them: yuan, m², ISO dates, labels.

    Raises :class:`InvalidFeeFacts` naming the offending input.
    """
    try:
        kind = PropertyType.from_label(property_type)
    except (ValueError, AttributeError):
        raise InvalidFeeFacts("property_type", f"{property_type!r} is not residential, parking or "
                                               "non_residential") from None
    return FeeFacts(
        price=parse_yuan(price, "price"),
        area=parse_area(area, "area"),
        acquired=parse_date(acquired, "acquired"),
        contract_date=parse_date(contract_date, "contract_date"),
        buyer_homes=buyer_homes,
        seller_only_home=seller_only_home,
        cost=None if cost is None else parse_yuan(cost, "cost"),
        property_type=kind,
        certificates=certificates,
        city=city.strip() if city else None,
    )
