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
from dataclasses import dataclass, field
from typing import Any

import cbor2

from ledger.domain.canonical import keccak256
from verifiers._base45 import b45decode, b45encode
from verifiers.cose import Signer, UnverifiedSign1, parse_sign1, verify_signature
from verifiers.dictionary import DICTIONARY, DICTIONARY_ID
from verifiers.errors import BadSignature, MalformedToken
from verifiers.qr import qr_png, qr_svg, qr_version

__all__ = [
    "FORMAT_VERSION", "PREFIX", "LicenceClaims", "UnverifiedToken",
    "build_token", "parse_token", "leaf_of", "qr_png", "qr_svg", "qr_version",
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
        claims: dict[int, Any] = {
            1: self.version,
            2: self.identifier,
            3: self.issuer,
            4: self.issuer_region,
            5: self.licence_type,
            6: self.type_name,
            7: self.issued_at,
            8: self.valid_from,
        }
        if self.valid_until is not None:
            claims[9] = self.valid_until
        claims[10] = self.document_digest
        claims[11] = dict(self.disclosed)
        encoded: bytes = cbor2.dumps(claims, canonical=True)
        return encoded

    @classmethod
    def from_cbor(cls, payload: bytes) -> LicenceClaims:
        """Type a CBOR claims payload; raise MalformedToken('claims', …) on any wrong shape."""
        try:
            raw = cbor2.loads(payload)
        except Exception as exc:  # cbor2 raises many types on hostile input
            raise MalformedToken("claims", f"payload is not CBOR: {exc}") from None
        if type(raw) is not dict:
            raise MalformedToken("claims", "payload is not a map")
        keys = raw.keys()
        if not keys <= _CLAIM_KEYS:
            unknown = sorted(repr(k) for k in keys - _CLAIM_KEYS)
            raise MalformedToken("claims", f"unknown claim keys {unknown}")
        if len(raw) < len(_REQUIRED_KEYS) or not keys >= _REQUIRED_KEYS:
            raise MalformedToken("claims", f"claims {sorted(_REQUIRED_KEYS - keys)} are missing")
        # `type(x) is` rather than isinstance: a CBOR true must not pass for an int.
        if type(raw[1]) is not int or raw[1] != FORMAT_VERSION:
            raise MalformedToken("claims", f"format version {raw[1]!r} is not {FORMAT_VERSION}")
        identifier, issuer, region, licence_type, type_name = raw[2], raw[3], raw[4], raw[5], raw[6]
        if not (type(identifier) is str and type(issuer) is str and type(region) is str
                and type(licence_type) is str and type(type_name) is str
                and identifier and issuer and region and licence_type):
            key = next(k for k in _TEXT_KEYS if type(raw[k]) is not str or (not raw[k] and k != 6))
            raise MalformedToken("claims", f"claim {key} is not non-empty text")
        issued_at, valid_from, valid_until = raw[7], raw[8], raw.get(9)
        if not (type(issued_at) is int and type(valid_from) is int
                and (valid_until is None or type(valid_until) is int)
                and 0 <= issued_at <= _MAX_TIME and 0 <= valid_from <= _MAX_TIME
                and (valid_until is None or 0 <= valid_until <= _MAX_TIME)):
            key = next(k for k in _TIME_KEYS if type(raw.get(k, 0)) is not int
                       or not 0 <= raw.get(k, 0) <= _MAX_TIME)
            raise MalformedToken("claims", f"claim {key} is not a unix time")
        digest = raw[10]
        if type(digest) is not bytes or len(digest) != 32:
            raise MalformedToken("claims", "document digest (10) is not 32 bytes")
        disclosed = raw[11]
        if type(disclosed) is not dict:
            raise MalformedToken("claims", "disclosed fields (11) are not a map")
        for key, value in disclosed.items():
            if type(key) is not str or not (type(value) is str or type(value) is int):
                raise MalformedToken("claims", "disclosed fields (11) must map text to text or int")
        return cls(identifier, issuer, region, licence_type, type_name, issued_at, valid_from,
                   valid_until, digest, disclosed)


_CLAIM_KEYS = frozenset(range(1, 12))
_REQUIRED_KEYS = _CLAIM_KEYS - {9}
_TEXT_KEYS = (2, 3, 4, 5, 6)
_TIME_KEYS = (7, 8, 9)


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


#: zlib level 9 saves no byte over 6 on tokens this small and costs more time.
ZLIB_LEVEL = 6
_DEFLATER = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)


#: The six bytes every RN1 stream we write starts with (CMF, FLG, DICTID), and an
#: inflater that has read them and loaded the dictionary, to copy per token.
_STREAM_HEAD = _DEFLATER.copy().flush()[:6]
_INFLATER = zlib.decompressobj(zdict=DICTIONARY)
_INFLATER.decompress(_STREAM_HEAD)


def compress(cose: bytes) -> bytes:
    """Return `cose` as a zlib stream against the RN1 preset dictionary."""
    deflater = _DEFLATER.copy()  # the dictionary is loaded once, not per token
    return deflater.compress(cose) + deflater.flush()


def build_token(claims: LicenceClaims, signer: Signer) -> str:
    """Sign `claims` with `signer` and return the QR text."""
    return PREFIX + b45encode(compress(signer.sign1(claims.to_cbor())))


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
    if compressed[:6] == _STREAM_HEAD:  # our own header: start from the primed inflater
        inflater, body = _INFLATER.copy(), compressed[6:]
    else:
        inflater, body = zlib.decompressobj(zdict=DICTIONARY), compressed
    try:
        cose = inflater.decompress(body, MAX_COSE_BYTES)
    except zlib.error as exc:
        raise MalformedToken("zlib", _zlib_reason(compressed, exc)) from None
    if inflater.unconsumed_tail:
        raise MalformedToken("zlib", f"inflates beyond {MAX_COSE_BYTES} bytes")
    if not inflater.eof:
        raise MalformedToken("zlib", "stream is truncated")
    if inflater.unused_data:
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
    cose = decode_cose(text)
    sign1: UnverifiedSign1 = parse_sign1(cose)
    claims = LicenceClaims.from_cbor(sign1.unverified_payload)
    return UnverifiedToken(
        protected=sign1.protected,
        alg=sign1.alg,
        kid=sign1.kid,
        unverified_claims=claims,
        signature=sign1.signature,
        sig_structure=sign1.sig_structure,
        cose=cose,
    )
