"""Bearer tokens: random secrets shown once, stored only as their sha256."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.tables import ApiToken

Role = Literal["clinician", "integration", "admin"]
ROLES: tuple[str, ...] = ("clinician", "integration", "admin")
PREFIX = "ecp_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, role: str, name: str = "") -> tuple[ApiToken, str]:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name or role, role=role, token_hash=hash_token(token))
    session.add(row)
    session.flush()
    return row, token


def lookup(session: Session, token: str) -> ApiToken | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    return None if row is None or row.revoked else row
