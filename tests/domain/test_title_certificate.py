"""The title certificate's fields and the owner commitments made from its salted disclosures."""

from __future__ import annotations

import hashlib
import os

import pytest

from ledger.domain.disclosure import Disclosure, seal_fields
from ledger.domain.errors import InvalidLicence
from ledger.domain.title_certificate import (
    ID_TYPES_FIELD,
    SHARES_FIELD,
    UNIT_NUMBER_FIELD,
    TitleOwner,
    certificate_fields,
    owner_commitments,
    owner_id_field,
)

UNIT = "320684413219GB00029F00010002"
OWNERS = [TitleOwner("110101199001011234", "RESIDENT_ID", "张三", 600_000),
          TitleOwner("E12345678", "PASSPORT", "李四", 400_000)]


def test_fields_name_every_owner_once() -> None:
    fields = certificate_fields(UNIT, OWNERS)
    assert fields == {UNIT_NUMBER_FIELD: UNIT, SHARES_FIELD: "600000,400000",
                      ID_TYPES_FIELD: "RESIDENT_ID,PASSPORT",
                      "owner1Id": "110101199001011234", "owner2Id": "E12345678"}
    assert owner_id_field(31) == "owner32Id"


def test_a_commitment_is_the_digest_of_the_salted_id_field() -> None:
    fields = certificate_fields(UNIT, OWNERS)
    disclosures, digests = seal_fields(fields, os.urandom(16 * len(fields)))
    commitments = owner_commitments(disclosures, 2)
    by_key = dict(zip(fields, digests, strict=True))
    assert [c.hex() for c in commitments] == [by_key["owner1Id"], by_key["owner2Id"]]
    first = next(d for d in disclosures if d.key == "owner1Id")
    assert commitments[0] == hashlib.sha256(
        f'["{first.salt}","owner1Id","110101199001011234"]'.encode()).digest()
    # another salt, another commitment: the same person is unlinkable across titles
    again, _ = seal_fields(fields, os.urandom(16 * len(fields)))
    assert owner_commitments(again, 2) != commitments


def test_bad_owner_lists_are_refused() -> None:
    with pytest.raises(InvalidLicence):
        certificate_fields(UNIT, [])
    with pytest.raises(InvalidLicence):
        certificate_fields(UNIT, [OWNERS[0]])  # 60 % is not the whole
    with pytest.raises(InvalidLicence):
        owner_commitments([Disclosure("A" * 22, "owner1Id", "x")], 2)
