"""Salted selective-disclosure entries ``[salt, key, value]`` and their digests."""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from functools import partial
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from ledger.domain.errors import InvalidLicence, MalformedDocument

__all__ = [
    "FIELD_KEY_PATTERN",
    "HOLDER_ID",
    "HOLDER_ID_TYPE",
    "HOLDER_NAME",
    "MAX_FIELD_VALUE_LENGTH",
    "SALT_BYTES",
    "AREA_CODE",
    "PRINTED_NUMBER",
    "SERVICE_ITEM",
    "Disclosure",
    "decode_salt",
    "encode_salt",
    "new_disclosure",
    "salted_fields",
    "seal_fields",
    "seal_fields_json",
]

SALT_BYTES = 16
MAX_FIELD_VALUE_LENGTH = 1024
MAX_SAFE_INTEGER = 2**53 - 1
FIELD_KEY_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_SALT_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")

# Standard subject field keys (DOMAIN.md "E-licence metadata"); any other key is a free field.
HOLDER_NAME = "holderName"
HOLDER_ID = "holderId"
HOLDER_ID_TYPE = "holderIdType"
PRINTED_NUMBER = "printedNumber"
AREA_CODE = "areaCode"
SERVICE_ITEM = "serviceItem"

_B64URL = bytes.maketrans(b"+/", b"-_")
_B64URL_BACK = str.maketrans("-_", "+/")


def encode_salt(raw: bytes) -> str:
    """Return 16 salt bytes as unpadded base64url (22 characters)."""
    return binascii.b2a_base64(raw, newline=False)[:22].translate(_B64URL).decode("ascii")


def decode_salt(text: str) -> bytes:
    """Return the 16 bytes of a salt written by :func:`encode_salt`; InvalidLicence otherwise."""
    if type(text) is not str or _SALT_PATTERN.fullmatch(text) is None:
        raise InvalidLicence("salt", "a salt is 22 base64url characters")
    raw = binascii.a2b_base64(text.translate(_B64URL_BACK) + "==")
    # 22 characters carry 132 bits: a salt whose last 4 bits are not zero has no 16-byte form
    if encode_salt(raw) != text:
        raise InvalidLicence("salt", "the salt is not the base64url form of 16 bytes")
    return raw


def check_field(key: object, value: object) -> str:
    """Validate one subject field and return the JSON text of its value."""
    if type(key) is not str or FIELD_KEY_PATTERN.fullmatch(key) is None:
        raise InvalidLicence(f"fields[{key!r}]", "key must match [A-Za-z][A-Za-z0-9_]{0,63}")
    if type(value) is str:
        if len(value) > MAX_FIELD_VALUE_LENGTH:
            raise InvalidLicence(f"fields.{key}", f"longer than {MAX_FIELD_VALUE_LENGTH}")
        return encode_basestring(value)
    if type(value) is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise InvalidLicence(f"fields.{key}", "integer outside the JSON safe range ±(2^53-1)")
        return str(value)
    raise InvalidLicence(f"fields.{key}", "value must be a string or an integer")


class Disclosure(NamedTuple):
    """One salted subject field; its digest sits in the document's ``_sd`` list."""

    salt: str
    key: str
    value: str | int

    def canonical(self) -> bytes:
        """Return the RFC 8785 bytes of ``[salt, key, value]``."""
        value_json = check_field(self.key, self.value)
        text = f'[{encode_basestring(self.salt)},"{self.key}",{value_json}]'
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidLicence(f"fields.{self.key}", "not valid Unicode text") from exc

    def digest(self) -> str:
        """Return the lowercase hex SHA-256 of the canonical disclosure."""
        return hashlib.sha256(self.canonical()).hexdigest()

    def to_json(self) -> list[str | int]:
        """Return the wire form ``[salt, key, value]``."""
        return [self.salt, self.key, self.value]

    @classmethod
    def from_json(cls, item: Any) -> Disclosure:
        """Parse the wire form, raising :class:`MalformedDocument` on a wrong shape."""
        if not isinstance(item, list | tuple) or len(item) != 3:
            raise MalformedDocument("a disclosure is a [salt, key, value] array")
        salt, key, value = item
        if type(salt) is not str or _SALT_PATTERN.fullmatch(salt) is None:
            raise MalformedDocument("a disclosure salt is 22 base64url characters")
        try:
            check_field(key, value)
        except InvalidLicence as exc:
            raise MalformedDocument(f"bad disclosure: {exc}") from exc
        return cls(salt, key, value)


