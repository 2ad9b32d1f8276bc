"""The title e-certificate's subject fields, and the owner commitments made from them.

A title certificate (不动产权证书, an e-licence) names the unit and every co-owner. Each
owner's ID number is its own salted field ``owner<n>Id`` (n from 1), so the certificate's
disclosure of that field, ``[salt, "owner<n>Id", id number]``, is a salted commitment of
the ID number: its SHA-256 digest is the owner's commitment on chain. The registry's node
keeps the salts with the certificate; an owner proves they are owner n by disclosing
that one field, which checks against both the certificate and the chain. The digest
already sits in the certificate's ``_sd`` list, so the chain learns nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.domain.disclosure import Disclosure
from ledger.domain.errors import InvalidLicence
from ledger.domain.property_types import MAX_OWNERS, SHARE_WHOLE

__all__ = [
    "ID_TYPES_FIELD",
    "PUBLIC_FIELDS",
    "SHARES_FIELD",
    "UNIT_NUMBER_FIELD",
    "TitleOwner",
    "certificate_fields",
    "owner_commitments",
    "owner_id_field",
]

UNIT_NUMBER_FIELD = "unitNumber"
SHARES_FIELD = "ownerSharesPpm"
ID_TYPES_FIELD = "ownerIdTypes"
#: What the certificate's QR token shows; ID numbers never are.
PUBLIC_FIELDS = ("holderName", UNIT_NUMBER_FIELD, SHARES_FIELD)


@dataclass(frozen=True, slots=True)
class TitleOwner:
    """A co-owner as the registry records them: ID number and type, name, share in ppm."""

    id_number: str
    id_type: str
    name: str
    share: int


def owner_id_field(index: int) -> str:
    """Return the certificate field holding owner ``index``'s ID number (0-based index)."""
    return f"owner{index + 1}Id"


def certificate_fields(unit_number: str, owners: Sequence[TitleOwner]) -> dict[str, str]:
    """Return the certificate's free fields for ``owners`` of ``unit_number``."""
    if not 0 < len(owners) <= MAX_OWNERS:
        raise InvalidLicence("owners", f"a title has 1 to {MAX_OWNERS} owners")
    if sum(o.share for o in owners) != SHARE_WHOLE:
        raise InvalidLicence("owners", f"shares must sum to {SHARE_WHOLE} ppm")
    fields = {UNIT_NUMBER_FIELD: unit_number,
              SHARES_FIELD: ",".join(str(o.share) for o in owners),
              ID_TYPES_FIELD: ",".join(o.id_type for o in owners)}
    fields.update({owner_id_field(i): o.id_number for i, o in enumerate(owners)})
    return fields


def owner_commitments(disclosures: Iterable[Disclosure], count: int) -> list[bytes]:
    """Return the commitments of owners ``0 .. count-1`` from a certificate's disclosures."""
    by_key = {d.key: d for d in disclosures}
    missing = [owner_id_field(i) for i in range(count) if owner_id_field(i) not in by_key]
    if missing:
        raise InvalidLicence("disclosures", f"the certificate has no {', '.join(missing)}")
    return [bytes.fromhex(by_key[owner_id_field(i)].digest()) for i in range(count)]
