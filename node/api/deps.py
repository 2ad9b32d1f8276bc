"""Request dependencies: the runtime and the calling department."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel import Session

from node.runtime import Runtime
from node.services.auth import department_for


def runtime(request: Request) -> Runtime:
    """Return the node runtime the app was created with."""
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def department(rt: RuntimeDep, authorization: Annotated[str | None, Header()] = None) -> str:
    """Return the department whose bearer token authorises this request."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    with Session(rt.engine) as s:
        code = department_for(s, token)
    rt.ctx.identity(code)
    return code


DepartmentDep = Annotated[str, Depends(department)]
