"""Council endpoints: a department holding a council seat on this node proposes and approves directory changes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from ledger.domain.identifiers import to_bytes32
from node.api.deps import DepartmentDep, RuntimeDep
from node.services import council
from node.services.context import ROLE_BITS

router = APIRouter(prefix="/v1/council", tags=["council"])

Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,18}$", description="department code")]
Region = Annotated[str, Field(pattern=r"^\d{6}$", description="6-digit division code")]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
Role = Literal["ISSUER", "REGISTRY", "HOUSING", "TAX", "BANK", "COURT", "NOTARY"]


def _bits(roles: list[Role]) -> int:
    bits = 0
    for r in roles:
        bits |= ROLE_BITS[r]
    return bits


class AddDepartment(BaseModel):
    """Add a department with its chain account, roles, region and node endpoint."""

    action: Literal["add_department"]
    department: Code
    account: Address
    roles: list[Role] = Field(min_length=1)
    region: Region
    endpoint: str = Field(pattern=r"^https?://", max_length=512)

    def call(self) -> tuple[str, list[Any]]:
        return "addDepartment", [to_bytes32(self.department), self.account, _bits(self.roles),
                                 to_bytes32(self.region), self.endpoint]


class SetTrust(BaseModel):
    """Record (or clear) that verifiers of one region accept a licence type issued in another."""

    action: Literal["set_trust"]
    verifier_region: Region
    issuer_region: Region
    licence_type: str = Field(pattern=r"^[0-9A-Z]{1,31}$")
    trusted: bool = True

    def call(self) -> tuple[str, list[Any]]:
        return "setTrust", [to_bytes32(self.verifier_region), to_bytes32(self.issuer_region),
                            to_bytes32(self.licence_type), self.trusted]


class SetDepartmentActive(BaseModel):
    """Suspend a department from the directory or restore it."""

    action: Literal["set_department_active"]
    department: Code
    active: bool

    def call(self) -> tuple[str, list[Any]]:
        return "setDepartmentActive", [to_bytes32(self.department), self.active]


class SetDepartmentRoles(BaseModel):
    """Replace a department's roles."""

    action: Literal["set_department_roles"]
    department: Code
    roles: list[Role]

    def call(self) -> tuple[str, list[Any]]:
        return "setDepartmentRoles", [to_bytes32(self.department), _bits(self.roles)]


class DeclareKeyCompromised(BaseModel):
    """Declare a department's signing key compromised from a time on."""

    action: Literal["declare_key_compromised"]
    kid: str = Field(pattern=r"^[0-9a-f]{16}$")
    since: int = Field(gt=0, lt=2**64)

    def call(self) -> tuple[str, list[Any]]:
        return "declareKeyCompromised", [bytes.fromhex(self.kid), self.since]


ProposalId = Annotated[int, Path(ge=1, lt=2**63, description="proposal number")]
ProposalCreate = Annotated[AddDepartment | SetTrust | SetDepartmentActive | SetDepartmentRoles
                           | DeclareKeyCompromised, Field(discriminator="action")]


@router.get("")
def show(rt: RuntimeDep, dept: DepartmentDep) -> dict[str, Any]:
    """Return the council's members and threshold, and the caller's seat."""
    return council.overview(rt, dept)


@router.post("/proposals", status_code=201)
def propose(body: ProposalCreate, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, Any]:
    """Propose a directory change from the caller's seat (counts as its first approval)."""
    function, args = body.call()
    return council.propose(rt, dept, function, args)


@router.get("/proposals/{proposal_id}")
def show_proposal(proposal_id: ProposalId, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, Any]:
    """Return a proposal: its action, approvals and whether it ran."""
    return council.proposal(rt, proposal_id)


@router.post("/proposals/{proposal_id}/approve")
def approve(proposal_id: ProposalId, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, Any]:
    """Approve a proposal from the caller's seat; it runs when the approvals reach the threshold."""
    return council.approve(rt, dept, proposal_id)


@router.post("/proposals/{proposal_id}/execute")
def execute(proposal_id: ProposalId, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, Any]:
    """Run a proposal that already has enough approvals (after the threshold was lowered)."""
    return council.execute(rt, dept, proposal_id)
