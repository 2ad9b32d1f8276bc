"""Our Base45 encoders (C, and the Python fallback) agree with the `base45` package byte for byte."""

from __future__ import annotations

import base45
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers import _base45
from verifiers._base45 import b45decode, b45encode, py_b45decode, py_b45encode


def test_the_c_functions_are_the_ones_in_use() -> None:
    # `make install` builds the extension; without it the Python functions would serve
    from verifiers import _base45_c

    assert (_base45.b45decode, _base45.b45encode) == (_base45_c.b45decode, _base45_c.b45encode)


@given(st.binary(max_size=600))
def test_encoder_matches_the_base45_package(data: bytes) -> None:
    assert b45encode(data) == py_b45encode(data) == base45.b45encode(data).decode("ascii")
    assert b45decode(b45encode(data)) == py_b45decode(b45encode(data)) == data


def test_rfc_9285_examples() -> None:
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"base-45") == "UJCLQE7W581"


def test_every_byte_pair_encodes_as_the_package_does() -> None:
    # the lane arithmetic divides by 45 with a multiply-shift: exact for all 65,536 pairs
    every_pair = b"".join(v.to_bytes(2, "big") for v in range(65536))
    for encode in (b45encode, py_b45encode):
        assert encode(every_pair) == base45.b45encode(every_pair).decode("ascii")
        assert encode(every_pair + b"\xff") == base45.b45encode(every_pair + b"\xff").decode("ascii")
    assert b45decode(b45encode(every_pair)) == every_pair


def test_any_bytes_like_encodes() -> None:
    data = bytes(range(256)) * 3
    strided = memoryview(data)[::2]  # not contiguous: the C encoder reads a copy
    expected = base45.b45encode(bytes(strided)).decode("ascii")
    for encode in (b45encode, py_b45encode):
        assert encode(strided) == encode(bytearray(strided)) == expected
    for encode in (b45encode, py_b45encode):
        with pytest.raises(TypeError):
            encode("text")  # type: ignore[arg-type]
