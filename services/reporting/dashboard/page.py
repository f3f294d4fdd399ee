"""Serves the dashboard: the page at /dashboard and its two assets, all from this folder.

The page calls /v1/reports/... with the bearer token the user pasted; nothing here reads data.
A strict Content-Security-Policy keeps the page to this origin (no outside fonts, scripts or
styles) and forbids inline scripts, a second line of defence behind the page's use of textContent.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

HERE = Path(__file__).resolve().parent
ASSETS = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
@router.get("/dashboard/")
async def dashboard_page() -> FileResponse:
    return FileResponse(
        HERE / "index.html",
        media_type="text/html; charset=utf-8",
        headers={**HEADERS, "Content-Security-Policy": POLICY, "X-Frame-Options": "DENY"},
    )


@router.get("/dashboard/assets/{name}")
async def dashboard_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no dashboard asset {name!r}")
    return FileResponse(HERE / name, media_type=media_type, headers=HEADERS)
