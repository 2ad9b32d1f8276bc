"""REGISTRY's settlement of a transfer case: check what the applicants present, then settle.

The buyers present the disclosures HOUSING gave them when it opened the case
(``[salt, "owner<n>Id", id number]``); each must hash to buyer n's commitment in the
case's terms on chain, all of them and no others. The new title e-certificate is then
issued exactly as registration issues one (:func:`node.services.property.certificate_request`)
with the buyers' own salts for the ``owner<n>Id`` fields, so its owner commitments are
the ones the title holds after the transfer. The unit number comes from REGISTRY's own
certificate of the unit's current title. The deed-tax voucher (Deed Tax Law Art. 11) is
the one in TAX's batch when this node holds it; otherwise the applicant presents its QR,
which is verified like any licence (a foreign voucher's Merkle proof is fetched from
TAX's node and checked against the root anchored on chain) and must be the deed-tax
line of this very case, in the voucher batch its assessment anchored.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from ledger.domain import merkle
from ledger.domain.disclosure import Disclosure
from ledger.domain.identifiers import to_bytes32
from ledger.domain.title_certificate import TitleOwner, owner_id_field
from ledger.store.models import AnchorBatch, Licence, PeerProof
from node.chain.cases import assessment_struct, terms_struct_from_event
from node.errors import (
    BadRequest,
    BuyerDisclosureMismatch,
    BuyerDisclosureMissing,
    BuyerDisclosureUnexpected,
    DeedVoucherInvalid,
    DeedVoucherNotForCase,
    DeedVoucherRequired,
    jsonable,
)
from node.services import actions, cases, reserved, verification
from node.services.property import CERTIFICATE_TYPE, certificate_request, certificate_unit_number

if TYPE_CHECKING:
    from node.runtime import Runtime

DEED_TAX_LINE = "deed_tax"


@dataclass(frozen=True)
class PresentedBuyer:
    """A buyer at the registry counter: name and ID type, and the disclosure HOUSING gave them."""

    name: str
    id_type: str
    disclosure: Disclosure


def settle(runtime: Runtime, department: str, case: str, buyers: Sequence[PresentedBuyer],
           deed_voucher: str | None = None) -> dict[str, Any]:
    """REGISTRY checks the buyers and the deed-tax voucher, issues the new title certificate and settles."""
    record = cases.load(runtime, case)
    if record.assessment is None:
        raise BadRequest("the case is not assessed yet", case_id=record.case_id.hex(), state=record.state.label)
    cid = record.case_id.hex()
    terms_buyers = record.terms["buyers"]
    owners, salts = check_buyers(buyers, [_commitment(b["commitment"]) for b in terms_buyers],
                                 [int(b["share"]) for b in terms_buyers])
    unit_number = certificate_unit_number(runtime, record.unit)
    struct = terms_struct_from_event(record.terms)
    assessment = assessment_struct(record.assessment)
    leaf, proof = deed_voucher_proof(runtime, cid, assessment[4], deed_voucher)
    # Ask the contract first with a stand-in certificate: a refusal issues nothing.
    actions.preflight(runtime.ctx, department, cases.CASES, "settle",
                      [struct, assessment, leaf, proof, secrets.token_bytes(32), to_bytes32(CERTIFICATE_TYPE)])
    batch_id, issued = reserved.issue(runtime, department, [certificate_request(unit_number, owners, salts)])
    certificate = issued[0]
    result = reserved.anchor_with(runtime, department, batch_id, cases.CASES, "settle",
                                  [struct, assessment, leaf, proof, bytes.fromhex(certificate.leaf),
                                   to_bytes32(CERTIFICATE_TYPE)], subject=cid)
    settled = result.event("CaseSettled").args
    return {"case_id": cid, "unit_number": unit_number, "transaction": cases.tx_json(result),
            "settlement": jsonable(settled),
            "certificate": {"identifier": certificate.identifier, "leaf": certificate.leaf, "qr": certificate.qr},
            "owners": [{"index": i, "commitment": jsonable(b["commitment"]), "share_ppm": int(b["share"])}
                       for i, b in enumerate(terms_buyers)]}


def check_buyers(buyers: Sequence[PresentedBuyer], commitments: Sequence[bytes],
                 shares: Sequence[int]) -> tuple[list[TitleOwner], dict[str, str]]:
    """Return the new owners and their ``owner<n>Id`` salts once every disclosure matches its commitment."""
    expected = [owner_id_field(i) for i in range(len(commitments))]
    given: dict[str, PresentedBuyer] = {}
    for buyer in buyers:
        key = buyer.disclosure.key
        if key not in expected or key in given:
            raise BuyerDisclosureUnexpected(f"the case has no buyer disclosure {key} to present "
                                            f"{'again' if key in given else ''}".rstrip(),
                                            field=key, expected=expected)
        given[key] = buyer
    missing = [k for k in expected if k not in given]
    if missing:
        raise BuyerDisclosureMissing(f"the buyers' disclosures {', '.join(missing)} are missing",
                                     fields=missing, expected=expected)
    owners = []
    for index, key in enumerate(expected):
        buyer = given[key]
        if bytes.fromhex(buyer.disclosure.digest()) != commitments[index]:
            raise BuyerDisclosureMismatch(f"the disclosure of {key} does not hash to buyer {index + 1}'s "
                                          "commitment in the case", field=key,
                                          commitment=commitments[index].hex())
        owners.append(TitleOwner(str(buyer.disclosure.value), buyer.id_type, buyer.name, shares[index]))
    return owners, {key: given[key].disclosure.salt for key in expected}


def deed_voucher_proof(runtime: Runtime, cid: str, root: bytes,
                       token: str | None) -> tuple[bytes, list[bytes]]:
    """Return the deed-tax voucher's leaf and its proof in the case's voucher batch (root ``root``)."""
    leaf = _presented_voucher(runtime, cid, token) if token is not None else _held_voucher(runtime, cid, root)
    proof = _proof(runtime, leaf, root)
    if proof is None or not merkle.verify(proof, root, leaf):
        raise DeedVoucherNotForCase("the deed-tax voucher is not in the batch the case's assessment anchored",
                                    case_id=cid, voucher_root=root.hex(), leaf=leaf.hex())
    return leaf, proof


def _presented_voucher(runtime: Runtime, cid: str, token: str) -> bytes:
    """Verify a presented voucher QR and return its leaf; it must be this case's deed-tax line."""
    answer = verification.verify(runtime, token)
    if answer["verdict"] != "valid":
        raise DeedVoucherInvalid(f"the deed-tax voucher does not verify: {answer['verdict']}",
                                 verdict=answer["verdict"], reason=answer.get("reason"), case_id=cid)
    disclosed = answer.get("disclosed") or {}
    if (answer.get("licence_type") != cases.VOUCHER_TYPE or disclosed.get("caseId") != cid
            or disclosed.get("taxLine") != DEED_TAX_LINE):
        raise DeedVoucherNotForCase("the voucher presented is not the deed-tax voucher of this case",
                                    case_id=cid, licence_type=answer.get("licence_type"),
                                    voucher_case=disclosed.get("caseId"), tax_line=disclosed.get("taxLine"))
    return bytes.fromhex(str(answer["leaf"]))


