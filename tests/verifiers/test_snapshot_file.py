"""Export, load and check offline snapshots."""

from __future__ import annotations

import json
import os
import random

import cbor2
import pytest
from conftest import NOW, VECTORS, World, make_claims

from verifiers import (
    LicenceStatus,
    MalformedSnapshot,
    Signer,
    SnapshotSignatureInvalid,
    SnapshotTooOld,
    StatusEvent,
    TrustRelation,
    export_snapshot,
    load_snapshot,
)
from verifiers.snapshot import MAGIC


def exported(world: World) -> bytes:
    return export_snapshot(world.snapshot(), world.signers["market"])


def test_round_trip_keeps_every_fact(world: World) -> None:
    claims = make_claims()
    world.anchor(claims)
    world.relations.append(TrustRelation("440300", "110000", "X"))
    world.statuses[claims.leaf] = [StatusEvent(NOW - 5, LicenceStatus.REVOKED, 9),
                                   StatusEvent(NOW - 50, LicenceStatus.SUSPENDED, 2)]
    loaded = load_snapshot(exported(world), pinned_kid=world.signers["market"].kid)
    original = world.snapshot()
    assert loaded.to_cbor() == original.to_cbor()
    assert loaded.position == original.position
    assert (loaded.exporter, loaded.exporter_kid) == ("MARKET", world.signers["market"].kid)
    assert set(loaded.keys) == set(world.keys)
    assert loaded.anchor_issuer(claims.leaf) == "MARKET"
    assert loaded.is_trusted("440300", "110000", "X") and not loaded.is_trusted("440300", "110000", "Y")
    assert loaded.status(claims.leaf, NOW - 51).status is LicenceStatus.ACTIVE
    assert loaded.status(claims.leaf, NOW - 50).status is LicenceStatus.SUSPENDED
    revoked = loaded.status(claims.leaf, NOW)
    assert (revoked.status, revoked.reason_code, revoked.since) == (LicenceStatus.REVOKED, 9, NOW - 5)


def test_anchor_lookup_over_many_blocks(world: World) -> None:
    rng = random.Random(7)
    leaves = [rng.randbytes(32) for _ in range(1000)]
    issuers = ["MARKET", "POLICE", "BJMARKET"]
    world.anchored = [(leaf, issuers[i % 3]) for i, leaf in enumerate(leaves)]
    loaded = load_snapshot(exported(world))
    assert loaded.leaf_count == 1000
    for i, leaf in enumerate(leaves):
        assert loaded.anchor_issuer(leaf) == issuers[i % 3]
    for _ in range(300):
        assert loaded.anchor_issuer(rng.randbytes(32)) is None
    assert loaded.anchor_issuer(b"\x00" * 32) is None and loaded.anchor_issuer(b"\xff" * 32) is None
    assert loaded.anchor_issuer(leaves[0][:31]) is None
    # A match straddling two stored leaves is not a leaf.
    ordered = sorted(leaves)
    assert loaded.anchor_issuer(ordered[3][16:] + ordered[4][:16]) is None


def test_anchor_lookup_with_crowded_buckets(world: World) -> None:
    # Leaves that share their leading bytes land in one bucket of the index.
    rng = random.Random(11)
    head = b"\x5a\x5a\x5a\x5a"
    crowded = sorted({head + rng.randbytes(12) + head + rng.randbytes(12) for _ in range(40)})
    spread = [rng.randbytes(32) for _ in range(200)]
    world.anchored = [(leaf, "MARKET") for leaf in crowded + spread]
    loaded = load_snapshot(exported(world))
    for leaf in crowded + spread:
        assert loaded.anchor_issuer(leaf) == "MARKET"
    for leaf in crowded:
        assert loaded.anchor_issuer(leaf[:31] + bytes([leaf[31] ^ 1])) is None
    # Inside the crowded bucket, the second half of one leaf and the first half of the next
    # start with the same bytes as a leaf: found by the search, refused as unaligned.
    for first, second in zip(crowded, crowded[1:], strict=False):
        assert loaded.anchor_issuer(first[16:] + second[:16]) is None


