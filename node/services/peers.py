"""Fetching other nodes' Merkle proofs, and believing them only once the chain agrees.

A node knows the leaves of its own batches; for a licence of a department it does not
hold, only the batch root is on chain. ``PeerProofs.prove`` asks the issuer's node (at
the endpoint the department registered in the on-chain directory) for the leaf's proof
and keeps it only when it folds the leaf into a root whose indexed ``BatchAnchored``
event names that issuer and licence type, with the proof length the on-chain count
implies. The peer's own claims about issuer, type, count or block are never used.

``sync_trusted`` does the same for whole batches (``GET /v1/batches/{root}``) so that
an offline snapshot can carry the leaves of every trusted foreign batch.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ledger.domain import merkle
from ledger.domain.errors import MerkleIndexOutOfRange
from ledger.store.models import PeerProof
from node.api.schemas import BatchLeaves, LeafProof
from node.services.chainview import AnchoredBatch, TrustView

log = logging.getLogger(__name__)

PROOF_PATH = "/v1/proofs/"
BATCH_PATH = "/v1/batches/"
MAX_PROOF_ANSWER = 64 * 1024
MAX_BATCH_ANSWER = 8 * 1024 * 1024  # 65,536 leaves in hex with JSON quoting
MAX_PROOF_NODES = 64
_CHUNK = 500

Answer = TypeVar("Answer", bound=BaseModel)


class PeerOutcome(enum.StrEnum):
    """How asking a peer for a proof ended; every value but ``proven`` leaves the leaf unproven."""

    PROVEN = "proven"
    NO_ENDPOINT = "peer_no_endpoint"
    UNREACHABLE = "peer_unreachable"
    REFUSED = "peer_refused"
    BAD_ANSWER = "peer_bad_answer"
    ROOT_NOT_ANCHORED = "root_not_anchored"
    PROOF_REJECTED = "proof_rejected"


@dataclass(frozen=True)
class PeerCheck:
    """The outcome of one proof fetch, as ``/v1/verify`` reports it under ``peer``."""

    outcome: PeerOutcome
    detail: str
    department: str
    endpoint: str | None = None
    batch_root: str | None = None

    @property
    def proven(self) -> bool:
        """Return whether the leaf is now proven anchored."""
        return self.outcome is PeerOutcome.PROVEN

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object form."""
        return {"code": self.outcome.value, "detail": self.detail, "department": self.department,
                "endpoint": self.endpoint, "batch_root": self.batch_root}


class _Refusal(Exception):
    def __init__(self, outcome: PeerOutcome, detail: str, root: str | None = None) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.root = root


