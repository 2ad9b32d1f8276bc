"""Tests for GB/T 36904 identifiers, USCC check characters and bytes32 codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import DomainError, InvalidCode, InvalidIdentifier, InvalidUSCC
from ledger.domain.identifiers import (
    LICENCE_OID_ROOT,
    LicenceIdentifier,
    from_bytes32,
    is_valid_uscc,
    make_serial,
    mod37_36_check,
    serial_identifiers,
    to_bytes32,
    uscc_check_char,
    validate_uscc,
)

EXAMPLE = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Real, published codes (companies and government bodies) that carry a correct check character.
REAL_USCCS = [
    "11430000006122244L",
    "11100000000013338W",
    "91350100M000100Y43",
    "914403001922038216",
    "9144030071526726XG",
    "91330100716105852F",
    "911000001000013428",
    "91350200776049653A",
    "91440101MA5CJQ4N59",
    "9135021359498494XQ",
    "91110000802100433B",
]


def reference_mod37_36(data: str) -> str:
    """Textbook ISO/IEC 7064 hybrid MOD 37,36, written independently of the module."""
    modulus = 36
    product = modulus
    for ch in data:
        total = (product + ALNUM.index(ch)) % modulus
        if total == 0:
            total = modulus
        product = (total * 2) % (modulus + 1)
    return ALNUM[(modulus + 1 - product) % modulus]


def test_domain_example_validates() -> None:
    identifier = LicenceIdentifier.parse(EXAMPLE)
    assert identifier.type_code == "11100000000013338W011"
    assert identifier.issuer_uscc == "11430000006122244L"
    assert identifier.serial == "20230000403"
    assert identifier.version == 1
    assert identifier.check == "U"
    assert str(identifier) == EXAMPLE


def test_check_covers_type_issuer_serial_version_without_dots() -> None:
    assert mod37_36_check("11100000000013338W01111430000006122244L20230000403001") == "U"


def test_iso_7064_published_vector() -> None:
    # ISO/IEC 7064 MOD 37,36 example: A12425GABC1234002 -> M.
    assert mod37_36_check("A12425GABC1234002") == "M"


def test_building_computes_the_check_character() -> None:
    identifier = LicenceIdentifier("11100000000013338W011", "11430000006122244L", "20230000403", 1)
    assert identifier.text == EXAMPLE
    assert identifier == LicenceIdentifier.parse(EXAMPLE)


@pytest.mark.parametrize("position", range(len(LICENCE_OID_ROOT) + 1, len(EXAMPLE)))
def test_any_single_character_change_fails(position: int) -> None:
    original = EXAMPLE[position]
    if original == ".":
        return
    alphabet = "0123456789" if EXAMPLE[position - 4 : position + 4].count(".") == 2 else ALNUM
    for replacement in alphabet:
        if replacement == original:
            continue
        tampered = EXAMPLE[:position] + replacement + EXAMPLE[position + 1 :]
        with pytest.raises(InvalidIdentifier):
            LicenceIdentifier.parse(tampered)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1.2.156.3005.3.11100000000013338W011.11430000006122244L.20230000403.001.U",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.01.U",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.0001.U",
        "1.2.156.3005.2.11100000000013338w011.11430000006122244L.20230000403.001.U",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.u",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.UU",
        "1.2.156.3005.2..11430000006122244L.20230000403.001.U",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023 0000403.001.U",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.00١.U",
        "1.2.156.3005.2." + "A" * 33 + ".11430000006122244L.20230000403.001.U",
    ],
)
def test_malformed_identifiers_are_refused(text: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        LicenceIdentifier.parse(text)
    assert info.value.code in {"invalid_identifier", "invalid_uscc"}
    assert info.value.value == text
    assert info.value.reason


def test_identifier_with_bad_issuer_is_refused_as_uscc_error() -> None:
    with pytest.raises(InvalidUSCC):
        LicenceIdentifier("111", "11430000006122244M", "1", 1)


def test_version_must_be_an_int_within_three_digits() -> None:
    with pytest.raises(InvalidIdentifier):
        LicenceIdentifier("111", "11430000006122244L", "1", 1000)
    with pytest.raises(InvalidIdentifier):
        LicenceIdentifier("111", "11430000006122244L", "1", True)


def test_non_string_parts_are_refused() -> None:
    for args in ((["111"], "11430000006122244L", "1"), ("111", None, "1"), ("111", "11430000006122244L", 7)):
        with pytest.raises(InvalidIdentifier):
            LicenceIdentifier(*args)


def test_next_version_changes_version_and_check() -> None:
    nxt = LicenceIdentifier.parse(EXAMPLE).next_version()
    assert nxt.version == 2
    assert str(nxt).split(".")[-2] == "002"
    assert LicenceIdentifier.parse(str(nxt)) == nxt


codes = st.text(alphabet=ALNUM, min_size=1, max_size=32)


@given(codes, st.sampled_from(REAL_USCCS), codes, st.integers(0, 999))
def test_identifier_round_trip_and_check_matches_reference(
    type_code: str, issuer: str, serial: str, version: int
) -> None:
    identifier = LicenceIdentifier(type_code, issuer, serial, version)
    assert identifier.check == reference_mod37_36(type_code + issuer + serial + f"{version:03d}")
    assert LicenceIdentifier.parse(str(identifier)) == identifier


@given(st.text(alphabet=ALNUM, min_size=1, max_size=60))
def test_mod37_36_matches_reference(data: str) -> None:
    assert mod37_36_check(data) == reference_mod37_36(data)


def test_mod37_36_refuses_other_characters() -> None:
    with pytest.raises(InvalidIdentifier):
        mod37_36_check("abc")
    with pytest.raises(InvalidIdentifier):
        mod37_36_check("")


@pytest.mark.parametrize("code", REAL_USCCS)
def test_real_usccs_validate(code: str) -> None:
    assert validate_uscc(code) == code
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("11430000006122244M", "wrong check"),
        ("91350203M0001QAY9B", "wrong check (a published mistyped code)"),
        ("1143000000612224L", "17 characters"),
        ("11430000006122244LL", "19 characters"),
        ("114300000061222I4L", "I is not in the alphabet"),
        ("11A30000006122244L", "region must be digits"),
        ("11430000006122244l", "lower case"),
    ],
)
def test_bad_usccs_fail(code: str, why: str) -> None:
    assert not is_valid_uscc(code), why
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(code)
    assert info.value.code == "invalid_uscc"


@pytest.mark.parametrize("code", REAL_USCCS)
def test_uscc_single_substitution_detected(code: str) -> None:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for position in range(18):
        for replacement in alphabet:
            if replacement != code[position]:
                assert not is_valid_uscc(code[:position] + replacement + code[position + 1 :])


def test_make_serial_has_the_example_shape() -> None:
    assert make_serial(2023, 403) == "20230000403"
    assert len(make_serial(2026, 9_999_999)) == 11
    for year, counter in [(2023, -1), (2023, 10_000_000), (99, 1), (10_000, 1)]:
        with pytest.raises(InvalidIdentifier):
            make_serial(year, counter)


@pytest.mark.parametrize("text", ["MARKET", "110000", "11100000000013338W011", "X" * 32])
def test_bytes32_round_trip(text: str) -> None:
    raw = to_bytes32(text)
    assert len(raw) == 32
    assert raw.startswith(text.encode())
    assert raw[len(text) :] == b"\x00" * (32 - len(text))
    assert from_bytes32(raw) == text


@pytest.mark.parametrize("text", ["", "X" * 33, "市场", "A\x00B"])
def test_to_bytes32_refuses(text: str) -> None:
    with pytest.raises(InvalidCode) as info:
        to_bytes32(text)
    assert info.value.code == "invalid_code"


@pytest.mark.parametrize(
    "raw", [b"\x00" * 32, b"A" * 31, b"A" * 33, b"A\x00B".ljust(32, b"\x00"), b"\xff".ljust(32, b"\x00")]
)
def test_from_bytes32_refuses(raw: bytes) -> None:
    with pytest.raises(InvalidCode):
        from_bytes32(raw)


def test_errors_are_domain_errors() -> None:
    assert issubclass(InvalidIdentifier, DomainError)
    assert issubclass(InvalidUSCC, InvalidIdentifier)


@given(year=st.integers(1900, 9999), first=st.integers(0, 9_999_999), count=st.integers(0, 40),
       version=st.integers(0, 999), issuer=st.sampled_from(REAL_USCCS), type_code=st.sampled_from(["1", "ZZ9"]))
def test_serial_identifiers_are_the_identifiers_of_their_serials(
    year: int, first: int, count: int, version: int, issuer: str, type_code: str,
) -> None:
    count = min(count, 10_000_000 - first)
    expected = [LicenceIdentifier(type_code, issuer, make_serial(year, c), version).text
                for c in range(first, first + count)]
    assert serial_identifiers(type_code, issuer, year, first, count, version) == expected


@pytest.mark.parametrize(("arguments", "error"), [
    (("1", "11430000006122244L", 2026, 9_999_999, 2), InvalidIdentifier),
    (("1", "11430000006122244L", 2026, -1, 2), InvalidIdentifier),
    (("1", "11430000006122244L", 1899, 1, 2), InvalidIdentifier),
    (("1", "11430000006122244M", 2026, 1, 2), InvalidUSCC),
    (("a", "11430000006122244L", 2026, 1, 2), InvalidIdentifier),
])
def test_serial_identifiers_refuse_what_a_single_identifier_refuses(
    arguments: tuple[str, str, int, int, int], error: type[Exception],
) -> None:
    with pytest.raises(error):
        serial_identifiers(*arguments)
