"""The RN1 preset zlib dictionary: fixed, named in every token, and what keeps tokens small."""

from __future__ import annotations

import json
import zlib
from dataclasses import replace

import base45
import pytest
from conftest import VECTORS
from zlib_ng import zlib_ng

from verifiers import LicenceClaims, Signer, build_token, parse_token, qr_version
from verifiers.dictionary import DICTIONARY, DICTIONARY_ID
from verifiers.errors import MalformedToken
from verifiers.token import FAST_LEVEL, PREFIX, QR_TARGET_CHARS, QR_VERSION_TARGET, compress, decode_cose

#: Pinned: a change to the dictionary is a new token format, never an edit of RN1.
RN1_DICTIONARY_ID = 0x04EE9D18


def typical() -> LicenceClaims:
    data = json.loads((VECTORS / "typical_licence.json").read_text(encoding="utf-8"))
    data.pop("description")
    data["document_digest"] = bytes.fromhex(data["document_digest"])
    return LicenceClaims(**data)


def test_the_dictionary_is_the_pinned_one() -> None:
    assert DICTIONARY_ID == RN1_DICTIONARY_ID
    assert 0 < len(DICTIONARY) <= 32768  # it fits the largest zlib window


def test_tokens_name_the_rn1_dictionary_in_their_zlib_header() -> None:
    token = build_token(typical(), Signer.generate())
    stream = base45.b45decode(token[len(PREFIX):])
    assert stream[1] & 0x20, "FDICT flag set"
    assert int.from_bytes(stream[2:6], "big") == DICTIONARY_ID
    with pytest.raises(zlib.error):  # without the dictionary the stream cannot be read
        zlib.decompress(stream)


def test_a_stream_without_a_dictionary_is_still_read() -> None:
    token = build_token(typical(), Signer.generate())
    cose = decode_cose(token)
    plain = PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")
    assert parse_token(plain).unverified_claims == typical()


def test_a_stream_naming_another_dictionary_is_malformed_zlib() -> None:
    cose = decode_cose(build_token(typical(), Signer.generate()))
    other = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, b"another dictionary" * 10)
    token = PREFIX + base45.b45encode(other.compress(cose) + other.flush()).decode("ascii")
    with pytest.raises(MalformedToken) as caught:
        parse_token(token)
    assert caught.value.stage == "zlib"
    assert f"{DICTIONARY_ID:#010x}" in str(caught.value)


def test_the_dictionary_is_what_brings_a_typical_licence_under_version_19() -> None:
    signer = Signer.generate()
    cose = decode_cose(build_token(typical(), signer))
    plain = PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")
    with_dictionary = build_token(typical(), signer)
    assert qr_version(with_dictionary) <= 18 < qr_version(plain)


def _with_dictionary(data: bytes) -> bytes:
    deflater = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    return deflater.compress(data) + deflater.flush()


def _read(stream: bytes) -> bytes | str:
    try:
        return decode_cose(PREFIX + base45.b45encode(stream).decode("ascii"))
    except MalformedToken as exc:
        return exc.detail


@pytest.mark.parametrize("change", ["none", "trailer", "short", "no_trailer", "extra", "body", "huge"])
def test_our_streams_read_as_zlib_reads_them(change: str) -> None:
    # Streams with RN1's own header are inflated raw with the trailer checked by hand;
    # each outcome must be zlib's own (the reference: a decompressobj given the dictionary).
    cose = b"\x00" * 70_000 if change == "huge" else decode_cose(build_token(typical(), Signer.generate()))
    stream = _with_dictionary(cose)
    stream = {
        "none": stream, "huge": stream, "trailer": stream[:-1] + bytes([stream[-1] ^ 1]),
        "short": stream[:-2], "no_trailer": stream[:-4], "extra": stream + b"\x00",
        "body": stream[:10] + bytes([stream[10] ^ 0x40]) + stream[11:],
    }[change]
    reference = zlib.decompressobj(zdict=DICTIONARY)
    try:
        inflated = reference.decompress(stream, 65536)
        expected: bytes | str = (
            "inflates beyond 65536 bytes" if reference.unconsumed_tail
            else "stream is truncated" if not reference.eof
            else "bytes after the end of the stream" if reference.unused_data else inflated)
    except zlib.error as exc:
        expected = str(exc)
    assert _read(stream) == expected
    assert (expected == cose) == (change == "none")


def test_the_qr_target_capacity_is_segnos() -> None:
    at_capacity = PREFIX + "0" * (QR_TARGET_CHARS - len(PREFIX))
    assert qr_version(at_capacity) == QR_VERSION_TARGET
    assert qr_version(at_capacity + "0") == QR_VERSION_TARGET + 1


def _level_hint(token: str) -> int:
    return base45.b45decode(token[len(PREFIX):])[1] >> 6


def test_short_tokens_keep_the_fast_stream_and_long_ones_the_denser() -> None:
    signer = Signer.generate()
    short = replace(typical(), disclosed={"holderName": "深圳市星辰智能科技有限公司"})
    token = build_token(short, signer)
    assert _level_hint(token) == 0  # zlib-ng's deflate_quick marks its streams "fastest"
    # The typical licence's fast stream would need version 19: it is deflated again at level 6.
    cose = decode_cose(build_token(typical(), signer))
    fast = zlib_ng.compressobj(FAST_LEVEL, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    fast_token = PREFIX + base45.b45encode(fast.compress(cose) + fast.flush()).decode("ascii")
    assert len(fast_token) > QR_TARGET_CHARS
    dense = compress(cose)
    assert len(dense) == len(_with_dictionary(cose)) < len(base45.b45decode(fast_token[len(PREFIX):]))
    assert zlib.decompressobj(zdict=DICTIONARY).decompress(dense) == cose
    assert qr_version(build_token(typical(), signer)) <= QR_VERSION_TARGET
