"""COSE_Sign1: signing with pycose, and a fast parse-then-verify path.

Tokens and snapshots are *built* with pycose. They are *read* here (by slicing
when laid out as `Signer.sign1` writes them, otherwise with cbor2) and checked with
`cryptography` directly, because the verifier must manage well over ten thousand
checks a second; tests/verifiers/test_cose_agreement.py proves the paths agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pycose.algorithms import EdDSA, Es256, Es384
from pycose.headers import KID, Algorithm
from pycose.messages import Sign1Message

from verifiers.errors import MalformedToken
from verifiers.trust import ALG_EDDSA, ALG_ES256, ALG_ES384, ALG_NAMES, KeyRecord

COSE_SIGN1_TAG = 18
KID_LENGTH = 8
_SIGNATURE1 = "Signature1"
_PYCOSE_ALG = {ALG_ES256: Es256, ALG_ES384: Es384, ALG_EDDSA: EdDSA}
_SIGNATURE_LENGTH = {ALG_ES256: 64, ALG_ES384: 96, ALG_EDDSA: 64}
_ECDSA: dict[int, tuple[ec.ECDSA, int, type[ec.EllipticCurve]]] = {
    ALG_ES256: (ec.ECDSA(hashes.SHA256()), 32, ec.SECP256R1),
    ALG_ES384: (ec.ECDSA(hashes.SHA384()), 48, ec.SECP384R1),
}

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def kid_of(public_key_der: bytes) -> bytes:
    """Return the key id of a public key: sha256(SubjectPublicKeyInfo DER)[:8]."""
    return hashlib.sha256(public_key_der).digest()[:KID_LENGTH]


def alg_for_key(key: PrivateKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> int:
    """Return the COSE algorithm a key signs with: P-256 ES256, P-384 ES384, Ed25519 EdDSA."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return ALG_EDDSA
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return ALG_ES256
        if isinstance(key.curve, ec.SECP384R1):
            return ALG_ES384
    raise ValueError(f"unsupported key type {type(key).__name__}")