def _hex32(value: str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise _Refusal(PeerOutcome.BAD_ANSWER, f"{what} is not hex") from None
    if len(raw) != 32:
        raise _Refusal(PeerOutcome.BAD_ANSWER, f"{what} is not 32 bytes")
    return raw


class PeerProofs:
    """Asks issuers' nodes for proofs and stores the ones the indexed chain confirms."""

    def __init__(self, engine: Engine, trust: TrustView, timeout: float = 3.0,
                 client: httpx.Client | None = None) -> None:
        self.engine = engine
        self.trust = trust
        self._http = client or httpx.Client(timeout=timeout, follow_redirects=False,
                                            headers={"user-agent": "regnode-peer"})

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()

    # ------------------------------------------------------------------ one leaf
    def prove(self, department: str, leaf: bytes, licence_type: str) -> PeerCheck:
        """Fetch ``leaf``'s proof from ``department``'s node, check it and store it."""
        endpoint = self.trust.endpoint(department)
        if endpoint is None:
            return PeerCheck(PeerOutcome.NO_ENDPOINT,
                             f"{department} has no node endpoint in the directory", department)
        try:
            answer = self._get(endpoint, PROOF_PATH + leaf.hex(), LeafProof, MAX_PROOF_ANSWER)
            root, proof = self._check_leaf(answer, department, leaf, licence_type)
        except _Refusal as refusal:
            log.info("peer proof not accepted", extra={"department": department,
                                                       "outcome": refusal.outcome.value})
            return PeerCheck(refusal.outcome, refusal.detail, department, endpoint, refusal.root)
        with Session(self.engine) as s:
            s.merge(PeerProof(leaf=leaf.hex(), department=department, root=root.hex(),
                              leaf_index=answer.leaf_index, proof=b"".join(proof).hex(),
                              source=endpoint[:512], fetched_at=int(time.time())))
            try:
                s.commit()
            except IntegrityError:  # a concurrent check stored it first; its proof held too
                s.rollback()
        return PeerCheck(PeerOutcome.PROVEN, f"proof checked against root {root.hex()} anchored "
                         f"by {department}", department, endpoint, root.hex())

    def _check_leaf(self, answer: LeafProof, department: str, leaf: bytes,
                    licence_type: str) -> tuple[bytes, list[bytes]]:
        if _hex32(answer.leaf, "leaf") != leaf:
            raise _Refusal(PeerOutcome.PROOF_REJECTED, "the peer answered for another leaf")
        root = _hex32(answer.batch_root, "batch_root")
        if len(answer.proof) > MAX_PROOF_NODES:
            raise _Refusal(PeerOutcome.PROOF_REJECTED, "proof longer than any batch allows")
        proof = [_hex32(p, "a proof node") for p in answer.proof]
        batch = self._anchored(root, department, licence_type)
        try:
            expected = merkle.proof_length(answer.leaf_index, batch.count)
        except MerkleIndexOutOfRange:
            raise _Refusal(PeerOutcome.PROOF_REJECTED, f"leaf index {answer.leaf_index} is "
                           f"outside the anchored batch of {batch.count}", root.hex()) from None
        if len(proof) != expected:
            raise _Refusal(PeerOutcome.PROOF_REJECTED, f"proof has {len(proof)} nodes; leaf "
                           f"{answer.leaf_index} of {batch.count} needs {expected}", root.hex())
        if not merkle.verify(proof, root, leaf):
            raise _Refusal(PeerOutcome.PROOF_REJECTED,
                           f"proof does not link the leaf to root {root.hex()}", root.hex())
        return root, proof

    def _anchored(self, root: bytes, department: str, licence_type: str) -> AnchoredBatch:
        batch = self.trust.anchored_batch(root)
        if batch is None:
            raise _Refusal(PeerOutcome.ROOT_NOT_ANCHORED,
                           f"root {root.hex()} is not anchored on chain (as indexed here)",
                           root.hex())
        if batch.issuer != department:
            raise _Refusal(PeerOutcome.PROOF_REJECTED, f"root {root.hex()} was anchored by "
                           f"{batch.issuer}, not {department}", root.hex())
        if batch.licence_type != licence_type:
            raise _Refusal(PeerOutcome.PROOF_REJECTED, f"root {root.hex()} anchors "
                           f"{batch.licence_type} licences, not {licence_type}", root.hex())
        return batch

    # ------------------------------------------------------------------ whole batches
    def sync_trusted(self, held: Iterable[str], verifier_region: str,
                     limit: int = 64) -> list[PeerCheck]:
        """Fetch the leaves of up to ``limit`` trusted foreign batches not stored yet."""
        done: list[PeerCheck] = []
        down: set[str] = set()
        for batch in self.trust.foreign_batches(set(held)):
            if len(done) >= limit:
                break
            dept = self.trust.department(batch.issuer)
            if dept is None or batch.issuer in down or not self.trust.is_trusted(
                    verifier_region, dept.region, batch.licence_type):
                continue
            if self._stored(batch.root) >= batch.count:
                continue
            check = self.sync_batch(batch)
            if check.outcome in (PeerOutcome.UNREACHABLE, PeerOutcome.NO_ENDPOINT):
                down.add(batch.issuer)  # one timeout per peer and pass is enough
            done.append(check)
        return done

    def sync_batch(self, batch: AnchoredBatch) -> PeerCheck:
        """Fetch every leaf of ``batch`` from its issuer's node; keep them if they rebuild the root."""
        endpoint = self.trust.endpoint(batch.issuer)
        if endpoint is None:
            return PeerCheck(PeerOutcome.NO_ENDPOINT,
                             f"{batch.issuer} has no node endpoint in the directory", batch.issuer)
        try:
            answer = self._get(endpoint, BATCH_PATH + batch.root.hex(), BatchLeaves,
                               MAX_BATCH_ANSWER)
            leaves = [_hex32(x, "a leaf") for x in answer.leaves]
            if len(leaves) != batch.count or not leaves:
                raise _Refusal(PeerOutcome.PROOF_REJECTED, f"{len(leaves)} leaves for a batch "
                               f"of {batch.count} anchored", batch.root.hex())
            tree = merkle.MerkleTree(leaves)
            if tree.root != batch.root:
                raise _Refusal(PeerOutcome.PROOF_REJECTED,
                               "the leaves do not rebuild the anchored root", batch.root.hex())
        except _Refusal as refusal:
            return PeerCheck(refusal.outcome, refusal.detail, batch.issuer, endpoint, refusal.root)
        self._store_batch(batch.issuer, endpoint, batch.root, leaves, tree.proofs())
        return PeerCheck(PeerOutcome.PROVEN, f"{batch.count} leaves rebuild root "
                         f"{batch.root.hex()}", batch.issuer, endpoint, batch.root.hex())

    # ------------------------------------------------------------------ plumbing
    def _get(self, endpoint: str, path: str, shape: type[Answer], cap: int) -> Answer:
        if not endpoint.startswith(("http://", "https://")):
            raise _Refusal(PeerOutcome.UNREACHABLE, f"endpoint {endpoint!r} is not an http(s) URL")
        url = endpoint.rstrip("/") + path
        try:
            with self._http.stream("GET", url) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > cap:
                        raise _Refusal(PeerOutcome.BAD_ANSWER, f"{url} answered more than {cap} bytes")
                status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _Refusal(PeerOutcome.UNREACHABLE, f"{url}: {type(exc).__name__}: {exc}") from None
        if status != 200:
            raise _Refusal(PeerOutcome.REFUSED, f"{url} answered HTTP {status} ({_error_code(body)})")
        try:
            return shape.model_validate(json.loads(body))
        except (ValueError, ValidationError) as exc:
            raise _Refusal(PeerOutcome.BAD_ANSWER, f"{url} sent no {shape.__name__}: "
                           f"{str(exc).splitlines()[0]}") from None

    def _stored(self, root: bytes) -> int:
        with Session(self.engine) as s:
            return int(s.exec(select(func.count()).select_from(PeerProof).where(
                col(PeerProof.root) == root.hex())).one())

    def _store_batch(self, department: str, endpoint: str, root: bytes, leaves: list[bytes],
                     proofs: list[list[bytes]]) -> None:
        now = int(time.time())
        with Session(self.engine) as s:
            hexes = [leaf.hex() for leaf in leaves]
            known: set[str] = set()
            for i in range(0, len(hexes), _CHUNK):
                known.update(s.exec(select(PeerProof.leaf).where(
                    col(PeerProof.leaf).in_(hexes[i:i + _CHUNK]))).all())
            # A leaf already proven (perhaps in its issuer's batch) is not moved by another listing.
            rows = []
            for i, h in enumerate(hexes):
                if h not in known:
                    known.add(h)
                    rows.append({"leaf": h, "department": department, "root": root.hex(),
                                 "leaf_index": i, "proof": b"".join(proofs[i]).hex(),
                                 "source": endpoint[:512], "fetched_at": now})
            if rows:
                s.execute(insert(PeerProof), rows)
            try:
                s.commit()
            except IntegrityError:  # a concurrent sync stored some of them: the next pass fills in
                s.rollback()


def _error_code(body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return str(error["code"])
    except (ValueError, KeyError, TypeError):
        return "no error code"
