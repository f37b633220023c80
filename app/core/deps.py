"""Request dependencies: a database session per request and the caller's token/role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.auth.tokens import lookup
from app.core.db import session_factory
from app.core.tables import ApiToken
from earlycp.errors import EarlyCPError, ErrorCode


def get_session(request: Request) -> Iterator[Session]:
    session = session_factory(request.app.state.database_url)()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def current_token(request: Request, session: SessionDep) -> ApiToken:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise EarlyCPError(ErrorCode.UNAUTHORIZED, detail="send 'Authorization: Bearer <token>'")
    row = lookup(session, token.strip())
    if row is None:
        raise EarlyCPError(ErrorCode.UNAUTHORIZED, detail="unknown or revoked token")
    return row


CallerDep = Annotated[ApiToken, Depends(current_token)]

_Row = TypeVar("_Row")


def get_or_404(session: Session, table: type[_Row], row_id: str, what: str) -> _Row:
    """The row with this primary key, or the NOT_FOUND problem naming ``what`` was looked for."""
    row = session.get(table, row_id)
    if row is None:
        raise EarlyCPError(ErrorCode.NOT_FOUND, detail=f"{what} {row_id}")
    return row


def require_admin(caller: CallerDep) -> ApiToken:
    if caller.role != "admin":
        raise EarlyCPError(ErrorCode.FORBIDDEN, detail="admin role required")
    return caller


AdminDep = Annotated[ApiToken, Depends(require_admin)]
