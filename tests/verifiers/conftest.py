"""A small in-memory registry world for the verifier tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from verifiers import (
    ChainPosition,
    DepartmentRecord,
    KeyRecord,
    LicenceClaims,
    Signer,
    StatusEvent,
    TrustRelation,
    TrustSnapshot,
)
from verifiers.trust import ALG_EDDSA, ALG_ES256, ALG_ES384

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
SZ, BJ, SH = "440300", "110000", "310000"
BUSINESS = "11100000000013338W011"
NOW = 1_800_200_000


def make_claims(name: str = "a", **changes: object) -> LicenceClaims:
    """Return licence claims of MARKET (Shenzhen), issued an hour before NOW, open-ended."""
    claims = LicenceClaims(
        identifier=f"1.2.156.3005.2.{BUSINESS}.11430000006122244L.20260000001.001.U",
        issuer="MARKET",
        issuer_region=SZ,
        licence_type=BUSINESS,
        type_name="营业执照",
        issued_at=NOW - 3600,
        valid_from=NOW - 3600,
        valid_until=None,
        document_digest=hashlib.sha256(name.encode()).digest(),
        disclosed={"name": "深圳市星辰科技有限公司", "rep": "张伟", "cap": 1000},
    )
    return replace(claims, **changes)  # type: ignore[arg-type]


@dataclass
class World:
    """Departments, keys and a snapshot builder; tests add anchors, statuses and relations."""

    signers: dict[str, Signer]
    keys: list[KeyRecord]
    departments: list[DepartmentRecord] = field(default_factory=list)
    relations: list[TrustRelation] = field(default_factory=list)
    anchored: list[tuple[bytes, str]] = field(default_factory=list)
    statuses: dict[bytes, list[StatusEvent]] = field(default_factory=dict)

    def snapshot(self) -> TrustSnapshot:
        return TrustSnapshot(
            departments=self.departments, keys=self.keys, relations=self.relations,
            statuses=self.statuses, anchored=self.anchored,
            position=ChainPosition(1337, b"\x11" * 20, 99, b"\x22" * 32, NOW - 60),
            exported_at=NOW - 30, exporter="MARKET", exporter_kid=self.signers["market"].kid,
        )

    def anchor(self, claims: LicenceClaims, issuer: str | None = None) -> None:
        self.anchored.append((claims.leaf, issuer or claims.issuer))


_SIGNERS: dict[str, Signer] = {}


def _signer(name: str, alg: int) -> Signer:
    # Key generation is the slow part of these tests; one set per session is enough.
    if name not in _SIGNERS:
        _SIGNERS[name] = Signer.generate(alg)
    return _SIGNERS[name]


@pytest.fixture
def world() -> World:
    market_old = _signer("market_old", ALG_ES256)
    market = _signer("market", ALG_ES256)
    police = _signer("police", ALG_EDDSA)
    beijing = _signer("beijing", ALG_ES384)
    rogue = _signer("rogue", ALG_ES256)
    return World(
        signers={"market_old": market_old, "market": market, "police": police,
                 "beijing": beijing, "rogue": rogue},
        keys=[
            market_old.key_record("MARKET", NOW - 10**7, valid_to=NOW - 10**6),
            market.key_record("MARKET", NOW - 10**6),
            police.key_record("POLICE", NOW - 10**7),
            beijing.key_record("BJMARKET", NOW - 10**7),
        ],
        departments=[
            DepartmentRecord("MARKET", "深圳市市场监督管理局", SZ, 1),
            DepartmentRecord("POLICE", "深圳市公安局", SZ, 1),
            DepartmentRecord("BJMARKET", "北京市市场监督管理局", BJ, 1),
        ],
    )


Edit = Callable[[dict[int, object]], None]


def rewrap(cose: bytes) -> str:
    """Return QR text for raw COSE bytes."""
    import zlib

    import base45

    return "RN1:" + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def with_claims(token: str, edit: Edit) -> str:
    """Return the token with its claims edited and its old signature kept."""
    import cbor2

    from verifiers.token import decode_cose

    message = cbor2.loads(decode_cose(token))
    claims = cbor2.loads(message.value[2])
    edit(claims)
    message.value[2] = cbor2.dumps(claims, canonical=True)
    return rewrap(cbor2.dumps(message))
