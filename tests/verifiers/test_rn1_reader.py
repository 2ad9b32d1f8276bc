"""The C reader of issued tokens (verifiers/_rn1_c.c) agrees with the layer-by-layer Python path.

`read_issued` may decline any text (None: the Python path reads it), but what it reads
must be exactly what `read_token_layers` reads, value and type, and it must never read
what that path refuses. These tests build tokens the way issuers do, then break them at
every layer: the text, the Base45, the zlib stream, the COSE layout and the CBOR claims.
"""

from __future__ import annotations

import json
from typing import Any

import cbor2
import pytest
from conftest import VECTORS, make_claims
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers import Signer
from verifiers._base45 import b45decode, b45encode
from verifiers.cose import _bstr_head
from verifiers.errors import MalformedToken
from verifiers.token import (
    MAX_COSE_BYTES,
    PREFIX,
    ClaimFields,
    claims_payload,
    compress,
    decode_cose,
    deflate,
    read_issued,
    read_token,
    read_token_layers,
    seal_token,
)
from verifiers.trust import ALG_EDDSA, ALG_ES256, ALG_ES384

SIGNERS = {alg: Signer.generate(alg) for alg in (ALG_ES256, ALG_ES384, ALG_EDDSA)}
ES256 = SIGNERS[ALG_ES256]
CLAIMS = make_claims()
TOKEN = seal_token(CLAIMS.to_cbor(), ES256)
FUZZ = settings(max_examples=300, deadline=None)
MAX_TIME = 2**63 - 1


