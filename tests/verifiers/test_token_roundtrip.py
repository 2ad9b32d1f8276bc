"""Build and parse QR tokens for every algorithm."""

from __future__ import annotations

import hashlib
import string

import cbor2
import pytest
from conftest import make_claims, with_claims
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from verifiers import BadSignature, LicenceClaims, MalformedToken, Signer, build_token, kid_of, parse_token
from verifiers.trust import ALG_EDDSA, ALG_ES256, ALG_ES384

ALGS = [ALG_ES256, ALG_ES384, ALG_EDDSA]


@pytest.mark.parametrize("alg", ALGS)
def test_round_trip_returns_the_claims_signed(alg: int) -> None:
    signer = Signer.generate(alg)
    claims = make_claims(valid_until=1_900_000_000)
    token = build_token(claims, signer)
    parsed = parse_token(token)
    assert parsed.alg == alg
    assert parsed.kid == signer.kid
    assert parsed.protected == {1: alg, 4: signer.kid}
    assert parsed.unverified_claims == claims
    assert parsed.verify(signer.public_key_der) == claims


@pytest.mark.parametrize("alg", ALGS)
def test_another_key_of_the_same_algorithm_does_not_verify(alg: int) -> None:
    token = parse_token(build_token(make_claims(), Signer.generate(alg)))
    with pytest.raises(BadSignature) as caught:
        token.verify(Signer.generate(alg).public_key_der)
    assert caught.value.kid == token.kid


def test_a_key_of_another_algorithm_does_not_verify() -> None:
    token = parse_token(build_token(make_claims(), Signer.generate(ALG_ES256)))
    assert not token.signature_valid(Signer.generate(ALG_ES384).public_key_der)
    assert not token.signature_valid(Signer.generate(ALG_EDDSA).public_key_der)


def test_kid_is_the_first_8_bytes_of_the_spki_sha256() -> None:
    signer = Signer.generate()
    spki = signer._private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert signer.kid == hashlib.sha256(spki).digest()[:8] == kid_of(spki)


def test_signer_survives_a_pem_round_trip() -> None:
    signer = Signer.generate(ALG_ES384)
    again = Signer.from_pem(signer.private_pem())
    assert (again.kid, again.alg) == (signer.kid, signer.alg)


def test_token_uses_only_the_qr_alphanumeric_alphabet() -> None:
    token = build_token(make_claims(), Signer.generate())
    assert token.startswith("RN1:")
    assert set(token) <= set(string.digits + string.ascii_uppercase + " $%*+-./:")


def test_open_ended_licence_has_no_valid_until_claim() -> None:
    claims = make_claims(valid_until=None)
    assert 9 not in __import__("cbor2").loads(claims.to_cbor())
    assert parse_token(build_token(claims, Signer.generate())).unverified_claims.valid_until is None


_TEXT = st.text(max_size=300)
_INT = st.integers(min_value=0, max_value=2**64 - 1)


@given(
    texts=st.lists(_TEXT, min_size=5, max_size=5), times=st.lists(_INT, min_size=3, max_size=3),
    open_ended=st.booleans(), digest=st.binary(min_size=32, max_size=32),
    disclosed=st.dictionaries(st.text(max_size=30), _TEXT | st.integers(-(2**53), 2**53), max_size=20),
)
def test_the_payload_is_cbor2s_canonical_encoding_of_the_claims(
    texts: list[str], times: list[int], open_ended: bool, digest: bytes,
    disclosed: dict[str, str | int],
) -> None:
    claims = LicenceClaims(*texts, *times[:2], None if open_ended else times[2], digest, disclosed)
    expected: dict[int, object] = {1: 1, **dict(enumerate(texts, start=2)), 7: times[0], 8: times[1],
                                   10: digest, 11: disclosed}
    if not open_ended:
        expected[9] = times[2]
    assert claims.to_cbor() == cbor2.dumps(expected, canonical=True)
    assert claims.to_cbor() == claims.to_cbor()  # the remembered key order gives the same bytes


def test_leaf_is_keccak_of_the_document_digest() -> None:
    from eth_hash.auto import keccak

    claims = make_claims()
    assert claims.leaf == keccak(claims.document_digest)


@pytest.mark.parametrize(
    ("edit", "stage"),
    [
        (lambda c: c.update({2: b"bytes"}), "claims"),
        (lambda c: c.update({7: -1}), "claims"),
        (lambda c: c.update({9: 2**64}), "claims"),
        (lambda c: c.update({11: {1: "int key"}}), "claims"),
        (lambda c: c.update({3: ""}), "claims"),
        (lambda c: c.pop(2), "claims"),
    ],
)
def test_wrong_claim_shapes_are_malformed(edit: object, stage: str) -> None:
    token = with_claims(build_token(make_claims(), Signer.generate()), edit)  # type: ignore[arg-type]
    with pytest.raises(MalformedToken) as caught:
        parse_token(token)
    assert caught.value.stage == stage


@pytest.mark.parametrize(
    ("key", "reason"),
    [(1.0, None), (True, None),  # equal to 1 with 1's hash: the claim 1 that cbor2 decodes
     (__import__("cbor2").CBORSimpleValue(1), "claims: unknown claim keys ['CBORSimpleValue(value=1)']"),
     (__import__("cbor2").CBORSimpleValue(9), "claims: unknown claim keys ['CBORSimpleValue(value=9)']")],
)
def test_claim_keys_that_only_look_like_ints(key: object, reason: str | None) -> None:
    # A CBOR simple value compares equal to its int but hashes apart: not a claim key.
    def swap(claims: dict[object, object]) -> None:
        number = getattr(key, "value", key)
        claims[key] = claims.pop(number, 1)

    token = with_claims(build_token(make_claims(), Signer.generate()), swap)
    if reason is None:
        assert parse_token(token).unverified_claims == make_claims()
    else:
        with pytest.raises(MalformedToken) as caught:
            parse_token(token)
        assert str(caught.value) == reason


@pytest.mark.parametrize(
    ("text", "stage"),
    [("", "prefix"), ("RN2:ABC", "prefix"), ("RN1:A", "base45"), ("RN1:abc", "base45"),
     ("RN1:中文", "base45"), ("RN1:" + "A" * 9000, "prefix"), ("RN1:AAA", "zlib"),
     (b"\xff\xfe", "prefix")],
)
def test_broken_outer_layers_name_their_stage(text: str | bytes, stage: str) -> None:
    with pytest.raises(MalformedToken) as caught:
        parse_token(text)
    assert caught.value.stage == stage


def test_a_zlib_bomb_is_refused() -> None:
    import zlib

    from conftest import rewrap

    with pytest.raises(MalformedToken, match="inflates beyond"):
        parse_token(rewrap(b"\x00" * 200_000))
    assert len(zlib.compress(b"\x00" * 200_000, 9)) < 1000
