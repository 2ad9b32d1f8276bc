"""Tests for the 28-character property unit number."""

from __future__ import annotations

import pytest

from ledger.domain.errors import InvalidIdentifier, InvalidUnitNumber
from ledger.domain.identifiers import parse_unit_number, validate_unit_number
from ledger.domain.units import FIXTURE_KINDS, PARCEL_OWNERSHIP_KINDS, PARCEL_USE_KINDS

EXAMPLE = "320684413219GB00029F00010002"


def test_domain_example_parses_into_its_parts() -> None:
    unit = parse_unit_number(EXAMPLE)
    assert unit.county == "320684"
    assert unit.cadastral_district == "413"
    assert unit.cadastral_subdistrict == "219"
    assert unit.parcel_kind == "GB"
    assert unit.parcel_number == "00029"
    assert unit.fixture_kind == "F"
    assert unit.fixture_number == "00010002"
    assert unit.parcel == "320684413219GB00029"
    assert str(unit) == EXAMPLE
    assert validate_unit_number(EXAMPLE) == EXAMPLE


@pytest.mark.parametrize(
    "text",
    [
        "110105001002JC00101W00000000",
        "441900123456GS00001F00120304",
        "320684413219ZW00029L00000001",
    ],
)
def test_other_valid_numbers(text: str) -> None:
    assert str(parse_unit_number(text)) == text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (EXAMPLE[:-1], "27 characters"),
        (EXAMPLE + "0", "29 characters"),
        ("32068441321GGB00029F00010002", "letter in the cadastral part"),
        ("320684413219G100029F00010002", "digit in the parcel kind"),
        ("320684413219gb00029F00010002", "lower case"),
        ("320684413219QB00029F00010002", "unknown ownership letter"),
        ("320684413219GZ00029F00010002", "unknown use letter"),
        ("320684413219GB00029K00010002", "unknown fixture letter"),
        ("320684413219GB00000F00010002", "parcel number zero"),
        ("320000413219GB00029F00010002", "province code, not a county"),
        ("３20684413219GB00029F00010002", "full-width digit"),
    ],
)
def test_bad_numbers_fail(text: str, why: str) -> None:
    with pytest.raises(InvalidUnitNumber) as info:
        parse_unit_number(text)
    assert info.value.code == "invalid_unit_number", why
    assert isinstance(info.value, InvalidIdentifier)


def test_letter_tables_are_data() -> None:
    assert set(PARCEL_OWNERSHIP_KINDS) == {"G", "J", "Z"}
    assert {"A", "B", "S", "X", "C"} <= set(PARCEL_USE_KINDS)
    assert set(FIXTURE_KINDS) == {"F", "L", "Q", "W"}
