"""RFC 9457 problem details: every error of the API leaves in this one JSON shape."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from earlycp.errors import EarlyCPError, ErrorCode, public_text

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("earlycp.api")

_HTTP_CODES = {
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    413: ErrorCode.UPLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def problem(
    request: Request,
    code: ErrorCode,
    detail: str | None = None,
    *,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {
        "type": f"https://earlycp.org/problems/{code.value.lower().replace('_', '-')}",
        "title": message or code.message,  # type: ignore[attr-defined]
        "status": code.status,
        "code": code.value,
        "detail": public_text(detail) or message or code.message,  # type: ignore[attr-defined]
        "instance": request.url.path,
    }
    return JSONResponse(body, status_code=code.status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(EarlyCPError)
    async def _earlycp(request: Request, exc: EarlyCPError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code is ErrorCode.UNAUTHORIZED else None
        return problem(request, exc.code, exc.detail, message=exc.message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return problem(request, ErrorCode.INVALID_INPUT, "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code)
        if code is None:
            body = {
                "type": "about:blank",
                "title": str(exc.detail),
                "status": exc.status_code,
                "code": "HTTP_ERROR",
                "detail": str(exc.detail),
                "instance": request.url.path,
            }
            return JSONResponse(body, status_code=exc.status_code, media_type=MEDIA_TYPE)
        return problem(request, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(request, ErrorCode.INTERNAL_ERROR, type(exc).__name__)
