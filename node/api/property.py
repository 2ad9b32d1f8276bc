"""The property register: department steps on a unit, and its public status.

Every step acts as the calling department's own chain account and answers once the chain
recorded it (or with the contract's coded refusal); ``GET /v1/property/{unit_number}`` is
public.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter

from ledger.domain.title_certificate import TitleOwner
from ledger.domain.units import validate_unit_number
from node.api.deps import DepartmentDep, RuntimeDep
from node.api.property_schemas import (
    CancelTitle,
    MortgageCreate,
    ObjectionCreate,
    OwnerConsent,
    PreNoticeCreate,
    SeizureCreate,
    SeizureRelease,
    StepDone,
    SuitFiled,
    TitleCreate,
    TitleRegistered,
    UnitPublic,
)
from node.services import property as steps
from node.services.property_view import unit_status

router = APIRouter(prefix="/v1/property", tags=["property"])


def _unit(unit_number: str) -> str:
    return validate_unit_number(unit_number)


@router.post("", response_model=TitleRegistered, status_code=201)
def register(body: TitleCreate, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY registers a title with its owners and issues the title e-certificate."""
    owners = [TitleOwner(o.id_number.upper(), o.id_type, o.name, o.share_ppm) for o in body.owners]
    return steps.register(rt, dept, _unit(body.unit_number), owners)


@router.get("/{unit_number}", response_model=UnitPublic)
def show(unit_number: str, rt: RuntimeDep) -> dict[str, Any]:
    """Public: the unit's flags, owners' shares and history with its hash-chain check."""
    return unit_status(rt, _unit(unit_number))


@router.post("/{unit_number}/mortgages", response_model=StepDone)
def record_mortgage(unit_number: str, body: MortgageCreate, rt: RuntimeDep,
                    dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY records a mortgage (amount in yuan); the answer carries its rank."""
    return steps.record_mortgage(rt, dept, _unit(unit_number), body.mortgagee.upper(),
                                 int(body.amount * 100))


@router.post("/{unit_number}/mortgages/{rank}/consent", response_model=StepDone)
def consent_mortgage(unit_number: str, rank: int, rt: RuntimeDep,
                     dept: DepartmentDep) -> dict[str, Any]:
    """The mortgagee BANK consents to a transfer with its mortgage (带押过户)."""
    return steps.mortgagee_step(rt, dept, _unit(unit_number), rank, release=False)


@router.post("/{unit_number}/mortgages/{rank}/release", response_model=StepDone)
def release_mortgage(unit_number: str, rank: int, rt: RuntimeDep,
                     dept: DepartmentDep) -> dict[str, Any]:
    """The mortgagee BANK releases its mortgage (抵押注销)."""
    return steps.mortgagee_step(rt, dept, _unit(unit_number), rank, release=True)


@router.post("/{unit_number}/pre-notice", response_model=StepDone)
def record_pre_notice(unit_number: str, body: PreNoticeCreate, rt: RuntimeDep,
                      dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY records a pre-notice (预告登记) for a holder commitment."""
    if body.expires_on is not None:
        end = datetime(body.expires_on.year, body.expires_on.month, body.expires_on.day, tzinfo=UTC)
        expires_at = int((end + timedelta(days=1)).timestamp())
    else:
        assert body.expires_at is not None
        expires_at = body.expires_at
    return steps.record_pre_notice(rt, dept, _unit(unit_number),
                                   steps.commitment(body.holder, "holder"), expires_at)


@router.post("/{unit_number}/pre-notice/consent", response_model=StepDone)
def consent_pre_notice(unit_number: str, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY records the pre-notice holder's consent to a transfer to someone else."""
    return steps.simple(rt, dept, _unit(unit_number), "consentPreNotice")


@router.post("/{unit_number}/pre-notice/clear", response_model=StepDone)
def clear_pre_notice(unit_number: str, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY clears the pre-notice in force."""
    return steps.simple(rt, dept, _unit(unit_number), "clearPreNotice")


@router.post("/{unit_number}/objection", response_model=StepDone)
def record_objection(unit_number: str, body: ObjectionCreate, rt: RuntimeDep,
                     dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY records an objection (异议登记); it lapses after 15 days unless a suit is filed."""
    return steps.record_objection(rt, dept, _unit(unit_number),
                                  steps.commitment(body.applicant, "applicant"))


@router.post("/{unit_number}/objection/suit", response_model=StepDone)
def file_objection_suit(unit_number: str, body: SuitFiled, rt: RuntimeDep,
                        dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY records that the objector filed suit: the objection no longer lapses."""
    return steps.file_objection_suit(rt, dept, _unit(unit_number), body.suit, body.suit_hash)


@router.post("/{unit_number}/objection/clear", response_model=StepDone)
def clear_objection(unit_number: str, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY clears the objection in force."""
    return steps.simple(rt, dept, _unit(unit_number), "clearObjection")


@router.post("/{unit_number}/consent", response_model=StepDone)
def record_owner_consent(unit_number: str, body: OwnerConsent, rt: RuntimeDep,
                         dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY records which co-owners consented to a transfer."""
    return steps.record_owner_consent(rt, dept, _unit(unit_number), body.owners)


@router.post("/{unit_number}/seizures", response_model=StepDone)
def seize(unit_number: str, body: SeizureCreate, rt: RuntimeDep,
          dept: DepartmentDep) -> dict[str, Any]:
    """COURT seizes the unit; behind a seizure in force the order waits in the queue (轮候查封)."""
    return steps.seize(rt, dept, _unit(unit_number), body.order, body.order_hash, body.days)


@router.post("/{unit_number}/seizures/release", response_model=StepDone)
def release_seizure(unit_number: str, body: SeizureRelease, rt: RuntimeDep,
                    dept: DepartmentDep) -> dict[str, Any]:
    """COURT releases its seizure; the next waiting one is promoted."""
    return steps.release_seizure(rt, dept, _unit(unit_number), body.order, body.order_hash)


@router.post("/{unit_number}/cancel", response_model=StepDone)
def cancel(unit_number: str, body: CancelTitle, rt: RuntimeDep,
           dept: DepartmentDep) -> dict[str, Any]:
    """REGISTRY cancels the title (注销)."""
    return steps.cancel(rt, dept, _unit(unit_number), body.reason, body.reason_hash)
