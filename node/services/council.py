"""Council votes: directory changes that M of N council members approve on chain.

Adding a department and recording a cross-region trust relation (mutual recognition)
are council actions: one member proposes the call, others approve it, and the
contract runs it when the threshold is reached.

A node votes for the departments that hold a council seat on it (``council_seats`` in
its configuration: department code → the seat's chain account in ``<data>/keys``).
Votes are sent at once from the seat's account and answered when mined and indexed,
not queued in the outbox (whose queues are per department account): a vote lost to a
crash is simply cast again, and the contract refuses a second approval by the same seat.
Every vote is preflighted with ``eth_call`` first, and a proposal's action too (as the
directory itself), so a refusal is a coded error and nothing is sent.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import eth_abi
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from sqlmodel import Session

from ledger.domain.errors import DomainError
from ledger.domain.identifiers import from_bytes32, to_bytes32
from ledger.store import audit
from node.chain.abi import contract
from node.chain.errors import CallReverted, ChainError
from node.chain.gateway import ChainGateway, Receipt
from node.chain.txsend import TxSender
from node.errors import ContractReverted, NodeError, NotCouncilMember, Unavailable, jsonable
from node.keys import KeyStoreError
from node.services.actions import DEFAULT_TIMEOUT, await_index
from node.services.context import Identity

if TYPE_CHECKING:
    from node.runtime import Runtime


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


# ---------------------------------------------------------------- a node's council seats
def seat(runtime: Runtime, department: str) -> LocalAccount:
    """Return the chain account of ``department``'s council seat; NotCouncilMember when it holds none."""
    name = runtime.settings.council_seats.get(department)
    if not name:
        raise NotCouncilMember(f"{department} holds no council seat on this node",
                               department=department)
    try:
        return runtime.ctx.keystore.account(name)
    except KeyStoreError:
        raise NotCouncilMember(f"the key of {department}'s council seat ({name}) is not in this "
                               "node's key folder", department=department) from None


def _view(runtime: Runtime, function: str, *args: Any) -> tuple[Any, ...]:
    abi = contract("LicenceRegistry")
    try:
        raw = runtime.gateway.call(runtime.ctx.registry, abi.encode_call(function, list(args)))
    except CallReverted as exc:
        raise ContractReverted("LicenceRegistry", *abi.decode_error(exc.data),
                               function=function) from None
    return abi.decode_output(function, raw)


def overview(runtime: Runtime, department: str) -> dict[str, Any]:
    """Return the council's members and threshold, and the caller's seat (if any)."""
    members = [bytes(m) for m in _view(runtime, "councilMembers")[0]]
    account = None
    if runtime.settings.council_seats.get(department):
        account = seat(runtime, department).address
    return {"members": [to_checksum_address(m) for m in members], "threshold": _view(runtime, "threshold")[0],
            "proposal_count": _view(runtime, "proposalCount")[0], "department": department,
            "seat": account, "is_member": account is not None and bytes.fromhex(account[2:]) in members}


def describe(action: bytes) -> dict[str, Any]:
    """Return a proposal's action as its function name and arguments (codes as text)."""
    abi = contract("LicenceRegistry")
    fn = next((f for f in abi.functions.values() if f.selector == action[:4]), None)
    if fn is None:
        return {"function": None, "calldata": "0x" + action.hex()}
    try:
        values = eth_abi.decode(fn.input_types, action[4:])
    except Exception:  # proposed calldata is whatever a member sent; show it raw
        return {"function": fn.name, "calldata": "0x" + action.hex()}
    return {"function": fn.name,
            "args": {p["name"]: _shown(p["type"], v) for p, v in zip(fn.inputs, values, strict=True)}}


def _shown(typ: str, value: Any) -> Any:
    if typ == "address":
        return to_checksum_address(value)
    if typ == "bytes32":
        try:
            text = from_bytes32(value)
        except DomainError:
            return value.hex()
        return text if to_bytes32(text) == value else value.hex()
    return jsonable(value)


def proposal(runtime: Runtime, proposal_id: int) -> dict[str, Any]:
    """Return proposal ``proposal_id``: its action, approvals (and by whom) and whether it ran."""
    proposer, action, approvals, executed = _view(runtime, "proposal", proposal_id)
    members = [bytes(m) for m in _view(runtime, "councilMembers")[0]]
    approved_by = [to_checksum_address(m) for m in members if _view(runtime, "hasApproved", proposal_id, m)[0]]
    return {"id": proposal_id, "proposer": to_checksum_address(bytes(proposer)), **describe(bytes(action)),
            "approvals": approvals, "threshold": _view(runtime, "threshold")[0],
            "approved_by": approved_by, "executed": executed}


def propose(runtime: Runtime, department: str, function: str, args: Sequence[Any],
            timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Propose ``function(*args)`` on the directory from ``department``'s seat (its first approval)."""
    account = seat(runtime, department)
    abi = contract("LicenceRegistry")
    action = abi.encode_call(function, list(args))
    registry = runtime.ctx.registry
    try:  # as the directory itself, which is how the council runs it
        runtime.gateway.call(registry, action, sender=registry)
    except CallReverted as exc:
        raise ContractReverted("LicenceRegistry", *abi.decode_error(exc.data),
                               function=function) from None
    return _vote(runtime, department, account, "propose", [action], timeout)


def approve(runtime: Runtime, department: str, proposal_id: int,
            timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Approve proposal ``proposal_id`` from ``department``'s seat (it runs at the threshold)."""
    return _vote(runtime, department, seat(runtime, department), "approve", [proposal_id], timeout)


def execute(runtime: Runtime, department: str, proposal_id: int,
            timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Run proposal ``proposal_id`` that already has enough approvals (after a threshold change)."""
    return _vote(runtime, department, seat(runtime, department), "execute", [proposal_id], timeout)


def _vote(runtime: Runtime, department: str, account: LocalAccount, function: str,
          args: list[Any], timeout: float) -> dict[str, Any]:
    abi = contract("LicenceRegistry")
    registry = runtime.ctx.registry
    data = abi.encode_call(function, args)
    sender = bytes.fromhex(account.address[2:])
    deadline = time.monotonic() + timeout
    with runtime.ctx.department_lock(f"council:{account.address}"):
        try:
            runtime.gateway.call(registry, data, sender=sender)
            tx = TxSender(runtime.gateway)
            receipt = tx.wait(tx.transact(account, registry, data), timeout=timeout)
        except CallReverted as exc:
            raise ContractReverted("LicenceRegistry", *abi.decode_error(exc.data),
                                   function=function) from None
        except ChainError as exc:
            raise Unavailable(f"the chain did not take the council vote: {exc}",
                              function=function) from None
    if receipt.status != 1:
        raise ContractReverted("LicenceRegistry", "", function=function,
                               transaction_hash="0x" + receipt.transaction_hash.hex())
    events = abi.decode_logs([g for g in receipt.logs if g.address == registry])
    ids = [int(e.args["id"]) for e in events if e.name in ("ProposalCreated", "ProposalApproved",
                                                          "ProposalExecuted")]
    proposal_id = ids[0] if ids else int(args[0])
    with Session(runtime.engine) as s:
        audit.append(s, actor=department, action=f"council.{function}", subject=str(proposal_id),
                     detail={"seat": account.address,
                             "transaction_hash": "0x" + receipt.transaction_hash.hex()})
        s.commit()
    indexed = await_index(runtime, receipt.block_number, deadline)
    runtime.refresh_trust()
    return {**proposal(runtime, proposal_id), "transaction_hash": "0x" + receipt.transaction_hash.hex(),
            "block_number": receipt.block_number, "indexed": indexed}
