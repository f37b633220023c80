"""Routes of the dashboard: HTML pages, their static assets, plotly.js and layout figures.

Pages carry no patient data: they are static shells whose scripts call the REST API with the
bearer token the user pasted at sign-in. Nothing here needs authentication, and a strict
Content-Security-Policy keeps every script, style, image and request on this origin (the
dashboard must work offline and must never leak a recording to a third-party host).
"""

from __future__ import annotations

import mimetypes
from functools import lru_cache
from pathlib import Path

import plotly
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

import frontend
from app.dashboard.figure import all_layout_figures

#: The static dashboard (HTML, CSS, JS): no build step.
FRONTEND_DIR = Path(frontend.__file__).resolve().parent  # a package, so wheels carry it
#: plotly.js as shipped inside the installed Python ``plotly`` package (no CDN).
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

PAGES = {
    "recordings": "index.html",
    "signin": "signin.html",
    "upload": "upload.html",
    "assessment": "assessment.html",
    "admin": "admin.html",
}

# Plotly writes inline style attributes and a <style> element, hence 'unsafe-inline' for styles
# only; scripts are same-origin files. connect-src 'self' also covers downloads via fetch.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}

router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)


def _page(request: Request, page: str) -> HTMLResponse:
    """An HTML shell with the mount points filled in, so the dashboard works behind a root_path."""
    html = (FRONTEND_DIR / PAGES[page]).read_text(encoding="utf-8")
    root = request.scope.get("root_path", "").rstrip("/")
    html = html.replace("%%BASE%%", f"{root}/dashboard").replace("%%API%%", f"{root}/api/v1")
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("")
def dashboard_root(request: Request) -> RedirectResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    return RedirectResponse(f"{root}/dashboard/", status_code=307)


@router.get("/", response_class=HTMLResponse)
def recordings_page(request: Request) -> HTMLResponse:
    return _page(request, "recordings")


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request) -> HTMLResponse:
    return _page(request, "signin")


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request) -> HTMLResponse:
    return _page(request, "upload")


@router.get("/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment_page(request: Request, assessment_id: str) -> HTMLResponse:
    return _page(request, "assessment")


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> HTMLResponse:
    return _page(request, "admin")


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    if not PLOTLY_JS.is_file():  # a broken plotly install: say so rather than draw nothing
        raise HTTPException(status_code=500, detail=f"plotly.js missing at {PLOTLY_JS}")
    return FileResponse(
        PLOTLY_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@lru_cache(maxsize=1)
def _layout_figures() -> dict:
    return all_layout_figures()


@router.get("/layouts.json")
def layouts_json() -> JSONResponse:
    """Keypoint names, bones (from worker.science.layouts) and template positions per layout."""
    return JSONResponse(_layout_figures(), headers={"Cache-Control": "public, max-age=3600"})


@router.get("/static/{asset_path:path}")
def static_asset(asset_path: str) -> FileResponse:
    """CSS/JS under frontend/, refusing anything that resolves outside it (path traversal)."""
    root = FRONTEND_DIR.resolve()
    target = (root / asset_path).resolve()
    if not target.is_relative_to(root) or not target.is_file() or target.suffix not in ASSET_TYPES:
        raise HTTPException(status_code=404, detail="Not found")
    media_type = ASSET_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
    return FileResponse(
        target,
        media_type=media_type,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
