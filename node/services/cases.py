"""Transfer cases through the node: each department takes its step with its own identity.

HOUSING opens a case (the sale contract's hash, the fee facts, the buyers as salted
commitments, the seller's settlement account); BANK consents to transfer with its mortgage
(naming a payoff) or releases it on the register; TAX assesses from the fee schedule on
chain and issues the case's e-tax vouchers as licences, anchored by the assessment itself;
the buyer's bank (the calling BANK department) pays the escrow from its token balance,
minting the buyer's deposit only when asked; REGISTRY settles (:mod:`node.services.settlement`).
Licences a case's own transaction anchors are issued as reserved batches
(:mod:`node.services.reserved`), voided if that transaction never lands.
Every step is preflighted, sent through the outbox and waited for (:mod:`node.services.actions`),
so a refusal comes back as the contract's custom error, e.g. ``unit_seized``.

A case's terms and assessment are read back from its indexed events (``chain_event`` rows
whose subject is the case id) and replayed by :func:`ledger.domain.cases.replay`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from ledger.domain.canonical import keccak256
from ledger.domain.cases import CaseRecord, CaseTerms, case_id, replay
from ledger.domain.disclosure import Disclosure, encode_salt
from ledger.domain.fees import FeeFacts
from ledger.domain.identifiers import to_bytes32
from ledger.domain.merkle import MerkleTree
from ledger.domain.property import Owner, unit_key
from ledger.domain.title_certificate import owner_id_field
from ledger.store.models import ChainEvent
from node.api.schemas import LicenceCreate
from node.chain.cases import assessment_struct, terms_digest, terms_struct, terms_struct_from_event
from node.errors import BadRequest, ContractReverted, InsufficientBalance, MissingRole, NotFound, WrongState, jsonable
from node.services import actions, notify, reserved
from node.services.context import ROLE_BITS

if TYPE_CHECKING:
    from node.runtime import Runtime

CASES = "TransferCases"
VOUCHER_TYPE = "11100000000013127D201"
TOKEN = "SettlementToken"
MAX_ALLOWANCE = 2**256 - 1
TOKEN_SHORTFALL = frozenset({"ERC20InsufficientAllowance", "ERC20InsufficientBalance"})


@dataclass(frozen=True)
class Party:
    """A buyer as the case names them: ID number and share in parts per million."""

    name: str
    id_number: str
    share: int


def party_commitment(index: int, id_number: str, salt: str) -> bytes:
    """Return buyer ``index``'s commitment as a title certificate makes an owner's: the SHA-256
    digest of the disclosure ``[salt, "owner<n>Id", id]``."""
    return bytes.fromhex(Disclosure(salt=salt, key=owner_id_field(index), value=id_number).digest())


# ------------------------------------------------------------------------ reading

def case_events(runtime: Runtime, cid: bytes) -> list[ChainEvent]:
    """Return the case's indexed events, oldest first."""
    with Session(runtime.engine) as s:
        return list(s.exec(select(ChainEvent).where(ChainEvent.subject == cid.hex(),
                                                    col(ChainEvent.name).startswith("Case"))
                           .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))))


def load(runtime: Runtime, case: str | bytes) -> CaseRecord:
    """Return the case mirrored from its indexed events; NotFound when none is indexed."""
    cid = case if isinstance(case, bytes) else bytes.fromhex(notify.case_subject(case))
    record: CaseRecord | None = None
    for e in case_events(runtime, cid):
        record = replay(record, e.name, _args(json.loads(e.args)), e.block_timestamp)
    if record is None:
        raise NotFound(f"no case {cid.hex()} is indexed on this node", case_id=cid.hex())
    return record


