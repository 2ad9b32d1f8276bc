"""Effective-dated fee and tax rule tables, loaded from data (``data/fee_rules.json``).

A *schedule* holds every national rate and fee and is in force from its
``effective_from`` day until the next schedule starts. A *city override* replaces
the local rates (deed tax for third and later homes and non-housing, the deemed
income-tax rate, the VAT surcharge rate) from its own effective day on, over
whichever national schedule is in force. Both are resolved by the *contract date*.

Everything is an integer in the units the ``FeeSchedule`` contract stores, so a
table loaded here publishes on chain unchanged (``dataclasses.astuple`` gives the
contract's struct): rates in parts per million, money in fen, areas in m² × 100,
days as unix day numbers (days since 1970-01-01), years as whole calendar years.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from functools import cache
from importlib import resources
from typing import Any

from ledger.domain.errors import InvalidFeeRules, NoFeeRuleInForce, UnknownCity

__all__ = [
    "EPOCH_ORDINAL",
    "MAX_FEN",
    "RATE_SCALE",
    "CityOverride",
    "CityRules",
    "FeeRules",
    "FeeSchedule",
    "PropertyType",
    "default_fee_rules",
    "load_fee_rules",
    "parse_fee_rules",
    "unix_day",
]

RATE_SCALE = 1_000_000  # rates are parts per million
MAX_FEN = 2**64 - 1  # the contract stores money as uint64 fen
MAX_CENTI_M2 = 2**32 - 1
MAX_YEARS = 255
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class PropertyType(IntEnum):
    """What is sold; the values are the contract's ``propertyType`` codes."""

    RESIDENTIAL = 0
    PARKING = 1
    NON_RESIDENTIAL = 2

    @property
    def label(self) -> str:
        """Return the name used in data files, the CLI and the HTTP API."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> PropertyType:
        """Return the type called ``label`` (``residential``, ``parking``, ``non_residential``)."""
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown property type {label!r}") from None


def unix_day(day: date) -> int:
    """Return ``day`` as a unix day number (days since 1970-01-01)."""
    return day.toordinal() - EPOCH_ORDINAL


def _iso(day: int) -> str:
    return date.fromordinal(day + EPOCH_ORDINAL).isoformat()


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Every national rate and fee in force from one day; field order is the contract's struct."""

    effective_from: int
    vat_rate: int
    vat_exempt_years: int
    surcharge_rate: int
    surcharge_levied_share: int
    deed_area_threshold: int
    deed_first_small: int
    deed_first_large: int
    deed_second_small: int
    deed_second_large: int
    deed_local: int
    income_exempt_years: int
    income_gain_rate: int
    income_deemed_rate: int
    fee_residential: int
    fee_parking: int
    fee_non_residential: int
    fee_extra_certificate: int
    housing_relief_types: int  # bit ``1 << PropertyType`` set: that type gets the housing reliefs


@dataclass(frozen=True, slots=True)
class CityOverride:
    """A city's local rates from one day on; ``None`` keeps the national rate."""

    effective_from: int
    deed_local: int | None = None
    income_deemed_rate: int | None = None
    surcharge_rate: int | None = None

    @property
    def mask(self) -> int:
        """Return the contract's bitmask of overridden fields (1 deed, 2 deemed income, 4 surcharge)."""
        return ((self.deed_local is not None) | (self.income_deemed_rate is not None) << 1
                | (self.surcharge_rate is not None) << 2)

    def apply(self, schedule: FeeSchedule) -> FeeSchedule:
        """Return ``schedule`` with this override's rates in place."""
        changes = {name: value for name in ("deed_local", "income_deemed_rate", "surcharge_rate")
                   if (value := getattr(self, name)) is not None}
        return replace(schedule, **changes)


@dataclass(frozen=True, slots=True)
class CityRules:
    """A city's name and its overrides, oldest first."""

    code: str
    name: str
    overrides: tuple[CityOverride, ...]


