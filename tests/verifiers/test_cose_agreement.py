"""Our fast COSE reader agrees with pycose on tokens pycose builds."""

from __future__ import annotations

import cbor2
import pytest
from conftest import make_claims, rewrap, with_claims
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from pycose.keys import CoseKey
from pycose.messages import Sign1Message

from verifiers import LicenceClaims, Signer, build_token, parse_token
from verifiers.cose import _read_compact, _read_general, der_to_raw, parse_sign1, raw_to_der
from verifiers.token import decode_cose
from verifiers.trust import ALG_EDDSA, ALG_ES256, ALG_ES384

SIGNERS = {alg: Signer.generate(alg) for alg in (ALG_ES256, ALG_ES384, ALG_EDDSA)}


def pycose_accepts(token: str, signer: Signer) -> bool:
    message = Sign1Message.decode(decode_cose(token))
    pem = serialization.load_der_public_key(signer.public_key_der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    message.key = CoseKey.from_pem_public_key(pem.decode("ascii"))
    try:
        return bool(message.verify_signature())
    except Exception:  # pycose raises on some invalid signatures instead of returning False
        return False


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
claims_strategy = st.builds(
    LicenceClaims,
    identifier=texts.filter(bool),
    issuer=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12),
    issuer_region=st.sampled_from(["440300", "110000"]),
    licence_type=st.text("0123456789ABCDEFGHW", min_size=1, max_size=21),
    type_name=texts,
    issued_at=st.integers(0, 2**40),
    valid_from=st.integers(0, 2**40),
    valid_until=st.none() | st.integers(0, 2**40),
    document_digest=st.binary(min_size=32, max_size=32),
    disclosed=st.dictionaries(texts, texts | st.integers(-(2**53), 2**53), max_size=5),
)


@settings(max_examples=60, deadline=None)
@given(claims=claims_strategy, alg=st.sampled_from(sorted(SIGNERS)))
def test_both_decoders_read_the_same_message(claims: LicenceClaims, alg: int) -> None:
    signer = SIGNERS[alg]
    token = build_token(claims, signer)
    cose = decode_cose(token)
    ours = parse_sign1(cose)
    theirs = Sign1Message.decode(cose)
    assert theirs.phdr_encoded == cbor2.dumps(ours.protected)
    assert theirs.payload == ours.unverified_payload
    assert theirs.signature == ours.signature
    assert theirs._create_sig_structure() == ours.sig_structure
    # The slicing reader takes our own layout, and reads it as the general one does.
    assert _read_compact(cose) is not None
    assert _read_compact(cose) == _read_general(cose)
    assert parse_token(token).unverified_claims == claims
    # Everything we accept, pycose accepts too.
    assert parse_token(token).signature_valid(signer.public_key_der)
    assert pycose_accepts(token, signer)


@pytest.mark.parametrize("alg", sorted(SIGNERS))
def test_both_reject_an_altered_payload(alg: int) -> None:
    signer = SIGNERS[alg]
    token = with_claims(build_token(make_claims(), signer), lambda c: c.update({6: "假证"}))
    assert not parse_token(token).signature_valid(signer.public_key_der)
    assert not pycose_accepts(token, signer)


def test_a_non_canonical_protected_header_is_read_in_full() -> None:
    # {4: kid, 1: alg}: same header, keys in the other order; the Sig_structure must use it verbatim.
    signer = SIGNERS[ALG_ES256]
    token = build_token(make_claims(), signer)
    message = cbor2.loads(decode_cose(token))
    message.value[0] = b"\xa2\x04\x48" + signer.kid + b"\x01\x26"
    parsed = parse_token(rewrap(cbor2.dumps(message)))
    assert (parsed.alg, parsed.kid) == (ALG_ES256, signer.kid)
    assert parsed.sig_structure == Sign1Message.decode(parsed.cose)._create_sig_structure()
    assert not parsed.signature_valid(signer.public_key_der)


@pytest.mark.parametrize("alg", sorted(SIGNERS))
def test_our_layout_is_pycoses_but_for_the_signature(alg: int) -> None:
    signer = SIGNERS[alg]
    payload = make_claims().to_cbor()
    ours, theirs = cbor2.loads(signer.sign1(payload)), cbor2.loads(signer.sign1_pycose(payload))
    assert ours.tag == theirs.tag == 18
    assert ours.value[:3] == theirs.value[:3]
    assert len(ours.value[3]) == len(theirs.value[3])
    message = Sign1Message.decode(signer.sign1(payload))
    pem = serialization.load_der_public_key(signer.public_key_der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    message.key = CoseKey.from_pem_public_key(pem.decode("ascii"))
    assert message.verify_signature()


@pytest.mark.parametrize("alg", sorted(SIGNERS))
def test_other_layouts_of_the_same_message_take_the_general_reader(alg: int) -> None:
    cose = decode_cose(build_token(make_claims(), SIGNERS[alg]))
    message = cbor2.loads(cose)
    protected, _, payload, signature = message.value
    head = b"\x59" + len(payload).to_bytes(2, "big") if len(payload) < 256 else (
        b"\x5a" + len(payload).to_bytes(4, "big"))
    longer_head = b"".join((b"\xd2\x84", cbor2.dumps(protected), b"\xa0", head, payload,
                            cbor2.dumps(signature)))
    for variant in (longer_head, cose + b"\x00", cose[:-1], cbor2.dumps(message.value)):
        assert _read_compact(variant) is None
    assert parse_sign1(longer_head) == parse_sign1(cose)
    assert parse_sign1(cose + b"\x00") == parse_sign1(cose)  # cbor2 ignores trailing bytes


@settings(max_examples=300, deadline=None)
@given(r=st.integers(0, 2**256 - 1) | st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 2**255, 2**256 - 1]),
       s=st.integers(0, 2**256 - 1) | st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 2**255, 2**256 - 1]),
       size=st.sampled_from([32, 48]))
def test_raw_signature_to_der_agrees_with_cryptography(r: int, s: int, size: int) -> None:
    r, s = r % 2 ** (8 * size), s % 2 ** (8 * size)
    raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    assert raw_to_der(raw) == encode_dss_signature(r, s)


@settings(max_examples=300, deadline=None)
@given(r=st.integers(0, 2**256 - 1) | st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 2**255, 2**256 - 1]),
       s=st.integers(0, 2**256 - 1) | st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 2**255, 2**256 - 1]),
       size=st.sampled_from([32, 48]))
def test_der_signature_to_raw_agrees_with_cryptography(r: int, s: int, size: int) -> None:
    der = encode_dss_signature(r, s)
    assert decode_dss_signature(der) == (r, s)
    assert der_to_raw(der, size) == r.to_bytes(size, "big") + s.to_bytes(size, "big")