def typed(value: Any) -> Any:
    """Return `value` with every item's type beside it: True and 1 must not compare equal."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, tuple):
        return (type(value).__name__, [typed(v) for v in value])
    return (type(value).__name__, value)


def slow(text: str | bytes) -> Any:
    try:
        return read_token_layers(text)
    except MalformedToken as exc:
        return f"MalformedToken({exc.stage}: {exc.detail})"


def agree(text: str | bytes) -> tuple[Any, ...] | None:
    """Assert the C reader declines `text` or reads it as the Python path does; return its reading."""
    fast = read_issued(text)
    expected = slow(text)
    if fast is not None:
        assert not isinstance(expected, str), f"the C reader read what the Python path refuses: {expected}"
        alg, kid, signature, sig_structure, cose, claims = fast
        assert type(claims) is ClaimFields
        assert typed(({1: alg, 4: kid}, alg, kid, claims, signature, sig_structure, cose)) == typed(expected)
    # read_token, whichever path it takes, gives the Python path's answer
    try:
        assert typed(read_token(text)) == typed(expected)
    except MalformedToken as exc:
        assert f"MalformedToken({exc.stage}: {exc.detail})" == expected
    return fast


def wrap(cose: bytes, level: int = 6) -> str:
    """Return QR text for COSE bytes in an RN1 stream (preset dictionary), as issuers deflate."""
    return PREFIX + b45encode(deflate(cose, level))


def lay_out(payload: bytes, signer: Signer = ES256, signature: bytes | None = None) -> bytes:
    """Return a COSE_Sign1 laid out as `Signer.sign1` lays one out, around any payload."""
    signature = signature if signature is not None else bytes(range(64))
    return b"".join((signer._message_head, _bstr_head(len(payload)), payload, _bstr_head(len(signature)),
                     signature))


def test_the_c_reader_is_the_one_in_use() -> None:
    # Built by pip on install (pyproject.toml ext-modules); without it every token takes the Python path.
    from verifiers import _rn1_c

    assert read_issued is _rn1_c.read


@pytest.mark.parametrize("alg", sorted(SIGNERS))
@pytest.mark.parametrize("valid_until", [None, 1_900_000_000])
def test_issued_tokens_are_read_in_c(alg: int, valid_until: int | None) -> None:
    claims = make_claims(valid_until=valid_until, disclosed={"name": "某公司", "cap": 10**15, "debt": -5, "": ""})
    fast = agree(seal_token(claims.to_cbor(), SIGNERS[alg]))
    assert fast is not None
    assert fast[5] == ClaimFields(claims.identifier, claims.issuer, claims.issuer_region, claims.licence_type,
                                  claims.type_name, claims.issued_at, claims.valid_from, valid_until,
                                  claims.document_digest, claims.disclosed)


@pytest.mark.parametrize("path", sorted((VECTORS / "qr").glob("*.json")), ids=lambda p: p.stem)
def test_the_golden_vectors(path: Any) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    fast = agree(vector["token"])
    if vector["name"].startswith("valid") and vector["name"] != "valid_with_newline":
        assert fast is not None, "a token as issuers write it should be read in C"


@pytest.mark.parametrize("level", [0, 1, 2, 6, 9])
def test_every_compression_level_hint(level: int) -> None:
    text = wrap(decode_cose(TOKEN), level)
    assert agree(text) is not None
    # zlib levels 0-1, 2-5, 6 and 7-9 write the FLEVEL hints 0, 1, 2 and 3
    hint = {0: 0, 1: 0, 2: 1, 6: 2, 9: 3}[level]
    assert b45decode(text[len(PREFIX):])[1] >> 6 == hint


@pytest.mark.parametrize("text", [
    " " + TOKEN, TOKEN + " ", TOKEN + "\n", TOKEN + "\x1f", "rn1:" + TOKEN[4:], TOKEN[:-1], TOKEN[:-2],
    TOKEN.encode("ascii"), PREFIX, "", PREFIX + "A" * 9000, TOKEN + "é",
])
def test_text_the_c_reader_leaves_to_python(text: str | bytes) -> None:
    assert agree(text) is None


def test_a_str_subclass_is_left_to_python() -> None:
    class Text(str):
        pass

    assert agree(Text(TOKEN)) is None


@pytest.mark.parametrize("name,change", [
    ("another dictionary id", lambda s: s[:2] + b"\0\0\0\1" + s[6:]),
    ("no dictionary flag", lambda s: b"\x78\x9c" + s[6:]),
    ("bad Adler-32", lambda s: s[:-1] + bytes([s[-1] ^ 1])),
    ("byte after the stream", lambda s: s + b"\0"),
    ("truncated trailer", lambda s: s[:-1]),
    ("truncated data", lambda s: s[:len(s) // 2]),
    ("head only", lambda s: s[:6]),
])
def test_broken_streams(name: str, change: Any) -> None:
    stream = deflate(decode_cose(TOKEN), 6)
    assert agree(PREFIX + b45encode(change(stream))) is None


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_messages_at_the_cose_limit(extra: int) -> None:
    # 86 bytes around the payload: the head to the kid and {} (17), payload and signature heads, signature
    payload = b"\0" * (MAX_COSE_BYTES - 86 + extra)
    message = lay_out(payload)
    assert len(message) == MAX_COSE_BYTES + extra
    fast = agree(wrap(message))
    assert fast is None  # not claims; what matters is that both paths see the same stream
    expected = slow(wrap(message))
    assert ("inflates beyond" in expected) == (extra > 0)


BASE = cbor2.loads(CLAIMS.to_cbor())
DIGEST = CLAIMS.document_digest


def edited(**changes: Any) -> bytes:
    claims = dict(BASE)
    for key, value in changes.items():
        number = int(key[1:])
        if value is _DROP:
            claims.pop(number)
        else:
            claims[number] = value
    return cbor2.dumps(dict(sorted(claims.items())))


_DROP = object()

# Payloads at the edges of what read_claims accepts: each reaches the C claim reader.
EDGE_PAYLOADS = {
    "canonical": CLAIMS.to_cbor(),
    "valid until": edited(k9=1_900_000_000),
    "time at the limit": edited(k7=MAX_TIME, k8=MAX_TIME, k9=MAX_TIME),
    "time past the limit": edited(k9=MAX_TIME + 1),
    "time 2**64 - 1": edited(k9=2**64 - 1),
    "negative time": edited(k7=-1),
    "bool time": edited(k8=True),
    "text time": edited(k8="1"),
    "version 2": edited(k1=2),
    "version true": edited(k1=True),
    "empty identifier": edited(k2=""),
    "empty issuer": edited(k3=""),
    "empty region": edited(k4=""),
    "empty type": edited(k5=""),
    "empty type name": edited(k6=""),
    "bytes identifier": edited(k2=b"x"),
    "short digest": edited(k10=DIGEST[:31]),
    "long digest": edited(k10=DIGEST + b"\0"),
    "text digest": edited(k10="x" * 32),
    "missing 6": edited(k6=_DROP),
    "missing 11": edited(k11=_DROP),
    "unknown key 12": edited(k12=1),
    "disclosed empty": edited(k11={}),
    "disclosed ints at the edges": edited(k11={"a": 2**64 - 1, "b": -(2**63), "c": 0, "d": -1}),
    "disclosed int below -2**63": edited(k11={"a": -(2**63) - 1}),
    "disclosed int beyond 64 bits": edited(k11={"a": 2**64}),
    "disclosed bool": edited(k11={"a": True}),
    "disclosed float": edited(k11={"a": 1.5}),
    "disclosed null": edited(k11={"a": None}),
    "disclosed bytes": edited(k11={"a": b"x"}),
    "disclosed nested": edited(k11={"a": {"b": "c"}}),
    "disclosed int key": edited(k11={1: "a"}),
    "disclosed a list": edited(k11=["a"]),
    "unsorted keys": cbor2.dumps(dict(reversed(list(BASE.items())))),
    "trailing byte": CLAIMS.to_cbor() + b"\0",
    "indefinite map": b"\xbf" + CLAIMS.to_cbor()[1:] + b"\xff",
    "not a map": cbor2.dumps([1, 2, 3] * 10),
    # hand-laid: non-minimal heads, repeated keys, broken UTF-8, tags
    "non-minimal time head": CLAIMS.to_cbor().replace(b"\x07\x1a", b"\x07\x1b\0\0\0\0", 1),
    "non-minimal key head": b"\xaa\x18\x01" + CLAIMS.to_cbor()[2:],
    "identifier not UTF-8": CLAIMS.to_cbor().replace(b"1.2.156", b"\xff.2.156", 1),
    "tagged identifier": CLAIMS.to_cbor().replace(b"\x02\x78", b"\x02\xc0\x78", 1),
}


def _repeated_disclosed_key() -> bytes:
    # {..., 11: {"a": "x", "a": "y"}}: cbor2 keeps the last value of a repeated key
    body = edited(k11={"b": "z"})
    assert body.endswith(b"\x0b\xa1\x61b\x61z")
    return body[:-5] + b"\xa2\x61a\x61x\x61a\x61y"


EDGE_PAYLOADS["repeated disclosed key"] = _repeated_disclosed_key()


@pytest.mark.parametrize("name", sorted(EDGE_PAYLOADS))
def test_claims_at_the_edges(name: str) -> None:
    payload = EDGE_PAYLOADS[name]
    fast = agree(wrap(lay_out(payload)))
    if name in ("canonical", "valid until", "time at the limit", "disclosed empty", "empty type name",
                "disclosed ints at the edges", "non-minimal time head"):
        assert fast is not None, name
    if name in ("time past the limit", "empty identifier", "repeated disclosed key", "unsorted keys",
                "trailing byte", "identifier not UTF-8", "tagged identifier", "disclosed int below -2**63"):
        assert fast is None, name


#: Where the empty unprotected map {} sits in a message of each algorithm: after the kid.
UNPROTECTED = {alg: len(signer._message_head) - 1 for alg, signer in SIGNERS.items()}


@pytest.mark.parametrize("alg", sorted(SIGNERS))
def test_cose_layouts_at_the_edges(alg: int) -> None:
    signer = SIGNERS[alg]
    size = {ALG_ES256: 64, ALG_ES384: 96, ALG_EDDSA: 64}[alg]
    payload = CLAIMS.to_cbor()
    good = lay_out(payload, signer, b"\1" * size)
    assert good[UNPROTECTED[alg]] == 0xA0
    assert agree(wrap(good)) is not None
    for cose in (
        lay_out(payload, signer, b"\1" * (size - 1)),  # short signature
        lay_out(payload, signer, b"\1" * (size + 1)),
        good + b"\0",
        good[:-1],
        good[:UNPROTECTED[alg]] + b"\xa1\x01\x01" + good[UNPROTECTED[alg] + 1:],  # an unprotected header
        good[1:],  # untagged
        b"\xd3" + good[1:],  # another tag
    ):
        assert agree(wrap(cose)) is None
    # a payload shorter than 24 bytes, and one with a non-minimal length head
    assert agree(wrap(lay_out(b"\xa0", signer, b"\1" * size))) is None
    long_head = signer._message_head + b"\x59" + len(payload).to_bytes(2, "big") + payload + good[-size - 2:]
    assert agree(wrap(long_head)) is None


_TEXT = st.text(max_size=12)
_INT = st.integers(-(2**64), 2**64)


@FUZZ
@given(
    texts=st.lists(_TEXT, min_size=5, max_size=5),
    times=st.lists(st.integers(-1, 2**63 + 1) | st.sampled_from([0, MAX_TIME]), min_size=3, max_size=3),
    open_ended=st.booleans(),
    digest=st.binary(min_size=31, max_size=33),
    disclosed=st.dictionaries(_TEXT, _TEXT | _INT, max_size=6),
    alg=st.sampled_from(sorted(SIGNERS)),
)
def test_any_claims_as_issued(texts: list[str], times: list[int], open_ended: bool, digest: bytes,
                              disclosed: dict[str, Any], alg: int) -> None:
    try:
        payload = claims_payload(*texts, times[0], times[1], None if open_ended else times[2], digest, disclosed)
    except (UnicodeEncodeError, ValueError):
        return  # lone surrogates: cbor2 cannot encode them, so no issuer can
    token = seal_token(payload, SIGNERS[alg])
    fast = agree(token)
    # and every such token the Python path accepts is read in C, but for ints outside
    # -2**63 .. 2**64 - 1 (CBOR bignums, or below what the reader takes)
    if not isinstance(slow(token), str) and all(type(v) is str or -(2**63) <= v < 2**64
                                                for v in disclosed.values()):
        assert fast is not None


@FUZZ
@given(value=st.recursive(
    st.none() | st.booleans() | _INT | st.floats() | _TEXT | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.integers(0, 12) | _TEXT, inner, max_size=12),
    max_leaves=30,
))
def test_any_cbor_value_as_claims(value: Any) -> None:
    try:
        payload = cbor2.dumps(value)
    except (UnicodeEncodeError, ValueError):
        return
    agree(wrap(lay_out(payload)))


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255), st.sampled_from("set insert delete")),
                      min_size=1, max_size=3))
def test_mutated_cose_bytes(edits: list[tuple[int, int, str]]) -> None:
    cose = bytearray(decode_cose(TOKEN))
    for position, value, how in edits:
        at = position % (len(cose) + 1)
        if how == "set" and at < len(cose):
            cose[at] = value
        elif how == "insert":
            cose.insert(at, value)
        elif at < len(cose):
            del cose[at]
    agree(wrap(bytes(cose)))


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 255)), min_size=1, max_size=3))
def test_mutated_streams(edits: list[tuple[int, int]]) -> None:
    stream = bytearray(deflate(decode_cose(TOKEN), 6))
    for position, value in edits:
        stream[position % len(stream)] = value
    agree(PREFIX + b45encode(bytes(stream)))


@FUZZ
@given(position=st.integers(0, 2000), char=st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:é\n"))
def test_mutated_text(position: int, char: str) -> None:
    at = position % len(TOKEN)
    agree(TOKEN[:at] + char + TOKEN[at + 1:])
    agree(TOKEN[:at] + TOKEN[at + 1:])


def test_compress_output_is_read_in_c() -> None:
    # the issuer's own deflate (zlib-ng level 1, or zlib level 6 past the QR target)
    assert agree(PREFIX + b45encode(compress(decode_cose(TOKEN)))) is not None


GENUINE = seal_token(make_claims("genuine", identifier="ID-GENUINE").to_cbor(), ES256)
FORGED = seal_token(make_claims("forged", identifier="ID-FORGED").to_cbor(), Signer.generate())


def test_python_code_run_by_a_collection_mid_read_cannot_mix_two_tokens() -> None:
    # Review finding: the claims' dict and tuple can start a garbage collection, which runs
    # finalizers; one that read another token into the reader's shared buffer used to leave
    # this read returning the forged claims with the genuine token's kid, signature and
    # Sig_structure, a pair that verifies under the genuine key.
    import gc

    ran = []

    class ReadsAnotherToken:
        def __del__(self) -> None:
            ran.append(read_issued(GENUINE))

    def arm() -> None:
        a, b = ReadsAnotherToken(), ReadsAnotherToken()
        a.other, b.other = b, a  # a cycle: only the collector frees it

    threshold = gc.get_threshold()
    gc.collect()
    try:
        for _ in range(20):
            arm()
        gc.set_threshold(1)
        fast = read_issued(FORGED)
    finally:
        gc.set_threshold(*threshold)
    assert ran, "no finalizer ran during the read: the test did not test anything"
    assert fast is not None
    _, _, _, _, _, claims = fast
    assert typed(({1: fast[0], 4: fast[1]}, fast[0], fast[1], claims, *fast[2:5])) == typed(slow(FORGED))
    assert claims.identifier == "ID-FORGED"


def test_two_threads_reading_different_tokens() -> None:
    import sys
    import threading

    expected = {GENUINE: slow(GENUINE), FORGED: slow(FORGED)}
    wrong: list[str] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def read(token: str) -> None:
        for _ in range(5_000):
            alg, kid, signature, structure, cose, claims = read_issued(token)  # type: ignore[misc]
            if ({1: alg, 4: kid}, alg, kid, claims, signature, structure, cose) != expected[token]:
                wrong.append(token)

    try:
        threads = [threading.Thread(target=read, args=(t,)) for t in (GENUINE, FORGED)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not wrong
