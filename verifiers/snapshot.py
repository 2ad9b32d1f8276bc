"""The offline snapshot: keys, departments, trust, statuses and anchors at one block.

File layout: ``RNS1`` followed by a tagged COSE_Sign1 (protected {alg, kid}) whose
payload is a CBOR map with text keys::

    version          1
    chain_id         int
    registry         bytes (20)       LicenceRegistry address
    block_number     int
    block_hash       bytes (32)
    block_timestamp  int
    exported_at      int              unix seconds
    exporter         text             department code of the exporting node
    exporter_kid     bytes (8)        the key that signed this file
    departments      [{code, name, region, roles,
                       keys: [{kid, alg, public_key, valid_from, valid_to|null,
                               compromised_since|null}]}]   sorted by code
    trust            [[verifier_region, issuer_region, licence_type]]
    statuses         [[leaf (32), [[at, status, reason_code], ...]]]  leaves with any change
    leaves           bytes            sorted 32-byte anchored leaves, concatenated
    leaf_issuers     [int]            index into departments, parallel to leaves

`load_snapshot` checks the signature with the exporter key listed inside, that
this key belongs to the exporter and was valid when the file was exported, and,
when given, that its kid is the pinned one.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import cbor2
from cryptography.exceptions import UnsupportedAlgorithm

from verifiers.cose import KID_LENGTH, Signer, alg_for_key, kid_of, load_public_key, parse_sign1
from verifiers.cose import verify_signature as _verify_signature
from verifiers.errors import (
    MalformedSnapshot,
    MalformedToken,
    SnapshotSignatureInvalid,
    SnapshotTooOld,
)
from verifiers.trust import (
    ACTIVE,
    DepartmentRecord,
    KeyRecord,
    LicenceStatus,
    StatusEvent,
    StatusRecord,
    TrustRelation,
    status_at,
)

MAGIC = b"RNS1"
SNAPSHOT_VERSION = 1
LEAF_SIZE = 32
#: The most leading bits of a leaf the anchor index buckets by (2**22 starts: 32 MiB).
_MAX_BUCKET_BITS = 22


@dataclass(frozen=True, slots=True)
class ChainPosition:
    """The chain state a snapshot reflects."""

    chain_id: int
    registry: bytes
    block_number: int
    block_hash: bytes
    block_timestamp: int


class TrustSnapshot:
    """A `TrustSource` held in memory, as loaded from (or exported to) a snapshot file."""

    def __init__(
        self,
        *,
        departments: Iterable[DepartmentRecord],
        keys: Iterable[KeyRecord],
        relations: Iterable[TrustRelation] = (),
        statuses: Mapping[bytes, Sequence[StatusEvent]] | None = None,
        anchored: Iterable[tuple[bytes, str]] = (),
        position: ChainPosition,
        exported_at: int,
        exporter: str,
        exporter_kid: bytes,
    ) -> None:
        self.position = position
        self.exported_at = exported_at
        self.exporter = exporter
        self.exporter_kid = exporter_kid
        self._departments = {d.code: d for d in sorted(departments, key=lambda d: d.code)}
        self._keys: dict[bytes, KeyRecord] = {}
        for key in keys:
            if key.department not in self._departments:
                raise ValueError(f"key {key.kid.hex()} names unknown department {key.department}")
            if key.kid in self._keys:
                raise ValueError(f"key {key.kid.hex()} listed twice")
            self._keys[key.kid] = key
        self._relations = {(r.verifier_region, r.issuer_region, r.licence_type) for r in relations}
        self._statuses: dict[bytes, tuple[StatusEvent, ...]] = {
            bytes(leaf): tuple(sorted(history)) for leaf, history in (statuses or {}).items() if history
        }
        codes = list(self._departments)
        index = {code: i for i, code in enumerate(codes)}
        pairs = sorted((bytes(leaf), index[code]) for leaf, code in anchored)
        for (a, _), (b, _) in zip(pairs, pairs[1:], strict=False):
            if a == b:
                raise ValueError(f"leaf {a.hex()} anchored twice")
        if any(len(leaf) != LEAF_SIZE for leaf, _ in pairs):
            raise ValueError("anchored leaves must be 32 bytes")
        self._leaves = b"".join(leaf for leaf, _ in pairs)
        self._leaf_issuers = [codes[i] for _, i in pairs]
        self._leaf_count = len(pairs)
        self._bucket_shift, self._bucket_starts = _bucket_index([leaf for leaf, _ in pairs])

    # -- TrustSource -------------------------------------------------------------------

    def key(self, kid: bytes) -> KeyRecord | None:
        """Return the key named `kid` from the key history, or None."""
        return self._keys.get(kid)

    def department(self, code: str) -> DepartmentRecord | None:
        """Return the department with `code`, or None."""
        return self._departments.get(code)

    def is_trusted(self, verifier_region: str, issuer_region: str, licence_type: str) -> bool:
        """Return whether `verifier_region` accepts `licence_type` from `issuer_region`."""
        if verifier_region == issuer_region:
            return True
        return (verifier_region, issuer_region, licence_type) in self._relations

    def status(self, leaf: bytes, at: int) -> StatusRecord:
        """Return the status of `leaf` at time `at` (active when never changed)."""
        history = self._statuses.get(leaf)
        if history is None:
            return ACTIVE
        return status_at(history, at)

    def anchor_issuer(self, leaf: bytes) -> str | None:
        """Return the department code whose batch anchored `leaf`, or None."""
        if len(leaf) != LEAF_SIZE:
            return None
        bucket = int.from_bytes(leaf[:4], "big") >> self._bucket_shift
        start = self._bucket_starts[bucket] * LEAF_SIZE
        end = self._bucket_starts[bucket + 1] * LEAF_SIZE
        # One C-level search over the bucket's few leaves; a match that straddles two
        # leaves is not aligned and is skipped.
        position = self._leaves.find(leaf, start, end)
        while position >= 0 and position % LEAF_SIZE:
            position = self._leaves.find(leaf, position + 1, end)
        if position < 0:
            return None
        return self._leaf_issuers[position // LEAF_SIZE]

    # -- contents ----------------------------------------------------------------------

    @property
    def departments(self) -> tuple[DepartmentRecord, ...]:
        """Return every department, sorted by code."""
        return tuple(self._departments.values())

    @property
    def keys(self) -> tuple[KeyRecord, ...]:
        """Return every key of the key history."""
        return tuple(self._keys.values())

    @property
    def leaf_count(self) -> int:
        """Return how many anchored leaves the snapshot holds."""
        return self._leaf_count

    def status_history(self, leaf: bytes) -> tuple[StatusEvent, ...]:
        """Return every status change of `leaf`, oldest first."""
        return self._statuses.get(leaf, ())

    def to_cbor(self) -> bytes:
        """Return the CBOR payload of this snapshot (unsigned)."""
        codes = list(self._departments)
        index = {code: i for i, code in enumerate(codes)}
        by_department: dict[str, list[KeyRecord]] = {code: [] for code in codes}
        for key in sorted(self._keys.values(), key=lambda k: (k.valid_from, k.kid)):
            by_department[key.department].append(key)
        body = {
            "version": SNAPSHOT_VERSION,
            "chain_id": self.position.chain_id,
            "registry": self.position.registry,
            "block_number": self.position.block_number,
            "block_hash": self.position.block_hash,
            "block_timestamp": self.position.block_timestamp,
            "exported_at": self.exported_at,
            "exporter": self.exporter,
            "exporter_kid": self.exporter_kid,
            "departments": [
                {
                    "code": d.code, "name": d.name, "region": d.region, "roles": d.roles,
                    "keys": [
                        {"kid": k.kid, "alg": k.alg, "public_key": k.public_key,
                         "valid_from": k.valid_from, "valid_to": k.valid_to,
                         "compromised_since": k.compromised_since}
                        for k in by_department[d.code]
                    ],
                }
                for d in self._departments.values()
            ],
            "trust": [list(r) for r in sorted(self._relations)],
            "statuses": [
                [leaf, [[e.at, int(e.status), e.reason_code] for e in history]]
                for leaf, history in sorted(self._statuses.items())
            ],
            "leaves": self._leaves,
            "leaf_issuers": [index[code] for code in self._leaf_issuers],
        }
        encoded: bytes = cbor2.dumps(body, canonical=True)
        return encoded


def _bucket_index(leaves: list[bytes]) -> tuple[int, array[int]]:
    """Return the shift that takes a leaf's first four bytes to its bucket, and where each bucket starts.

    Sorted leaves share a bucket when they agree in their leading bits; with about as many
    buckets as leaves, `anchor_issuer` reads one start, one end and a leaf or two: a handful
    of cache lines even when the snapshot holds millions of leaves (a bisection over them
    touches a line per step).
    """
    bits = min(len(leaves).bit_length(), _MAX_BUCKET_BITS)
    shift = 32 - bits
    counts = [0] * ((1 << bits) + 1)
    for leaf in leaves:
        counts[(int.from_bytes(leaf[:4], "big") >> shift) + 1] += 1
    return shift, array("L", accumulate(counts))


def export_snapshot(snapshot: TrustSnapshot, signer: Signer) -> bytes:
    """Sign `snapshot` with the exporter's key and return the file bytes."""
    if signer.kid != snapshot.exporter_kid:
        raise ValueError("signer is not the snapshot's exporter key")
    listed = snapshot.key(signer.kid)
    if listed is None or listed.department != snapshot.exporter:
        raise ValueError("the exporter key must be listed under the exporter department")
    return MAGIC + signer.sign1(snapshot.to_cbor())


