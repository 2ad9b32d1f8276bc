"""The e-licence document: build it, present a subset of fields, verify a presentation.

The committed document is the W3C VC 2.0-shaped object of docs/internals.md.
Issuance is hot (≥ 10,000 licences a second per node), so :func:`build_licence`
writes the RFC 8785 bytes directly from precomputed fragments instead of
canonicalising a dict; the tests prove the bytes equal ``rfc8785.dumps`` of the
returned document. Verification takes the general, slower path on purpose.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from ledger.domain.canonical import canonical_json, keccak256
from ledger.domain.disclosure import SALT_BYTES, Disclosure, decode_salt, new_disclosure, salted_fields
from ledger.domain.errors import (
    InvalidIdentifier,
    InvalidLicence,
    MalformedDocument,
    TamperedDocument,
)
from ledger.domain.identifiers import LICENCE_OID_ROOT, LicenceIdentifier, validate_uscc

__all__ = [
    "CONTEXT",
    "DOCUMENT_TYPE",
    "MAX_FIELDS",
    "IssuedLicence",
    "Presentation",
    "VerifiedPresentation",
    "CommittedLicence",
    "build_licence",
    "commit_licence",
    "format_timestamp",
    "present",
    "verify_presentation",
]

CONTEXT = ("https://www.w3.org/ns/credentials/v2", "https://regnode.dev/ns/licence/v1")
DOCUMENT_TYPE = ("VerifiableCredential", "ELicence")
ID_PREFIX = "urn:gbt36904:"
ISSUER_PREFIX = "urn:regnode:dept:"
MAX_FIELDS = 64
MAX_TYPE_NAME_LENGTH = 64
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z
_DEPARTMENT_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,31}")
_REGION = re.compile(r"[0-9]{6}")
_SD_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class IssuedLicence:
    """A freshly built licence: the committed document, every disclosure, digest and leaf."""

    document: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    document_digest: bytes
    leaf: bytes
    #: The RFC 8785 text of ``document``: the exact bytes ``document_digest`` hashes.
    canonical: str = ""
    #: The disclosures as a compact JSON array of ``[salt, key, value]`` (non-ASCII kept).
    disclosures_json: str = ""

    @property
    def identifier(self) -> str:
        """Return the GB/T 36904 identifier text."""
        return str(self.document["id"])[len(ID_PREFIX) :]


@lru_cache(maxsize=65536)
def format_timestamp(seconds: int) -> str:
    """Return unix ``seconds`` as an RFC 3339 UTC timestamp ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _check_time(name: str, value: object) -> int:
    """Return ``value`` when it is a plausible unix timestamp in seconds."""
    if type(value) is not int or not 0 <= value <= MAX_TIMESTAMP:
        raise InvalidLicence(name, "must be integer unix seconds between 1970 and 9999")
    return value


@lru_cache(maxsize=1024)
def _issuer_fragment(code: str, uscc: str, region: str) -> tuple[str, tuple[str, str, str]]:
    """Validate the issuer once per distinct issuer and return its JSON text."""
    if type(code) is not str or _DEPARTMENT_CODE.fullmatch(code) is None:
        raise InvalidLicence("issuer_code", "must be an upper-case ASCII code of ≤ 32 bytes")
    try:
        validate_uscc(uscc)
    except InvalidIdentifier as exc:
        raise InvalidLicence("issuer_uscc", exc.reason) from exc
    if type(region) is not str or _REGION.fullmatch(region) is None:
        raise InvalidLicence("issuer_region", "must be a 6-digit administrative division code")
    issuer_id = ISSUER_PREFIX + code
    text = f'{{"id":"{issuer_id}","region":"{region}","uscc":"{uscc}"}}'
    return text, (issuer_id, region, uscc)


