"""Tests for RFC 8785 canonical JSON and the hash helpers."""

from __future__ import annotations

import hashlib
import json
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.canonical import (
    canonical_json,
    canonical_sha256,
    keccak256,
    sha256,
    sha256_hex,
)
from ledger.domain.errors import MalformedDocument


def test_rfc8785_section_3_2_2_example() -> None:
    value = json.loads(
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonical_json(value) == expected


def test_rfc8785_section_3_2_3_key_order_uses_utf16_code_units() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonical_json(value) == expected


def test_chinese_keys_sort_by_code_unit() -> None:
    # 张 U+5F20 < 李 U+674E < 王 U+738B; code-point order here equals UTF-16 order.
    value = {"王": 1, "张": 2, "李": 3, "a": 0}
    assert canonical_json(value) == '{"a":0,"张":2,"李":3,"王":1}'.encode()


@pytest.mark.parametrize(
    ("bits", "text"),
    [
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x7FEFFFFFFFFFFFFF, "1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44B52D02C7E14AF5, "9.999999999999997e+22"),
        (0x44B52D02C7E14AF6, "1e+23"),
        (0x3EB0C6F7A0B5ED8D, "0.000001"),
        (0x3EB0C6F7A0B5ED8C, "9.999999999999997e-7"),
        (0x41B3DE4355555553, "333333333.3333332"),
    ],
)
def test_rfc8785_appendix_b_numbers(bits: int, text: str) -> None:
    (number,) = struct.unpack(">d", bits.to_bytes(8, "big"))
    assert canonical_json(number) == text.encode()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 2**53, {1: "x"}, b"raw"])
def test_values_outside_json_are_refused(value: object) -> None:
    with pytest.raises(MalformedDocument) as info:
        canonical_json(value)
    assert info.value.code == "malformed_document"


def test_whitespace_and_escapes() -> None:
    assert canonical_json({"b": [1, 2], "a": "x\u2028\x7f\x1f"}) == '{"a":"x\u2028\x7f\\u001f","b":[1,2]}'.encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_canonical_json_is_valid_json_and_stable(value: object) -> None:
    encoded = canonical_json(value)
    assert json.loads(encoded) == value
    assert canonical_json(json.loads(encoded)) == encoded


def test_hash_helpers() -> None:
    assert sha256(b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert canonical_sha256({"b": 1, "a": 2}) == sha256(b'{"a":2,"b":1}')


def test_keccak256_is_ethereum_keccak_not_sha3() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"").hex() != hashlib.sha3_256(b"").hexdigest()
    assert keccak256(b"hello world").hex() == "47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad"
