"""The QR token: `RN1:` + Base45(zlib(COSE_Sign1(CBOR claims))).

zlib compresses against a fixed preset dictionary of licence vocabulary
(`verifiers.dictionary`); streams without one are read too.

Claims use integer keys (docs/internals.md, "QR token")::

    1 format version (1)      5 licence type code    9 valid until (absent: open-ended)
    2 licence identifier      6 type name           10 document digest (32 bytes)
    3 issuer department code  7 issued at (signing) 11 disclosed fields {text: text|int}
    4 issuer region           8 valid from

`parse_token` reads a token without checking its signature and returns an
`UnverifiedToken`; `UnverifiedToken.verify` checks the signature under a given
public key and returns the claims. Decide verdicts with `verifiers.verify`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import cbor2
from zlib_ng import zlib_ng as _zlib_ng

from ledger.domain.canonical import keccak256
from verifiers._base45 import b45decode, b45encode
from verifiers.cose import _COMPACT_HEADS, _SIG_STRUCTURE_HEAD, Signer, read_sign1, verify_signature
from verifiers.dictionary import DICTIONARY, DICTIONARY_ID
from verifiers.errors import BadSignature, MalformedToken
from verifiers.qr import qr_png, qr_svg, qr_version

__all__ = [
    "FORMAT_VERSION", "PREFIX", "LicenceClaims", "UnverifiedToken",
    "build_token", "claims_payload", "parse_token", "seal_token", "seal_tokens",
    "leaf_of", "qr_png", "qr_svg", "qr_version",
]

PREFIX = "RN1:"
FORMAT_VERSION = 1
#: Longer than any QR code (version 40-L holds 4,296 alphanumeric characters).
MAX_TOKEN_CHARS = 8192
MAX_COSE_BYTES = 65536
_MAX_TIME = 2**63 - 1
DisclosedValue = str | int


def leaf_of(document_digest: bytes) -> bytes:
    """Return the Merkle leaf anchored for a document: keccak256(document_digest)."""
    return keccak256(document_digest)


@dataclass(frozen=True, slots=True)
class LicenceClaims:
    """The claims a QR token carries about one e-licence."""

    identifier: str
    issuer: str
    issuer_region: str
    licence_type: str
    type_name: str
    issued_at: int
    valid_from: int
    valid_until: int | None
    document_digest: bytes
    disclosed: dict[str, DisclosedValue] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    @property
    def leaf(self) -> bytes:
        """Return the Merkle leaf of the licence document these claims describe."""
        return leaf_of(self.document_digest)

    def to_cbor(self) -> bytes:
        """Return the canonical CBOR payload with integer keys."""
        return claims_payload(
            self.identifier, self.issuer, self.issuer_region, self.licence_type, self.type_name,
            self.issued_at, self.valid_from, self.valid_until, self.document_digest, self.disclosed,
            self.version,
        )

    @classmethod
    def from_cbor(cls, payload: bytes) -> LicenceClaims:
        """Type a CBOR claims payload; raise MalformedToken('claims', …) on any wrong shape."""
        return cls(*read_claims(payload))


def claims_payload(
    identifier: str, issuer: str, issuer_region: str, licence_type: str, type_name: str,
    issued_at: int, valid_from: int, valid_until: int | None, document_digest: bytes,
    disclosed: dict[str, DisclosedValue], version: int = FORMAT_VERSION,
) -> bytes:
    """Return `LicenceClaims.to_cbor` of these claims without building the object (minting's path).

    The bytes are cbor2's canonical encoding (RFC 7049 §3.9), written by cbor2 from maps
    already in canonical key order: integer keys ascending, the disclosed fields as
    `_canonical_order` puts them; cbor2's own canonical mode would encode and sort every
    key of both maps again for each token. tests/verifiers/test_token_roundtrip.py holds
    the two to the same bytes.
    """
    claims: dict[int, Any] = {
        1: version, 2: identifier, 3: issuer, 4: issuer_region, 5: licence_type, 6: type_name,
        7: issued_at, 8: valid_from,
    }
    if valid_until is not None:
        claims[9] = valid_until
    claims[10] = document_digest
    order = _canonical_order(tuple(disclosed))
    claims[11] = disclosed if order is None else {key: disclosed[key] for key in order}
    encoded: bytes = cbor2.dumps(claims)
    return encoded


def _canonical_order(keys: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Return `keys` in canonical CBOR order (shorter encoding first, then bytewise), None if already so.

    Licences of one type disclose the same keys in the same order, so the order is
    remembered per key tuple (a bounded table: keys, never values).
    """
    order = _KEY_ORDERS.get(keys, _UNKNOWN)
    if order is _UNKNOWN:
        ranked = tuple(sorted(keys, key=_sort_key))
        order = None if ranked == keys else ranked
        if len(_KEY_ORDERS) >= _MAX_KEY_ORDERS:
            _KEY_ORDERS.clear()
        _KEY_ORDERS[keys] = order
    return order


def _sort_key(key: Any) -> tuple[int, bytes]:
    """Return cbor2's canonical sort key of a map key: its encoding's length, then the encoding."""
    encoded: bytes = cbor2.dumps(key, canonical=True)
    return len(encoded), encoded


_UNKNOWN: Any = object()
_MAX_KEY_ORDERS = 256
_KEY_ORDERS: dict[tuple[Any, ...], tuple[Any, ...] | None] = {}


class ClaimFields(NamedTuple):
    """The fields of `LicenceClaims` as read from a payload: what the verifier's hot path uses."""

    identifier: str
    issuer: str
    issuer_region: str
    licence_type: str
    type_name: str
    issued_at: int
    valid_from: int
    valid_until: int | None
    document_digest: bytes
    disclosed: dict[str, DisclosedValue]


def read_claims(payload: bytes) -> ClaimFields:
    """Type a CBOR claims payload; raise MalformedToken('claims', …) on any wrong shape.

    A tuple, not `LicenceClaims`: a frozen dataclass costs a setattr call per field.
    """
    try:
        # read_size: cbor2 then reads its input in one go instead of a call per item
        raw = cbor2.loads(payload, read_size=_CBOR_READ_SIZE)
    except Exception as exc:  # cbor2 raises many types on hostile input
        raise MalformedToken("claims", f"payload is not CBOR: {exc}") from None
    if type(raw) is not dict:
        raise MalformedToken("claims", "payload is not a map")
    keys = raw.keys()
    # One comparison for the two key sets tokens carry; any other goes through the full checks.
    if keys not in _TOKEN_KEY_SETS:
        _check_claim_keys(raw)
    version, identifier, issuer, region, licence_type, type_name = raw[1], raw[2], raw[3], raw[4], raw[5], raw[6]
    issued_at, valid_from, valid_until, digest, disclosed = raw[7], raw[8], raw.get(9), raw[10], raw[11]
    # `type(x) is` rather than isinstance: a CBOR true must not pass for an int.
    if type(version) is not int or version != FORMAT_VERSION:
        raise MalformedToken("claims", f"format version {version!r} is not {FORMAT_VERSION}")
    if not (type(identifier) is str and type(issuer) is str and type(region) is str
            and type(licence_type) is str and type(type_name) is str
            and identifier and issuer and region and licence_type):
        key = next(k for k in _TEXT_KEYS if type(raw[k]) is not str or (not raw[k] and k != 6))
        raise MalformedToken("claims", f"claim {key} is not non-empty text")
    if not (type(issued_at) is int and type(valid_from) is int
            and (valid_until is None or type(valid_until) is int)
            and 0 <= issued_at <= _MAX_TIME and 0 <= valid_from <= _MAX_TIME
            and (valid_until is None or 0 <= valid_until <= _MAX_TIME)):
        key = next(k for k in _TIME_KEYS if type(raw.get(k, 0)) is not int
                   or not 0 <= raw.get(k, 0) <= _MAX_TIME)
        raise MalformedToken("claims", f"claim {key} is not a unix time")
    if type(digest) is not bytes or len(digest) != 32:
        raise MalformedToken("claims", "document digest (10) is not 32 bytes")
    if type(disclosed) is not dict:
        raise MalformedToken("claims", "disclosed fields (11) are not a map")
    # The types of all keys and values, checked in C rather than looped over in Python.
    if not (_TEXT.issuperset(map(type, disclosed))
            and _TEXT_OR_INT.issuperset(map(type, disclosed.values()))):
        raise MalformedToken("claims", "disclosed fields (11) must map text to text or int")
    return ClaimFields(identifier, issuer, region, licence_type, type_name, issued_at, valid_from,
                       valid_until, digest, disclosed)


def _check_claim_keys(raw: dict[Any, Any]) -> None:
    """Raise MalformedToken naming unknown or missing claim keys, if there are any."""
    keys = raw.keys()
    if not keys <= _CLAIM_KEYS:
        unknown = sorted(repr(k) for k in keys - _CLAIM_KEYS)
        raise MalformedToken("claims", f"unknown claim keys {unknown}")
    if not keys >= _REQUIRED_KEYS:
        raise MalformedToken("claims", f"claims {sorted(_REQUIRED_KEYS - keys)} are missing")


_CBOR_READ_SIZE = 4096
_CLAIM_KEYS = frozenset(range(1, 12))
_REQUIRED_KEYS = _CLAIM_KEYS - {9}
_TOKEN_KEY_SETS = (_CLAIM_KEYS, _REQUIRED_KEYS)
_TEXT_KEYS = (2, 3, 4, 5, 6)
_TIME_KEYS = (7, 8, 9)
_TEXT: frozenset[type] = frozenset({str})
_TEXT_OR_INT: frozenset[type] = frozenset({str, int})


@dataclass(frozen=True, slots=True)
class UnverifiedToken:
    """A token read but not yet checked: header, claims and the exact bytes to verify."""

    protected: dict[int, Any]
    alg: int
    kid: bytes
    unverified_claims: LicenceClaims
    signature: bytes
    sig_structure: bytes
    cose: bytes

    def verify(self, public_key_der: bytes) -> LicenceClaims:
        """Return the claims if the signature verifies under the key; raise BadSignature."""
        if not verify_signature(self.alg, public_key_der, self.sig_structure, self.signature):
            raise BadSignature(self.kid)
        return self.unverified_claims

    def signature_valid(self, public_key_der: bytes) -> bool:
        """Return whether the signature verifies under the key."""
        return verify_signature(self.alg, public_key_der, self.sig_structure, self.signature)


#: Tokens are deflated by zlib-ng at level 1, its `deflate_quick`: one pass with fixed Huffman
#: codes, ~8 µs a token where zlib takes ~26 µs at any level on these few hundred bytes (its
#: cost is per byte, not in the match search). That stream is ~7% longer than zlib's level 6.
#: A token it would push past QR version `QR_VERSION_TARGET` at level Q is deflated again at
#: level 6 and the shorter stream kept, so no token needs a larger code than that target
#: unless zlib's best needs one too. Either way the stream is plain zlib (RFC 1950) with RN1's
#: dictionary: any zlib inflates it, and the verifier reads it with the standard library's.
FAST_LEVEL, DENSE_LEVEL = 1, 6
#: The QR version (at level Q) a token should not exceed when zlib's best can avoid it.
QR_VERSION_TARGET = 18
#: Alphanumeric characters that version `QR_VERSION_TARGET` holds at level Q (ISO/IEC 18004
#: table 7; tests/verifiers/test_dictionary.py checks it against segno).
QR_TARGET_CHARS = 574


def compress(cose: bytes) -> bytes:
    """Return `cose` as a zlib stream against the RN1 preset dictionary (see `FAST_LEVEL`)."""
    stream = deflate(cose, FAST_LEVEL, _zlib_ng)
    if _token_chars(len(stream)) <= QR_TARGET_CHARS:
        return stream
    dense = deflate(cose, DENSE_LEVEL, zlib)
    return dense if len(dense) < len(stream) else stream


def deflate(cose: bytes, level: int, library: Any = zlib) -> bytes:
    """Return `cose` deflated at `level` by `library` (`zlib`, or zlib-ng's compatible module) with RN1's dictionary."""
    # A fresh compressor each time: for deflate_quick, cheaper than copying a primed one.
    deflater = library.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    stream: bytes = deflater.compress(cose) + deflater.flush()
    return stream


def _token_chars(stream_bytes: int) -> int:
    """Return the length of the token text of a stream: the prefix, then Base45 (RFC 9285)."""
    pairs, odd = divmod(stream_bytes, 2)
    return len(PREFIX) + 3 * pairs + 2 * odd


def _stream_head(level_hint: int) -> bytes:
    """Return the six bytes an RN1 stream with compression-level hint FLEVEL starts with.

    CMF (deflate, 32 KiB window), FLG with FDICT set and its check bits, the dictionary's id.
    Compressors write different hints (0-3); a hint does not change how a stream inflates.
    """
    flg = level_hint << 6 | 0x20  # FLEVEL, FDICT
    flg += 31 - (0x78 << 8 | flg) % 31  # FCHECK as zlib sets it: 1-31, CMF·256 + FLG a multiple of 31
    return bytes((0x78, flg)) + DICTIONARY_ID.to_bytes(4, "big")


_STREAM_HEADS = frozenset(map(_stream_head, range(4)))
#: What zlib says when a stream's Adler-32 trailer does not match its data.
_DATA_CHECK = "Error -3 while decompressing data: incorrect data check"


def build_token(claims: LicenceClaims, signer: Signer) -> str:
    """Sign `claims` with `signer` and return the QR text."""
    return seal_token(claims.to_cbor(), signer)


def seal_token(payload: bytes, signer: Signer) -> str:
    """Sign a claims payload (`claims_payload`) with `signer` and return the QR text."""
    return seal_tokens([payload], signer)[0]


def seal_tokens(payloads: Sequence[bytes], signer: Signer) -> list[str]:
    """Return the QR text of each payload, signing all, then deflating all, then encoding all.

    Stage by stage rather than token by token: the signing key's tables, then zlib's
    state, stay in cache across the batch instead of evicting each other per token.
    """
    signed = list(map(signer.sign1, payloads))
    streams = list(map(compress, signed))
    return [PREFIX + b45encode(stream) for stream in streams]


def decode_cose(text: str | bytes) -> bytes:
    """Return the COSE_Sign1 bytes inside QR text; raise MalformedToken on each layer."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedToken("prefix", "token is not ASCII text") from None
    if not isinstance(text, str):
        raise TypeError(f"token must be str or bytes, not {type(text).__name__}")
    text = text.strip()
    if len(text) > MAX_TOKEN_CHARS:
        raise MalformedToken("prefix", f"token longer than {MAX_TOKEN_CHARS} characters")
    if not text.startswith(PREFIX):
        raise MalformedToken("prefix", f"token does not start with {PREFIX!r}")
    try:
        compressed = b45decode(text[len(PREFIX):])
    except ValueError as exc:
        raise MalformedToken("base45", str(exc)) from None
    if compressed[:6] in _STREAM_HEADS:
        return _inflate_rn1(compressed)
    inflater = zlib.decompressobj(zdict=DICTIONARY)
    try:
        cose = inflater.decompress(compressed, MAX_COSE_BYTES)
    except zlib.error as exc:
        raise MalformedToken("zlib", _zlib_reason(compressed, exc)) from None
    if inflater.unconsumed_tail:
        raise MalformedToken("zlib", f"inflates beyond {MAX_COSE_BYTES} bytes")
    if not inflater.eof:
        raise MalformedToken("zlib", "stream is truncated")
    if inflater.unused_data:
        raise MalformedToken("zlib", "bytes after the end of the stream")
    return cose


def _inflate_rn1(compressed: bytes) -> bytes:
    """Inflate a stream with our own six-byte header, as the zlib path above would.

    The deflate data is inflated raw with the dictionary preloaded and the Adler-32
    trailer checked here: a fresh raw inflater costs less than copying a primed one
    (its 32 KiB window) or than zlib checking the dictionary's Adler-32 per token.
    """
    inflater = zlib.decompressobj(-zlib.MAX_WBITS, zdict=DICTIONARY)
    try:
        cose = inflater.decompress(compressed[6:], MAX_COSE_BYTES)
    except zlib.error as exc:
        raise MalformedToken("zlib", str(exc)) from None
    if inflater.unconsumed_tail:
        raise MalformedToken("zlib", f"inflates beyond {MAX_COSE_BYTES} bytes")
    trailer = inflater.unused_data
    if not inflater.eof or len(trailer) < 4:
        raise MalformedToken("zlib", "stream is truncated")
    if int.from_bytes(trailer[:4], "big") != zlib.adler32(cose):
        raise MalformedToken("zlib", _DATA_CHECK)
    if len(trailer) > 4:
        raise MalformedToken("zlib", "bytes after the end of the stream")
    return cose


def _zlib_reason(compressed: bytes, exc: zlib.error) -> str:
    # A stream that names a preset dictionary (FDICT, RFC 1950 §2.2) other than RN1's.
    if len(compressed) >= 6 and compressed[1] & 0x20:
        dict_id = int.from_bytes(compressed[2:6], "big")
        if dict_id != DICTIONARY_ID:
            return f"stream needs preset dictionary {dict_id:#010x}, not RN1's {DICTIONARY_ID:#010x}"
    return str(exc)


def parse_token(text: str | bytes) -> UnverifiedToken:
    """Read QR text without checking its signature; raise MalformedToken."""
    protected, alg, kid, claims, signature, sig_structure, cose = read_token(text)
    return UnverifiedToken(protected, alg, kid, LicenceClaims(*claims), signature, sig_structure, cose)


def read_token(
    text: str | bytes,
) -> tuple[dict[int, Any], int, bytes, ClaimFields, bytes, bytes, bytes]:
    """Return the fields of `parse_token` as a tuple (the verifier's hot path makes no object)."""
    fast = read_issued(text)
    if fast is not None:
        alg, kid, signature, sig_structure, cose, claims = fast
        return {1: alg, 4: kid}, alg, kid, claims, signature, sig_structure, cose
    return read_token_layers(text)


def read_token_layers(
    text: str | bytes,
) -> tuple[dict[int, Any], int, bytes, ClaimFields, bytes, bytes, bytes]:
    """Return `read_token`'s fields layer by layer, naming the first that is wrong (MalformedToken)."""
    cose = decode_cose(text)
    protected, alg, kid, payload, signature, sig_structure = read_sign1(cose)
    return protected, alg, kid, read_claims(payload), signature, sig_structure, cose


def _no_fast_reader(text: str | bytes) -> None:
    return None


#: `read_issued(text)` reads a token laid out exactly as issuers write it in one C call
#: (verifiers/_rn1_c.c) and returns (alg, kid, signature, sig_structure, cose, claims), or
#: None for any other text, which `read_token_layers` then reads. Where the C module was not
#: built, it is always None. tests/verifiers/test_rn1_reader.py holds the two paths together.
read_issued: Callable[[str | bytes], tuple[int, bytes, bytes, bytes, bytes, ClaimFields] | None]
try:
    from verifiers import _rn1_c
except ImportError:  # pragma: no cover - only where the C extension was not built
    read_issued = _no_fast_reader
else:
    _rn1_c.configure(DICTIONARY, tuple(sorted(_STREAM_HEADS)), _COMPACT_HEADS, ClaimFields, _SIG_STRUCTURE_HEAD)
    read_issued = _rn1_c.read