@dataclass(frozen=True)
class FeeRules:
    """The national schedules (oldest first) and the cities' overrides."""

    schedules: tuple[FeeSchedule, ...]
    cities: Mapping[str, CityRules]
    _starts: list[int] = field(init=False, repr=False, compare=False)
    _city_starts: dict[str, list[int]] = field(init=False, repr=False, compare=False)
    _resolved: dict[tuple[int, str | None, int], FeeSchedule] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", [s.effective_from for s in self.schedules])
        object.__setattr__(self, "_city_starts", {
            code: [o.effective_from for o in city.overrides] for code, city in self.cities.items()})
        object.__setattr__(self, "_resolved", {})

    def in_force(self, day: int, city: str | None = None) -> FeeSchedule:
        """Return the schedule in force on unix ``day`` with ``city``'s overrides applied.

        Raises :class:`UnknownCity` or :class:`NoFeeRuleInForce`.
        """
        i = bisect_right(self._starts, day) - 1
        if i < 0:
            raise NoFeeRuleInForce(_iso(day), _iso(self._starts[0]))
        j = -1
        if city is not None:
            starts = self._city_starts.get(city)
            if starts is None:
                raise UnknownCity(city)
            j = bisect_right(starts, day) - 1
        key = (i, city if j >= 0 else None, j)
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = self.schedules[i]
            if j >= 0:
                assert city is not None
                resolved = self.cities[city].overrides[j].apply(resolved)
            self._resolved[key] = resolved
        return resolved


# ------------------------------------------------------------------------------ loading

def _fail(where: str, reason: str) -> InvalidFeeRules:
    return InvalidFeeRules(where, reason)


