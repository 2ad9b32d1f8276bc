"""Key rotation and the offline snapshot, the two services that use a department's key history."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import Session, col, select

from ledger.store import audit
from ledger.store.models import AnchorBatch, ChainEvent, Licence, SigningKey
from node.errors import (
    ContractRefused,
    KeyAlreadyRegistered,
    NoPendingKey,
    NotAdmitted,
    Unavailable,
)
from node.services.outbox import drive_until_done, enqueue
from verifiers.snapshot import ChainPosition, TrustSnapshot, export_snapshot
from verifiers.trust import ALG_ES256, TrustRelation

if TYPE_CHECKING:
    from node.runtime import Runtime


def rotate(runtime: Runtime, department: str, alg: int = ALG_ES256,
           timeout: float = 60.0) -> dict[str, object]:
    """Register a new signing key on chain, then make it the one new licences use.

    Issuance for the department waits during the rotation, so no token is signed by a
    key outside its on-chain validity interval.
    """
    ctx = runtime.ctx
    ctx.identity(department)
    with ctx.department_lock(department):
        with Session(ctx.engine) as s:
            previous = _active(s, department)
        new = ctx.keystore.create_signing_key(department, alg)
        with Session(ctx.engine) as s:
            s.add(SigningKey(kid=new.kid.hex(), department=department, alg=new.alg,
                             public_key=new.public_key_der.hex(), key_file=new.path.name,
                             created_at=int(time.time()), active=False))
            s.commit()
        done = _register(runtime, department, new.kid.hex(), new.alg, new.public_key_der.hex(),
                         "keys.rotate", timeout)
    runtime.tick()
    return {"department": department, "kid": new.kid.hex(),
            "previous_kid": previous.kid if previous else None, **done}


def register_pending(runtime: Runtime, department: str, timeout: float = 60.0) -> dict[str, object]:
    """Register on chain the key ``regnode init`` made for a joining department, and sign with it.

    Also finishes a registration or rotation whose transaction was confirmed only after
    its request gave up waiting: that key is activated without sending anything. Refused
    while the department already has a registered key (rotate instead) or while the
    council has not added it to the directory as this node has indexed it.
    """
    ctx = runtime.ctx
    ctx.identity(department)
    runtime.tick()
    with ctx.department_lock(department):
        with Session(ctx.engine) as s:
            active = _active(s, department)
            pending = s.exec(select(SigningKey).where(
                SigningKey.department == department, SigningKey.active == False,  # noqa: E712
                col(SigningKey.registered_at).is_(None)).order_by(
                col(SigningKey.created_at).desc())).first()
        confirmed = _confirmed_from(runtime, pending.kid) if pending is not None else None
        if pending is not None and confirmed is not None:
            _activate(runtime, department, pending.kid, confirmed)
            done: dict[str, object] = {"valid_from": confirmed, "transaction_hash": ""}
        else:
            if active is not None:
                raise KeyAlreadyRegistered(f"{department} already signs with a registered key; "
                                           "use keys rotate for a new one", department=department)
            if pending is None:
                raise NoPendingKey(f"{department} has no signing key waiting to be registered",
                                   department=department)
            if runtime.trust.department(department) is None:
                raise NotAdmitted(f"the council has not added {department} to the directory yet "
                                  "(as far as this node has indexed)", department=department)
            done = _register(runtime, department, pending.kid, pending.alg, pending.public_key,
                             "keys.register", timeout)
    runtime.tick()
    return {"department": department, "kid": pending.kid,
            "previous_kid": active.kid if active else None, **done}


def _active(s: Session, department: str) -> SigningKey | None:
    return s.exec(select(SigningKey).where(SigningKey.department == department,
                                           SigningKey.active == True)  # noqa: E712
                  ).first()


def _confirmed_from(runtime: Runtime, kid: str) -> int | None:
    """Return the validFrom of key ``kid`` once its registration is indexed (confirmed), else None."""
    with Session(runtime.engine) as s:
        event = s.exec(select(ChainEvent).where(ChainEvent.name == "KeyRegistered",
                                                ChainEvent.subject == kid)).first()
    return int(json.loads(event.args)["validFrom"]) if event is not None else None


def _register(runtime: Runtime, department: str, kid: str, alg: int, public_key: str,
              action: str, timeout: float) -> dict[str, object]:
    """Send ``rotateKey`` for a key already stored (inactive) and activate it once confirmed.

    The node signs with the key only once the indexer holds its ``KeyRegistered`` event, at
    the configured confirmation depth, and from the time that event records: verifiers
    trust keys only from the index, and a reorganisation may move the registration to a
    later block (the outbox sends it again), which moves the key's validity with it. The
    caller holds the department's lock.
    """
    ctx = runtime.ctx
    deadline = time.monotonic() + timeout
    with Session(ctx.engine) as s:
        entry = enqueue(s, department, "rotate_key", {"kid": kid, "alg": alg,
                                                      "public_key": public_key})
        audit.append(s, actor=department, action=action, subject=kid)
        s.commit()
        entry_id = entry.id
    done = drive_until_done(runtime, entry_id, timeout)
    if done.state != "mined":
        raise ContractRefused(done.error_code or "rotation_failed")
    while (valid_from := _confirmed_from(runtime, kid)) is None:
        if time.monotonic() >= deadline:
            raise Unavailable(
                f"key {kid} is registered but not yet {ctx.settings.confirmations} blocks deep; "
                "the department keeps its current key until then (`keys register` switches "
                "once it is confirmed)", kid=kid, transaction_hash=done.transaction_hash)
        if runtime.is_leader and not runtime.background_running:
            runtime.tick()
        time.sleep(0.02)
    _activate(runtime, department, kid, valid_from)
    return {"valid_from": valid_from, "transaction_hash": done.transaction_hash or ""}


def _activate(runtime: Runtime, department: str, kid: str, valid_from: int) -> None:
    """Make ``kid`` the department's signing key (the caller holds the department's lock)."""
    ctx = runtime.ctx
    # The key is valid from its block's time; wait for the wall clock to reach it.
    while time.time() < valid_from:
        time.sleep(min(0.05, valid_from - time.time()))
    with Session(ctx.engine) as s:
        s.execute(update(SigningKey).where(col(SigningKey.department) == department)
                  .values(active=False))
        s.execute(update(SigningKey).where(col(SigningKey.kid) == kid)
                  .values(active=True, registered_at=valid_from))
        s.commit()
    ctx.forget_signer(department)


def export(runtime: Runtime, department: str) -> bytes:
    """Return a signed offline snapshot of keys, trust, statuses and the anchored leaves we know.

    Those are our own and, for batches of other nodes that our region trusts, the leaves
    fetched from their issuers' nodes and checked against the anchored roots (best
    effort: a peer that is down leaves its newest batches out until the next export).
    """
    ctx = runtime.ctx
    runtime.tick()
    trust = runtime.trust
    runtime.peers.sync_trusted(ctx.identities, ctx.settings.verifier_region)
    head_number = runtime.indexer.cursor()
    block = ctx.gateway.block(max(head_number, 0))
    if block is None:
        raise Unavailable("the chain head is not available")
    with Session(ctx.engine) as s:
        anchored = s.exec(select(Licence.leaf, AnchorBatch.department).join(
            AnchorBatch, col(Licence.batch_id) == col(AnchorBatch.id)).where(
            col(AnchorBatch.anchored_block).is_not(None),
            col(AnchorBatch.anchored_block) <= head_number)).all()
    with ctx.signing(department) as signer:
        snapshot = TrustSnapshot(
            departments=trust.departments(), keys=trust.keys(),
            relations=[TrustRelation(*r) for r in trust.trust_relations()],
            statuses=trust.status_histories(),
            anchored=_merge_anchored(anchored, trust.peer_anchored(head_number)),
            position=ChainPosition(chain_id=ctx.gateway.chain_id, registry=ctx.registry,
                                   block_number=block.number, block_hash=block.hash,
                                   block_timestamp=block.timestamp),
            exported_at=int(time.time()), exporter=department, exporter_kid=signer.kid)
        return export_snapshot(snapshot, signer)


def _merge_anchored(own: Sequence[tuple[str, str]],
                    proven: list[tuple[bytes, str]]) -> list[tuple[bytes, str]]:
    leaves = {leaf: dept for leaf, dept in proven}
    leaves.update((bytes.fromhex(leaf), dept) for leaf, dept in own)  # our own record wins
    return list(leaves.items())