def load_snapshot(
    data: bytes,
    *,
    pinned_kid: bytes | None = None,
    now: int | None = None,
    max_age: int | None = None,
) -> TrustSnapshot:
    """Check and load a snapshot file; raise a SnapshotError subclass when it cannot be trusted.

    With `max_age`, also refuse a snapshot exported more than `max_age` seconds before `now`.
    """
    if max_age is not None and now is None:
        raise TypeError("max_age needs an explicit now")
    if not data.startswith(MAGIC):
        raise MalformedSnapshot(f"does not start with {MAGIC!r}")
    try:
        sign1 = parse_sign1(data[len(MAGIC):])
    except MalformedToken as exc:
        raise MalformedSnapshot(exc.detail) from None
    if pinned_kid is not None and sign1.kid != pinned_kid:
        raise SnapshotSignatureInvalid(sign1.kid, f"signed by {sign1.kid.hex()}, pinned {pinned_kid.hex()}")
    try:
        body = cbor2.loads(sign1.unverified_payload)
    except Exception as exc:  # cbor2 raises many types on hostile input
        raise MalformedSnapshot(f"payload is not CBOR: {exc}") from None
    unverified = _parse_body(body)
    key = unverified.key(sign1.kid)
    if key is None or sign1.kid != unverified.exporter_kid:
        raise SnapshotSignatureInvalid(sign1.kid, "signing key is not the exporter key listed inside")
    if key.department != unverified.exporter:
        raise SnapshotSignatureInvalid(sign1.kid, f"key belongs to {key.department}, not the exporter")
    if key.alg != sign1.alg:
        raise SnapshotSignatureInvalid(sign1.kid, "algorithm does not match the key")
    if not _verify_signature(sign1.alg, key.public_key, sign1.sig_structure, sign1.signature):
        raise SnapshotSignatureInvalid(sign1.kid, "signature does not verify")
    if not key.valid_at(unverified.exported_at):
        raise SnapshotSignatureInvalid(sign1.kid, "exporter key was not valid at export time")
    if max_age is not None and now is not None and now - unverified.exported_at > max_age:
        raise SnapshotTooOld(unverified.exported_at, now, max_age)
    return unverified


