"""Department API tokens: issued once in clear, stored only as SHA-256, each bound to one department."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlmodel import Session, select

from ledger.store.models import ApiToken
from node.errors import Unauthorized

TOKEN_PREFIX = "rnt_"


def hash_token(token: str) -> str:
    """Return the stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, department: str, label: str = "") -> str:
    """Create a token for ``department`` and return it in clear (shown once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(department=department, token_hash=hash_token(token), label=label,
                         created_at=int(time.time())))
    return token


def department_for(session: Session, token: str | None) -> str:
    """Return the department bound to ``token``; raise Unauthorized otherwise."""
    if not token:
        raise Unauthorized("a department bearer token is required")
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked:
        raise Unauthorized("the bearer token is unknown or revoked")
    return row.department