@lru_cache(maxsize=1024)
def _type_fragment(licence_type: str, type_name: str) -> str:
    """Validate the licence type once per distinct type and return its JSON text."""
    if type(type_name) is not str or not type_name.strip():
        raise InvalidLicence("type_name", "must be a non-empty string")
    if len(type_name) > MAX_TYPE_NAME_LENGTH:
        raise InvalidLicence("type_name", f"longer than {MAX_TYPE_NAME_LENGTH} characters")
    if not type_name.isprintable():  # also refuses lone surrogates (category Cs)
        raise InvalidLicence("type_name", "must be printable Unicode text")
    return f',"licenceType":"{licence_type}","typeName":{encode_basestring(type_name)}}}'


_HEAD = '{"@context":["' + '","'.join(CONTEXT) + '"],"credentialSubject":{"_sd":'
_TYPE_JSON = '"type":["' + '","'.join(DOCUMENT_TYPE) + '"]'


def build_licence(
    identifier: LicenceIdentifier | str,
    issuer_code: str,
    issuer_uscc: str,
    issuer_region: str,
    licence_type: str,
    type_name: str,
    valid_from: int,
    valid_until: int | None,
    issued_at: int,
    fields: Mapping[str, str | int],
    salt_source: Callable[[int], bytes] = os.urandom,
    salts: Mapping[str, str] | None = None,
) -> IssuedLicence:
    """Build the committed document, its disclosures, digest and Merkle leaf.

    Times are unix seconds; ``valid_until=None`` means open-ended. The
    identifier's type code and issuer must equal ``licence_type`` and
    ``issuer_uscc``. ``salt_source(n)`` is called once with ``16 × len(fields)``;
    ``salts`` (field → salt as :func:`~ledger.domain.disclosure.encode_salt` writes it)
    replaces the drawn salt of the fields it names, so a disclosure made before
    issuance (a buyer's owner commitment) is exactly the licence's.
    """
    if not isinstance(identifier, LicenceIdentifier):
        try:
            identifier = LicenceIdentifier.parse(identifier)
        except InvalidIdentifier as exc:
            raise InvalidLicence("identifier", exc.reason) from exc
    issuer_json, issuer_parts = _issuer_fragment(issuer_code, issuer_uscc, issuer_region)
    if identifier.issuer_uscc != issuer_uscc:
        raise InvalidLicence("identifier", "issuer USCC differs from issuer_uscc")
    if identifier.type_code != licence_type:
        raise InvalidLicence("identifier", "type code differs from licence_type")
    text_id = identifier.text
    canonical, salt_texts, digests, disclosures_json = _seal(
        text_id, issuer_json, licence_type, type_name, valid_from, valid_until, issued_at, fields,
        salt_source, salts,
    )
    document_digest = hashlib.sha256(canonical.encode()).digest()
    disclosures = tuple(map(new_disclosure, zip(salt_texts, fields, fields.values(), strict=True)))

    issuer_id, region, uscc = issuer_parts
    document: dict[str, Any] = {
        "@context": list(CONTEXT),
        "type": list(DOCUMENT_TYPE),
        "id": ID_PREFIX + text_id,
        "issuer": {"id": issuer_id, "uscc": uscc, "region": region},
        "validFrom": format_timestamp(valid_from),
        "credentialSubject": {"licenceType": licence_type, "typeName": type_name, "_sd": digests},
        "issuedAt": issued_at,
    }
    if valid_until is not None:
        document["validUntil"] = format_timestamp(valid_until)
    return IssuedLicence(document, disclosures, document_digest, keccak256(document_digest), canonical,
                         disclosures_json)


class CommittedLicence(NamedTuple):
    """What issuing stores and signs of a licence: its RFC 8785 text, disclosures, digest, leaf."""

    canonical: str
    disclosures_json: str
    document_digest: bytes
    leaf: bytes


