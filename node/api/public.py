"""Public endpoints: health, verification, departments, and department key/snapshot actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from node.api.deps import DepartmentDep, RuntimeDep
from node.api.schemas import Health, KeyRotated, VerifyRequest
from node.errors import BadRequest
from node.services import keys
from verifiers.errors import ImageError
from verifiers.verify import verify_token

router = APIRouter(tags=["public"])


@router.get("/health", response_model=Health)
def health(rt: RuntimeDep) -> Health:
    """Return liveness, chain head and how far the index trails it."""
    h = rt.health()
    return Health(status="ok", registry_address=rt.settings.registry_address,
                  departments=sorted(rt.ctx.identities), **h)


def _verify(rt: RuntimeDep, token: str, at: int | None) -> dict[str, Any]:
    rt.refresh_trust()
    now = rt.chain_time() if at is None else at
    result = verify_token(token, rt.trust, now=now, verifier_region=rt.settings.verifier_region)
    body = result.to_json()
    body["checked_at"] = now
    body["indexed_block"] = rt.indexer.cursor()
    return body


@router.post("/v1/verify")
def verify(body: VerifyRequest, rt: RuntimeDep) -> dict[str, Any]:
    """Check a QR token against the chain as this node has indexed it."""
    return _verify(rt, body.token, body.at)


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
    return _verify(rt, token, None)


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


@router.get("/v1/snapshot")
def snapshot(rt: RuntimeDep, dept: DepartmentDep) -> Response:
    """Return an offline snapshot signed by the caller's department key."""
    return Response(keys.export(rt, dept), media_type="application/octet-stream",
                    headers={"content-disposition": 'attachment; filename="regnode.snapshot"'})