class Signer:
    """A department signing key: P-256 (ES256), P-384 (ES384) or Ed25519 (EdDSA)."""

    def __init__(self, private_key: PrivateKey) -> None:
        self.alg = alg_for_key(private_key)
        self._private_key = private_key
        self.public_key_der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = kid_of(self.public_key_der)
        self._protected: bytes = Sign1Message(
            phdr={Algorithm: _PYCOSE_ALG[self.alg], KID: self.kid}
        ).phdr_encoded
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            self._ecdsa = ec.ECDSA(hashes.SHA384() if self.alg == ALG_ES384 else hashes.SHA256())
            self._size = 48 if self.alg == ALG_ES384 else 32
        # What every message and Sig_structure of this key starts with (see `sign1`).
        protected_bstr = _bstr_head(len(self._protected)) + self._protected
        self._structure_head = _SIG_STRUCTURE_HEAD + protected_bstr + b"\x40"
        self._message_head = _SIGN1_HEAD + protected_bstr + b"\xa0"
        self._signature_head = _bstr_head(_SIGNATURE_LENGTH[self.alg])

    @classmethod
    def from_pem(cls, pem: bytes, password: bytes | None = None) -> Signer:
        """Load a signer from a PKCS#8 or SEC1 PEM private key."""
        key = serialization.load_pem_private_key(pem, password)
        if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise ValueError(f"unsupported key type {type(key).__name__}")
        return cls(key)

    @classmethod
    def generate(cls, alg: int = ALG_ES256) -> Signer:
        """Return a signer with a fresh key for `alg`."""
        if alg == ALG_EDDSA:
            return cls(ed25519.Ed25519PrivateKey.generate())
        if alg in _ECDSA:
            return cls(ec.generate_private_key(_ECDSA[alg][2]()))
        raise ValueError(f"unsupported COSE algorithm {alg}")

    @property
    def alg_name(self) -> str:
        """Return the COSE name of the signing algorithm."""
        return ALG_NAMES[self.alg]

    def private_pem(self) -> bytes:
        """Return the private key as unencrypted PKCS#8 PEM (for test vectors only)."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def key_record(
        self,
        department: str,
        valid_from: int,
        valid_to: int | None = None,
        compromised_since: int | None = None,
    ) -> KeyRecord:
        """Return the directory record of this key for `department`."""
        return KeyRecord(
            self.kid, department, self.alg, self.public_key_der,
            valid_from, valid_to, compromised_since,
        )

    def sign1(self, payload: bytes) -> bytes:
        """Return a tagged COSE_Sign1 over `payload`, protected header {alg, kid}.

        The protected header is encoded once, by pycose, when the signer is made; each
        message is then laid out around it (RFC 9052 §4.2 and §4.4) and signed with
        `cryptography`. `sign1_pycose` builds the same message wholly through pycose;
        tests/verifiers/test_cose_agreement.py proves the two are byte-identical but
        for the (randomised) signature, and that pycose verifies ours.
        """
        payload_bstr = _bstr_head(len(payload)) + payload
        signature = self._sign_raw(self._structure_head + payload_bstr)
        return b"".join((self._message_head, payload_bstr, self._signature_head, signature))

    def sign1_pycose(self, payload: bytes) -> bytes:
        """Return the COSE_Sign1 of `sign1`, laid out by pycose (slower; the reference)."""
        message = Sign1Message(
            phdr={Algorithm: _PYCOSE_ALG[self.alg], KID: self.kid}, payload=payload
        )
        # pycose signs ES256 with the pure-Python `ecdsa` (~1 ms each): sign with `cryptography`.
        message.signature = self._sign_raw(message._create_sig_structure(None))
        encoded: bytes = message.encode(tag=True, sign=False)
        return encoded

    def _sign_raw(self, data: bytes) -> bytes:
        """Return the COSE signature over `data`: raw r‖s for ECDSA, 64 bytes for Ed25519."""
        key = self._private_key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        return der_to_raw(key.sign(data, self._ecdsa), self._size)


@dataclass(frozen=True, slots=True)
class UnverifiedSign1:
    """A COSE_Sign1 read but not yet checked: header, payload and the bytes to verify."""

    protected: dict[int, Any]
    alg: int
    kid: bytes
    unverified_payload: bytes
    signature: bytes
    sig_structure: bytes


def parse_sign1(data: bytes) -> UnverifiedSign1:
    """Read a tagged COSE_Sign1 without checking it; raise MalformedToken('cose', …)."""
    return UnverifiedSign1(*read_sign1(data))


def read_sign1(data: bytes) -> tuple[dict[int, Any], int, bytes, bytes, bytes, bytes]:
    """Return the fields of `parse_sign1` as a tuple (the verifier's hot path makes no object)."""
    fields = _read_compact(data)
    return fields if fields is not None else _read_general(data)


def _read_compact(data: bytes) -> tuple[dict[int, Any], int, bytes, bytes, bytes, bytes] | None:
    """Read the exact layout `Signer.sign1` writes by slicing, or return None for anything else.

    18([bstr {1: alg, 4: kid}, {}, bstr payload (24..65535 bytes), bstr signature]) with
    every head in its shortest form and nothing after the signature: what cbor2 would
    decode from these bytes, without building the CBOR objects.
    """
    if len(data) < 32:
        return None
    known = _COMPACT_HEADS.get(data[:8]) or _COMPACT_HEADS.get(data[:9])
    if known is None:
        return None
    alg, end, tail = known  # end: where the kid stops and the empty unprotected map {} sits
    head = data[end + 1]
    if data[end] != 0xA0:
        return None
    if head == 0x59:
        start, size = end + 4, (data[end + 2] << 8) | data[end + 3]
        if size < 0x100:
            return None
    elif head == 0x58:
        start, size = end + 3, data[end + 2]
        if size < 24:
            return None
    else:
        return None
    stop = start + size
    if len(data) != stop + len(tail) + tail[1] or data[stop:stop + 2] != tail:
        return None
    kid = data[end - KID_LENGTH:end]
    sig_structure = b"".join((_SIG_STRUCTURE_HEAD, data[2:end], b"\x40", data[end + 1:stop]))
    return {1: alg, 4: kid}, alg, kid, data[start:stop], data[stop + 2:], sig_structure


def _read_general(data: bytes) -> tuple[dict[int, Any], int, bytes, bytes, bytes, bytes]:
    try:
        message = cbor2.loads(data)
    except Exception as exc:  # cbor2 raises many types on hostile input
        raise MalformedToken("cose", f"not CBOR: {exc}") from None
    if not isinstance(message, cbor2.CBORTag) or message.tag != COSE_SIGN1_TAG:
        raise MalformedToken("cose", "not a tagged COSE_Sign1 (tag 18)")
    body = message.value
    if not isinstance(body, list) or len(body) != 4:
        raise MalformedToken("cose", "COSE_Sign1 is not a 4-element array")
    protected_bstr, unprotected, payload, signature = body
    if not isinstance(protected_bstr, bytes) or not isinstance(unprotected, dict):
        raise MalformedToken("cose", "headers have the wrong types")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise MalformedToken("cose", "payload or signature is not a byte string")
    protected = _FAST_HEADERS.get(protected_bstr[:-KID_LENGTH])
    if protected is not None and len(protected_bstr) == len(protected[0]) + KID_LENGTH:
        alg, kid = protected[1], protected_bstr[-KID_LENGTH:]
        header: dict[int, Any] = {1: alg, 4: kid}
    else:
        header = _decode_protected(protected_bstr)
        alg, kid = header[1], header[4]
    if len(signature) != _SIGNATURE_LENGTH[alg]:
        raise MalformedToken("cose", f"{ALG_NAMES[alg]} signature is not {_SIGNATURE_LENGTH[alg]} bytes")
    sig_structure = b"".join((
        _SIG_STRUCTURE_HEAD, _bstr_head(len(protected_bstr)), protected_bstr,
        b"\x40", _bstr_head(len(payload)), payload,
    ))
    return header, alg, kid, payload, signature, sig_structure


def _decode_protected(protected_bstr: bytes) -> dict[int, Any]:
    try:
        protected = cbor2.loads(protected_bstr)
    except Exception as exc:
        raise MalformedToken("cose", f"protected header is not CBOR: {exc}") from None
    if not isinstance(protected, dict) or set(protected) != {1, 4}:
        raise MalformedToken("cose", "protected header must hold exactly alg (1) and kid (4)")
    alg, kid = protected[1], protected[4]
    if type(alg) is not int or alg not in _SIGNATURE_LENGTH:
        raise MalformedToken("cose", f"unsupported algorithm {alg!r}")
    if not isinstance(kid, bytes) or len(kid) != KID_LENGTH:
        raise MalformedToken("cose", "kid is not 8 bytes")
    return protected


def _bstr_head(length: int) -> bytes:
    """Return the CBOR head of a byte string of `length` bytes (major type 2)."""
    if length < 24:
        return bytes([0x40 | length])
    if length < 0x100:
        return bytes([0x58, length])
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    if length < 0x100000000:
        return b"\x5a" + length.to_bytes(4, "big")
    return b"\x5b" + length.to_bytes(8, "big")


# Sig_structure = ["Signature1", protected, external_aad = b"", payload] (RFC 9052 §4.4),
# written out by hand: cbor2.dumps costs more than the rest of the parse.
_SIG_STRUCTURE_HEAD = b"\x84\x6aSignature1"
# COSE_Sign1 = 18([protected, unprotected, payload, signature]): tag 18, array of 4.
_SIGN1_HEAD = b"\xd2\x84"

# The canonical protected headers pycose writes, {1: alg, 4: kid}, without the kid bytes:
# matching them skips a cbor2 call; anything else is decoded and checked in full.
_FAST_HEADERS: dict[bytes, tuple[bytes, int]] = {
    prefix: (prefix, alg)
    for prefix, alg in (
        (b"\xa2\x01\x26\x04\x48", ALG_ES256),
        (b"\xa2\x01\x27\x04\x48", ALG_EDDSA),
        (b"\xa2\x01\x38\x22\x04\x48", ALG_ES384),
    )
}


#: COSE_Sign1 heads `Signer.sign1` writes, tag 18 to the kid's bstr head, by length:
#: (alg, where the kid ends, the signature's bstr head).
_COMPACT_HEADS: dict[bytes, tuple[int, int, bytes]] = {
    _SIGN1_HEAD + bytes((0x40 + len(prefix) + KID_LENGTH,)) + prefix: (
        alg, len(_SIGN1_HEAD) + 1 + len(prefix) + KID_LENGTH,
        bytes((0x58, _SIGNATURE_LENGTH[alg])),
    )
    for prefix, (_, alg) in _FAST_HEADERS.items()
}


@lru_cache(maxsize=4096)
def load_public_key(public_key_der: bytes) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    """Load (once, then from cache) a SubjectPublicKeyInfo DER public key."""
    key = serialization.load_der_public_key(public_key_der)
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise ValueError(f"unsupported public key type {type(key).__name__}")
    return key


def verify_signature(alg: int, public_key_der: bytes, sig_structure: bytes, signature: bytes) -> bool:
    """Return whether `signature` (COSE raw form) over `sig_structure` verifies under the key."""
    check = _CHECKERS.get((alg, public_key_der))
    if check is None:
        check = _checker(alg, load_public_key(public_key_der))
        if len(_CHECKERS) >= _MAX_CHECKERS:
            _CHECKERS.clear()
        _CHECKERS[(alg, public_key_der)] = check
    try:
        check(signature, sig_structure)
    except InvalidSignature:
        return False
    return True


_MAX_CHECKERS = 4096
#: Loaded public keys ready to check one algorithm, by (alg, SPKI DER): the kid's key.
_CHECKERS: dict[tuple[int, bytes], Callable[[bytes, bytes], None]] = {}


def _refuse(signature: bytes, data: bytes) -> None:
    raise InvalidSignature


def _checker(
    alg: int, key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
) -> Callable[[bytes, bytes], None]:
    """Return a function that raises InvalidSignature unless a raw signature verifies."""
    if alg == ALG_EDDSA:
        return key.verify if isinstance(key, ed25519.Ed25519PublicKey) else _refuse
    if alg not in _ECDSA:
        return _refuse
    algorithm, size, curve = _ECDSA[alg]
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, curve):
        return _refuse
    verify = key.verify

    def check(signature: bytes, data: bytes) -> None:
        if len(signature) != 2 * size:
            raise InvalidSignature
        verify(raw_to_der(signature), data, algorithm)

    return check