def commit_licence(
    identifier: str, issuer: tuple[str, str, str], licence_type: str, type_name: str, valid_from: int,
    valid_until: int | None, issued_at: int, fields: Mapping[str, str | int],
    salt_source: Callable[[int], bytes] = os.urandom, salts: Mapping[str, str] | None = None,
) -> CommittedLicence:
    """Return the bytes :func:`build_licence` commits to, without its document and disclosure objects.

    Issuing's hot path: ``identifier`` is the text of a :class:`LicenceIdentifier` the caller
    built (so its check character is not computed again); it must still name ``licence_type``
    and ``issuer_uscc`` of ``issuer``, the tuple ``(issuer_code, issuer_uscc, issuer_region)``.
    Every other input is checked as :func:`build_licence` checks it.
    """
    issuer_code, issuer_uscc, issuer_region = issuer
    issuer_json, _ = _issuer_fragment(issuer_code, issuer_uscc, issuer_region)
    if type(identifier) is not str or not identifier.startswith(f"{LICENCE_OID_ROOT}.{licence_type}.{issuer_uscc}."):
        raise InvalidLicence("identifier", "not an identifier of licence_type issued by issuer_uscc")
    canonical, _, _, disclosures_json = _seal(
        identifier, issuer_json, licence_type, type_name, valid_from, valid_until, issued_at, fields,
        salt_source, salts,
    )
    document_digest = hashlib.sha256(canonical.encode()).digest()
    return CommittedLicence(canonical, disclosures_json, document_digest, keccak256(document_digest))


def _seal(
    text_id: str, issuer_json: str, licence_type: str, type_name: str, valid_from: int,
    valid_until: int | None, issued_at: int, fields: Mapping[str, str | int],
    salt_source: Callable[[int], bytes], salts: Mapping[str, str] | None,
) -> tuple[str, list[str], list[str], str]:
    """Check the rest of a licence, salt its fields; return its RFC 8785 text, salts, ``_sd``, disclosures."""
    type_json = _type_fragment(licence_type, type_name)
    _check_time("issued_at", issued_at)
    valid_from_text = format_timestamp(_check_time("valid_from", valid_from))
    if valid_until is None:
        until_json = "}"
    else:
        if _check_time("valid_until", valid_until) <= valid_from:
            raise InvalidLicence("valid_until", "must be later than valid_from")
        until_json = f',"validUntil":"{format_timestamp(valid_until)}"}}'
    if (type(fields) is not dict and not isinstance(fields, Mapping)) or len(fields) > MAX_FIELDS:
        raise InvalidLicence("fields", f"must be a mapping of at most {MAX_FIELDS} fields")

    count = len(fields)
    raw_salts = salt_source(SALT_BYTES * count)
    if type(raw_salts) is not bytes or len(raw_salts) != SALT_BYTES * count:
        raise InvalidLicence("salt_source", f"must return exactly {SALT_BYTES * count} bytes")
    if salts:
        raw_salts = _with_given_salts(raw_salts, fields, salts)
    salt_texts, digests, disclosures_json = salted_fields(fields, raw_salts)
    digests.sort()
    sd_json = '["' + '","'.join(digests) + '"]' if digests else "[]"
    canonical = (
        f'{_HEAD}{sd_json}{type_json},"id":"{ID_PREFIX}{text_id}","issuedAt":{issued_at},'
        f'"issuer":{issuer_json},{_TYPE_JSON},"validFrom":"{valid_from_text}"{until_json}'
    )
    return canonical, salt_texts, digests, disclosures_json