def _obj(value: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object")
    unknown = {k for k in value if not k.startswith("_")} - keys
    missing = keys - set(value)
    if unknown or missing:
        raise _fail(where, f"unknown keys {sorted(unknown)}" if unknown else f"missing {sorted(missing)}")
    return value


def _decimal(value: Any, where: str) -> Decimal:
    if not isinstance(value, str):
        raise _fail(where, "must be a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _fail(where, f"{value!r} is not a decimal number") from None
    if not number.is_finite() or number < 0:
        raise _fail(where, f"{value!r} must be a finite number >= 0")
    return number


def _scaled(value: Any, where: str, scale: int, upper: int) -> int:
    number = _decimal(value, where) * scale
    if number != number.to_integral_value():
        raise _fail(where, f"{value!r} has more precision than 1/{scale}")
    if number > upper:
        raise _fail(where, f"{value!r} is too large")
    return int(number)


def _rate(value: Any, where: str) -> int:
    return _scaled(value, where, RATE_SCALE, RATE_SCALE)


def _years(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_YEARS:
        raise _fail(where, f"must be a whole number of years within 0..{MAX_YEARS}")
    return value


def _day(value: Any, where: str) -> int:
    try:
        day = unix_day(date.fromisoformat(value))
    except (TypeError, ValueError):
        raise _fail(where, f"{value!r} is not an ISO date") from None
    if not 0 <= day < 2**32:
        raise _fail(where, f"{value} is before 1970-01-01")
    return day


def _schedule(raw: Any, where: str) -> FeeSchedule:
    s = _obj(raw, where, {"effective_from", "vat", "vat_surcharges", "deed_tax", "income_tax",
                          "registration_fee", "housing_relief_types"})
    vat = _obj(s["vat"], f"{where}.vat", {"rate", "exempt_after_years"})
    sur = _obj(s["vat_surcharges"], f"{where}.vat_surcharges", {"rate", "levied_share"})
    deed = _obj(s["deed_tax"], f"{where}.deed_tax",
                {"area_threshold_m2", "first_home", "second_home", "local_rate"})
    bands = {"up_to_threshold", "above_threshold"}
    first = _obj(deed["first_home"], f"{where}.deed_tax.first_home", bands)
    second = _obj(deed["second_home"], f"{where}.deed_tax.second_home", bands)
    inc = _obj(s["income_tax"], f"{where}.income_tax", {"exempt_after_years", "gain_rate", "deemed_rate"})
    reg = _obj(s["registration_fee"], f"{where}.registration_fee",
               {"residential", "parking", "non_residential", "per_extra_certificate"})
    relief = s["housing_relief_types"]
    if not isinstance(relief, list) or not all(isinstance(t, str) for t in relief):
        raise _fail(f"{where}.housing_relief_types", "must be a list of property types")
    mask = 0
    for label in relief:
        try:
            mask |= 1 << PropertyType.from_label(label)
        except ValueError as exc:
            raise _fail(f"{where}.housing_relief_types", str(exc)) from None
    threshold = _scaled(deed["area_threshold_m2"], f"{where}.deed_tax.area_threshold_m2", 100, MAX_CENTI_M2)
    if threshold == 0:
        raise _fail(f"{where}.deed_tax.area_threshold_m2", "must be positive")

    def fen(key: str) -> int:
        return _scaled(reg[key], f"{where}.registration_fee.{key}", 100, MAX_FEN)

    return FeeSchedule(
        effective_from=_day(s["effective_from"], f"{where}.effective_from"),
        vat_rate=_rate(vat["rate"], f"{where}.vat.rate"),
        vat_exempt_years=_years(vat["exempt_after_years"], f"{where}.vat.exempt_after_years"),
        surcharge_rate=_rate(sur["rate"], f"{where}.vat_surcharges.rate"),
        surcharge_levied_share=_rate(sur["levied_share"], f"{where}.vat_surcharges.levied_share"),
        deed_area_threshold=threshold,
        deed_first_small=_rate(first["up_to_threshold"], f"{where}.deed_tax.first_home.up_to_threshold"),
        deed_first_large=_rate(first["above_threshold"], f"{where}.deed_tax.first_home.above_threshold"),
        deed_second_small=_rate(second["up_to_threshold"], f"{where}.deed_tax.second_home.up_to_threshold"),
        deed_second_large=_rate(second["above_threshold"], f"{where}.deed_tax.second_home.above_threshold"),
        deed_local=_rate(deed["local_rate"], f"{where}.deed_tax.local_rate"),
        income_exempt_years=_years(inc["exempt_after_years"], f"{where}.income_tax.exempt_after_years"),
        income_gain_rate=_rate(inc["gain_rate"], f"{where}.income_tax.gain_rate"),
        income_deemed_rate=_rate(inc["deemed_rate"], f"{where}.income_tax.deemed_rate"),
        fee_residential=fen("residential"),
        fee_parking=fen("parking"),
        fee_non_residential=fen("non_residential"),
        fee_extra_certificate=fen("per_extra_certificate"),
        housing_relief_types=mask,
    )


_OVERRIDE_FIELDS = {"deed_tax_local_rate": "deed_local", "income_tax_deemed_rate": "income_deemed_rate",
                    "vat_surcharge_rate": "surcharge_rate"}


def _override(raw: Any, where: str) -> CityOverride:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    unknown = {k for k in raw if not k.startswith("_")} - set(_OVERRIDE_FIELDS) - {"effective_from"}
    if unknown:
        raise _fail(where, f"unknown keys {sorted(unknown)}")
    rates = {attr: _rate(raw[key], f"{where}.{key}") for key, attr in _OVERRIDE_FIELDS.items() if key in raw}
    if not rates:
        raise _fail(where, f"overrides nothing (give one of {sorted(_OVERRIDE_FIELDS)})")
    if "effective_from" not in raw:
        raise _fail(where, "missing ['effective_from']")
    return CityOverride(effective_from=_day(raw["effective_from"], f"{where}.effective_from"), **rates)


def _increasing(days: list[int], where: str) -> None:
    for earlier, later in zip(days, days[1:], strict=False):
        if later <= earlier:
            raise _fail(where, f"effective dates must increase ({_iso(later)} follows {_iso(earlier)})")


def parse_fee_rules(data: Mapping[str, Any]) -> FeeRules:
    """Return the rule tables in ``data`` (the shape of ``data/fee_rules.json``).

    Raises :class:`InvalidFeeRules` naming the first offending entry.
    """
    top = _obj(dict(data), "rules", {"schedules", "cities"})
    raw_schedules = top["schedules"]
    if not isinstance(raw_schedules, list) or not raw_schedules:
        raise _fail("schedules", "must be a non-empty list")
    schedules = tuple(_schedule(s, f"schedules[{i}]") for i, s in enumerate(raw_schedules))
    _increasing([s.effective_from for s in schedules], "schedules")
    if not isinstance(top["cities"], dict):
        raise _fail("cities", "must be an object keyed by 6-digit city code")
    cities: dict[str, CityRules] = {}
    for code, raw_city in top["cities"].items():
        where = f"cities.{code}"
        if not (len(code) == 6 and code.isascii() and code.isdigit() and code != "000000"):
            raise _fail(where, "a city code has 6 digits and is not 000000")
        city = _obj(raw_city, where, {"name", "overrides"})
        raw_overrides = city["overrides"]
        if not isinstance(raw_overrides, list) or not raw_overrides:
            raise _fail(f"{where}.overrides", "must be a non-empty list")
        overrides = tuple(_override(o, f"{where}.overrides[{i}]") for i, o in enumerate(raw_overrides))
        _increasing([o.effective_from for o in overrides], f"{where}.overrides")
        cities[code] = CityRules(code=code, name=str(city["name"]), overrides=overrides)
    return FeeRules(schedules=schedules, cities=cities)


def load_fee_rules(text: str) -> FeeRules:
    """Return the rule tables in the JSON document ``text``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail("rules", f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise _fail("rules", "must be a JSON object")
    return parse_fee_rules(data)


@cache
def default_fee_rules() -> FeeRules:
    """Return the rule tables shipped in ``ledger/domain/data/fee_rules.json``."""
    return load_fee_rules(resources.files("ledger.domain.data").joinpath("fee_rules.json").read_text("utf-8"))
