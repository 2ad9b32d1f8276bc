"""Public fee quotes: ``POST /v1/fees/quote`` computes the taxes and fees of a case locally."""

from __future__ import annotations

from fastapi import APIRouter

from ledger.domain.fees import facts_from_inputs
from node.api.deps import RuntimeDep
from node.api.schemas import FeeQuotePublic, FeeQuoteRequest
from node.services.fees import quote_case

router = APIRouter(prefix="/v1/fees", tags=["fees"])


@router.post("/quote", response_model=FeeQuotePublic)
def fee_quote(body: FeeQuoteRequest, rt: RuntimeDep) -> FeeQuotePublic:
    """Return each tax and fee line of a case, in yuan, under the rules in force on its contract date."""
    facts = facts_from_inputs(**body.model_dump())
    return FeeQuotePublic(**quote_case(rt.settings, facts).as_yuan())