def _field(body: Mapping[str, Any], name: str, kind: type, size: int | None = None) -> Any:
    if name not in body:
        raise MalformedSnapshot(f"{name} is missing")
    value = body[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedSnapshot(f"{name} is not {kind.__name__}")
    if size is not None and len(value) != size:
        raise MalformedSnapshot(f"{name} is not {size} bytes")
    return value


def _optional_int(body: Mapping[str, Any], name: str) -> int | None:
    if body.get(name) is None:
        return None
    value: int = _field(body, name, int)
    return value


def _parse_body(body: Any) -> TrustSnapshot:
    if not isinstance(body, dict):
        raise MalformedSnapshot("payload is not a map")
    if _field(body, "version", int) != SNAPSHOT_VERSION:
        raise MalformedSnapshot(f"version {body['version']!r} is not {SNAPSHOT_VERSION}")
    position = ChainPosition(
        chain_id=_field(body, "chain_id", int),
        registry=_field(body, "registry", bytes, 20),
        block_number=_field(body, "block_number", int),
        block_hash=_field(body, "block_hash", bytes, 32),
        block_timestamp=_field(body, "block_timestamp", int),
    )
    departments: list[DepartmentRecord] = []
    keys: list[KeyRecord] = []
    for entry in _field(body, "departments", list):
        if not isinstance(entry, dict):
            raise MalformedSnapshot("a department is not a map")
        code = _field(entry, "code", str)
        departments.append(DepartmentRecord(code, _field(entry, "name", str),
                                            _field(entry, "region", str), _field(entry, "roles", int)))
        for raw in _field(entry, "keys", list):
            if not isinstance(raw, dict):
                raise MalformedSnapshot("a key is not a map")
            keys.append(_parse_key(raw, code))
    relations = []
    for triple in _field(body, "trust", list):
        if not (isinstance(triple, list) and len(triple) == 3 and all(isinstance(x, str) for x in triple)):
            raise MalformedSnapshot("a trust relation is not three texts")
        relations.append(TrustRelation(*triple))
    statuses: dict[bytes, list[StatusEvent]] = {}
    for item in _field(body, "statuses", list):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], bytes)
                and len(item[0]) == LEAF_SIZE and isinstance(item[1], list)):
            raise MalformedSnapshot("a status entry is not [leaf, history]")
        statuses[item[0]] = [_parse_event(event) for event in item[1]]
    leaves = _field(body, "leaves", bytes)
    issuers = _field(body, "leaf_issuers", list)
    if len(leaves) % LEAF_SIZE or len(leaves) // LEAF_SIZE != len(issuers):
        raise MalformedSnapshot("leaves and leaf_issuers do not line up")
    codes = sorted(d.code for d in departments)
    if any(type(i) is not int or not 0 <= i < len(codes) for i in issuers):
        raise MalformedSnapshot("a leaf issuer index is out of range")
    anchored = [(leaves[i * LEAF_SIZE:(i + 1) * LEAF_SIZE], codes[n]) for i, n in enumerate(issuers)]
    try:
        return TrustSnapshot(
            departments=departments, keys=keys, relations=relations, statuses=statuses,
            anchored=anchored, position=position,
            exported_at=_field(body, "exported_at", int),
            exporter=_field(body, "exporter", str),
            exporter_kid=_field(body, "exporter_kid", bytes, KID_LENGTH),
        )
    except ValueError as exc:
        raise MalformedSnapshot(str(exc)) from None