def _with_given_salts(drawn: bytes, fields: Mapping[str, str | int], given: Mapping[str, str]) -> bytes:
    """Return ``drawn`` with the salts of the fields named in ``given`` replaced by theirs."""
    unknown = sorted(set(given).difference(fields))
    if unknown:
        raise InvalidLicence("salts", f"salts given for fields the licence does not have: {unknown}")
    out = bytearray(drawn)
    for position, key in enumerate(fields):
        if key in given:
            try:
                out[position * SALT_BYTES:(position + 1) * SALT_BYTES] = decode_salt(given[key])
            except InvalidLicence as exc:
                raise InvalidLicence(f"salts.{key}", exc.reason) from exc
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Presentation:
    """The committed document plus the disclosures the holder chose to reveal."""

    document: dict[str, Any]
    disclosures: tuple[Disclosure, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the wire form ``{"document": {...}, "disclosures": [[salt, key, value]]}``."""
        return {"document": self.document, "disclosures": [d.to_json() for d in self.disclosures]}

    @classmethod
    def from_json(cls, obj: Any) -> Presentation:
        """Parse the wire form, raising :class:`MalformedDocument` on a wrong shape."""
        if not isinstance(obj, Mapping) or set(obj) != {"document", "disclosures"}:
            raise MalformedDocument("a presentation has exactly 'document' and 'disclosures'")
        document, items = obj["document"], obj["disclosures"]
        if not isinstance(document, dict) or not isinstance(items, list):
            raise MalformedDocument("'document' is an object and 'disclosures' an array")
        return cls(document, tuple(Disclosure.from_json(item) for item in items))


@dataclass(frozen=True, slots=True)
class VerifiedPresentation:
    """What a verified presentation proves: which licence, its digest and leaf, the fields."""

    identifier: str
    document_digest: bytes
    leaf: bytes
    fields: dict[str, str | int]


def present(issued: IssuedLicence, keys: Iterable[str]) -> Presentation:
    """Return a presentation revealing only the fields named in ``keys``."""
    wanted = set(keys)
    unknown = wanted.difference(d.key for d in issued.disclosures)
    if unknown:
        raise InvalidLicence("keys", f"no such fields: {sorted(unknown)}")
    chosen = tuple(d for d in issued.disclosures if d.key in wanted)
    return Presentation(issued.document, chosen)


def _unverified_sd(document: Mapping[str, Any]) -> frozenset[str]:
    """Return the ``_sd`` digests of a document after checking the document's shape."""
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping) or not isinstance(subject.get("_sd"), list):
        raise MalformedDocument("credentialSubject._sd is missing")
    sd = subject["_sd"]
    if any(type(d) is not str or _SD_DIGEST.fullmatch(d) is None for d in sd):
        raise MalformedDocument("_sd holds lowercase hex SHA-256 digests")
    if any(a >= b for a, b in zip(sd, sd[1:], strict=False)):
        raise MalformedDocument("_sd must be sorted ascending without duplicates")
    return frozenset(sd)


def verify_presentation(presentation: Presentation, expected_leaf: bytes | None = None) -> VerifiedPresentation:
    """Check every disclosure against ``_sd`` and recompute the digest and leaf.

    Raises :class:`TamperedDocument` when a disclosure is not committed or the
    leaf differs from ``expected_leaf``; :class:`MalformedDocument` on a bad shape.
    """
    document = presentation.document
    if not isinstance(document, Mapping):
        raise MalformedDocument("the document is not an object")
    doc_id = document.get("id")
    if type(doc_id) is not str or not doc_id.startswith(ID_PREFIX):
        raise MalformedDocument(f"id must start with {ID_PREFIX}")
    try:
        LicenceIdentifier.parse(doc_id[len(ID_PREFIX) :])
    except InvalidIdentifier as exc:
        raise MalformedDocument(f"bad identifier: {exc.reason}") from exc
    committed = _unverified_sd(document)
    fields: dict[str, str | int] = {}
    for disclosure in presentation.disclosures:
        if disclosure.key in fields:
            raise MalformedDocument(f"field {disclosure.key} disclosed twice")
        if disclosure.digest() not in committed:
            raise TamperedDocument(f"disclosure of {disclosure.key} is not committed in _sd")
        fields[disclosure.key] = disclosure.value
    digest = hashlib.sha256(canonical_json(document)).digest()
    leaf = keccak256(digest)
    if expected_leaf is not None and leaf != expected_leaf:
        raise TamperedDocument("the document does not hash to the expected leaf")
    return VerifiedPresentation(doc_id[len(ID_PREFIX) :], digest, leaf, fields)