def test_anchor_lookup_in_tiny_snapshots(world: World) -> None:
    loaded = load_snapshot(exported(world))
    assert loaded.leaf_count == 0
    assert loaded.anchor_issuer(b"\x00" * 32) is None and loaded.anchor_issuer(b"\xff" * 32) is None
    world.anchored = [(b"\xff" * 32, "POLICE")]
    loaded = load_snapshot(exported(world))
    assert loaded.anchor_issuer(b"\xff" * 32) == "POLICE"
    assert loaded.anchor_issuer(b"\x00" * 32) is None and loaded.anchor_issuer(b"\xff" * 31) is None


def test_the_committed_snapshot_loads_with_its_pin() -> None:
    meta = json.loads((VECTORS / "snapshot.json").read_text())
    data = (VECTORS / meta["file"]).read_bytes()
    snapshot = load_snapshot(data, pinned_kid=bytes.fromhex(meta["exporter_kid"]),
                             now=1_800_200_000, max_age=86_400)
    assert (snapshot.exporter, snapshot.leaf_count) == (meta["exporter"], meta["leaf_count"])


def test_a_flipped_payload_byte_is_detected(world: World) -> None:
    world.anchored = [(os.urandom(32), "MARKET") for _ in range(10)]
    data = bytearray(exported(world))
    leaves_at = data.index(b"leaves") + len(b"leaves") + 3  # inside the leaves byte string
    data[leaves_at] ^= 0x01
    with pytest.raises(SnapshotSignatureInvalid, match="does not verify"):
        load_snapshot(bytes(data))


def test_a_flipped_signature_byte_is_detected(world: World) -> None:
    data = bytearray(exported(world))
    data[-1] ^= 0x80
    with pytest.raises(SnapshotSignatureInvalid):
        load_snapshot(bytes(data))


def test_the_pin_refuses_another_exporter_key(world: World) -> None:
    with pytest.raises(SnapshotSignatureInvalid, match="pinned"):
        load_snapshot(exported(world), pinned_kid=world.signers["police"].kid)


def test_a_key_outside_the_snapshot_cannot_sign_it(world: World) -> None:
    outsider = Signer.generate()
    forged = MAGIC + outsider.sign1(world.snapshot().to_cbor())
    with pytest.raises(SnapshotSignatureInvalid, match="not the exporter key"):
        load_snapshot(forged)


def test_another_listed_key_cannot_sign_it(world: World) -> None:
    forged = MAGIC + world.signers["police"].sign1(world.snapshot().to_cbor())
    with pytest.raises(SnapshotSignatureInvalid):
        load_snapshot(forged)


def test_an_exporter_key_retired_before_export_is_refused(world: World) -> None:
    market = world.signers["market"]
    world.keys[1] = market.key_record("MARKET", NOW - 10**6, valid_to=NOW - 100)
    with pytest.raises(SnapshotSignatureInvalid, match="not valid at export"):
        load_snapshot(exported(world))


def test_age_limit(world: World) -> None:
    data = exported(world)
    assert load_snapshot(data, now=NOW, max_age=3600).exporter == "MARKET"
    with pytest.raises(SnapshotTooOld):
        load_snapshot(data, now=NOW + 7200, max_age=3600)
    with pytest.raises(TypeError):
        load_snapshot(data, max_age=3600)


@pytest.mark.parametrize("mangle", [
    lambda d: b"RNS2" + d[4:],
    lambda d: d[:-20],
    lambda d: MAGIC + b"\x00\x01",
    lambda d: b"",
])
def test_broken_files_are_malformed(world: World, mangle: object) -> None:
    with pytest.raises(MalformedSnapshot):
        load_snapshot(mangle(exported(world)))  # type: ignore[operator]


def test_a_signed_but_ill_shaped_body_is_malformed(world: World) -> None:
    body = cbor2.loads(world.snapshot().to_cbor())
    body["leaf_issuers"] = [0]
    with pytest.raises(MalformedSnapshot, match="line up"):
        load_snapshot(MAGIC + world.signers["market"].sign1(cbor2.dumps(body)))
    body = cbor2.loads(world.snapshot().to_cbor())
    body["departments"][0]["keys"][0]["kid"] = b"\x00" * 8
    with pytest.raises(MalformedSnapshot, match="kid"):
        load_snapshot(MAGIC + world.signers["market"].sign1(cbor2.dumps(body)))


def test_export_refuses_a_signer_that_is_not_the_exporter_key(world: World) -> None:
    with pytest.raises(ValueError):
        export_snapshot(world.snapshot(), world.signers["police"])
