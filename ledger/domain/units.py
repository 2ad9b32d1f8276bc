"""The 28-character property unit number (不动产单元号) and its parts.

Layout: 6-digit county code, 3-digit cadastral district, 3-digit cadastral
sub-district, 2-letter parcel kind + 5-digit parcel number, 1 fixture letter +
8-digit fixture number, e.g. ``320684 413 219 GB 00029 F 00010002``. The letter
sets follow the national coding rules as commonly published *(check)*; they are
kept as data so a department can extend them without touching the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.domain.errors import InvalidUnitNumber

__all__ = [
    "FIXTURE_KINDS",
    "PARCEL_OWNERSHIP_KINDS",
    "PARCEL_USE_KINDS",
    "UnitNumber",
    "parse_unit_number",
    "validate_unit_number",
]

UNIT_NUMBER_LENGTH = 28

#: First letter of the parcel code: who owns the land.
PARCEL_OWNERSHIP_KINDS: dict[str, str] = {
    "G": "state-owned land or sea (国家)",
    "J": "collectively owned land (集体)",
    "Z": "ownership not determined or disputed (争议)",
}

#: Second letter of the parcel code: which right the parcel carries.
PARCEL_USE_KINDS: dict[str, str] = {
    "A": "collective land ownership parcel",
    "B": "construction land use right, surface",
    "S": "construction land use right, above ground",
    "X": "construction land use right, underground",
    "C": "homestead use right",
    "D": "contracted land use right, arable",
    "E": "contracted land use right, forest",
    "F": "contracted land use right, grassland",
    "G": "uninhabited island use right",
    "H": "sea area use right",
    "W": "use right undetermined or disputed",
    "Y": "other land use right",
}

#: Fixture letter: what stands on the parcel.
FIXTURE_KINDS: dict[str, str] = {
    "F": "building or structure (房屋)",
    "L": "forest or trees (林木)",
    "Q": "other fixture",
    "W": "no fixture",
}

_SHAPE = re.compile(r"(\d{6})(\d{3})(\d{3})([A-Z]{2})(\d{5})([A-Z])(\d{8})")


@dataclass(frozen=True, slots=True)
class UnitNumber:
    """A parsed property unit number."""

    county: str
    cadastral_district: str
    cadastral_subdistrict: str
    parcel_kind: str
    parcel_number: str
    fixture_kind: str
    fixture_number: str

    def __str__(self) -> str:
        return (
            f"{self.county}{self.cadastral_district}{self.cadastral_subdistrict}"
            f"{self.parcel_kind}{self.parcel_number}{self.fixture_kind}{self.fixture_number}"
        )

    @property
    def parcel(self) -> str:
        """Return the 19-character parcel code (宗地代码) without the fixture part."""
        return str(self)[:19]


def parse_unit_number(text: str) -> UnitNumber:
    """Parse and validate a 28-character unit number."""
    if not isinstance(text, str) or len(text) != UNIT_NUMBER_LENGTH:
        raise InvalidUnitNumber(str(text), f"a unit number has {UNIT_NUMBER_LENGTH} characters")
    match = _SHAPE.fullmatch(text) if text.isascii() else None
    if match is None:
        raise InvalidUnitNumber(text, "expected 12 digits, 2 letters, 5 digits, 1 letter, 8 digits")
    county, district, subdistrict, kind, parcel, fixture, fixture_number = match.groups()
    if county[2:] == "0000":
        raise InvalidUnitNumber(text, "the first 6 digits must be a county-level code")
    if kind[0] not in PARCEL_OWNERSHIP_KINDS:
        raise InvalidUnitNumber(text, f"unknown parcel ownership letter {kind[0]}")
    if kind[1] not in PARCEL_USE_KINDS:
        raise InvalidUnitNumber(text, f"unknown parcel use letter {kind[1]}")
    if parcel == "00000":
        raise InvalidUnitNumber(text, "parcel numbers start at 00001")
    if fixture not in FIXTURE_KINDS:
        raise InvalidUnitNumber(text, f"unknown fixture letter {fixture}")
    return UnitNumber(county, district, subdistrict, kind, parcel, fixture, fixture_number)


def validate_unit_number(text: str) -> str:
    """Return ``text`` when it is a valid unit number."""
    parse_unit_number(text)
    return text