def _args(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn indexed JSON (bytes as hex) back into what replay expects."""
    out = dict(raw)
    for key in ("caseId", "bank", "payer"):
        if isinstance(out.get(key), str):
            out[key] = bytes.fromhex(out[key])
    if "terms" in out:
        terms = out["terms"]
        out["terms"] = {**terms, "unit": bytes.fromhex(terms["unit"]),
                        "contractHash": bytes.fromhex(terms["contractHash"])}
    return out


def to_json(record: CaseRecord) -> dict[str, Any]:
    """Return a case as the API shows it (commitments, never ID numbers)."""
    terms = record.terms
    return jsonable({
        "case_id": record.case_id, "state": record.state.label, "unit": record.unit,
        "contract_hash": record.contract_hash, "price_fen": terms["facts"]["priceFen"],
        "deadline": terms["deadline"], "seller_account": terms["sellerAccount"],
        "buyers": [{"commitment": b["commitment"], "share_ppm": b["share"]} for b in terms["buyers"]],
        "assessment": record.assessment, "lines_fen": record.lines,
        "payer": record.payer, "escrow_fen": record.escrow_fen,
        "payoff": ({"bank": record.payoff_bank, "rank": record.payoff_rank, "fen": record.payoff_fen}
                   if record.payoff_bank else None),
        "settlement": record.settlement, "opened_at": record.opened_at, "updated_at": record.updated_at,
        "steps": record.steps,
    })


# ------------------------------------------------------------------------ steps

def open_case(runtime: Runtime, department: str, unit_number: str, contract_number: str,
              contract_hash: bytes | None, facts: FeeFacts, buyers: list[Party], seller_account: bytes,
              deadline_days: int) -> dict[str, Any]:
    """HOUSING files the sale contract and opens the case; returns the case and the buyers' disclosures."""
    unit = unit_key(unit_number)
    if not buyers:
        raise BadRequest("a case needs at least one buyer", field="buyers")
    if len({b.id_number for b in buyers}) != len(buyers):
        raise BadRequest("a buyer is named twice", field="buyers")
    salts = [encode_salt(secrets.token_bytes(16)) for _ in buyers]
    owners = tuple(Owner(party_commitment(i, b.id_number, salt), b.share)
                   for i, (b, salt) in enumerate(zip(buyers, salts, strict=True)))
    chash = contract_hash or keccak256(f"sale-contract|{contract_number}".encode())
    terms = CaseTerms(unit=unit, contract_hash=chash, facts=facts, buyers=owners,
                      seller_account=seller_account, deadline=runtime.chain_time() + deadline_days * 86_400)
    cid = case_id(unit, chash)
    result = actions.perform(runtime, department, CASES, "openCase", [terms_struct(terms)], subject=cid.hex(),
                             detail={"unit": unit_number, "contract": contract_number})
    return {"case_id": cid.hex(), "unit_number": unit_number, "contract_hash": chash.hex(),
            "transaction": tx_json(result),
            "buyers": [{"index": i, "commitment": o.commitment.hex(), "share_ppm": o.share,
                        "disclosure": [salt, f"owner{i + 1}Id", b.id_number]}
                       for i, (b, o, salt) in enumerate(zip(buyers, owners, salts, strict=True))]}


def consent_mortgage(runtime: Runtime, department: str, case: str, rank: int, payoff_fen: int) -> dict[str, Any]:
    """The mortgagee BANK consents to transfer with its mortgage, naming the payoff owed at settlement."""
    record = load(runtime, case)
    result = actions.perform(runtime, department, CASES, "consentMortgage",
                             [record.unit, record.contract_hash, rank, payoff_fen], subject=record.case_id.hex())
    return {"case_id": record.case_id.hex(), "transaction": tx_json(result)}


def assess(runtime: Runtime, department: str, case: str) -> dict[str, Any]:
    """TAX assesses the case and issues its e-tax vouchers, anchored by the assessment transaction."""
    record = load(runtime, case)
    struct = terms_struct_from_event(record.terms)
    cid = record.case_id.hex()
    # Ask the contract first with a stand-in root: a refusal issues no voucher.
    actions.preflight(runtime.ctx, department, CASES, "assess",
                      [struct, secrets.token_bytes(32), 3, to_bytes32(VOUCHER_TYPE)])
    lines = actions.preflight(runtime.ctx, department, "FeeSchedule", "quote", [struct[2]]).output[0]
    batch_id, vouchers = reserved.issue(runtime, department, [
        LicenceCreate(type=VOUCHER_TYPE, holder_name="纳税人", holder_id=f"CASE-{cid[:16]}",
                      holder_id_type="CASE", fields={"caseId": cid, "taxLine": line, "amountFen": str(amount)},
                      disclose=["caseId", "taxLine", "amountFen"])
        for line, amount in (("vat", lines["vat"] + lines["vatSurcharges"]), ("deed_tax", lines["deedTax"]),
                             ("income_tax", lines["incomeTax"]))])
    root = MerkleTree([bytes.fromhex(v.leaf) for v in vouchers]).root
    result = reserved.anchor_with(runtime, department, batch_id, CASES, "assess",
                                  [struct, root, len(vouchers), to_bytes32(VOUCHER_TYPE)], subject=cid)
    assessed = result.event("CaseAssessed").args
    return {"case_id": cid, "transaction": tx_json(result),
            "assessment": jsonable(assessed["assessment"]), "lines_fen": jsonable(assessed["lines"]),
            "vouchers": [{"identifier": v.identifier, "leaf": v.leaf, "qr": v.qr} for v in vouchers]}


def fund(runtime: Runtime, department: str, case: str, mint: bool = False) -> dict[str, Any]:
    """The calling BANK department pays what the buyer owes into escrow from its own token balance.

    With ``mint`` the bank first mints that amount: it credits the deposit it received from the
    buyer. Every refusal (not a bank, the case's own guards, too small a balance) comes before
    anything is sent.
    """
    record = load(runtime, case)
    cid = record.case_id.hex()
    if record.assessment is None:
        raise WrongState("the case is not assessed yet: TAX assesses before a bank funds it", case_id=cid,
                         state=record.state.label)
    due = int(record.assessment["dueFen"])
    account = runtime.ctx.account(department).address
    is_bank = actions.preflight(runtime.ctx, department, "LicenceRegistry", "hasRole",
                                [account, ROLE_BITS["BANK"]]).output[0]
    if not is_bank:
        raise MissingRole(f"{department} does not hold the BANK role: only a bank funds a case through "
                          "the node", department=department, role="BANK", case_id=cid)
    args = [record.unit, record.contract_hash, terms_digest(terms_struct_from_event(record.terms)),
            assessment_struct(record.assessment)]
    try:
        actions.preflight(runtime.ctx, department, CASES, "fund", args)
    except ContractReverted as exc:
        # The token's transferFrom runs last in fund: its refusal means the case's guards passed.
        if exc.error_name not in TOKEN_SHORTFALL:
            raise
    balance = int(actions.preflight(runtime.ctx, department, TOKEN, "balanceOf", [account]).output[0])
    if not mint and balance < due:
        raise InsufficientBalance(f"{department} holds {balance} fen of settlement token, the case needs {due}; "
                                  "fund with mint to credit the buyer's deposit first",
                                  case_id=cid, due_fen=due, balance_fen=balance, account=account)
    cases_address = actions.address_of(runtime.settings, CASES)
    steps = []
    if mint:
        steps.append(actions.perform(runtime, department, TOKEN, "mint", [account, due], subject=cid))
    allowance = actions.preflight(runtime.ctx, department, TOKEN, "allowance", [account, cases_address]).output[0]
    if allowance < due:
        steps.append(actions.perform(runtime, department, TOKEN, "approve", [cases_address, MAX_ALLOWANCE]))
    result = actions.perform(runtime, department, CASES, "fund", args, subject=cid)
    return {"case_id": cid, "payer": account, "amount_fen": due, "minted_fen": due if mint else 0,
            "transaction": tx_json(result), "preparation": [tx_json(r) for r in steps]}


def close(runtime: Runtime, department: str, case: str, function: str) -> dict[str, Any]:
    """Cancel (HOUSING, REGISTRY) or expire (anyone, after the deadline) a case; the escrow goes back."""
    record = load(runtime, case)
    result = actions.perform(runtime, department, CASES, function, [record.unit, record.contract_hash],
                             subject=record.case_id.hex())
    return {"case_id": record.case_id.hex(), "transaction": tx_json(result),
            "closed": jsonable(result.event("CaseClosed").args)}


# ------------------------------------------------------------------------ helpers

def tx_json(result: actions.ActionResult) -> dict[str, Any]:
    """Return a step's transaction as answers show it."""
    return {"function": result.function, "transaction_hash": result.transaction_hash,
            "block": result.block_number, "gas_used": result.gas_used}
