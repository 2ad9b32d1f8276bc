"""Binding of the ``TransferCases`` contract's structs: terms and assessments as tuples, and back.

A case keeps only digests on chain; every later step passes the terms (and, once assessed,
the assessment) back as calldata. The node rebuilds both from the case's events.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import eth_abi

from ledger.domain.canonical import keccak256
from ledger.domain.cases import Assessment, CaseTerms
from node.chain.abi import ContractAbi, contract
from node.chain.fee_schedule import case_facts


@cache
def cases_abi() -> ContractAbi:
    """Return the TransferCases binding."""
    return contract("TransferCases")


def terms_struct(terms: CaseTerms) -> tuple[Any, ...]:
    """Return ``terms`` as the contract's ``Terms`` tuple."""
    return (terms.unit, terms.contract_hash, case_facts(terms.facts),
            [(o.commitment, o.share) for o in terms.buyers], _address(terms.seller_account), terms.deadline)


def terms_struct_from_event(terms: dict[str, Any]) -> tuple[Any, ...]:
    """Return the ``Terms`` tuple from a decoded ``CaseOpened`` event's (or indexed JSON) ``terms``."""
    facts = terms["facts"]
    return (_b(terms["unit"]), _b(terms["contractHash"]), tuple(facts[name] for name in _fact_names()),
            [(_b(o["commitment"]), o["share"]) for o in terms["buyers"]],
            _address(terms["sellerAccount"]), terms["deadline"])


@cache
def _fact_names() -> tuple[str, ...]:
    """Return the ``CaseFacts`` field names in ABI order (indexed JSON has its keys sorted)."""
    (terms,) = cases_abi().functions["termsDigest"].inputs
    facts = next(c for c in terms["components"] if c["name"] == "facts")
    return tuple(c["name"] for c in facts["components"])


def assessment_struct(assessment: Assessment | dict[str, Any]) -> tuple[Any, ...]:
    """Return an assessment (domain object, decoded event or indexed JSON) as the ``Assessment`` tuple."""
    if isinstance(assessment, Assessment):
        return (_address(assessment.treasury), assessment.tax_fen, assessment.fee_fen, assessment.due_fen,
                assessment.voucher_root)
    a = assessment
    return (_address(a["treasury"]), a["taxFen"], a["feeFen"], a["dueFen"], _b(a["voucherRoot"]))


def terms_digest(struct: tuple[Any, ...]) -> bytes:
    """Return ``keccak256(abi.encode(terms))`` as the contract computes it."""
    (typ,) = cases_abi().functions["termsDigest"].input_types
    return keccak256(eth_abi.encode([typ], [struct]))


def _b(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else bytes.fromhex(value.removeprefix("0x"))


def _address(value: bytes | str) -> str:
    raw = _b(value)
    if len(raw) != 20:
        raise ValueError(f"not an address: {raw.hex()}")
    return "0x" + raw.hex()