def _held_voucher(runtime: Runtime, cid: str, root: bytes) -> bytes:
    """Return the leaf of the case's deed-tax voucher from TAX's batch, when this node holds it."""
    with Session(runtime.engine) as s:
        batch = s.exec(select(AnchorBatch).where(AnchorBatch.root == root.hex())).first()
        rows = [] if batch is None else s.exec(select(Licence).where(col(Licence.batch_id) == batch.id)).all()
    for row in rows:
        fields = {d.key: d.value for d in map(Disclosure.from_json, json.loads(row.disclosures))}
        if fields.get("caseId") == cid and fields.get("taxLine") == DEED_TAX_LINE:
            return bytes.fromhex(row.leaf)
    raise DeedVoucherRequired("this node does not hold the case's e-tax vouchers: present the deed-tax "
                              "voucher's QR (deed_voucher)", case_id=cid, voucher_root=root.hex())


def _proof(runtime: Runtime, leaf: bytes, root: bytes) -> list[bytes] | None:
    """Return ``leaf``'s proof to ``root`` from a batch held here or a checked peer proof."""
    with Session(runtime.engine) as s:
        batch = s.exec(select(AnchorBatch).where(AnchorBatch.root == root.hex())).first()
        peer = s.get(PeerProof, leaf.hex())
    if batch is not None:
        leaves = [batch.leaves[i:i + 32] for i in range(0, len(batch.leaves), 32)]
        return merkle.MerkleTree(leaves).proof(leaves.index(leaf)) if leaf in leaves else None
    if peer is not None and peer.root == root.hex():
        raw = bytes.fromhex(peer.proof)
        return [raw[i:i + 32] for i in range(0, len(raw), 32)]
    return None


def _commitment(value: Any) -> bytes:
    return value if isinstance(value, bytes) else bytes.fromhex(str(value).removeprefix("0x"))