def _parse_key(raw: Mapping[str, Any], department: str) -> KeyRecord:
    record = KeyRecord(
        kid=_field(raw, "kid", bytes, KID_LENGTH),
        department=department,
        alg=_field(raw, "alg", int),
        public_key=_field(raw, "public_key", bytes),
        valid_from=_field(raw, "valid_from", int),
        valid_to=_optional_int(raw, "valid_to"),
        compromised_since=_optional_int(raw, "compromised_since"),
    )
    try:
        public_key = load_public_key(record.public_key)
        alg = alg_for_key(public_key)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise MalformedSnapshot(f"key {record.kid.hex()}: {exc}") from None
    if alg != record.alg:
        raise MalformedSnapshot(f"key {record.kid.hex()}: algorithm does not match the key type")
    if kid_of(record.public_key) != record.kid:
        raise MalformedSnapshot(f"key {record.kid.hex()}: kid is not sha256(SPKI)[:8]")
    return record


def _parse_event(event: Any) -> StatusEvent:
    if not (isinstance(event, list) and len(event) == 3
            and all(type(x) is int for x in event)):
        raise MalformedSnapshot("a status event is not [at, status, reason_code]")
    try:
        status = LicenceStatus(event[1])
    except ValueError:
        raise MalformedSnapshot(f"unknown status {event[1]}") from None
    return StatusEvent(event[0], status, event[2])