def raw_to_der(signature: bytes) -> bytes:
    """Return a raw ECDSA signature r‖s (two equal halves) as DER, as encode_dss_signature would.

    Written out because converting both halves to int and back through cryptography's
    encode_dss_signature costs more than the rest of the signature check's Python.
    """
    half = len(signature) // 2
    r, s = signature[:half], signature[half:]
    if half in (32, 48) and r[0] and s[0]:  # nothing to strip: all but ~1 in 128 signatures
        head, middle = _DER_PARTS[half, r[0] > 0x7F, s[0] > 0x7F]
        return b"".join((head, r, middle, s))
    r, s = r.lstrip(b"\0"), s.lstrip(b"\0")
    if not r or r[0] > 0x7F:  # DER INTEGERs are signed: a set top bit needs a zero byte first
        r = b"\0" + r
    if not s or s[0] > 0x7F:
        s = b"\0" + s
    # P-256 and P-384 halves give at most 2 × (2 + 49) bytes: every length fits one byte.
    return b"".join((b"\x30", _SHORT[len(r) + len(s) + 4], b"\x02", _SHORT[len(r)], r,
                     b"\x02", _SHORT[len(s)], s))


def der_to_raw(signature: bytes, size: int) -> bytes:
    """Return a DER ECDSA signature as raw r‖s of `size`-byte halves, as decode_dss_signature would.

    Sliced by hand, the inverse of `raw_to_der`: cryptography always writes the short
    DER form (SEQUENCE {INTEGER r, INTEGER s}, one-byte lengths for P-256 and P-384).
    """
    r_end = 4 + signature[3]
    r, s = signature[4:r_end], signature[r_end + 2:]
    return r[-size:].rjust(size, b"\0") + s[-size:].rjust(size, b"\0")


_SHORT = [bytes((n,)) for n in range(128)]
#: (half size, r needs a zero byte, s needs one) → the DER bytes before r and between r and s.
_DER_PARTS: dict[tuple[int, bool, bool], tuple[bytes, bytes]] = {
    (half, pad_r, pad_s): (
        bytes((0x30, 2 * half + 4 + pad_r + pad_s, 0x02, half + pad_r)) + b"\0" * pad_r,
        bytes((0x02, half + pad_s)) + b"\0" * pad_s,
    )
    for half in (32, 48) for pad_r in (False, True) for pad_s in (False, True)
}
