"""Public endpoints: health, verification, departments, and department key/snapshot actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from node.api.deps import DepartmentDep, RuntimeDep
from node.api.schemas import (
    BatchLeaves,
    EndpointChange,
    EndpointChanged,
    Health,
    KeyRotated,
    LeafProof,
    VerifyRequest,
)
from node.errors import BadRequest
from node.services import directory, keys, proofs, verification
from verifiers.errors import ImageError

router = APIRouter(tags=["public"])


@router.get("/health", response_model=Health)
def health(rt: RuntimeDep) -> Health:
    """Return liveness, chain head and how far the index trails it."""
    h = rt.health()
    return Health(status="ok", registry_address=rt.settings.registry_address,
                  departments=sorted(rt.ctx.identities), **h)


@router.post("/v1/verify")
def verify(body: VerifyRequest, rt: RuntimeDep) -> dict[str, Any]:
    """Check a QR token against the chain as this node has indexed it.

    For another node's licence the leaf's proof is fetched from the issuer's node and
    checked against the anchored root; ``peer`` then tells how that went.
    """
    return verification.verify(rt, body.token, body.at)


@router.post("/v1/verify/image")
async def verify_image(rt: RuntimeDep, image: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """Check the QR code in an uploaded PNG or JPEG photo."""
    data = await image.read()
    if len(data) > 10 * 1024 * 1024:
        raise BadRequest("image larger than 10 MiB")
    from verifiers.image import decode_image  # zxing-cpp loads only when photos arrive

    try:
        token = decode_image(data)
    except ImageError as exc:
        raise BadRequest(str(exc), reason=type(exc).__name__) from None
    return verification.verify(rt, token, None)


@router.get("/v1/proofs/{leaf}", response_model=LeafProof)
def leaf_proof(leaf: str, rt: RuntimeDep) -> LeafProof:
    """Return the Merkle proof of one of our anchored leaves (public: hashes only)."""
    return proofs.leaf_proof(rt.ctx, leaf)


@router.get("/v1/batches/{root}", response_model=BatchLeaves)
def batch(root: str, rt: RuntimeDep) -> BatchLeaves:
    """Return every leaf of one of our anchored batches (public: hashes only)."""
    return proofs.batch_of(rt.ctx, root)


@router.get("/v1/departments")
def departments(rt: RuntimeDep) -> list[dict[str, Any]]:
    """List the departments and keys recorded on chain."""
    rt.refresh_trust()
    keys_by_dept: dict[str, list[dict[str, Any]]] = {}
    for k in rt.trust.keys():  # noqa: SIM118 (TrustView.keys() is the key history, not a dict)
        keys_by_dept.setdefault(k.department, []).append(
            {"kid": k.kid.hex(), "alg": k.alg, "valid_from": k.valid_from, "valid_to": k.valid_to,
             "compromised_since": k.compromised_since})
    return [{"code": d.code, "name": d.name, "region": d.region, "roles": d.roles,
             "keys": keys_by_dept.get(d.code, [])} for d in rt.trust.departments()]


@router.post("/v1/keys/rotate", response_model=KeyRotated)
def rotate_key(rt: RuntimeDep, dept: DepartmentDep) -> KeyRotated:
    """Register a new signing key for the caller's department and switch to it."""
    return KeyRotated(**keys.rotate(rt, dept))  # type: ignore[arg-type]


@router.post("/v1/keys/register", response_model=KeyRotated)
def register_key(rt: RuntimeDep, dept: DepartmentDep) -> KeyRotated:
    """Register the signing key made at `regnode init` once the council has added the department."""
    return KeyRotated(**keys.register_pending(rt, dept))  # type: ignore[arg-type]


@router.put("/v1/endpoint", response_model=EndpointChanged)
def set_endpoint(body: EndpointChange, rt: RuntimeDep, dept: DepartmentDep) -> EndpointChanged:
    """Publish in the on-chain directory where other nodes reach the caller's department."""
    return directory.set_endpoint(rt, dept, body.endpoint)


@router.get("/v1/snapshot")
def snapshot(rt: RuntimeDep, dept: DepartmentDep) -> Response:
    """Return an offline snapshot signed by the caller's department key."""
    return Response(keys.export(rt, dept), media_type="application/octet-stream",
                    headers={"content-disposition": 'attachment; filename="regnode.snapshot"'})
