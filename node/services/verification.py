"""Online verification: the offline rules over the node's index, plus peer proofs.

``verify_token`` decides every verdict. When it ends at ``not_anchored_yet`` for a
licence of a department this node does not hold, every other check has passed (a
signature under a registered key, a trusted region, no suspension or revocation, in
date), and the one thing missing is the leaf's Merkle proof, which only the issuer's
node has: we fetch it, check it against the chain, and decide again. A peer that is
down or lies leaves the verdict at ``not_anchored_yet``, with the reason under ``peer``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from node.services import reserved
from verifiers.verdict import Verdict
from verifiers.verify import verify_token

if TYPE_CHECKING:
    from node.runtime import Runtime


def verify(runtime: Runtime, token: str, at: int | None = None) -> dict[str, Any]:
    """Return the ``/v1/verify`` answer for ``token`` as of ``at`` (default: now)."""
    runtime.refresh_trust()
    now = runtime.chain_time() if at is None else at
    region = runtime.settings.verifier_region
    result = verify_token(token, runtime.trust, now=now, verifier_region=region)
    peer = None
    if (result.verdict is Verdict.NOT_ANCHORED_YET and result.issuer is not None
            and result.leaf is not None and result.licence_type is not None
            and result.issuer not in runtime.ctx.identities):
        peer = runtime.peers.prove(result.issuer, bytes.fromhex(result.leaf), result.licence_type)
        if peer.proven:
            result = verify_token(token, runtime.trust, now=now, verifier_region=region)
        else:
            result = replace(result, reason=f"{result.reason}: {peer.detail}")
    void = (result.verdict is Verdict.NOT_ANCHORED_YET and result.leaf is not None
            and result.issuer in runtime.ctx.identities and reserved.is_void(runtime, result.leaf))
    if void:
        result = replace(result, reason="void: the issuer's node voided this licence, as the "
                                        "transaction that was to anchor it was never sent or was refused")
    body = result.to_json()
    if void:
        body["void"] = True
    body["checked_at"] = now
    body["indexed_block"] = runtime.indexer.cursor()
    if peer is not None:
        body["peer"] = peer.to_json()
    return body
