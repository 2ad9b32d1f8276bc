"""verify_token gives a verdict for any input and never raises."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable

import base45
import cbor2
from conftest import NOW, SZ, VECTORS, make_claims, rewrap
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers import (
    ChainPosition,
    DepartmentRecord,
    Signer,
    TrustSnapshot,
    Verdict,
    build_token,
    verify_token,
)
from verifiers._base45 import b45decode, py_b45decode
from verifiers.token import decode_cose

SIGNER = Signer.generate()
CLAIMS = make_claims()
TOKEN = build_token(CLAIMS, SIGNER)
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
FUZZ = settings(max_examples=300, deadline=None)
SNAPSHOT = TrustSnapshot(
    departments=[DepartmentRecord("MARKET", "深圳市市场监督管理局", SZ, 1)],
    keys=[SIGNER.key_record("MARKET", 0)],
    anchored=[(CLAIMS.leaf, "MARKET")],
    position=ChainPosition(1, b"\x00" * 20, 1, b"\x00" * 32, NOW),
    exported_at=NOW, exporter="MARKET", exporter_kid=SIGNER.kid,
)


@FUZZ
@given(text=st.text() | st.text(ALPHABET).map(lambda t: "RN1:" + t))
def test_any_text_gets_a_verdict(text: str) -> None:
    result = verify_token(text, SNAPSHOT, NOW, SZ)
    assert isinstance(result.verdict, Verdict)
    assert result.verdict is Verdict.MALFORMED or text.strip().startswith("RN1:")


@FUZZ
@given(data=st.binary(max_size=600))
def test_any_bytes_get_a_verdict(data: bytes) -> None:
    assert isinstance(verify_token(data, SNAPSHOT, NOW, SZ).verdict, Verdict)
    # The same bytes as zlib-compressed "COSE" and as a bare CBOR payload must not raise either.
    assert verify_token(rewrap(data), SNAPSHOT, NOW, SZ).verdict is Verdict.MALFORMED


@FUZZ
@given(position=st.integers(0, len(TOKEN) - 1), char=st.sampled_from(ALPHABET))
def test_a_changed_character_never_passes_as_valid(position: int, char: str) -> None:
    mutated = TOKEN[:position] + char + TOKEN[position + 1:]
    result = verify_token(mutated, SNAPSHOT, NOW, SZ)
    if mutated != TOKEN and result.verdict is Verdict.VALID:
        # Deflate is not canonical: a changed back-reference can point at another copy of the
        # same bytes (the preset dictionary holds many), so a different text may inflate to the
        # very COSE message that was signed. That is the genuine licence, not a forgery; anything
        # else that verifies would be.
        assert decode_cose(mutated) == decode_cose(TOKEN)


@FUZZ
@given(position=st.integers(0, 2000), bit=st.integers(0, 7))
def test_a_flipped_cose_bit_never_passes_as_valid(position: int, bit: int) -> None:
    cose = bytearray(decode_cose(TOKEN))
    cose[position % len(cose)] ^= 1 << bit
    result = verify_token(rewrap(bytes(cose)), SNAPSHOT, NOW, SZ)
    assert result.verdict is not Verdict.VALID


@FUZZ
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.integers(0, 12) | st.text(), inner, max_size=4),
    max_leaves=20,
))
def test_any_cbor_value_as_claims_gets_a_verdict(value: object) -> None:
    message = cbor2.loads(decode_cose(TOKEN))
    message.value[2] = cbor2.dumps(value)
    result = verify_token(rewrap(cbor2.dumps(message)), SNAPSHOT, NOW, SZ)
    assert result.verdict is Verdict.MALFORMED


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300))
def test_fast_base45_agrees_with_the_base45_package(data: bytes) -> None:
    text = base45.b45encode(data).decode("ascii")
    assert b45decode(text) == py_b45decode(text) == data == base45.b45decode(text)


def _outcome(decode: Callable[[str], bytes], text: str) -> bytes | str:
    try:
        return decode(text)
    except ValueError as exc:
        return f"ValueError: {exc}"


@settings(max_examples=1000, deadline=None)
@given(text=st.text(ALPHABET + "é_", max_size=30))
def test_fast_base45_rejects_what_the_package_rejects(text: str) -> None:
    try:
        expected: bytes | None = base45.b45decode(text)
    except ValueError:
        expected = None
    ours = _outcome(b45decode, text)
    assert (None if isinstance(ours, str) else ours) == expected
    # the C and the Python decoder refuse with the same reason
    assert ours == _outcome(py_b45decode, text)


def test_rewrap_is_plain_zlib() -> None:
    assert zlib.decompress(b45decode(rewrap(b"abc")[4:])) == b"abc"


def test_the_unmutated_token_is_valid() -> None:
    assert verify_token(TOKEN, SNAPSHOT, NOW, SZ).verdict is Verdict.VALID


def test_another_text_of_the_same_signed_message_is_that_licence() -> None:
    # Found by searching every one-character change of the committed vector: one character (position 240 -> 'F')
    # changes a deflate back-reference to another copy of the same bytes. Same COSE message,
    # same verdict; a text that inflates to anything else is refused (the other tests).
    vector = json.loads((VECTORS / "qr" / "valid_typical.json").read_text(encoding="utf-8"))
    token = vector["token"]
    other = token[:240] + "F" + token[241:]
    assert other != token
    assert decode_cose(other) == decode_cose(token)