#: Make a Disclosure of a checked ``(salt, key, value)`` tuple, skipping NamedTuple's Python ``__new__``.
new_disclosure: Callable[[tuple[str, str, str | int]], Disclosure] = partial(tuple.__new__, Disclosure)
# Keys already validated; bounded so hostile input cannot grow it without limit.
_admitted_keys: set[str] = set()
_ADMITTED_KEYS_MAX = 4096


def _admit(key: object, value: object) -> None:
    """Validate one field the slow way and remember its key."""
    check_field(key, value)
    if len(_admitted_keys) < _ADMITTED_KEYS_MAX:
        _admitted_keys.add(key)  # type: ignore[arg-type]


def seal_fields(fields: Mapping[str, str | int], raw_salts: bytes) -> tuple[tuple[Disclosure, ...], list[str]]:
    """Salt every field and return the disclosures with their hex digests (the hot path).

    ``raw_salts`` holds ``16 × len(fields)`` random bytes. The digests are
    byte-for-byte those of :meth:`Disclosure.digest`; the tests hold it to that.
    """
    disclosures, digests, _ = seal_fields_json(fields, raw_salts)
    return disclosures, digests


def seal_fields_json(fields: Mapping[str, str | int],
                     raw_salts: bytes) -> tuple[tuple[Disclosure, ...], list[str], str]:
    """Return :func:`seal_fields`' disclosures and digests plus the disclosures' JSON array.

    The JSON is what ``json.dumps([d.to_json() …], ensure_ascii=False,
    separators=(",", ":"))`` writes, joined from the texts that were hashed.
    """
    salts, digests, disclosures_json = salted_fields(fields, raw_salts)
    disclosures = tuple(map(new_disclosure, zip(salts, fields, fields.values(), strict=True)))
    return disclosures, digests, disclosures_json


def salted_fields(fields: Mapping[str, str | int], raw_salts: bytes) -> tuple[list[str], list[str], str]:
    """Check and salt every field; return the salts, the digests and the disclosures' JSON array.

    :func:`seal_fields_json` without the :class:`Disclosure` objects, which issuing
    does not need: it stores the JSON and commits to the digests.
    """
    keys = list(fields)
    values = list(fields.values())
    admitted = _admitted_keys
    for key, value in zip(keys, values, strict=True):
        kind = type(value)
        if (
            key not in admitted
            or (kind is str and len(value) > MAX_FIELD_VALUE_LENGTH)  # type: ignore[arg-type]
            or (kind is int and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)  # type: ignore[operator]
            or (kind is not str and kind is not int)
        ):
            _admit(key, value)
    b2a = binascii.b2a_base64
    encoded = b"".join(
        [b2a(raw_salts[i : i + SALT_BYTES], newline=False) for i in range(0, len(raw_salts), SALT_BYTES)]
    )
    text = encoded.translate(_B64URL).decode("ascii")
    salts = [text[i : i + 22] for i in range(0, len(text), 24)]
    value_json = [encode_basestring(v) if type(v) is str else str(v) for v in values]
    sha256 = hashlib.sha256
    texts = [f'["{salt}","{key}",{value}]' for salt, key, value in zip(salts, keys, value_json, strict=True)]
    try:
        digests = [sha256(text.encode()).hexdigest() for text in texts]
    except UnicodeEncodeError as exc:
        raise InvalidLicence("fields", "values must be valid Unicode text") from exc
    return salts, digests, "[" + ",".join(texts) + "]"
