"""Council votes: directory changes that M of N council members approve on chain.

Adding a department and recording a cross-region trust relation (mutual recognition)
are council actions: one member proposes the call, others approve it, and the
contract runs it when the threshold is reached.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_account.signers.local import LocalAccount

from ledger.domain.identifiers import to_bytes32
from node.chain.abi import contract
from node.chain.errors import CallReverted
from node.chain.gateway import ChainGateway, Receipt
from node.chain.txsend import TxSender
from node.errors import NodeError
from node.services.context import Identity


class CouncilError(NodeError):
    """Raised when a council action cannot be carried (too few members, a revert)."""

    code = "council_action_failed"
    status = 409


def add_department_call(identity: Identity, account: str) -> bytes:
    """Return the ``addDepartment`` action for ``identity`` acting from chain ``account``."""
    return contract("LicenceRegistry").encode_call("addDepartment", [
        to_bytes32(identity.code), account, identity.role_bits, to_bytes32(identity.region),
        identity.endpoint])


def set_trust_call(verifier_region: str, issuer_region: str, licence_type: str,
                   trusted: bool = True) -> bytes:
    """Return the ``setTrust`` action: ``verifier_region`` accepts ``licence_type`` from ``issuer_region``."""
    return contract("LicenceRegistry").encode_call("setTrust", [
        to_bytes32(verifier_region), to_bytes32(issuer_region), to_bytes32(licence_type),
        trusted])


def enact(gateway: ChainGateway, registry: bytes, members: Sequence[LocalAccount],
          action: bytes, timeout: float = 60.0) -> Receipt:
    """Have ``members`` propose and approve ``action``; return the receipt that executed it."""
    abi = contract("LicenceRegistry")
    threshold = abi.decode_output("threshold", gateway.call(registry, abi.encode_call("threshold")))[0]
    if len(members) < threshold:
        raise CouncilError(f"the council needs {threshold} approvals, {len(members)} members given",
                           threshold=threshold)
    tx = TxSender(gateway)
    receipt = _mined(tx, members[0], registry, abi.encode_call("propose", [action]), timeout)
    created = [e for e in abi.decode_logs(receipt.logs) if e.name == "ProposalCreated"]
    if not created:
        raise CouncilError("the proposal left no ProposalCreated event")
    proposal = int(created[0].args["id"])
    for member in members[1:threshold]:
        receipt = _mined(tx, member, registry, abi.encode_call("approve", [proposal]), timeout)
    executed = [e for e in abi.decode_logs(receipt.logs) if e.name == "ProposalExecuted"]
    if not executed:
        raise CouncilError(f"proposal {proposal} did not execute", proposal=proposal)
    return receipt


def _mined(tx: TxSender, account: LocalAccount, registry: bytes, data: bytes,
           timeout: float) -> Receipt:
    try:
        sent = tx.transact(account, registry, data)
    except CallReverted as exc:
        name, args = contract("LicenceRegistry").decode_error(exc.data)
        raise CouncilError(f"the contract refused the council action: {name}", guard=name,
                           args={k: str(v) for k, v in args.items()}) from None
    receipt = tx.wait(sent, timeout=timeout)
    if receipt.status != 1:
        raise CouncilError(f"council transaction from {account.address} reverted",
                           account=account.address)
    return receipt
